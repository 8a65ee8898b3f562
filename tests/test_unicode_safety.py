"""Valid Unicode in any language passes decode → parse → clean byte for byte, and `language` is right.

Symbols and letters that TCVN3 and VNI use for Vietnamese letters («, », §, £, ¥, ©, ®, ·, é, è …)
are ordinary text everywhere else: without page-level evidence of a legacy encoding nothing is
converted. Pages are our own small articles, served as UTF-8 or windows-1252, with and without a
declared charset.
"""

from __future__ import annotations

import unicodedata
from html import escape

import pytest

from crawler.decoding import decode_html
from crawler.extract import extract_record
from crawler.text import detect_language, normalize_text, paragraphs

URL = "https://example.org/news/2024/delegation-visit-report-1234.html"

FILLER = {
    "en": "The delegation met the provincial committee on Monday to discuss the new investment plan for "
    "the region, its ports and the roads that connect them to the rest of the country.",
    "fr": "La délégation a rencontré lundi le comité provincial pour discuter du nouveau plan "
    "d'investissement de la région, de ses ports et des routes qui les relient au reste du pays.",
    "de": "Die Delegation traf sich am Montag mit dem Provinzausschuss, um über den neuen Investitionsplan "
    "für die Region, ihre Häfen und die Straßen zu sprechen, die sie mit dem Rest des Landes verbinden.",
    "ru": "В понедельник делегация встретилась с комитетом провинции, чтобы обсудить новый инвестиционный "
    "план для региона, его портов и дорог, которые связывают их с остальной частью страны.",
    "pt": "A delegação reuniu-se na segunda-feira com o comitê provincial para discutir o novo plano de "
    "investimento para a região, os seus portos e as estradas que os ligam ao resto do país.",
    "vi": "Đoàn công tác đã làm việc với Ủy ban nhân dân tỉnh về kế hoạch đầu tư mới cho khu vực, các "
    "cảng biển và những tuyến đường nối liền với cả nước.",
}
# A second paragraph, for pages whose sample paragraph is the first one's language again.
FOLLOW_UP = {
    "en": "Both sides agreed to meet again before the end of the year and to publish the plan in full.",
    "fr": "Les deux parties ont convenu de se revoir avant la fin de l'année et de publier le plan en entier.",
    "pt": "As duas partes concordaram em reunir-se de novo antes do fim do ano e publicar o plano completo.",
    "vi": "Hai bên thống nhất sẽ gặp lại trước cuối năm và công bố toàn văn kế hoạch.",
}


def article_page(
    title: str, body: list[str], *, charset: str | None = None, lang: str | None = None, head: str = ""
) -> str:
    """A small article page the generic parser reads: title in <title> and <h1>, paragraphs as <p>.
    Title and paragraphs are HTML (escape text with `html.escape` before passing it)."""
    meta = (f'<meta charset="{charset}">' if charset else "") + head
    html_lang = f' lang="{lang}"' if lang else ""
    paras = "".join(f"<p>{p}</p>" for p in body)
    return (
        f"<!DOCTYPE html><html{html_lang}><head>{meta}<title>{title}</title>"
        '<meta property="og:type" content="article"></head>'
        f'<body><header><a href="/">Home</a></header><div class="content"><h1>{title}</h1>{paras}</div></body></html>'
    )


def extract(body: bytes, header_charset: str | None = None, url: str = URL) -> tuple[dict, str]:
    """(record, encoding) as `crawler extract` and the spider get them: decode, parse, clean."""
    html, encoding = decode_html(body, header_charset)
    record = extract_record(html, url)
    assert record is not None, "the test page must read as an article"
    return record, encoding


# (sample, language of the page around it)
SAMPLES = [
    ("«Tôi yêu em»", "en"),
    ("« Bonjour »", "fr"),
    ("»Zitat«", "de"),
    ("§ 4", "en"),
    ("£600", "en"),
    ("¥500", "en"),
    ("© 2024", "en"),
    ("®", "en"),
    ("·", "en"),
    ("«Москва» — столица", "ru"),
    ("très satisfaits », a déclaré", "fr"),
    ("Prices rose by £600 and ¥500 in the last quarter", "en"),
    ("«Ils sont très satisfaits », a déclaré le maire, « et nous aussi ».", "fr"),
    ("Der Bürgermeister sagte: »Wir sind sehr zufrieden« mit Straße und Gebühren.", "de"),
    ("São Paulo não só cresceu: é a maior cidade do país, disse o governador.", "pt"),
]
# Every way such a page arrives: (encoding of the bytes, charset declared in <meta>).
DELIVERIES = [("utf-8", "utf-8"), ("utf-8", None), ("cp1252", "windows-1252"), ("cp1252", None)]


def _cases() -> list:
    cases = []
    for sample, language in SAMPLES:
        for encoding, declared in DELIVERIES:
            try:
                f"{sample}{FILLER[language]}".encode(encoding)
            except UnicodeEncodeError:
                continue  # a Russian page has no windows-1252 bytes
            ident = f"{sample[:24]}-{encoding}-{'declared' if declared else 'undeclared'}"
            cases.append(pytest.param(sample, language, encoding, declared, id=ident))
    return cases


@pytest.mark.parametrize(("sample", "language", "encoding", "declared"), _cases())
def test_sample_passes_byte_for_byte(sample: str, language: str, encoding: str, declared: str | None) -> None:
    paragraph = f"{FILLER[language]} {sample}"
    title = f"Report {sample}"
    page = article_page(escape(title), [escape(FILLER[language]), escape(paragraph)], charset=declared)
    record, used = extract(page.encode(encoding))
    assert "+" not in used  # no legacy conversion
    assert record["title"] == title
    assert paragraphs(record["body"]) == [FILLER[language], paragraph]
    assert record["language"] == language


@pytest.mark.parametrize(
    "text",
    [
        "«Москва» — столица России, сказал он.",
        "Příliš žluťoučký kůň úpěl ďábelské ódy.",
        "Zażółć gęślą jaźń — powiedział burmistrz.",
        "İstanbul'da çalışıyor, ağaç ve Iğdır.",
        "Η κυβέρνηση ανακοίνωσε «νέο σχέδιο».",
        "Þór og ég vorum með það.",
        "„Ärger über Äpfel“, ÅSA och Ångström, Æble og Ærø.",
        "SÃO PAULO é a maior cidade.",
        # (No "&amp;" shown as text here: a page showing an entity is double-escaped, and decoded.)
        "“Curly quotes”, ‘single’, ﬁ ligature and ｆｕｌｌ width stay.",
        "ÂM NHẠC VIỆT NAM — «Tôi yêu em»",
    ],
)
def test_valid_text_in_other_languages_passes_normalisation_and_decoding(text: str) -> None:
    assert normalize_text(text) == text
    page = article_page(escape(f"News {text}"), [escape(FILLER["en"]), escape(text), escape(FILLER["en"])])
    record, used = extract(page.encode("utf-8"))
    assert used == "utf-8"
    assert text in paragraphs(record["body"])
    assert record["language"] != "vi"


def test_mojibake_repair_keeps_quotes_width_and_references() -> None:
    """ftfy's other fixes would make it '«Hội nghị» "cấp tỉnh" full & x'."""
    text = "«Hội nghị» „cấp tỉnh“ ｆｕｌｌ &amp; x"
    assert normalize_text(text.encode("utf-8").decode("cp1252")) == text


def test_d_lookalikes_only_where_vietnamese_writes_d_with_stroke() -> None:
    assert normalize_text("HÐND tỉnh ban hành QÐ-UBND; ÐỒNG CHÍ Ðà") == "HĐND tỉnh ban hành QĐ-UBND; ĐỒNG CHÍ Đà"
    assert normalize_text("Þór var með það, MEÐ") == "Þór var með það, MEÐ"


TONES = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]
VOWELS = ["a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y"]
EVERY_TONED_VOWEL = " ".join(unicodedata.normalize("NFC", base + tone) for base in VOWELS for tone in TONES)
VIETNAMESE_EVERY_TONE = f"Nguyên âm: {EVERY_TONED_VOWEL}. HOA: {EVERY_TONED_VOWEL.upper()}. Đường, đảo, ưu tiên."


@pytest.mark.parametrize("form", ["NFC", "NFD"])
@pytest.mark.parametrize("declared", ["utf-8", None])
def test_vietnamese_with_every_tone_mark_comes_out_nfc(form: str, declared: str | None) -> None:
    title = "Bảng nguyên âm tiếng Việt có dấu"
    page = article_page(title, [FILLER["vi"], VIETNAMESE_EVERY_TONE], charset=declared)
    record, used = extract(unicodedata.normalize(form, page).encode("utf-8"))
    assert used == "utf-8"
    assert record["title"] == title
    assert paragraphs(record["body"]) == [FILLER["vi"], VIETNAMESE_EVERY_TONE]
    assert record["language"] == "vi"


def test_vietnamese_as_character_references_in_a_windows_1252_page_is_left_alone() -> None:
    body = [FILLER["vi"], FOLLOW_UP["vi"]]
    references = ["".join(c if ord(c) < 0x80 else f"&#{ord(c)};" for c in text) for text in body]
    page = article_page("B&#7843;n tin &#273;&#7847;u tu&#7847;n", references, charset="windows-1252")
    record, used = extract(page.encode("cp1252"))
    assert used == "utf-8"  # ASCII bytes
    assert record["title"] == "Bản tin đầu tuần"
    assert paragraphs(record["body"]) == body


def test_windows_1252_page_without_charset_is_not_read_as_tcvn3_or_a_guess() -> None:
    """charset-normalizer reads short French as Big5 and long French as cp1250; TCVN3 would make it
    "Dộlộgation franỗaise"."""
    for title in ["Délégation française", "La délégation française est très satisfaite de l'accord"]:
        page = article_page(escape(title), [escape(FILLER["fr"]), escape(FOLLOW_UP["fr"])])
        record, used = extract(page.encode("cp1252"))
        assert (used, record["title"], record["language"]) == ("cp1252", title, "fr")


def test_latin_1_label_reads_as_windows_1252_like_browsers() -> None:
    text = "Le « projet » coûte 5 € – “très” cher…"
    page = article_page(escape(text), [escape(FILLER["fr"]), escape(text)])
    record, used = extract(page.encode("cp1252"), "iso-8859-1")
    assert used == "iso-8859-1"
    assert paragraphs(record["body"])[1] == text


def test_undeclared_cyrillic_bytes_are_not_read_as_windows_1252() -> None:
    body = [FILLER["ru"], "«Москва» — столица России и крупнейший город страны, сказал он журналистам."]
    record, used = extract(article_page("Новости дня: делегация в провинции", body).encode("cp1251"))
    assert used not in ("cp1252", "windows-1252")
    assert paragraphs(record["body"]) == body
    assert record["language"] == "ru"


@pytest.mark.parametrize(
    ("text", "declared", "language"),
    [
        (FILLER["en"], None, "en"),
        (FILLER["en"], "vi", "en"),  # an English page in a Vietnamese portal's template
        (FILLER["en"], "en-US", "en"),
        (FILLER["fr"], None, "fr"),
        (FILLER["pt"], None, "pt"),
        (FILLER["de"], "de", "de"),
        (FILLER["vi"], None, "vi"),
        (FILLER["vi"], "en", "vi"),  # the text wins over a template's lang="en"
        ("Du lieu ve nong nghiep", "vi", "vi"),  # toneless Vietnamese does not contradict lang="vi"
        ("Video", "vi", "vi"),
        ("Video", None, None),
        (
            "Chairman Nguyễn Văn Hùng of the Đà Nẵng People's Committee received the delegation on Monday "
            "and discussed the new investment plan for the region and its ports with the visitors.",
            None,
            "en",
        ),
    ],
)
def test_language(text: str, declared: str | None, language: str | None) -> None:
    assert detect_language(text, declared) == language


@pytest.mark.parametrize(("language", "declared"), [("fr", None), ("pt", "vi"), ("en", "vi"), ("en", None)])
def test_french_portuguese_and_english_pages_are_not_vietnamese(language: str, declared: str | None) -> None:
    body = [escape(FILLER[language]), escape(FOLLOW_UP[language])]
    record, _ = extract(article_page("Delegation visit", body, lang=declared).encode("utf-8"))
    assert record["language"] == language
