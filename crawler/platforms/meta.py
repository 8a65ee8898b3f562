"""Metadata any platform's page may carry, found the same way: dates, view counts, document fields, authors."""

from __future__ import annotations

import html
import json
import re
import unicodedata
import weakref
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

from crawler.dates import parse_vietnamese_date
from crawler.items import Document, Signer
from crawler.platforms.base import block_text, clean_byline, meta_content, select, walk_tree
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
        # No date-like class: the first short dated block in the few elements after the title, or
        # right above it (a dateline over the headline).
        parent = title_el.getparent()
        nearby = list(title_el.itersiblings())[:8] + (list(parent.itersiblings())[:5] if parent is not None else [])
        nearby += list(title_el.itersiblings(preceding=True))[:2]
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


# --- Authors a CMS prints or declares (JSON-LD, microdata, rel=author, hCard, author classes, meta) ---

_ARTICLE_TYPE = re.compile(r"Article$|BlogPosting$|^Report$|^WebPage$")
# Zones whose names are never the post's author: comments, sidebars, related and recent posts, menus.
_FOREIGN_ZONE = re.compile(
    r"comment|respond|sidebar|widget|related|yarpp|crp_|recommend|popular|trending|recent|more-from|"
    r"more-stories|read-next|you-may|also-like|post-navigation|nav-links|navigation|menu|breadcrumb|"
    r"site-footer|footer-widget|colophon|newsletter|subscribe|share|sharing",
    re.I,
)
_AUTHOR_TOKEN = re.compile(r"author|byline|posted-?by|written-?by|writer|tac-?gia|^vcard$|^h-card$", re.I)
# Author-ish class tokens of elements that hold something else: a picture, a biography, a role, a count.
_NOT_A_NAME_TOKEN = re.compile(
    r"avatar|bio|desc|image|img|photo|pic|social|count|comment|archive|about|title|label|icon|role|job|"
    r"position|mail|more|posts|list|follow|heading|prep|^author-box$|^author-info$|-by$|_by$",
    re.I,
)
_AUTHOR_URL = re.compile(r"/(?:author|authors|tac-gia|tacgia)/|[?&]author=", re.I)
# Where a post's text is: an author-page link in it is a mention, not the byline.
_CONTENT_CLASS = re.compile(
    r"\b(?:entry-content|post-content|article-content|td-post-content|content-inner|post-body|entry-body)\b"
)
_HIDDEN_TEXT = re.compile(r"screen-reader|sr-only|visually-hidden|meta-label|meta_text|td-author-by", re.I)
_PLACEHOLDER_ACCOUNTS = frozenset(
    {
        *"admin administrator webmaster root editor author guest anonymous unknown user qtv".split(),
        *("quản trị", "quản trị viên", "người quản trị", "quản trị hệ thống", "tác giả", "ẩn danh"),
    }
)
_CANDIDATES = etree.XPath(
    "//*[@itemprop][contains(@itemprop, 'author')] | //a[@rel][contains(@rel, 'author')]"
    " | //*[@class][contains(@class, 'uthor') or contains(@class, 'byline') or contains(@class, 'vcard')"
    " or contains(@class, 'posted-by') or contains(@class, 'postedby') or contains(@class, 'written-by')"
    " or contains(@class, 'writer') or contains(@class, 'h-card') or contains(@class, 'tac-gia')]"
    " | //a[@href][contains(@href, 'author') or contains(@href, 'tac-gia') or contains(@href, 'tacgia')]"
)


def json_ld_objects(tree: lxml.html.HtmlElement) -> list[dict[str, Any]]:
    """Every object of the page's JSON-LD blocks, through lists and @graph (read once per page:
    detection, parsers, authors and sanity rules all ask)."""
    root = tree.getroottree().getroot()
    cached = _JSON_LD_OBJECTS.get(root)
    if cached is None:
        cached = _read_json_ld(root)
        _JSON_LD_OBJECTS[root] = cached
    return cached


_JSON_LD_OBJECTS: weakref.WeakKeyDictionary[lxml.html.HtmlElement, list[dict[str, Any]]] = weakref.WeakKeyDictionary()
# Types of a JSON-LD object that make the page one article.
ARTICLE_TYPES = frozenset(
    {"NewsArticle", "Article", "ReportageNewsArticle", "AnalysisNewsArticle", "OpinionNewsArticle", "BlogPosting"}
)


def _read_json_ld(tree: lxml.html.HtmlElement) -> list[dict[str, Any]]:
    def walk(data: Any) -> list[dict[str, Any]]:
        if isinstance(data, list):
            return [obj for item in data for obj in walk(item)]
        if isinstance(data, dict):
            return [data, *walk(data.get("@graph", []))]
        return []

    found: list[dict[str, Any]] = []
    for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            found.extend(walk(json.loads(script)))
        except (ValueError, RecursionError):  # broken or absurdly nested JSON-LD is no metadata
            continue
    return found


def json_ld_types(obj: dict[str, Any]) -> set[str]:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k for k in kinds if isinstance(k, str)}


@dataclass
class _Page:
    """What the author reader needs to know about a page once: its post, its JSON-LD, its own names."""

    tree: lxml.html.HtmlElement
    post: lxml.html.HtmlElement | None
    protected: set[lxml.html.HtmlElement]
    objects: list[dict[str, Any]]
    site_names: set[str]


def _main_post(tree: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The element of the page's own post: WordPress's `#post-N` for body class `postid-N` (or the
    only `#post-N`), else the article holding the page's <h1>, else that <h1>."""
    body = tree.find("body")
    post_id = re.search(r"\bpostid-(\d+)\b", body.get("class") or "") if body is not None else None
    if post_id:
        found = tree.xpath(f"//*[@id='post-{post_id.group(1)}']")
        if found:
            return found[0]
    posts = [el for el in tree.xpath("//*[starts-with(@id, 'post-')]") if el.get("id", "")[5:].isdigit()]
    if len(posts) == 1:
        return posts[0]
    headed = tree.xpath("//article[.//h1]")
    if headed:
        return headed[0]
    headings = tree.xpath("//h1")
    return headings[0] if headings else None


def _site_names(tree: lxml.html.HtmlElement, objects: list[dict[str, Any]]) -> set[str]:
    """Keys of the names the site goes by: a posting account with one of them is no author."""
    site_name = meta_content(tree, "og:site_name", "application-name") or ""
    names = [site_name, *re.split(r"\s+[-|–—:»·]+\s+", site_name)]
    for obj in objects:
        kinds = json_ld_types(obj)
        if kinds & {"Organization", "WebSite", "NewsMediaOrganization"} and "Person" not in kinds:
            names.append(str(obj.get("name") or ""))
    for obj in objects:
        publisher = obj.get("publisher")
        if isinstance(publisher, dict) and isinstance(publisher.get("name"), str):
            names.append(publisher["name"])
    title = collapse(" ".join(tree.xpath("//title/text()")))
    names += re.split(r"\s+[-|–—:»·]+\s+", title)[1:]
    return {_name_key(n) for n in names if n and n.strip()}


def _name_key(text: str) -> str:
    """A name folded for comparison: no case, accents, spaces or punctuation ("Tin Tây Nguyên" = "tintaynguyen")."""
    folded = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return "".join(c for c in folded if c.isalnum())


def _host_key(tree: lxml.html.HtmlElement) -> str:
    canonical = tree.xpath('//link[@rel="canonical"]/@href | //meta[@property="og:url"]/@content')
    host = urlsplit(canonical[0]).hostname or "" if canonical else ""
    labels = host.removeprefix("www.").split(".")
    return _name_key(labels[0]) if labels and labels[0] else ""


_UI_WORDS = frozenset("view archive posts post all more profile articles website read see follow xem bài viết".split())


def _author_name_verdict(name: str, page: _Page, *, typed_person: bool = False) -> str:
    """ "name" for a person's (or a desk's) name; "account" for a login, a placeholder account
    ("admin") or (unless JSON-LD types it a Person) the site's own name; "other" for anything else
    (an address, a link, a date, a sentence, a button's text)."""
    words = name.split()
    if not words or len(words) > 6 or len(name) > 60 or not any(c.isalpha() for c in name):
        return "other"
    if re.search(r"@|https?:|www\.|\.(?:com|net|org|vn)\b|[:|/\\<>{}=→»›←]", name, re.I):
        return "other"
    if re.search(r"[!?…]|\.\s+\S+\s+\S+", name) or _UI_WORDS & {w.casefold() for w in words}:
        return "other"  # a sentence or a link's label, not initials ("N.T", "James S.A. Corey")
    if re.search(r"[_\d]", name) or name.casefold() in _PLACEHOLDER_ACCOUNTS:
        return "account"
    key = _name_key(name)
    # A Person named like the site is its owner ("Daniel Lemire"), unless it is one word ("LinkNaija").
    if (not typed_person or len(words) == 1) and (key in page.site_names or key == _host_key(page.tree)):
        return "account"
    return "name"


def _is_author_name(name: str, page: _Page, *, typed_person: bool = False) -> bool:
    return _author_name_verdict(name, page, typed_person=typed_person) == "name"


def _in_foreign_zone(el: lxml.html.HtmlElement, page: _Page) -> bool:
    """True when `el` sits in comments, a sidebar, related posts, a menu or another post's teaser."""
    for node in (el, *el.iterancestors()):
        if node in page.protected or node.tag in ("body", "html"):
            return False
        marks = f"{node.get('class', '')} {node.get('id', '')}"
        if node.tag == "nav" or node.get("itemprop") == "comment" or _FOREIGN_ZONE.search(marks):
            return True
        if node is not el and node is not page.post and (node.tag == "article" or re.search(r"\bhentry\b", marks)):
            return True
    return False


def _visible_text(el: lxml.html.HtmlElement) -> str:
    """The element's text as a reader sees it: without screen-reader labels, icons and dates."""
    parts: list[str] = []

    def enter(node: lxml.html.HtmlElement) -> bool:
        if not isinstance(node.tag, str) or node.tag in ("script", "style", "time", "svg", "img", "noscript"):
            return False
        if _HIDDEN_TEXT.search(node.get("class") or ""):
            return False
        parts.append(node.text or "")
        return True

    def tail(node: lxml.html.HtmlElement) -> None:
        parts.append(node.tail or "")

    walk_tree(el, enter, lambda node: None, tail)
    return normalize_text(collapse(" ".join(parts)))


def _names_in(el: lxml.html.HtmlElement) -> list[str]:
    """The name texts an author element shows: its itemprop=name, hCard fn, author links, else its text."""
    if el.tag == "meta":
        return [normalize_text(el.get("content") or "")]
    for query in (".//*[@itemprop='name']", ".//*[contains(concat(' ', normalize-space(@class), ' '), ' fn ')]"):
        found = [e for e in ([el] if el.get("itemprop") == "name" else []) + el.xpath(query)]
        if found:
            return [e.get("content") or _visible_text(e) for e in found]
    if el.tag == "a":
        return [_visible_text(el)]
    links = [a for a in el.iter("a") if "author" in (a.get("rel") or "") or _AUTHOR_URL.search(a.get("href") or "")]
    if links:
        return [_visible_text(a) for a in links]
    return [_visible_text(el)]


def _is_candidate(el: lxml.html.HtmlElement) -> bool:
    if "author" in (el.get("itemprop") or "").split():
        return "Organization" not in (el.get("itemtype") or "")
    if el.tag == "a" and "author" in (el.get("rel") or "").split():
        return True
    if el.tag in ("body", "html"):
        return False
    if el.tag == "a" and _AUTHOR_URL.search(el.get("href") or ""):
        return not any(
            _CONTENT_CLASS.search(a.get("class") or "") or a.get("itemprop") == "articleBody"
            for a in el.iterancestors()
        )
    tokens = (el.get("class") or "").split()
    author_tokens = [t for t in tokens if _AUTHOR_TOKEN.search(t) and not _NOT_A_NAME_TOKEN.search(t)]
    if not author_tokens:
        return False
    # An organisation's hCard (a footer address) is no byline.
    return not el.xpath(".//*[contains(concat(' ', normalize-space(@class), ' '), ' org ')]")


def _rank(el: lxml.html.HtmlElement) -> int:
    """Which evidence an element is: microdata, rel=author, author classes, then author-page links
    (these only inside the post's element)."""
    if "author" in (el.get("itemprop") or "").split():
        return 0
    if el.tag == "a" and "author" in (el.get("rel") or "").split():
        return 1
    if el.tag == "a" and not _AUTHOR_TOKEN.search(el.get("class") or "") and _AUTHOR_URL.search(el.get("href") or ""):
        return 3
    return 2


def _json_ld_authors(page: _Page) -> list[str]:
    """Person names of the first article object's `author`, @id references resolved in the graph."""
    by_id = {obj["@id"]: obj for obj in page.objects if isinstance(obj.get("@id"), str)}
    for obj in page.objects:
        if not any(_ARTICLE_TYPE.search(t) for t in json_ld_types(obj)) or not obj.get("author"):
            continue
        value = obj["author"]
        names = []
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and set(item) <= {"@id"} and item.get("@id") in by_id:
                item = by_id[item["@id"]]
            if isinstance(item, dict) and "Person" in json_ld_types(item) and isinstance(item.get("name"), str):
                name = normalize_text(html.unescape(item["name"]))
                if all(_is_author_name(n, page, typed_person=True) for n in clean_byline(name)):
                    names.append(name)
            elif isinstance(item, str) and all(_is_author_name(n, page) for n in clean_byline(html.unescape(item))):
                names.append(normalize_text(html.unescape(item)))
        if names:
            return names
    return []


def _markup_authors(page: _Page) -> list[str]:
    """Author texts of the strongest author markup on the page, its co-authors beside it."""
    candidates = [el for el in _CANDIDATES(page.tree) if _is_candidate(el) and not _in_foreign_zone(el, page)]
    inside = {el for el in candidates if page.post is not None and (el is page.post or page.post in el.iterancestors())}
    for rank in range(4):
        ranked = [el for el in candidates if _rank(el) == rank and (rank < 3 or el in inside)]
        ranked.sort(key=lambda el: el not in inside)  # stable: the post's own markup first
        for el in ranked:
            texts = [t for t in _names_in(el) if t]
            names = [n for t in texts for n in clean_byline(t)]
            verdicts = {_author_name_verdict(n, page) for n in names}
            if "account" in verdicts:
                # The post's byline names an account or the site: nothing further down (an author
                # box, a teaser) is more likely to be right.
                return []
            if verdicts != {"name"}:
                continue
            found = list(dict.fromkeys(texts))
            for other in ranked:  # co-authors: the same markup under the same parent
                if other is not el and other.getparent() is el.getparent():
                    more = [t for t in _names_in(other) if t]
                    if more and all(_is_author_name(n, page) for t in more for n in clean_byline(t)):
                        found += [t for t in more if t not in found]
            return found
    return []


_POSTED_BY = re.compile(
    r"\b(?:posted|written|published)\s+by\s+(?P<name>[^\W\d_][\w.' -]{1,40}?)"
    r"(?=\s+(?:at|on|in|am|um)\b|\s*[|,·•]|\s*$)",
    re.I,
)
_META_LINE = etree.XPath(".//*[@class][contains(@class, 'meta') or contains(@class, 'info')]")


def _posted_by_authors(page: _Page) -> list[str]:
    """A name in the post's meta line written as plain text: "posted by Stadler at 12:53"."""
    if page.post is None:
        return []
    for el in _META_LINE(page.post):
        if _in_foreign_zone(el, page):
            continue
        found = _POSTED_BY.search(_visible_text(el))
        if found and _is_author_name(found.group("name").strip(), page):
            return [found.group(0).strip()]
    return []


def _meta_authors(page: _Page) -> list[str]:
    for name in ("author", "article:author", "dc.creator", "DC.creator", "dcterms.creator"):
        value = meta_content(page.tree, name)
        if value and all(_is_author_name(n, page) for n in clean_byline(value)) and clean_byline(value):
            return [value]
    return []


def _page(tree: lxml.html.HtmlElement, *, with_json_ld: bool = True) -> _Page:
    objects = json_ld_objects(tree) if with_json_ld else []
    post = _main_post(tree)
    return _Page(
        tree=tree,
        post=post,
        protected={post, *post.iterancestors()} if post is not None else set(),
        objects=objects,
        site_names=_site_names(tree, objects) if with_json_ld else set(),
    )


def post_scoped(tree: lxml.html.HtmlElement, selectors: tuple[str, ...]) -> list[lxml.html.HtmlElement]:
    """Elements matching `selectors` that belong to the page's own post (not to comments, sidebars,
    related posts or other posts' teasers), those inside the post element first."""
    if not selectors:
        return []
    page = _page(tree, with_json_ld=False)
    found = [el for el in select(tree, ", ".join(selectors)) if not _in_foreign_zone(el, page)]
    post = page.post
    return sorted(found, key=lambda el: not (post is not None and (el is post or post in el.iterancestors())))


def cms_authors(tree: lxml.html.HtmlElement) -> list[str]:
    """The author texts the CMS gives for the page's post, as shown ("By Jane Doe", "Tin, ảnh: Hải Yến");
    cleaning turns them into names.

    Tried in order: JSON-LD article `author` (Person names; Yoast's @id references resolved),
    microdata `itemprop=author`, `rel=author` links, hCard and author/byline classes of the post's
    header and footer, links to author pages, "posted by X" in the post's meta line, then
    `meta name=author`, `article:author`, Dublin Core creator. Comments, sidebars, related posts and
    other posts' teasers never count; nor do URLs, e-mail addresses, logins, placeholder accounts
    ("admin") or the site's own name (a wrong name is worse than none).
    """
    page = _page(tree)
    return _json_ld_authors(page) or _markup_authors(page) or _posted_by_authors(page) or _meta_authors(page)
