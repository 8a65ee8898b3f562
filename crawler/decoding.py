"""Bytes → text for portal pages whose HTTP charset, <meta> charset and real encoding disagree."""

from __future__ import annotations

import re

from charset_normalizer import from_bytes

from crawler.legacy import detect_legacy, tcvn3_to_unicode, vni_to_unicode

_TAGS = re.compile(r"<[^>]*>")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)


def declared_meta_charset(body: bytes) -> str | None:
    found = _META_CHARSET.search(body[:4096])
    return found.group(1).decode("ascii", "replace").lower() if found else None


def decode_html(body: bytes, header_charset: str | None) -> tuple[str, str]:
    """(text, encoding used). Valid UTF-8 wins (a wrong header is common, valid-UTF-8-by-chance is
    not); then the <meta> and header charsets; then charset-normalizer's guess. Single-byte text in
    the TCVN3 or VNI font encodings is converted to Unicode ("windows-1252+tcvn3")."""
    if body.startswith(b"\xef\xbb\xbf"):
        return body[3:].decode("utf-8", "replace"), "utf-8-sig"
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    text, encoding = _decode_single_byte(body, header_charset)
    legacy = detect_legacy(_TAGS.sub(" ", text[:200_000]))
    if legacy == "tcvn3":
        return tcvn3_to_unicode(text), f"{encoding}+tcvn3"
    if legacy == "vni":
        return vni_to_unicode(text), f"{encoding}+vni"
    return text, encoding


def _decode_single_byte(body: bytes, header_charset: str | None) -> tuple[str, str]:
    for charset in (declared_meta_charset(body), header_charset):
        if charset and charset.replace("-", "").replace("_", "") not in {"utf8"}:
            try:
                return body.decode(charset), charset
            except (LookupError, UnicodeDecodeError):
                continue
    best = from_bytes(body).best()
    if best is not None:
        return str(best), best.encoding
    return body.decode("utf-8", "replace"), "utf-8 (with replacements)"
