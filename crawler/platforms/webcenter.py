"""Oracle WebCenter portals (quangnam, tamky.quangnam; DOMAIN.md §2.1):
`/webcenter/portal/ubnd/pages_tin-tuc/chi-tiet?dDocName=PORTAL537326`.

`dDocName` is the article's stable id whatever page path shows it. News templates are not
documented, so their body is read by the generic reader and the record labelled with this platform.

The court-precedent portal (anle.toaan.gov.vn, `/webcenter/portal/anle/chitietanle?dDocName=TAND…`)
is WebCenter too: tabs `#toanvan` (the text, or its name above a PDF viewer, then the comment
widget), `#thuoctinh` (rows "Số án lệ", "Tên án lệ", "Ngày thông qua", "Ngày công bố", "Quyết định
công bố", "Ngày áp dụng", "Nguồn án lệ", "Trạng thái", "Lĩnh vực", "Từ khóa"), `#vblienquan` (other
precedents) and `#filetaive` (the file). Such a page is a `document` record (markup facts from the
public repository Minh0511/vbpl-web-crawl, `misc/anle_thuoctinh.html` and `app/service/anle.py`).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urljoin, urlsplit

import lxml.html

from crawler.items import Attachment
from crawler.platforms import generic
from crawler.platforms.base import block_text, first, read_body, select, text_of
from crawler.platforms.meta import document_from_fields, read_document_fields
from crawler.platforms.page import ParsedPage, new_record, relabel
from crawler.text import collapse, join_paragraphs, normalize_text
from crawler.urls import site_key

NAME = "webcenter"
VERSION = "1.1"

_PRECEDENT = "Án lệ"


def detect(tree: lxml.html.HtmlElement | None, url: str, quick: bool = False) -> list[str]:
    parts = urlsplit(url)
    evidence = []
    if "/webcenter/" in parts.path.lower():
        evidence.append("URL under /webcenter/")
    if any(key.lower() == "ddocname" for key in parse_qs(parts.query)):
        evidence.append("dDocName= document id in the URL")
    if tree is not None and tree.xpath("//script[contains(@src, '/adf/') or contains(., 'AdfPage')][1]"):
        evidence.append("Oracle ADF scripts")
    return evidence


def article_key(url: str) -> str | None:
    parts = urlsplit(url)
    query = {k.lower(): v[0] for k, v in parse_qs(parts.query).items()}
    return f"{site_key(url)}:webcenter:{query['ddocname']}" if "ddocname" in query else None


def parse_tree(tree: lxml.html.HtmlElement, url: str) -> ParsedPage:
    return _precedent(tree, url) or relabel(generic.parse_tree(tree, url), NAME, VERSION)


def _precedent(tree: lxml.html.HtmlElement, url: str) -> ParsedPage | None:
    """A court precedent's page: its properties tab names a number ("Số án lệ: 63/2023/AL")."""
    properties = first(tree, "#thuoctinh")
    if properties is None:
        return None
    fields = read_document_fields(properties)
    if "number" not in fields:
        return None
    text_el = first(tree, "#toanvan #divPrint", "#toanvan .content")
    body = read_body(text_el, url, trailing_byline=False) if text_el is not None else None
    heading = text_of(first(tree, "#toanvan h3", "#toanvan h2", "#toanvan h1"))
    title = _title(fields["number"], fields.get("abstract")) or heading
    keywords = _row_value(properties, "từ khóa")
    record = new_record(
        tree,
        url,
        NAME,
        VERSION,
        title=title,
        summary=_row_value(properties, "khái quát nội dung") or None,
        body=join_paragraphs(body.paragraphs) if body is not None else "",
        published_raw=fields.get("announced_at"),
        tags=[t for t in (normalize_text(k) for k in keywords.replace(";", ",").split(",")) if t],
        images=body.images if body is not None else [],
        attachments=(body.attachments if body is not None else []) + _files(tree, url),
        document=document_from_fields(fields),
        page_type="document",
    )
    return ParsedPage(kind="article", record=record)


def _title(number: str, name: str | None) -> str:
    """ "Án lệ số 63/2023/AL về xem xét …", as precedents are cited: the number, then the name the
    page shows ("Về xem xét …"), its opening "Về" read mid-sentence."""
    number = collapse(number)
    if not number:
        return ""
    if not name:
        return f"{_PRECEDENT} số {number}"
    name = normalize_text(name)
    if name.startswith("Về "):
        name = "về " + name[3:]
    return f"{_PRECEDENT} số {number} {name}"


def _row_value(properties: lxml.html.HtmlElement, label: str) -> str:
    """The value of the properties row labelled `label` (case-folded, without its colon)."""
    for cell in properties.iter("th", "td"):
        if collapse(block_text(cell)).rstrip(":").casefold().startswith(label):
            following = cell.getnext()
            return collapse(" ".join(block_text(following).split("\n"))) if following is not None else ""
    return ""


def _files(tree: lxml.html.HtmlElement, url: str) -> list[Attachment]:
    """The precedent's file from the download tab: `/webcenter/ShowProperty?nodeId=/UCMServer/TAND…`
    names no file type, so it is a PDF only when the page's PDF viewer shows the same document."""
    viewed = " ".join(tree.xpath("//iframe/@src"))
    files = []
    for anchor in select(tree, "#filetaive a[href]"):
        link = urljoin(url, anchor.get("href").strip())
        node = parse_qs(urlsplit(link).query).get("nodeId", [""])[0].rsplit("/", 1)[-1]
        if not node:
            continue
        shown_as_pdf = f"pdfview?dDocName={node}" in viewed
        files.append(Attachment(url=link, filename=node, media_type="application/pdf" if shown_as_pdf else None))
    return files
