"""Legacy Vietnamese encodings: TCVN3 (ABC, .VnTime fonts), VNI (VNI-Times fonts) and cp1258.

Pages and Word files from before Unicode carry text in font encodings: the bytes were read as
Windows-1252, so the text arrives as "Céng hoµ x· héi" (TCVN3) or "Xin chaøo" (VNI). Those same
characters are ordinary text in every other language («guillemets», § 4, £600, très, Zürich), so a
page is converted only on page-level evidence: it names a legacy font (.VnTime, VNI-Times …), or its
text as a whole reads as Vietnamese only once converted. Inside such a page each paragraph is
judged on its own, so Unicode paragraphs, symbols and foreign words stay as they are.
cp1258's combining tones only need NFC (see crawler.text).
TCVN3 ⚠: byte 0xAD (a soft hyphen in Windows-1252) is "ư" and must never be dropped first.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from crawler.text import VIETNAMESE_ONLY_LETTER

# TCVN3 byte → Unicode (from ../shared/data/tcvn3_to_unicode.csv; headings in .VnTimeH reuse
# these bytes, so they decode to lower case).
TCVN3_BYTES: dict[int, str] = {
    0xB5: "à",
    0xB8: "á",
    0xB6: "ả",
    0xB7: "ã",
    0xB9: "ạ",
    0xA8: "ă",
    0xBB: "ằ",
    0xBE: "ắ",
    0xBC: "ẳ",
    0xBD: "ẵ",
    0xC6: "ặ",
    0xA9: "â",
    0xC7: "ầ",
    0xCA: "ấ",
    0xC8: "ẩ",
    0xC9: "ẫ",
    0xCB: "ậ",
    0xAE: "đ",
    0xCC: "è",
    0xD0: "é",
    0xCE: "ẻ",
    0xCF: "ẽ",
    0xD1: "ẹ",
    0xAA: "ê",
    0xD2: "ề",
    0xD5: "ế",
    0xD3: "ể",
    0xD4: "ễ",
    0xD6: "ệ",
    0xD7: "ì",
    0xDD: "í",
    0xD8: "ỉ",
    0xDC: "ĩ",
    0xDE: "ị",
    0xDF: "ò",
    0xE3: "ó",
    0xE1: "ỏ",
    0xE2: "õ",
    0xE4: "ọ",
    0xAB: "ô",
    0xE5: "ồ",
    0xE8: "ố",
    0xE6: "ổ",
    0xE7: "ỗ",
    0xE9: "ộ",
    0xAC: "ơ",
    0xEA: "ờ",
    0xED: "ớ",
    0xEB: "ở",
    0xEC: "ỡ",
    0xEE: "ợ",
    0xEF: "ù",
    0xF3: "ú",
    0xF1: "ủ",
    0xF2: "ũ",
    0xF4: "ụ",
    0xAD: "ư",
    0xF5: "ừ",
    0xF8: "ứ",
    0xF6: "ử",
    0xF7: "ữ",
    0xF9: "ự",
    0xFA: "ỳ",
    0xFD: "ý",
    0xFB: "ỷ",
    0xFC: "ỹ",
    0xFE: "ỵ",
    0xA1: "Ă",
    0xA2: "Â",
    0xA7: "Đ",
    0xA3: "Ê",
    0xA4: "Ô",
    0xA5: "Ơ",
    0xA6: "Ư",
}
_TCVN3 = {chr(byte): char for byte, char in TCVN3_BYTES.items()}
_TCVN3_TABLE = str.maketrans(_TCVN3)
# TCVN3 letters that sit on Windows-1252 symbols: no Latin-script text uses them as letters.
_TCVN3_SYMBOLS = frozenset("µ¸¶·¹¨»¾¼½©ª«¬®\u00ad§¡¢£¤¥¦")

# VNI: a base letter followed by Windows-1252 "mark" characters.
_TONE = {"\u0300": "ø", "\u0301": "ù", "\u0309": "û", "\u0303": "õ", "\u0323": "ï"}
_CIRCUMFLEX = {"": "â", "\u0300": "à", "\u0301": "á", "\u0309": "å", "\u0303": "ã", "\u0323": "ä"}
_BREVE = {"": "ê", "\u0300": "è", "\u0301": "é", "\u0309": "ú", "\u0303": "ü", "\u0323": "ë"}
_I_SINGLE = {"\u0300": "ì", "\u0301": "í", "\u0309": "æ", "\u0303": "ó", "\u0323": "ò"}


def _vni_map() -> dict[str, str]:
    """VNI sequence → Unicode letter, lower and upper case."""
    table: dict[str, str] = {"ñ": "đ", "ô": "ơ", "ö": "ư"}
    for tone, mark in _TONE.items():
        for base in "aeouy":
            table[base + mark] = unicodedata.normalize("NFC", base + tone)
        table["ô" + mark] = unicodedata.normalize("NFC", "ơ" + tone)
        table["ö" + mark] = unicodedata.normalize("NFC", "ư" + tone)
        table[_I_SINGLE[tone]] = unicodedata.normalize("NFC", "i" + tone)
    table["î"] = "ỵ"
    del table["y" + _TONE["\u0323"]]
    for tone, mark in _CIRCUMFLEX.items():
        for base in "aeo":
            table[base + mark] = unicodedata.normalize("NFC", base + "\u0302" + tone)
    for tone, mark in _BREVE.items():
        table["a" + mark] = unicodedata.normalize("NFC", "a\u0306" + tone)
    table.update({vni.upper(): char.upper() for vni, char in table.items()})
    return table


VNI_SEQUENCES = _vni_map()
_VNI = re.compile("|".join(sorted(map(re.escape, VNI_SEQUENCES), key=len, reverse=True)))
# Letters only Unicode Vietnamese has: a word holding one is already Unicode.
_UNICODE_VIETNAMESE = VIETNAMESE_ONLY_LETTER
# Characters of legacy text that Unicode Vietnamese never has: TCVN3's symbols, VNI's mark letters.
_LEGACY_MARK = re.compile("[" + re.escape("".join(sorted(_TCVN3_SYMBOLS))) + "øûïåäëüæñöØÛÏÅÄËÜÆÑÖ]")
# A word as the legacy encodings see it: TCVN3 letters sit on symbols («, ©, ®, the soft hyphen …).
_TOKEN = re.compile(r"[\w\u00a1-\u00ff]+")

ENCODINGS = ("tcvn3", "vni")


def unicode_to_tcvn3(text: str) -> bytes:
    """TCVN3 bytes of `text` (for test pages and fixtures); capitals with tone marks have no byte."""
    inverse = {char: byte for byte, char in TCVN3_BYTES.items()}
    return bytes(ord(char) if char.isascii() else inverse[char] for char in unicodedata.normalize("NFC", text))


def tcvn3_to_unicode(text: str) -> str:
    return text.translate(_TCVN3_TABLE)


def vni_to_unicode(text: str) -> str:
    return _VNI.sub(lambda m: VNI_SEQUENCES[m.group(0)], text)


_CONVERTERS = {"tcvn3": tcvn3_to_unicode, "vni": vni_to_unicode}


# Vietnamese syllables: initial consonant, rhyme (vowels and final), at most one tone mark.
_INITIALS = sorted("b c ch d đ g gh gi h k kh l m n ng ngh nh p ph qu r s t th tr v x".split(), key=len, reverse=True)
_RHYMES = frozenset(
    """a ai ao au ay ac ach am an ang anh ap at ăc ăm ăn ăng ăp ăt âc âm ân âng âp ât âu ây
    e eo ec em en eng ep et ê êu êch êm ên ênh êp êt i ia iu ich im in inh ip it
    iêc iêm iên iêng iêp iêt iêu o oi oc om on ong op ot ooc oong
    oa oai oao oay oac oach oam oan oang oanh oap oat oăc oăm oăn oăng oăt oe oeo oec oen oet
    ô ôi ôc ôm ôn ông ôp ôt ơ ơi ơm ơn ơp ơt u ui ua uc um un ung up ut uân uâng uât uây
    uê uêch uênh uy uya uyên uyêt uych uynh uyt uyu uôc uôi uôm uôn uông uôt uơ
    ư ưa ưi ưu ưc ưm ưn ưng ưt ươc ươi ươm ươn ương ươp ươt ươu y yêm yên yêng yêt yêu""".split()
)
# Central Highlands names end in k where Vietnamese words end in c: Đắk Lắk, Đắk Nông.
_RHYMES |= frozenset(rhyme[:-1] + "k" for rhyme in _RHYMES if rhyme.endswith("c"))
_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")
_STOPPED = ("c", "ch", "k", "p", "t")  # such syllables take only the acute or the dot below
_FRONT_VOWELS = ("e", "ê", "i", "y")


@lru_cache(maxsize=65536)
def is_vietnamese_syllable(word: str) -> bool:
    """Whether `word` spells one Vietnamese syllable (NFC, lower, Title or UPPER case)."""
    if not (word.islower() or word.isupper() or word.istitle()):
        return False
    tones = []
    letters = []
    for char in unicodedata.normalize("NFD", word.lower()):
        (tones if char in _TONES else letters).append(char)
    if len(tones) > 1:
        return False
    tone = tones[0] if tones else ""
    spelled = unicodedata.normalize("NFC", "".join(letters))
    return any(_well_formed(initial, spelled[len(initial) :], tone) for initial in _syllable_initials(spelled))


def _syllable_initials(letters: str) -> Iterator[str]:
    yield from (initial for initial in _INITIALS if letters.startswith(initial))
    yield ""


def _well_formed(initial: str, rhyme: str, tone: str) -> bool:
    if rhyme not in _RHYMES:
        return False
    if rhyme.endswith(_STOPPED) and tone not in ("", "\u0301", "\u0323"):
        return False
    front = rhyme.startswith(_FRONT_VOWELS)
    # Spelling rules: k, gh, ngh before e, ê, i; c, g, ng elsewhere.
    if initial in ("gh", "ngh"):
        return front
    if initial == "c" or initial == "ng":
        return not front
    return not (initial == "g" and rhyme.startswith(("e", "ê")))


# Share of a paragraph's words that must spell Vietnamese syllables once it is converted.
PARAGRAPH_SYLLABLE_SHARE = 0.7
# Acronyms (UBND, HĐND, TT) read the same in Vietnamese and foreign text: no evidence either way.
_ACRONYM = re.compile("[A-ZĐ]{2,6}")
# Frequent Vietnamese words that hold a letter outside ASCII: several of them appearing only after
# conversion is what makes a page's text read as Vietnamese.
_COMMON_WORDS = frozenset(
    """của và các được người những một với là có này không đã năm ngày tỉnh về để đến tại nhân dân
    công việc đồng thành phố huyện xã số quyết định thực hiện phát triển nước nhà điều chính trên từ
    sẽ đó hội việt nghị kế hoạch quản lý thông báo ủy uỷ ban đảng cấp hành tổ chức cán bộ học giáo
    dục tế văn hóa hoá xây dựng cộng hòa hoà chủ nghĩa độc lập tự hạnh phúc sở tháng đơn vị cơ quan
    chỉ đạo mới nhiều như cũng làm bạn chào trường""".split()
)


@dataclass
class _Tally:
    """How the words of a text read before and after converting it from one legacy encoding."""

    words: int = 0  # tokens holding a letter
    syllables: int = 0  # of these, tokens that spell a Vietnamese syllable once converted (changed or not)
    candidates: int = 0  # words (two characters or more) the conversion changes, not Vietnamese as they stand
    gains: int = 0  # of these, words that spell a Vietnamese syllable once converted
    unicode_words: int = 0  # words already holding letters only Unicode Vietnamese has
    common: set[str] = field(default_factory=set)

    def add(self, other: _Tally) -> None:
        self.words += other.words
        self.syllables += other.syllables
        self.candidates += other.candidates
        self.gains += other.gains
        self.unicode_words += other.unicode_words
        self.common |= other.common

    def reads_as_legacy_page(self) -> bool:
        """Page-level evidence from text alone: a large share of the words are fixed by the conversion,
        few it changes are not, several common Vietnamese words appear, and more such words than
        Unicode Vietnamese ones."""
        return (
            self.gains >= 3
            and self.gains >= 0.15 * self.words
            and self.gains >= 0.6 * self.candidates
            and len(self.common) >= 2
            and self.gains > self.unicode_words
        )

    def reads_as_legacy_paragraph(self) -> bool:
        """A paragraph of a page with evidence: no Unicode Vietnamese, and a good share of its words
        fixed by the conversion (one "où" in a French paragraph is not enough), few left broken."""
        return (
            self.unicode_words == 0
            and self.gains >= 1
            and self.gains >= 0.2 * self.words
            and self.gains >= 0.6 * self.candidates
            and self.syllables >= PARAGRAPH_SYLLABLE_SHARE * self.words
        )


def _tally(text: str, encoding: str) -> _Tally:
    convert = _CONVERTERS[encoding]
    tally = _Tally()
    for token in _TOKEN.findall(text):
        if token.isdigit():
            continue
        if _UNICODE_VIETNAMESE.search(token):
            tally.words += 1
            tally.unicode_words += 1
            continue
        converted = token if token.isascii() else convert(token)
        if _ACRONYM.fullmatch(converted):
            continue
        tally.words += 1
        readable = is_vietnamese_syllable(converted)
        tally.syllables += readable
        if len(token) < 2 or converted == token or is_vietnamese_syllable(token):
            continue
        tally.candidates += 1
        if readable:
            tally.gains += 1
            if converted.lower() in _COMMON_WORDS:
                tally.common.add(converted.lower())
    return tally


# Character references: editors that escape every non-ASCII byte write TCVN3's "ư" as &shy;.
_ENTITY = re.compile(r"&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z]\w*);")


@lru_cache(maxsize=4096)
def _unescape_reference(reference: str) -> str:
    return html.unescape(reference)


def _unescape_letters(text: str) -> str:
    """Character references to non-ASCII characters (&shy; &copy; &#181;) as characters, so the
    conversion sees them; references to markup characters (&lt; &amp;) stay."""
    if "&" not in text:
        return text

    def letter(match: re.Match[str]) -> str:
        char = _unescape_reference(match.group())
        return char if len(char) == 1 and ord(char) > 0xA0 else match.group()

    return _ENTITY.sub(letter, text)


def _may_be_legacy(text: str) -> bool:
    """A cheap look before counting words: legacy text is full of TCVN3 symbols or VNI mark letters,
    more of them than letters only Unicode Vietnamese has (also when written as &shy; or &#7897;)."""
    marks = len(_LEGACY_MARK.findall(text))
    unicode_letters = len(_UNICODE_VIETNAMESE.findall(text))
    if "&" in text:
        for reference in _ENTITY.findall(text):
            char = _unescape_reference(reference)
            marks += _LEGACY_MARK.fullmatch(char) is not None
            unicode_letters += _UNICODE_VIETNAMESE.fullmatch(char) is not None
    return marks >= 2 and unicode_letters < marks


def _encodings_of_blocks(blocks: list[str], declared: frozenset[str]) -> list[str | None]:
    """The one place that decides: the legacy encoding to convert each block from, or None.

    With a legacy font declared, that encoding is the page's; otherwise the page's text as a whole
    must read as legacy text (`_Tally.reads_as_legacy_page`). Either way each block is converted only
    if it reads as a legacy paragraph itself.
    """
    candidates = sorted(declared) if declared else list(ENCODINGS)
    tallies = {encoding: [_tally(block, encoding) for block in blocks] for encoding in candidates}
    if not declared:
        page = {encoding: _Tally() for encoding in candidates}
        for encoding in candidates:
            for tally in tallies[encoding]:
                page[encoding].add(tally)
        evidenced = [encoding for encoding in candidates if page[encoding].reads_as_legacy_page()]
        if not evidenced:
            return [None] * len(blocks)
        candidates = [max(evidenced, key=lambda encoding: page[encoding].gains)]
    decided: list[str | None] = []
    for index in range(len(blocks)):
        fitting = [e for e in candidates if tallies[e][index].reads_as_legacy_paragraph()]
        decided.append(max(fitting, key=lambda e: tallies[e][index].gains) if fitting else None)
    return decided


def detect_legacy(text: str) -> str | None:
    """ "tcvn3" or "vni" when `text` as a whole reads as Vietnamese only once converted, else None."""
    if not text or text.isascii() or not _may_be_legacy(text):
        return None
    encodings = {encoding for encoding in _encodings_of_blocks(text.split("\n"), frozenset()) if encoding}
    return encodings.pop() if encodings else None


def repair_legacy(text: str) -> tuple[str, str | None]:
    """(plain text with its legacy lines converted, the encoding found or None): the rule of
    `repair_legacy_html` for text without markup, so without fonts to name."""
    if not text or text.isascii() or not _may_be_legacy(text):
        return text, None
    lines = text.split("\n")
    decided = _encodings_of_blocks(lines, frozenset())
    if not any(decided):
        return text, None
    converted = [_CONVERTERS[e](line) if e else line for line, e in zip(lines, decided, strict=True)]
    return "\n".join(converted), "+".join(sorted({e for e in decided if e}))


# Legacy fonts named in a font-family list or <font face>: ".VnTime", ".VnTimeH", ".VnArial" are
# TCVN3 (ABC); "VNI-Times", "VNI-Helve" are VNI. The name is found first (rare, so the scan is cheap),
# then what precedes it must open a font list, earlier names in the list skipped over.
# (Two patterns with literal starts: Python's re scans those fast, an alternation of them slowly.)
_TCVN3_FONT_NAME = re.compile(r"\.[Vv][Nn][A-Za-z]")
_VNI_FONT_NAME = re.compile(r"\b[Vv][Nn][Ii][-_ ][A-Za-z]")
_QUOTE = r"(?:&quot;|&\#39;|[\"'])?"
# A font list up to the legacy font's name: `font-family: Arial, "Times New Roman", .VnTime`. Each
# name is words with single spaces between, and the groups are possessive: a list of blanks and
# commas must not make the search backtrack exponentially.
_FONT_LIST_OPENING = re.compile(
    rf"(?:font-family\s*+:|\bface\s*+=)(?:\s*+{_QUOTE}(?:[\w-]++(?: [\w-]++)*+)?{_QUOTE}\s*+,)*+\s*+{_QUOTE}\s*$",
    re.I,
)


def legacy_fonts(page: str) -> frozenset[str]:
    """The legacy encodings whose fonts the page's styles or <font face> name."""
    found = set()
    if _names_font(page, _TCVN3_FONT_NAME):
        found.add("tcvn3")
    if ("VNI" in page or "Vni" in page or "vni" in page) and _names_font(page, _VNI_FONT_NAME):
        found.add("vni")
    return frozenset(found)


def _names_font(page: str, font_name: re.Pattern[str]) -> bool:
    return any(
        _FONT_LIST_OPENING.search(page, max(0, name.start() - 160), name.start()) for name in font_name.finditer(page)
    )


# Markup around text: comments, script and style elements, tags.
_MARKUP = re.compile(r"<!--.*?-->|<(script|style)\b.*?</\1\s*>|<[^>]*>", re.S | re.I)
_TAG_NAME = re.compile(r"</?\s*([\w:-]+)")
# Tags inside a paragraph; any other tag ends one. Word's <o:p>, <st1:place> are inline too.
_INLINE_TAGS = frozenset(
    "a abbr b big br cite code em font i mark nobr q s small span strike strong sub sup tt u wbr".split()
)
# Attributes whose values are text a record may show (alt text, titles, meta descriptions).
_TEXT_ATTRIBUTE = re.compile(r"""\s(?:alt|title|content)\s*=\s*(?:"(?P<double>[^"]*)"|'(?P<single>[^']*)')""", re.I)


def _html_blocks(page: str) -> list[list[tuple[int, int]]]:
    """Spans of `page` grouped by paragraph: the text between block-level tags, and each text attribute."""
    blocks: list[list[tuple[int, int]]] = [[]]
    position = 0
    for markup in _MARKUP.finditer(page):
        if markup.start() > position:
            blocks[-1].append((position, markup.start()))
        position = markup.end()
        name = _TAG_NAME.match(markup.group())
        tag = name.group(1).lower() if name else ""
        if tag not in _INLINE_TAGS and ":" not in tag and blocks[-1]:
            blocks.append([])
        if tag and tag not in ("script", "style") and "=" in markup.group():
            for attribute in _TEXT_ATTRIBUTE.finditer(markup.group()):
                group = "double" if attribute.group("double") is not None else "single"
                start, end = attribute.span(group)
                if end > start:
                    blocks.insert(len(blocks) - 1, [(markup.start() + start, markup.start() + end)])
    if position < len(page):
        blocks[-1].append((position, len(page)))
    return [block for block in blocks if block]


def repair_legacy_html(page: str) -> tuple[str, str | None]:
    """(page with its legacy-encoded paragraphs converted to Unicode, the encoding found or None)."""
    fonts = legacy_fonts(page)
    if not (fonts or _may_be_legacy(page)):
        return page, None
    blocks = _html_blocks(page)
    texts = ["".join(_unescape_letters(page[start:end]) for start, end in block) for block in blocks]
    decided = _encodings_of_blocks(texts, fonts)
    if not any(decided):
        return page, None
    spans = [(span, encoding) for block, encoding in zip(blocks, decided, strict=True) if encoding for span in block]
    parts: list[str] = []
    position = 0
    for (start, end), encoding in sorted(spans):
        parts.append(page[position:start])
        parts.append(_CONVERTERS[encoding](_unescape_letters(page[start:end])))
        position = end
    parts.append(page[position:])
    return "".join(parts), "+".join(sorted({e for e in decided if e}))
