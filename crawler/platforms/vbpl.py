"""vbpl.vn, the national database of legal documents (SharePoint 2013), where the central level (TW)
and every province publish their legal documents under `/{unit}/Pages/` (DOMAIN.md §6).

One document shows in several views of one template, each addressed by `ItemID=` (and `dvid=`, the
unit): `vbpq-toanvan.aspx` (full text, in `#toanvancontent`), `vbpq-thuoctinh.aspx` (properties
table), `vbpq-vanbanlienquan.aspx` (related documents), `vbpq-luocdo.aspx` (legal diagram),
`vbpq-lichsu.aspx` (validity history), `vbpq-print.aspx`; consolidated texts (văn bản hợp nhất) have
`-hopnhat` views and a consolidation diagram. Every view becomes a `document` record on its own: the
fields it shows (info bar, properties table, the full text's heading and signature) and, as body,
the text of its own (the full text; the properties, related documents, diagram boxes or history
rows as lines). The page <title> names the unit ("Trung ương"); the document's name is the one the
page script sets (`title1`), else the breadcrumb's.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urljoin, urlsplit

import lxml.html

from crawler.documents import find_document_numbers
from crawler.items import Attachment, Document, Signer
from crawler.platforms import sharepoint
from crawler.platforms.base import attachments_from_links, block_text, first, read_body, select
from crawler.platforms.meta import DocumentFields, document_field
from crawler.platforms.page import ListingEntry, ParsedPage, listing_result, new_record, page_links, relabel
from crawler.text import collapse, join_paragraphs, normalize_text
from crawler.urls import site_key

NAME = "vbpl"
VERSION = "1.0"

_VIEW_PATH = re.compile(r"^/(?P<unit>[^/]+)/pages/vbpq-(?P<view>[a-z0-9-]+)\.aspx$", re.I)
# Views showing the same text share one identity: the print view is the full text.
_SAME_TEXT = {"print": "toanvan", "banin-hopnhat": "van-ban-goc-hopnhat"}
_TITLE_SCRIPT = re.compile(r"""var\s+title1\s*=\s*'(?P<title>(?:[^'\\]|\\.)*)'""")
_JS_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)")
_NO_NUMBER = "không số"
_DOWNLOAD = re.compile(r"downloadfile\(\s*'[^']*'\s*,\s*'(?P<path>[^']+)'")
_SIGNED_FOR = re.compile(r"^(?P<authority>TM|KT|Q|TL|TUQ)\.\s*", re.I)
_WRITTEN_DATE = re.compile(r"ngày\s+\d{1,2}\s+tháng\s+\d{1,2}\s+năm\s+\d{4}", re.I)
_NUMBER_LINE = re.compile(r"^Số\s*:\s*(?P<number>\S.*)$")
_SIGNED_MARK = re.compile(r"^\(?\s*đã\s+ký\s*\)?$", re.I)
_EMPTY_LIST = "Nội dung đang cập nhật"
_ISSUED = re.compile(r"^Ban hành\s*:\s*(?P<date>.+)$")


def detect(tree: lxml.html.HtmlElement | None, url: str, quick: bool = False) -> list[str]:
    evidence = []
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host == "vbpl.vn" or host.endswith(".vbpl.vn"):
        evidence.append("the national legal-document database's host (vbpl.vn)")
        if _VIEW_PATH.match(parts.path):
            evidence.append("document view URL (/{unit}/Pages/vbpq-….aspx)")
        if quick:
            return evidence
    if (
        tree is not None
        and tree.xpath("//div[contains(@class, 'box-tab-vb')][1]")
        and tree.xpath("//*[contains(@src, 'VBQPPL_UserControls') or contains(@href, 'VBQPPL_UserControls')][1]")
    ):
        evidence.append("legal-document tabs (box-tab-vb) of the VBQPPL user controls")
    return evidence


def article_key(url: str) -> str | None:
    """One key per document and view: `vbpl.vn:vbpl:{unit}:{ItemID}:{view}` (the print view is the
    full text's), so a crawl fetches each view of a document once and the views share a prefix."""
    parts = urlsplit(url)
    found = _VIEW_PATH.match(parts.path)
    item = {k.lower(): v[0] for k, v in parse_qs(parts.query).items()}.get("itemid")
    if found is None or not item or not item.isdigit():
        return None
    view = found.group("view").lower()
    return f"{site_key(url)}:vbpl:{found.group('unit').lower()}:{item}:{_SAME_TEXT.get(view, view)}"


def parse_tree(tree: lxml.html.HtmlElement, url: str) -> ParsedPage:
    full_text = _full_text(tree)
    root = first(tree, ".box-tab-vb")
    if root is None and full_text is not None:
        root = tree.body if tree.find("body") is not None else tree
    if root is None:
        return _listing(tree, url) or relabel(sharepoint.parse_tree(tree, url), NAME, VERSION)
    fields = DocumentFields()
    name = _read_info_bar(root, fields)
    name = _breadcrumb_name(root) or name
    paragraphs, signers, issuers = _read_view(root, full_text, fields, url)
    title = _script_title(tree) or _joined(name, fields.values.get("abstract")) or name
    if not title:
        return relabel(sharepoint.parse_tree(tree, url), NAME, VERSION)
    record = new_record(
        tree,
        url,
        NAME,
        VERSION,
        title=title,
        body=join_paragraphs(paragraphs),
        published_raw=fields.values.get("issued_at"),
        attachments=_attachments(root, url),
        document=_document(fields.values, name, title, signers, issuers),
        page_type="document",
    )
    return ParsedPage(kind="article", record=record)


def _read_view(
    root: lxml.html.HtmlElement, full_text: lxml.html.HtmlElement | None, fields: DocumentFields, url: str
) -> tuple[list[str], list[Signer], list[str]]:
    """The view's text as paragraphs, its signers and issuing bodies; its fields go to `fields`."""
    signers: list[Signer] = []
    issuers: list[str] = []
    properties = _properties_table(root)
    if properties is not None:
        return _read_properties(properties, fields, signers, issuers), signers, issuers
    if full_text is not None:
        _read_heading(full_text, fields)
        return read_body(full_text, url, trailing_byline=False).paragraphs, _read_signature(root), issuers
    return _view_lines(root), signers, issuers


def _document(values: dict[str, str], name: str, title: str, signers: list[Signer], issuers: list[str]) -> Document:
    """The document from the fields read, completed from its name ("Bộ luật 101/2015/QH13": type and
    number) and title (what follows the name: the abstract)."""
    values = dict(values)
    if values.get("number", "").casefold() == _NO_NUMBER:
        del values["number"]
    number, doc_type = _name_parts(name)
    for key, value in (("number", number), ("doc_type", doc_type), ("abstract", _after_name(title, name))):
        if value:
            values.setdefault(key, value)
    if issuers:
        values["issuer"] = "; ".join(dict.fromkeys(issuers))
    name_signed, title_signed = values.pop("signer", None), values.pop("signer_title", None)
    if not signers and name_signed:
        signers = [Signer(name=name_signed, title=title_signed)]
    return Document(**values, signer=signers[0] if signers else None, co_signers=signers[1:])


def _line(element: lxml.html.HtmlElement) -> str:
    """The element's text on one line."""
    return normalize_text(collapse(block_text(element)))


def _full_text(tree: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    found = first(tree, "#toanvancontent", ".toanvancontent")
    return found if found is not None and block_text(found) else None


def _properties_table(root: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The properties table (`.vbProperties`), when it holds label cells (the consolidated text's
    full-text view reuses the class for its PDF viewer)."""
    for table in select(root, ".vbProperties table"):
        if any(document_field(block_text(cell)) or _signer_label(block_text(cell)) for cell in table.iter("td", "th")):
            return table
    return None


def _read_info_bar(root: lxml.html.HtmlElement, fields: DocumentFields) -> str:
    """Fields of the bar above every view ("Hiệu lực: Còn hiệu lực", "Ngày có hiệu lực: 01/01/2018"),
    and the document's name where the bar shows it without a label ("Hiến pháp Không số")."""
    name = ""
    for item in select(root, ".vbInfo li"):
        label_el = item.find("span")
        label = block_text(label_el) if label_el is not None else ""
        text = _line(item)
        value = text[len(label) :].strip() if label and text.startswith(label) else text
        if label:
            fields.add(label, value)
        elif value and not name:
            name = value
    return name


def _breadcrumb_name(root: lxml.html.HtmlElement) -> str:
    """The last breadcrumb item: the document's type and number ("Bộ luật 101/2015/QH13")."""
    items = select(root, ".box-map li")
    return _line(items[-1]) if items else ""


def _script_title(tree: lxml.html.HtmlElement) -> str:
    """The name the page script gives the document (`var title1 = 'Bộ luật 101/2015/QH13 Tố tụng hình sự'`)."""
    for script in tree.xpath("//script[contains(., 'title1')]/text()"):
        found = _TITLE_SCRIPT.search(script)
        if found:
            return normalize_text(collapse(_JS_ESCAPE.sub(_unescape, found.group("title"))))
    return ""


def _unescape(escape: re.Match[str]) -> str:
    code = escape.group(1)
    return chr(int(code[1:], 16)) if code[0] in "ux" and len(code) > 1 else code


def _joined(name: str, abstract: str | None) -> str:
    return f"{name} {abstract}" if name and abstract and abstract not in name else ""


def _name_parts(name: str) -> tuple[str | None, str | None]:
    """(number, type) of a name such as "Bộ luật 101/2015/QH13" or "Hiến pháp Không số"."""
    lowered = name.casefold()
    if _NO_NUMBER in lowered:
        return None, name[: lowered.index(_NO_NUMBER)].strip() or None
    for number in find_document_numbers(name):
        start = name.find(number.text)
        if start != -1:
            return number.text, name[:start].strip() or None
    return None, None


def _after_name(title: str, name: str) -> str:
    """What the title says after the document's type and number: its abstract (trích yếu)."""
    return title[len(name) :].strip() if name and title.startswith(name) and len(title) > len(name) else ""


def _signer_label(text: str) -> bool:
    """The combined label "Cơ quan ban hành/ Chức danh / Người ký" (issuer, signer's title, signer)."""
    lowered = text.casefold()
    return "cơ quan ban hành" in lowered and "người ký" in lowered


def _read_properties(
    table: lxml.html.HtmlElement, fields: DocumentFields, signers: list[Signer], issuers: list[str]
) -> list[str]:
    """Fields of the properties table, and its rows as lines (the view's text).

    Rows pair label cells with the cell after them; a title cell spanning the row is the abstract
    (or "Tình trạng hiệu lực: …"); the signer row gives issuer, title and name, and a joint
    document continues it in rows of three cells (the label cell spans them).
    """
    lines: list[str] = []
    signer_rows = 0
    for row in table.iter("tr"):
        cells = [c for c in row if c.tag in ("td", "th")]
        texts = [_line(c) for c in cells]
        if not any(texts):
            continue
        if signer_rows > 0 and len(cells) == 3 and not any(document_field(t) for t in texts):
            signer_rows -= 1
            _add_signer(texts, signers, issuers)
            lines.append(" / ".join(t for t in texts if t))
            continue
        signer_rows = 0
        if len(cells) == 1 and "title" in (cells[0].get("class") or "").split():
            label, _, value = texts[0].partition(":")
            if value and document_field(label):
                fields.add(label, value)
            else:
                fields.set("abstract", texts[0])
            lines.append(texts[0])
            continue
        if len(cells) == 1:
            lines.extend(_applied_information(cells[0]))
            continue
        parts, index = [], 0
        while index < len(cells):
            label = texts[index]
            if _signer_label(label):
                values = texts[index + 1 : index + 4]
                _add_signer(values, signers, issuers)
                signer_rows = int(cells[index].get("rowspan") or 1) - 1
                parts.append(f"{label}: {' / '.join(v for v in values if v)}")
                index += 4
            elif "label" in (cells[index].get("class") or "").split() or document_field(label):
                value = "; ".join(block_text(cells[index + 1]).split("\n")) if index + 1 < len(cells) else ""
                fields.add(label, value)
                if value:
                    parts.append(f"{label}: {normalize_text(value)}")
                index += 2
            else:
                index += 1
        if parts:
            lines.append(" | ".join(parts))
    return lines


def _add_signer(values: list[str], signers: list[Signer], issuers: list[str]) -> None:
    issuer, title, name = [*values, "", "", ""][:3]
    if issuer:
        issuers.append(issuer)
    if name:
        signers.append(Signer(name=name, title=title or None))


def _applied_information(cell: lxml.html.HtmlElement) -> list[str]:
    """The "Thông tin áp dụng" cell: its lines when it holds more than its heading."""
    lines = [normalize_text(line) for line in block_text(cell).split("\n")]
    return lines if len(lines) > 1 else []


def _read_heading(full_text: lxml.html.HtmlElement, fields: DocumentFields) -> None:
    """Number, issuer and date from the heading printed above the full text: the issuing body and
    "Số: 100/2015/QH13" on the left, the place and date ("Hà Nội, ngày 27 tháng 11 năm 2015") on the right."""
    parent = full_text.getparent()
    if parent is None:
        return
    for table in (el for el in parent if el.tag == "table"):
        lines = block_text(table).split("\n")
        for index, line in enumerate(lines):
            numbered = _NUMBER_LINE.match(line)
            if numbered:
                fields.set("number", numbered.group("number"))
                if index:
                    fields.set("issuer", " ".join(lines[:index]))
            elif _WRITTEN_DATE.search(line):
                fields.set("issued_at", line)


def _read_signature(root: lxml.html.HtmlElement) -> list[Signer]:
    """Signers from the signature printed under the full text: "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH",
    "(Đã ký)", the name; one table per signer."""
    signers = []
    for table in select(root, "table.table_cqbh_cd_nk"):
        lines = [
            normalize_text(line)
            for line in block_text(table).split("\n")
            if line.strip() and not _SIGNED_MARK.match(line.strip())
        ]
        if not lines:
            continue
        signed_for = _SIGNED_FOR.match(lines[0]) if len(lines) > 2 else None
        authority = f"{signed_for.group('authority').upper()}." if signed_for else None
        title = lines[-2] if len(lines) > 1 else None
        signers.append(Signer(name=lines[-1], authority=authority, title=title))
    return signers


def _view_lines(root: lxml.html.HtmlElement) -> list[str]:
    """The text a view without full text or properties shows, one line per item."""
    related = first(root, ".vbLienQuan")
    if related is not None:
        return _related_lines(related)
    diagram = first(root, ".vbLuocDo", ".vbLuocdo")
    if diagram is not None:
        return _diagram_lines(diagram)
    boxes = select(root, "div.w")
    if boxes:
        return _consolidation_lines(boxes)
    content = first(root, ".content")
    if content is None:
        return []
    return [line for table in content.iter("table") for line in _table_lines(root, table)]


def _related_lines(related: lxml.html.HtmlElement) -> list[str]:
    """Each group of related documents ("Văn bản dẫn chiếu", "Văn bản được hướng dẫn" …) and its
    documents, one line each: name | Ngày ban hành: … | Ngày có hiệu lực: …"""
    if collapse(block_text(related)) == _EMPTY_LIST:
        return []
    lines: list[str] = []
    for row in related.iter("tr"):
        label = row.find("td[@class='label']")
        items = [item for item in select(row, "ul.listVB > li") if select(item, "p.title")]
        if not items:
            continue
        if label is not None:
            lines.append(_line(label))
        for item in items:
            name = _line(select(item, "p.title")[0])
            facts = [_line(info) for info in select(item, "ul.info > li")]
            lines.append(" | ".join([name, *(f for f in facts if f)]))
    return lines


def _diagram_lines(diagram: lxml.html.HtmlElement) -> list[str]:
    """The legal diagram's blocks that list documents: the block's heading, then its documents."""
    lines: list[str] = []
    for block in select(diagram, "div.luocdo"):
        heading = first(block, ".title", ".titleht")
        names = [
            _line(link) for item in select(block, ".content li") for link in item.iterchildren("a") if block_text(link)
        ]
        if not names:
            continue
        if heading is not None:
            lines.append(_line(heading))
        lines.extend(names)
    return lines


def _consolidation_lines(boxes: list[lxml.html.HtmlElement]) -> list[str]:
    """The consolidation diagram: the texts consolidated (original, amendments), then the
    consolidated text, each under the heading the diagram gives it."""
    area = boxes[0].getparent()
    headings = [
        _line(el)
        for el in (area.iter("div") if area is not None else [])
        if el not in boxes and not len(el) and block_text(el) and not any(a in boxes for a in el.iterancestors())
    ]
    sources = [b for b in boxes if not (b.get("id") or "").endswith("_hn")]
    consolidated = [b for b in boxes if (b.get("id") or "").endswith("_hn")]
    lines: list[str] = []
    for heading, group in zip([*headings, "", ""][:2], (sources, consolidated), strict=True):
        if group and heading:
            lines.append(heading)
        lines.extend(_line(box) for box in group)
    return lines


def _table_lines(root: lxml.html.HtmlElement, table: lxml.html.HtmlElement) -> list[str]:
    """A table's rows as lines, cells apart by " | "; a "Xem tại đây" link to a hidden balloon
    (the parts a history event touched) reads as the balloon's text."""
    lines = []
    for row in table.iter("tr"):
        cells = []
        for cell in (c for c in row if c.tag in ("td", "th")):
            text = _line(cell)
            for link in cell.iter("a"):
                balloon = root.xpath(f"//*[@id='{link.get('rel')}']") if link.get("rel", "").isidentifier() else []
                if balloon:
                    text = _line(balloon[0])
            if text:
                cells.append(text)
        if cells:
            lines.append(" | ".join(cells))
    return lines


def _attachments(root: lxml.html.HtmlElement, url: str) -> list[Attachment]:
    """The document's files: the download dialog and file list (links written as
    `javascript:downloadfile('name', '/path')`), and a PDF the view embeds."""
    links = []
    for container in select(root.getroottree().getroot(), "#divShowDialogDownload, .vbFile, .vbProperties"):
        for anchor in container.iter("a"):
            href = anchor.get("href") or ""
            found = _DOWNLOAD.search(href)
            links.append((found.group("path") if found else href, ""))
        links += [(obj.get("data") or "", "") for obj in container.iter("object")]
    return attachments_from_links([(urljoin(url, href), text) for href, text in links if href], url)


def _listing(tree: lxml.html.HtmlElement, url: str) -> ParsedPage | None:
    """A list of documents (`ul.listLaw`: each item's title links its full text, "Ban hành: …"
    dates it), with the pages of the list (links carrying `Page=`)."""
    items = select(tree, "ul.listLaw > li")
    if not items:
        return None
    entries: dict[str, ListingEntry] = {}
    for item in items:
        link = first(item, "p.title a[href]")
        if link is None:
            continue
        href = urljoin(url, link.get("href").strip())
        issued = next((m.group("date") for line in block_text(item).split("\n") if (m := _ISSUED.match(line))), None)
        entries.setdefault(href, ListingEntry(url=href, title=normalize_text(block_text(link)), date_raw=issued))
    links = page_links(tree, url)
    pages = [link for link in links if "page" in {k.lower() for k in parse_qs(urlsplit(link).query)}]
    return listing_result(list(entries.values()), pages, links)
