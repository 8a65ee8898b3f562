"""Bytes → text for portal pages whose HTTP charset, <meta> charset and real encoding disagree."""

from __future__ import annotations

import re

from charset_normalizer import from_bytes

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)


def declared_meta_charset(body: bytes) -> str | None:
    found = _META_CHARSET.search(body[:4096])
    return found.group(1).decode("ascii", "replace").lower() if found else None


def decode_html(body: bytes, header_charset: str | None) -> tuple[str, str]:
    """(text, encoding used). Valid UTF-8 wins (a wrong header is common, valid-UTF-8-by-chance is
    not); then the <meta> and header charsets; then charset-normalizer's guess."""
    if body.startswith(b"\xef\xbb\xbf"):
        return body[3:].decode("utf-8", "replace"), "utf-8-sig"
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
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
