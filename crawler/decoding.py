"""Bytes → text for portal pages whose HTTP charset, <meta> charset and real encoding disagree."""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from crawler.legacy import repair_legacy_html

_TAGS = re.compile(r"<[^>]*>")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
# Readings under which TCVN3 and VNI text shows as Latin-1 characters (TCVN3 pages declare
# windows-1252 or nothing; a UTF-8 page may carry a pasted .VnTime paragraph).
_LEGACY_CARRIERS = frozenset({"utf-8", "utf-8-sig", "cp1252", "iso8859-1", "ascii"})
# Labels browsers read as windows-1252 (WHATWG Encoding): its curly quotes and dashes, not C1 controls.
_WINDOWS_1252_LABELS = frozenset({"cp1252", "iso8859-1", "ascii"})
# Past this share of non-ASCII characters in its text, a page read as windows-1252 is no Latin-script
# page: Cyrillic, Greek or CJK bytes become runs of accented letters (about 1.0), where French has
# about 0.03 and TCVN3 or VNI text about 0.3. Only then may charset-normalizer guess.
_MAX_LATIN_NON_ASCII = 0.6


def _c1_controls(error: UnicodeError) -> tuple[str, int]:
    """The five bytes windows-1252 leaves undefined read as C1 controls, as browsers do."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "".join(chr(byte) for byte in error.object[error.start : error.end]), error.end


codecs.register_error("crawler-c1-controls", _c1_controls)


def declared_meta_charset(body: bytes) -> str | None:
    found = _META_CHARSET.search(body[:4096])
    return found.group(1).decode("ascii", "replace").lower() if found else None


def decode_html(body: bytes, header_charset: str | None) -> tuple[str, str]:
    """(text, encoding used). Valid UTF-8 wins (a wrong header is common, valid-UTF-8-by-chance is
    not); then the <meta> and header charsets; undeclared bytes are windows-1252 unless they read as
    another script. Text in the TCVN3 or VNI font encodings is converted to Unicode only on the page
    evidence `crawler.legacy.repair_legacy_html` asks for, and the encoding says so
    ("windows-1252+tcvn3", "utf-8+vni")."""
    if body.startswith(b"\xef\xbb\xbf"):
        text, encoding = body[3:].decode("utf-8", "replace"), "utf-8-sig"
    else:
        try:
            text, encoding = body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = _decode_single_byte(body, header_charset)
    if _codec_name(encoding) in _LEGACY_CARRIERS:
        text, legacy = repair_legacy_html(text)
        if legacy:
            encoding = f"{encoding}+{legacy}"
    return text, encoding


def _codec_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return encoding


def _decode_single_byte(body: bytes, header_charset: str | None) -> tuple[str, str]:
    for charset in (declared_meta_charset(body), header_charset):
        if not charset or _codec_name(charset) in ("utf-8", "utf-8-sig"):
            continue
        if _codec_name(charset) in _WINDOWS_1252_LABELS:
            return body.decode("cp1252", "crawler-c1-controls"), charset
        try:
            return body.decode(charset), charset
        except (LookupError, UnicodeDecodeError):
            continue
    # Nothing usable declared: windows-1252, the web's default, as long as the text reads as a Latin
    # script. charset-normalizer's guesses are no help there (it reads French as cp1250 or Big5).
    text = body.decode("cp1252", "crawler-c1-controls")
    if _reads_as_latin_script(text):
        return text, "cp1252"
    best = from_bytes(body).best()
    if best is not None:
        return str(best), best.encoding
    return text, "cp1252"


def _reads_as_latin_script(text: str) -> bool:
    visible = "".join(_TAGS.sub(" ", text[:200_000]).split())
    if not visible:
        return True
    non_ascii = sum(1 for char in visible if not char.isascii())
    return non_ascii / len(visible) <= _MAX_LATIN_NON_ASCII
