"""Vietnamese text repair and normalisation shared by parsers and pipelines."""

from __future__ import annotations

import re
import unicodedata

import ftfy
from ftfy.badness import is_bad

# U+00D0 (Icelandic Eth) and U+0189 are typed for Đ on some portals: "HÐND", "QÐ".
_D_LOOKALIKES = str.maketrans({"\u00d0": "\u0110", "\u0189": "\u0110", "\u00f0": "\u0111"})
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
# Runs of two or more blanks, or any blank other than a plain space: single spaces are left alone,
# which keeps this cheap on long bodies.
_SPACES = re.compile(
    r"[ \t\r\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]{2,}|[\t\r\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]"
)
# One cheap scan deciding whether the two substitutions above have anything to do.
_NEEDS_SPACING = re.compile("[\u200b\u200c\u200d\u2060\ufeff\t\r\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]| [ \n]|\n ")
_PUNCTUATION = re.compile(r"[^\w\s]+")
_AROUND_NEWLINE = re.compile(r" *\n *")
# Cheap pre-check before asking ftfy: UTF-8 read as cp1252/latin-1 leaves these marks.
_MOJIBAKE_HINTS = ("Ã", "Ä", "Å", "Æ", "áº", "á»", "â€", "Â")


def repair_mojibake(text: str) -> str:
    """Undo UTF-8-read-as-cp1252 damage ("Há»™i nghá»‹" → "Hội nghị"), leaving good text alone."""
    if not any(hint in text for hint in _MOJIBAKE_HINTS) or not is_bad(text):
        return text
    return ftfy.fix_text(text, normalization="NFC")


def normalize_text(text: str) -> str:
    """NFC, Đ look-alikes, invisible characters, nbsp and runs of spaces; keeps single newlines."""
    text = repair_mojibake(text)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if "\u00d0" in text or "\u0189" in text or "\u00f0" in text:
        text = text.translate(_D_LOOKALIKES)
    if _NEEDS_SPACING.search(text):
        text = _INVISIBLE.sub("", text)
        text = _SPACES.sub(" ", text)
        if "\n" in text:
            text = _AROUND_NEWLINE.sub("\n", text)
    return text.strip()


def quick_clean(text: str) -> str:
    """One line, NFC: enough for layout decisions; the NormalizeText pipeline does the rest."""
    text = " ".join(text.split())
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def collapse(text: str) -> str:
    """One line of text: every whitespace run becomes one space."""
    return " ".join(text.split())


def paragraphs(body: str) -> list[str]:
    """Split a record body into its paragraphs."""
    return [p for p in body.split("\n\n") if p.strip()]


def join_paragraphs(parts: list[str]) -> str:
    return "\n\n".join(p for p in parts if p)


def match_key(text: str) -> str:
    """A key for comparing two strings as readers would: NFC, casefolded, no punctuation runs."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return " ".join(_PUNCTUATION.sub(" ", text.casefold()).split())


# Where writers disagree on tone placement: the "old" style marks the first vowel of oa, oe and uy
# (hòa, thúy, ủy), the "new" one the second (hoà, thuý, uỷ). Keys use the second.
_OLD_STYLE = {
    first + second: base + unicodedata.normalize("NFC", second + mark)
    for base, seconds in (("o", "ae"), ("u", "y"))
    for second in seconds
    for mark in "\u0300\u0301\u0309\u0303\u0323"
    for first in [unicodedata.normalize("NFC", base + mark)]
}
_OLD_STYLE_PAIR = re.compile("|".join(_OLD_STYLE))


def tone_key(text: str) -> str:
    """One tone-mark placement for lower-case NFC text: "hòa"/"hoà", "thúy"/"thuý", "ủy"/"uỷ" give
    the same key (a comparison key, not text to show)."""
    return _OLD_STYLE_PAIR.sub(lambda pair: _OLD_STYLE[pair.group()], text)


def content_key(text: str) -> str:
    """The text a content hash is taken over: NFC, one tone-mark placement, case-folded, whitespace
    collapsed — so the same notice typed on two portals hashes the same."""
    text = " ".join(text.casefold().split())
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return tone_key(text)
