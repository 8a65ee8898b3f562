"""Legacy Vietnamese encodings: TCVN3 (ABC, .VnTime fonts), VNI (VNI-Times fonts) and cp1258.

Pages and Word files from before Unicode carry text in font encodings: the bytes were read as
Windows-1252, so the text arrives as "Céng hoµ x· héi" (TCVN3) or "Xin chaøo" (VNI). These are
detected per text and converted; cp1258's combining tones only need NFC (see crawler.text).
TCVN3 ⚠: byte 0xAD (a soft hyphen in Windows-1252) is "ư" and must never be dropped first.
"""

from __future__ import annotations

import re
import unicodedata

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
_VNI_TELL = re.compile("[aeiouyAEIOUY][øùûõïâàáåãäêèéúüëØÙÛÕÏÂÀÁÅÃÄÊÈÉÚÜË]|[ôöÔÖ][øùûõïØÙÛÕÏ]")
# Letters of real Unicode Vietnamese: their presence means the text needs no conversion.
_UNICODE_VIETNAMESE = re.compile("[ăđơưĂĐƠƯ\u1ea0-\u1ef9]")
_WORD = re.compile(r"\w+")


def unicode_to_tcvn3(text: str) -> bytes:
    """TCVN3 bytes of `text` (for test pages and fixtures); capitals with tone marks have no byte."""
    inverse = {char: byte for byte, char in TCVN3_BYTES.items()}
    return bytes(ord(char) if char.isascii() else inverse[char] for char in unicodedata.normalize("NFC", text))


def tcvn3_to_unicode(text: str) -> str:
    return text.translate(_TCVN3_TABLE)


def vni_to_unicode(text: str) -> str:
    return _VNI.sub(lambda m: VNI_SEQUENCES[m.group(0)], text)


def detect_legacy(text: str) -> str | None:
    """ "tcvn3" or "vni" when `text` looks like that encoding read as Windows-1252, else None.

    TCVN3 puts common letters (à á ã ạ â ê ô ơ đ ư) on Windows-1252 symbols (µ ¸ · ¹ © ª « ¬ ® and the
    soft hyphen) that VNI and real Latin text never use; VNI leaves runs of vowel + mark letter.
    """
    if not text or text.isascii() or _UNICODE_VIETNAMESE.search(text):
        return None
    words = max(1, len(_WORD.findall(text)))
    symbols = sum(1 for char in text if char in _TCVN3_SYMBOLS)
    other_letters = any(not char.isascii() and char.isalpha() and char not in _TCVN3_SYMBOLS for char in text)
    # One symbol alone ("5 µg") is not enough; with another accented letter ("Hµ Néi") it is.
    if (symbols >= 2 or (symbols == 1 and other_letters)) and symbols / words >= 0.05:
        return "tcvn3"
    tells = len(_VNI_TELL.findall(text))
    if tells >= 2 and tells / words >= 0.15:
        return "vni"
    return None


def repair_legacy(text: str) -> tuple[str, str | None]:
    """(Unicode text, the legacy encoding found or None)."""
    found = detect_legacy(text)
    if found == "vni":
        return vni_to_unicode(text), found
    if found == "tcvn3":
        return tcvn3_to_unicode(text), found
    return text, None
