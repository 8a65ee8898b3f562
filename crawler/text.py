"""Vietnamese text repair and normalisation shared by parsers and pipelines."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

import ftfy
from ftfy.badness import is_bad

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier

# U+00D0 (Icelandic Eth) and U+0189 are typed for Đ on some portals: "HÐND", "QÐ", "ÐỒNG CHÍ".
_D_LOOKALIKES = str.maketrans({"\u00d0": "\u0110", "\u0189": "\u0110", "\u00f0": "\u0111"})
_WORD_WITH_D_LOOKALIKE = re.compile(r"\w*[\u00d0\u00f0\u0189]\w*")
# An acronym of capital consonants (HĐND, QĐ, BCĐ, GDĐT): Vietnamese, where "MEÐ" is Icelandic.
_CONSONANT_ACRONYM = re.compile("[BCDFGHJKLMNPQRSTVXZ\u00d0\u0189]+")
# Letters only Vietnamese uses among Latin-script languages (ã õ â ê ô are Portuguese or French too).
VIETNAMESE_ONLY_LETTER = re.compile("[ăđơưĩũĂĐƠƯĨŨ\u1ea0-\u1ef9]")
_LETTER_WORD = re.compile(r"[^\W\d_]+")
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
# The soft hyphen is invisible on the page and splits words for search and matching, but in TCVN3
# text left unconverted (no page-level evidence) byte 0xAD is "ư": it stays where TCVN3's letters do.
_SOFT_HYPHEN = "\u00ad"
_TCVN3_LETTERS = re.compile("[µ¸¶¹¨»¾¼½ª¬®¡¢¤¥¦]")
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
# Only ftfy's encoding repair: its other fixes (straight quotes, half-width letters, ligatures, HTML
# entities) would change valid text that merely sits next to the mojibake.
_ENCODING_ONLY = ftfy.TextFixerConfig(
    unescape_html=False,
    remove_terminal_escapes=False,
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    fix_line_breaks=False,
    remove_control_chars=False,
    normalization="NFC",
)


def repair_mojibake(text: str) -> str:
    """Undo UTF-8-read-as-cp1252 damage ("Há»™i nghá»‹" → "Hội nghị"), leaving good text alone."""
    if not any(hint in text for hint in _MOJIBAKE_HINTS) or not is_bad(text):
        return text
    return ftfy.fix_text(text, _ENCODING_ONLY)


def fix_d_lookalikes(text: str) -> str:
    """Ð (U+00D0), ð and Ɖ (U+0189) typed for Đ/đ, where Vietnamese writes Đ: starting a word
    ("ÐỒNG CHÍ") or in an acronym of consonants ("HÐND", "QÐ"). Icelandic "með", "MEÐ" and Ewe
    "Ɖeka" in text without Vietnamese letters keep theirs."""
    vietnamese = VIETNAMESE_ONLY_LETTER.search(text) is not None

    def fix(match: re.Match[str]) -> str:
        word = match.group()
        if "\u0189" in word and not vietnamese:
            return word
        if word[0] in "\u00d0\u00f0\u0189" or _CONSONANT_ACRONYM.fullmatch(word):
            return word.translate(_D_LOOKALIKES)
        return word

    return _WORD_WITH_D_LOOKALIKE.sub(fix, text)


def normalize_text(text: str) -> str:
    """NFC, Đ look-alikes, invisible characters, nbsp and runs of spaces; keeps single newlines."""
    text = repair_mojibake(text)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if "\u00d0" in text or "\u0189" in text or "\u00f0" in text:
        text = fix_d_lookalikes(text)
    if _SOFT_HYPHEN in text and not _TCVN3_LETTERS.search(text):
        text = text.replace(_SOFT_HYPHEN, "")
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


# Shares of words with letters only Vietnamese uses: above the first the text is Vietnamese; between
# the two, a language identifier must agree (an English report naming Đà Nẵng has a few such words).
VIETNAMESE_SHARE = 0.3
VIETNAMESE_SHARE_WITH_AGREEMENT = 0.1
# A language identifier's answer is taken from this probability up, on at least this many words.
LANGUAGE_ID_CONFIDENCE = 0.8
LANGUAGE_ID_MIN_WORDS = 3


def detect_language(text: str, declared: str | None) -> str | None:
    """The language of `text` as an ISO 639-1 code, given the page's <html lang> (`declared`).

    "vi" when enough words hold letters only Vietnamese uses, or when the page declares "vi" and a
    language identifier does not confidently say otherwise; another declared language is taken as
    given; without a declaration, py3langid's confident answer (never "vi" on its own), else None.
    """
    declared = (declared or "").strip().lower().split("-")[0].split("_")[0] or None
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    words = _LETTER_WORD.findall(text)
    share = sum(1 for word in words if VIETNAMESE_ONLY_LETTER.search(word)) / len(words) if words else 0.0
    if share >= VIETNAMESE_SHARE:
        return "vi"
    if declared and declared != "vi":
        return declared
    guess = None
    if len(words) >= LANGUAGE_ID_MIN_WORDS:
        language, probability = _language_identifier().classify(text)
        guess = language if probability >= LANGUAGE_ID_CONFIDENCE else None
    if guess == "vi":
        return "vi" if declared == "vi" or share >= VIETNAMESE_SHARE_WITH_AGREEMENT else None
    return guess or declared


@lru_cache(maxsize=1)
def _language_identifier() -> LanguageIdentifier:
    """py3langid's model (loaded once, on the first text that is not plainly Vietnamese)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


# The combining diacritical marks of the blocks Latin scripts use.
_COMBINING_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def fold_vietnamese(text: str) -> str:
    """Text as people type it without tone or vowel marks, đ as d, lower case: "Đồng Nai" → "dong
    nai", whatever the text's normal form. Search indexes (crawler.sinks) keep it beside the text as
    written: full-text tokenizers ignore the marks of ộ, ư, ơ … but keep đ, a letter of its own."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return _COMBINING_MARKS.sub("", decomposed).lower()
