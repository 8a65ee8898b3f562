"""Legacy Vietnamese text: TCVN3, VNI, cp1258 and UTF-8-read-as-cp1252, from real byte sequences.

A page is converted only on page-level evidence (a legacy font it names, or its text as a whole
reading as Vietnamese only once converted), and then paragraph by paragraph.
"""

from __future__ import annotations

import csv
import unicodedata
from collections import Counter
from html import escape

import pytest

from crawler import cleaning
from crawler.decoding import decode_html
from crawler.items import ParserInfo, PortalRecord
from crawler.legacy import (
    TCVN3_BYTES,
    detect_legacy,
    is_vietnamese_syllable,
    legacy_fonts,
    repair_legacy,
    repair_legacy_html,
    tcvn3_to_unicode,
    unicode_to_tcvn3,
    vni_to_unicode,
)
from crawler.text import normalize_text, paragraphs

from .conftest import need_shared
from .test_unicode_safety import EVERY_TONED_VOWEL, FILLER, FOLLOW_UP, article_page, extract

# TCVN3 bytes as a .VnTime document stores them (DOMAIN.md §5).
TCVN3_SAMPLES = [
    (b"C\xe9ng ho\xb5 x\xb7 h\xe9i ch\xf1 ngh\xdca Vi\xd6t Nam", "Cộng hoà xã hội chủ nghĩa Việt Nam"),
    (b"U\xfb ban nh\xa9n d\xa9n", "Uỷ ban nhân dân"),
    (b"\xa7\xe9c l\xcbp - T\xf9 do - H\xb9nh ph\xf3c", "Độc lập - Tự do - Hạnh phúc"),
    (b"M\xad\xeang Kh\xad\xacng", "Mường Khương"),  # 0xAD is "ư", not a soft hyphen
]
# VNI bytes as a VNI-Times document stores them.
VNI_SAMPLES = [
    (b"Xin cha\xf8o ca\xf9c ba\xefn", "Xin chào các bạn"),
    (b"CO\xc4NG HO\xd8A XA\xd5 HO\xc4I CHU\xdb NGH\xd3A VIE\xc4T NAM", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
    (b"Tr\xf6\xf4\xf8ng \xf1a\xefi ho\xefc", "Trường đại học"),
]
# A notice in Vietnamese that TCVN3 can carry (its capitals have no tone marks).
NOTICE_TITLE = "Thông báo lịch trực Tết Nguyên đán của cơ quan"
NOTICE = [
    "Thực hiện chỉ đạo của ủy ban nhân dân tỉnh về việc tổ chức trực Tết Nguyên đán, cơ quan thông báo "
    "lịch trực của các phòng như sau.",
    "Các đồng chí được phân công trực có trách nhiệm có mặt đúng giờ, giải quyết kịp thời những công "
    "việc phát sinh và báo cáo lãnh đạo.",
]
URL = "https://sonv.example.gov.vn/tin-tuc/thong-bao-lich-truc-tet-nguyen-dan-1234.html"

_VNI_TONE = {"": "", "\u0300": "ø", "\u0301": "ù", "\u0309": "û", "\u0303": "õ", "\u0323": "ï"}
_VNI_CIRCUMFLEX = {"": "â", "\u0300": "à", "\u0301": "á", "\u0309": "å", "\u0303": "ã", "\u0323": "ä"}
_VNI_BREVE = {"": "ê", "\u0300": "è", "\u0301": "é", "\u0309": "ú", "\u0303": "ü", "\u0323": "ë"}
_VNI_I = {"": "i", "\u0300": "ì", "\u0301": "í", "\u0309": "æ", "\u0303": "ó", "\u0323": "ò"}


def unicode_to_vni(text: str) -> str:
    """VNI Windows as the VNI fonts lay it out (written from the layout, not from crawler.legacy's
    table): đ = ñ, ơ = ô, ư = ö, ỵ = î, i with a tone one letter (ì í æ ó ò), any other vowel followed
    by its mark letters (circumflex â/à/á/å/ã/ä, breve ê/è/é/ú/ü/ë, tone ø/ù/û/õ/ï)."""
    out = []
    for char in unicodedata.normalize("NFC", text):
        if char in "đĐ":
            out.append("ñ" if char == "đ" else "Ñ")
            continue
        base, *marks = unicodedata.normalize("NFD", char)
        if not marks:
            out.append(char)
            continue
        letter = base.lower()
        tone = next((mark for mark in marks if mark in _VNI_TONE), "")
        if "\u0302" in marks:
            sequence = letter + _VNI_CIRCUMFLEX[tone]
        elif "\u0306" in marks:
            sequence = letter + _VNI_BREVE[tone]
        elif "\u031b" in marks:
            sequence = {"o": "ô", "u": "ö"}[letter] + _VNI_TONE[tone]
        elif letter == "i":
            sequence = _VNI_I[tone]
        elif letter == "y" and tone == "\u0323":
            sequence = "î"
        else:
            sequence = letter + _VNI_TONE[tone]
        out.append(sequence.upper() if base.isupper() else sequence)
    return "".join(out)


@pytest.mark.parametrize(("raw", "text"), TCVN3_SAMPLES)
def test_tcvn3_bytes(raw: bytes, text: str) -> None:
    assert tcvn3_to_unicode(raw.decode("cp1252")) == text


@pytest.mark.parametrize(("raw", "text"), VNI_SAMPLES)
def test_vni_bytes(raw: bytes, text: str) -> None:
    assert vni_to_unicode(raw.decode("cp1252")) == text


def test_every_tcvn3_letter_both_directions() -> None:
    letters = "".join(TCVN3_BYTES.values())
    assert tcvn3_to_unicode(unicode_to_tcvn3(letters).decode("cp1252")) == letters


def test_every_vni_letter_both_directions() -> None:
    letters = f"{EVERY_TONED_VOWEL} {EVERY_TONED_VOWEL.upper()} đ Đ"
    assert vni_to_unicode(unicode_to_vni(letters)) == letters


def test_real_tcvn3_text_is_detected_as_a_whole() -> None:
    text = "\n".join(raw.decode("cp1252") for raw, _ in TCVN3_SAMPLES)
    assert detect_legacy(text) == "tcvn3"
    assert repair_legacy(text) == ("\n".join(unicode for _, unicode in TCVN3_SAMPLES), "tcvn3")


def test_real_vni_text_is_detected_as_a_whole() -> None:
    text = "\n".join(raw.decode("cp1252") for raw, _ in VNI_SAMPLES)
    assert detect_legacy(text) == "vni"
    assert repair_legacy(text) == ("\n".join(unicode for _, unicode in VNI_SAMPLES), "vni")


def test_a_few_legacy_words_alone_are_no_evidence() -> None:
    """Two words with no common word among them could be anything: left as they are."""
    assert repair_legacy(TCVN3_SAMPLES[3][0].decode("cp1252")) == (TCVN3_SAMPLES[3][0].decode("cp1252"), None)


@pytest.mark.parametrize(
    ("charset", "header"), [("windows-1252", None), (None, None), (None, "iso-8859-1"), ("windows-1252", "utf-8")]
)
def test_tcvn3_page_from_real_bytes(charset: str | None, header: str | None) -> None:
    """A .VnTime page's bytes behind a windows-1252 declaration, none, or a wrong one."""
    title = unicode_to_tcvn3(NOTICE_TITLE)
    body = b"".join(b"<p>" + raw + b"</p>" for raw, _ in TCVN3_SAMPLES) + b"<p>" + unicode_to_tcvn3(NOTICE[0]) + b"</p>"
    meta = f'<meta charset="{charset}">'.encode() if charset else b""
    page = b"<html><head>" + meta + b"<title>" + title + b"</title></head><body><h1>" + title + b"</h1>" + body
    record, used = extract(page + b"</body></html>", header, URL)
    assert used.endswith("+tcvn3")
    assert record["title"] == NOTICE_TITLE
    assert paragraphs(record["body"]) == [text for _, text in TCVN3_SAMPLES] + [NOTICE[0]]
    assert record["language"] == "vi"


def test_tcvn3_page_behind_a_windows_1252_declaration() -> None:
    page = b'<html><head><meta charset="windows-1252"></head><body><p>' + TCVN3_SAMPLES[0][0] + b"</p></body></html>"
    text, encoding = decode_html(page, "windows-1252")
    assert encoding == "windows-1252+tcvn3"
    assert "Cộng hoà xã hội chủ nghĩa Việt Nam" in text


def test_unicode_to_tcvn3_page_and_back() -> None:
    head = f'<meta name="description" content="{NOTICE[1]}">'
    page = unicode_to_tcvn3(article_page(NOTICE_TITLE, NOTICE, charset="windows-1252", head=head))
    record, used = extract(page, "windows-1252", URL)
    assert used == "windows-1252+tcvn3"
    assert (record["title"], paragraphs(record["body"]), record["summary"]) == (NOTICE_TITLE, NOTICE, NOTICE[1])


def test_tcvn3_written_as_character_references_is_converted() -> None:
    """Editors that escape every non-ASCII byte write "ư" as &shy; and "đ" as &reg;."""
    page = unicode_to_tcvn3(article_page(NOTICE_TITLE, NOTICE)).decode("cp1252")
    escaped = page.replace("\u00ad", "&shy;").replace("®", "&reg;").replace("µ", "&#181;")
    record, used = extract(escaped.encode("ascii", "xmlcharrefreplace"), None, URL)
    assert used == "utf-8+tcvn3"  # ASCII bytes
    assert paragraphs(record["body"]) == NOTICE


@pytest.mark.parametrize("styled", [True, False])
def test_unicode_to_vni_page_and_back(styled: bool) -> None:
    """With or without its VNI-Times font named, a VNI page reads as Vietnamese once converted."""
    head = "<style>p { font-family: 'VNI-Times', serif }</style>" if styled else ""
    body = [FILLER["vi"], FOLLOW_UP["vi"], f"Nguyên âm: {EVERY_TONED_VOWEL}."]
    page = unicode_to_vni(article_page("Bản tin Ủy ban nhân dân tỉnh", body, head=head))
    record, used = extract(page.encode("cp1252"), None, URL)
    assert used == "cp1252+vni"
    assert (record["title"], paragraphs(record["body"])) == ("Bản tin Ủy ban nhân dân tỉnh", body)


def test_unicode_paragraphs_of_a_legacy_page_stay() -> None:
    """Inside a TCVN3 page, a French quotation and a line of symbols are not TCVN3."""
    quotation = "« Nous sommes très satisfaits », a déclaré la délégation."
    symbols = "Tarif : 600 € · § 4 · © 2005"
    page = unicode_to_tcvn3(article_page(NOTICE_TITLE, [NOTICE[0], "@QUOTE", NOTICE[1], "@SYMBOLS"]))
    page = page.replace(b"@QUOTE", escape(quotation).encode("cp1252"))
    record, used = extract(page.replace(b"@SYMBOLS", symbols.encode("cp1252")), None, URL)
    assert used == "cp1252+tcvn3"
    assert paragraphs(record["body"]) == [NOTICE[0], quotation, NOTICE[1], symbols]


PASTED = unicode_to_tcvn3("Uỷ ban nhân dân huyện Mường Khương").decode("cp1252")


def _page_with_pasted_paragraph(style: str) -> bytes:
    body = [FILLER["vi"], f"<span{style}>{PASTED}</span>", "Giá vé «khứ hồi» là £600 · © 2024", FOLLOW_UP["vi"]]
    return article_page("Thông báo của Ủy ban nhân dân tỉnh", body).encode("utf-8")


def test_tcvn3_paragraph_in_a_unicode_page_is_converted_alone() -> None:
    """Pasted from a .VnTime document with its font: that paragraph alone is converted."""
    record, used = extract(_page_with_pasted_paragraph(' style="font-family:&quot;.VnTime&quot;"'), None, URL)
    assert used == "utf-8+tcvn3"
    converted = "Uỷ ban nhân dân huyện Mường Khương"
    assert paragraphs(record["body"]) == [FILLER["vi"], converted, "Giá vé «khứ hồi» là £600 · © 2024", FOLLOW_UP["vi"]]


def test_tcvn3_paragraph_without_its_font_in_a_unicode_page_is_left_alone() -> None:
    """No page-level evidence: the page reads as Unicode Vietnamese, so nothing is converted."""
    record, used = extract(_page_with_pasted_paragraph(""), None, URL)
    assert used == "utf-8"
    assert paragraphs(record["body"])[1] == normalize_text(PASTED)


def test_normalize_fields_never_converts_legacy_text() -> None:
    record = PortalRecord(
        url=URL,
        canonical_url=URL,
        portal="sonv.example.gov.vn",
        platform="generic",
        parser=ParserInfo("generic", "1.0"),
        title="«Tôi yêu em» · § 4",
        body=f"Đoạn văn Unicode.\n\n{PASTED}\n\ntrès satisfaits », a déclaré",
    )
    counts: Counter[str] = Counter()
    cleaning.normalize_fields(record, counts)
    assert record.title == "«Tôi yêu em» · § 4"
    assert paragraphs(record.body) == ["Đoạn văn Unicode.", PASTED, "très satisfaits », a déclaré"]
    assert not [name for name in counts if "legacy" in name]


def test_legacy_fonts_are_read_from_styles_and_font_faces() -> None:
    assert legacy_fonts("<font face='.VnTime'>x</font>") == {"tcvn3"}
    assert legacy_fonts('<p style="font-family: Arial, &quot;.VnArialH&quot;">x</p>') == {"tcvn3"}
    assert legacy_fonts("<style>td { font-family: VNI-Helve }</style>") == {"vni"}
    assert legacy_fonts('<a href="https://x.gov.vn/.vnexpress">VnTime</a>') == set()
    assert legacy_fonts('<p style="font-family: Arial; background: url(.vnlogo.png)">') == set()


def test_cp1258_combining_tones() -> None:
    page = '<html><head><meta charset="windows-1258"></head><body>Vi\xea\xf2t Nam</body></html>'.encode("latin-1")
    text, encoding = decode_html(page, None)
    assert encoding == "windows-1258"
    assert "Việt Nam" in normalize_text(text)


def test_utf8_read_as_cp1252() -> None:
    garbled = "Hội nghị cấp tỉnh".encode().decode("cp1252", errors="replace")
    assert normalize_text(garbled) == "Hội nghị cấp tỉnh"


NO_LEGACY = [
    "Hội nghị sơ kết",
    "Café crème brûlée",
    "Liều dùng 5 µg",
    "© 2024 Sở TT&TT",
    "plain",
    "«Tôi yêu em»",
    "« Bonjour » « Salut » « Merci »",
    "»Zitat« »Noch eins« »Und noch«",
    "§ 4 · § 5 · £600 · ¥500 · © 2024 · ®",
    "«Москва» — столица",
    "Ils sont très satisfaits », a déclaré le maire. « Où ? À Paris, là où l'été est né. »",
    "El niño dijo que sí: «¿Qué más?», también está aquí. Año, canción, él, tú, mí.",
    "São Paulo não só cresceu: é a maior cidade do país, disse o avô. Nó, pó, só.",
    "Der Bürgermeister sagte: »Wir sind sehr zufrieden«. Äpfel, Öl, Übermut, Straße, Gebühr.",
    "Hoi nghi so ket cong tac",
    "Há»™i nghá»‹ cáº¥p tá»‰nh Ä‘Ã£ há»p",
]


@pytest.mark.parametrize("text", NO_LEGACY)
def test_no_false_alarm(text: str) -> None:
    assert detect_legacy(text) is None
    page = article_page(escape(text), [escape(text)] * 3)
    assert repair_legacy_html(page) == (page, None)


def test_syllables() -> None:
    valid = ["của", "Người", "nghiêng", "giữa", "quốc", "tốt", "Đắk", "Lắk", "Kon", "VIỆT", "khuya", "thuở", "hòa"]
    invalid = ["trốs", "dộclarộ", "ôTụi", "yờu", "ằ", "Đ", "â", "tồt", "céng", "ghan", "VIệT", "Ê600"]
    assert all(is_vietnamese_syllable(word) for word in valid)
    assert not any(is_vietnamese_syllable(word) for word in invalid)


def test_table_matches_shared_data() -> None:
    with need_shared("data", "tcvn3_to_unicode.csv").open(encoding="utf-8") as handle:
        shared = {int(row["tcvn3_byte_hex"], 16): row["unicode_char"] for row in csv.DictReader(handle)}
    assert shared == TCVN3_BYTES
