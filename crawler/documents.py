"""Official documents (văn bản): document numbers (số/ký hiệu) and their parts, types and issuers.

The numbering rules are those of Nghị định 30/2020/NĐ-CP and Hướng dẫn 36-HD/VPTW (DOMAIN.md §6):
administrative `915/QĐ-UBND`, công văn `1592/UBND-KTTH` (no type), legal normative documents with a
year `42/2011/QĐ-UBND`, Party documents `60-NQ/TW`. Dates such as 16/07/2018 never match: a symbol
starts with a capital letter.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Type abbreviations (DOMAIN.md §6) → the type's name.
DOC_TYPES: dict[str, str] = {
    "NQ": "Nghị quyết",
    "QĐ": "Quyết định",
    "CT": "Chỉ thị",
    "QC": "Quy chế",
    "QyĐ": "Quy định",
    "TC": "Thông cáo",
    "TB": "Thông báo",
    "HD": "Hướng dẫn",
    "CTr": "Chương trình",
    "KH": "Kế hoạch",
    "PA": "Phương án",
    "ĐA": "Đề án",
    "DA": "Dự án",
    "BC": "Báo cáo",
    "BB": "Biên bản",
    "TTr": "Tờ trình",
    "HĐ": "Hợp đồng",
    "CĐ": "Công điện",
    "BGN": "Bản ghi nhớ",
    "BTT": "Bản thỏa thuận",
    "GUQ": "Giấy ủy quyền",
    "GM": "Giấy mời",
    "GGT": "Giấy giới thiệu",
    "GNP": "Giấy nghỉ phép",
    "PG": "Phiếu gửi",
    "PC": "Phiếu chuyển",
    "PB": "Phiếu báo",
    "SY": "Bản sao y",
    "TrS": "Bản trích sao",
    "SL": "Bản sao lục",
    "NĐ": "Nghị định",
    "TT": "Thông tư",
    "TTLT": "Thông tư liên tịch",
    "VBHN": "Văn bản hợp nhất",
    "L": "Luật",
    "AL": "Án lệ",  # court precedents: 63/2023/AL
}
# Title keywords → type, longest first so "Thông tư liên tịch" wins over "Thông tư".
_TITLE_TYPES = sorted(set(DOC_TYPES.values()) | {"Công văn"}, key=len, reverse=True)

# Spaces around "/" and around a dash between symbol groups are tolerated ("số 915 / QĐ – UBND")
# and removed from the matched text; Ð (U+00D0) is read as Đ.
_CAP = "A-ZĐ\u00d0"
_DASH = r"\s*[-\u2010-\u2015\u2212]\s*"
_SLASH = r"\s*/\s*"
_SYMBOL = rf"[{_CAP}][A-Za-z{_CAP}đ0-9&]*(?:{_DASH}[{_CAP}0-9][A-Za-z{_CAP}đ0-9&.]*)*"
_PARTY_BODY = rf"[{_CAP}][A-Za-z{_CAP}đ0-9&.]*(?:{_DASH}[{_CAP}0-9][A-Za-z{_CAP}đ0-9&.]*)*"
_NUMBER = re.compile(
    rf"""(?<![\w/:.-])(?P<so>\d{{1,5}}[a-zđ]?)(?:
       {_SLASH}(?P<nam>(?:19|20)\d{{2}}){_SLASH}(?P<kh_qppl>{_SYMBOL})
     | {_SLASH}(?P<kh_hc>{_SYMBOL})
     | -(?P<loai_dang>[{_CAP}][A-Za-z{_CAP}đ]{{1,5}}){_SLASH}(?P<cq_dang>{_PARTY_BODY})
    )(?![\w/])""",
    re.X,
)
_SPACING = re.compile(rf"{_DASH}|{_SLASH}")
# A number's "/" is never more than 6 characters after its start, and a symbol is short.
_BEFORE_SLASH = 16
_AFTER_SLASH = 120


@dataclass(frozen=True)
class DocumentNumber:
    """A document number and its parts: `42/2011/QĐ-UBND` → 42, 2011, QĐ-UBND, Quyết định, UBND."""

    text: str
    number: str
    year: str | None
    symbol: str
    doc_type: str | None
    issuer: str | None


def _clean(part: str | None) -> str | None:
    """A matched piece without spaces around its separators, Ð read as Đ."""
    if part is None:
        return None
    return _SPACING.sub(lambda m: "/" if "/" in m.group(0) else "-", part).replace("\u00d0", "Đ")


def _candidate_spans(text: str) -> list[tuple[int, int]]:
    """Stretches of text around each "/": the only places a document number can be."""
    spans: list[tuple[int, int]] = []
    slash = text.find("/")
    while slash != -1:
        start, end = max(0, slash - _BEFORE_SLASH), min(len(text), slash + _AFTER_SLASH)
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
        slash = text.find("/", slash + 1)
    return spans


def _parts(found: re.Match[str]) -> DocumentNumber:
    # A sentence's full stop is not part of the symbol ("… theo Quyết định số 1719/QĐ-TTg.").
    groups = {name: (_clean(value) or "").rstrip(".") or None for name, value in found.groupdict().items()}
    text = (_clean(found.group(0)) or "").rstrip(".")
    if groups["loai_dang"]:
        abbreviation = groups["loai_dang"]
        symbol = f"{abbreviation}/{groups['cq_dang']}"
        return DocumentNumber(text, groups["so"] or "", None, symbol, DOC_TYPES.get(abbreviation), groups["cq_dang"])
    symbol = groups["kh_qppl"] or groups["kh_hc"] or ""
    head, _, rest = symbol.partition("-")
    doc_type = DOC_TYPES.get(head)
    if doc_type is None:
        # A công văn has no type: body + drafting unit (1592/UBND-KTTH).
        issuer = head
        doc_type = "Công văn" if rest else None
    else:
        issuer = rest or None
    return DocumentNumber(text, groups["so"] or "", groups["nam"], symbol, doc_type, issuer)


def find_document_numbers(text: str | None) -> list[DocumentNumber]:
    """Every document number in `text`, in order of first appearance, each once."""
    if not text or "/" not in text:
        return []
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    seen: dict[str, DocumentNumber] = {}
    for start, end in _candidate_spans(text):
        for found in _NUMBER.finditer(text, start, end):
            number = _parts(found)
            seen.setdefault(number.text, number)
    return list(seen.values())


def parse_document_number(text: str | None) -> DocumentNumber | None:
    """The document number a "Số/ký hiệu" field holds (the first one in it)."""
    numbers = find_document_numbers(text)
    return numbers[0] if numbers else None


def type_from_title(title: str | None) -> str | None:
    """The document type a title starts with ("Quyết định về việc …" → Quyết định)."""
    if not title:
        return None
    lowered = unicodedata.normalize("NFC", title).strip().casefold()
    for name in _TITLE_TYPES:
        if lowered.startswith(name.casefold()):
            return name
    return None
