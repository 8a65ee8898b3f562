"""Date, view-count and modification metadata any platform's page may carry, found the same way."""

from __future__ import annotations

import json
import re

import lxml.html
from lxml import etree

from crawler.dates import parse_vietnamese_date
from crawler.items import Document, Signer
from crawler.platforms.base import block_text, meta_content
from crawler.text import collapse, normalize_text

_DATE_HINT = re.compile(r"date|time|ngay|publish|posted|post-on|block_timer|thoigian|ngaydang|meta", re.I)
_NOT_ARTICLE_DATE = re.compile(r"today|date-?now|current|clock|weather|lich-am|calendar", re.I)
_META_SEPARATOR = re.compile(r"(\s*\|\s*|\s+[-–]\s+)")
_COUNTER_PART = re.compile(r"lượt\s*xem|view|thích|like|bình\s*luận|comment|chia\s*sẻ|^\s*[\d.,]+\s*$", re.I)
_VIEWS_HINT = re.compile(r"view-?count|news-view|\bviews?\b|luot-?xem|luotxem|hits|post-views", re.I)


def find_date_text(
    tree: lxml.html.HtmlElement, title_el: lxml.html.HtmlElement | None = None
) -> tuple[str | None, str | None]:
    """(date text as shown, machine-readable date) of the article, looked for after the title."""
    machine = meta_content(tree, "article:published_time", "datePublished", "pubdate", "date")
    if machine is None:
        machine = _json_ld_date(tree)
    times = tree.xpath("//time[@datetime]")
    if machine is None and times:
        machine = times[0].get("datetime")
    order = {el: i for i, el in enumerate(tree.iter())}
    start = order.get(title_el, 0) if title_el is not None else 0
    hinted = [  # in document order; `hinted_set` for membership
        el
        for el in tree.xpath("//*[@class or @id]")
        if _DATE_HINT.search(f"{el.get('class', '')} {el.get('id', '')}")
        and not _NOT_ARTICLE_DATE.search(f"{el.get('class', '')} {el.get('id', '')}")
        and order.get(el, 0) >= start
    ]
    hinted_set = set(hinted)
    for el in hinted:
        text = collapse(el.text_content())
        if len(text) <= 160 and parse_vietnamese_date(text) is not None:
            inner = [collapse(c.text_content()) for c in el.iterdescendants() if c in hinted_set]
            dated = [t for t in inner if parse_vietnamese_date(t) is not None]
            return _date_segment(min([text, *dated], key=len)), machine
    if title_el is not None:
        # No date-like class: the first short dated block in the few elements after the title.
        parent = title_el.getparent()
        nearby = list(title_el.itersiblings())[:8] + (list(parent.itersiblings())[:5] if parent is not None else [])
        for el in nearby:
            texts = (collapse(node.text_content()) for node in el.iter() if isinstance(node.tag, str))
            dated = [t for t in texts if t and len(t) <= 160 and parse_vietnamese_date(t) is not None]
            if dated:  # the smallest element showing the date: a cell, not its whole row
                return _date_segment(min(dated, key=len)), machine
    return None, machine


def _date_segment(text: str) -> str:
    """The date part of a meta line: "16/07/2018 - 10:25 | 162 lượt xem" → "16/07/2018 - 10:25"."""
    pieces = _META_SEPARATOR.split(text)
    kept = [pieces[0]] if not _COUNTER_PART.search(pieces[0]) else []
    for separator, piece in zip(pieces[1::2], pieces[2::2], strict=True):
        if not _COUNTER_PART.search(piece):
            kept.extend([separator, piece] if kept else [piece])
    return normalize_text("".join(kept) if kept else text)


def find_view_count(tree: lxml.html.HtmlElement) -> int | None:
    """The view counter a page shows near the article ("162", "Lượt xem: 1.501")."""
    for el in tree.xpath("//*[@class or @id]"):
        if _VIEWS_HINT.search(f"{el.get('class', '')} {el.get('id', '')}"):
            digits = re.sub(r"\D", "", collapse(el.text_content()))
            if digits and len(digits) < 10:
                return int(digits)
    return None


def updated_at_of(tree: lxml.html.HtmlElement) -> str | None:
    """The page's machine-readable modification time, in +07:00."""
    raw = meta_content(tree, "article:modified_time", "dateModified", "og:updated_time")
    parsed = parse_vietnamese_date(raw)
    return parsed.iso if parsed else None


def _json_ld_date(tree: lxml.html.HtmlElement) -> str | None:
    for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            data = json.loads(script)
        except ValueError:
            continue
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict) and isinstance(item.get("datePublished"), str):
                return item["datePublished"]
    return None


# Labels of official-document metadata as portals (DOMAIN.md §6), the national legal database
# (vbpl.vn) and the court-precedent portal (anle.toaan.gov.vn) print them, matched on the label's
# text without its colon, case-folded. Values name `Document` fields, or the signer's name and title.
_DOCUMENT_LABELS: dict[str, str] = {
    "số ký hiệu": "number",
    "số/ký hiệu": "number",
    "số, ký hiệu": "number",
    "ký hiệu": "number",
    "số hiệu": "number",
    "số văn bản": "number",
    "số hiệu văn bản": "number",
    "loại văn bản": "doc_type",
    "hình thức văn bản": "doc_type",
    "cơ quan ban hành": "issuer",
    "đơn vị ban hành": "issuer",
    "nơi ban hành": "issuer",
    "cơ quan": "issuer",
    "ngày ban hành": "issued_at",
    "ngày ký": "issued_at",
    "ban hành": "issued_at",
    # A consolidated text (văn bản hợp nhất) is dated by the signature that authenticates it.
    "ngày ký xác thực": "issued_at",
    "ngày xác thực": "issued_at",
    "ngày hiệu lực": "effective_at",
    "ngày có hiệu lực": "effective_at",
    "hiệu lực": "effective_at",
    "ngày hết hiệu lực": "expired_at",
    "người ký": "signer",
    "người ký duyệt": "signer",
    "chức danh": "signer_title",
    "chức vụ": "signer_title",
    "trích yếu": "abstract",
    "trích yếu nội dung": "abstract",
    "về việc": "abstract",
    "tình trạng hiệu lực": "status",
    "tình trạng": "status",
    "trạng thái": "status",
    "lĩnh vực": "sector",
    "ngành": "branch",
    "phạm vi": "scope",
    "ngày đăng công báo": "gazette_at",
    "số công báo": "gazette_number",
    "nguồn thu thập": "collected_from",
    # Court precedents: adopted by the Council of Judges (as a law is passed: its issue date),
    # published by the Chief Justice's decision, binding from the day of application.
    "số án lệ": "number",
    "tên án lệ": "abstract",
    "ngày thông qua": "issued_at",
    "ngày công bố": "announced_at",
    "quyết định công bố": "announcing_decision",
    "ngày áp dụng": "effective_at",
    "nguồn án lệ": "precedent_source",
}
_ROWS = etree.XPath(".//tr")
_DEFINITIONS = etree.XPath(".//dl/dt")
# Elements that may hold a label whose value follows them: <span>Số hiệu</span> 63/2023/AL,
# <div class="label">Ngày ban hành</div><div>12/03/2024</div>.
_LABEL_TAGS = ("span", "strong", "b", "label", "em", "i", "div", "p", "h4", "h5", "h6")
_LABEL_LINE = re.compile(r"^(?P<label>[^:]{2,40}):\s*(?P<value>.+)$")
_MAX_LABEL = 60


def document_field(label: str) -> str | None:
    """The field a metadata label names ("Số ký hiệu:" → number), or None."""
    return _DOCUMENT_LABELS.get(collapse(label).rstrip(":：").strip().casefold())


class DocumentFields:
    """A document's metadata as read: field → value, the first value of each field kept (a page's own
    table comes before its lists of other documents)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def add(self, label: str, value: str) -> None:
        key = document_field(label)
        if key is not None:
            self.set(key, value)

    def set(self, key: str, value: str) -> None:
        """Keep `value` under `key`; a "Hiệu lực" that is no date ("Còn hiệu lực") is the status."""
        value = normalize_text(collapse(value)).lstrip(":").strip()
        if not value:
            return
        if key == "effective_at" and parse_vietnamese_date(value) is None:
            key = "status"
        self.values.setdefault(key, value)


def read_document_fields(element: lxml.html.HtmlElement) -> dict[str, str]:
    """Document metadata (field → value) whatever the container: table rows of label and value
    cells, definition lists, an element holding a label followed by its value (spans, divs), and
    "Nhãn: giá trị" lines. Text is read block by block, so a value never runs into the next block.
    """
    fields = DocumentFields()
    for row in _ROWS(element):
        cells = [c for c in row if c.tag in ("th", "td")]
        if all(c.tag == "th" for c in cells):
            continue  # a header row: "Số án lệ | Tên án lệ | Tải về" names columns, holds no values
        labels = [_short_text(c) for c in cells]
        index = 0
        while index < len(cells) - 1:
            if document_field(labels[index]) and not document_field(labels[index + 1]):
                fields.add(labels[index], block_text(cells[index + 1]))
                index += 2
            else:
                index += 1
    for term in _DEFINITIONS(element):
        following = term.getnext()
        if following is not None and following.tag == "dd":
            fields.add(block_text(term), block_text(following))
    for label_el in element.iter(*_LABEL_TAGS):
        label = _short_text(label_el) if len(label_el) <= 2 else ""
        if document_field(label):
            fields.add(label, _value_after(label_el))
    for line in block_text(element).split("\n"):
        found = _LABEL_LINE.match(line)
        if found:
            fields.add(found.group("label"), found.group("value"))
    return fields.values


def _short_text(element: lxml.html.HtmlElement) -> str:
    """The element's text when it is short enough to be a label, else "" (a label is one short
    phrase, so `text_content()` gluing blocks together cannot matter)."""
    text = element.text_content()
    return text if len(text) <= _MAX_LABEL else ""


def _value_after(label_el: lxml.html.HtmlElement) -> str:
    """The text after a label element inside its parent, up to the next label."""
    parts = [label_el.tail or ""]
    for sibling in label_el.itersiblings():
        if isinstance(sibling.tag, str):
            text = block_text(sibling)
            if document_field(text):
                break
            parts.append(text)
        parts.append(sibling.tail or "")
    return " ".join(parts)


_DOCUMENT_HINTS = ("ký hiệu", "số hiệu", "trích yếu", "ngày ban hành", "cơ quan ban hành", "người ký", "số án lệ")


def is_metadata_row(paragraph: str) -> bool:
    """A body paragraph that is a row of the document's metadata table ("Số ký hiệu: | 915/QĐ-UBND | …")."""
    label = re.split(r"\s*[:|]", paragraph, maxsplit=1)[0]
    return label.strip().casefold() in _DOCUMENT_LABELS and len(paragraph) > len(label) + 1


def document_from_fields(fields: dict[str, str]) -> Document:
    """A `Document` from read fields (`read_document_fields`, `DocumentFields.values`)."""
    values = dict(fields)
    name, title = values.pop("signer", None), values.pop("signer_title", None)
    return Document(**values, signer=Signer(name=name, title=title) if name else None)


def document_from_page(element: lxml.html.HtmlElement, text: str) -> Document | None:
    """The document a page describes, when it shows a number and at least one other field.

    `text` is text already extracted from `element`: a cheap test before any table is read.
    """
    lowered = text.casefold()
    if not any(hint in lowered for hint in _DOCUMENT_HINTS):
        return None
    fields = read_document_fields(element)
    if "number" not in fields or len(fields) < 2:
        return None
    return document_from_fields(fields)
