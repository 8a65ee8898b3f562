"""What every platform parser shares: HTML → blocks, captions, bylines, attachments, links.

A parser finds the article's elements with its platform's selectors, then hands the body element to
`read_body`, which turns it into paragraphs, images (with the caption the markup puts under each) and
the byline the page right-aligns at the end.
"""

from __future__ import annotations

import copy
import html as html_module
import re
import unicodedata
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePosixPath
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit

import lxml.html
from lxml import etree
from lxml.cssselect import CSSSelector
from lxml.etree import ParserError

from crawler.items import Attachment, Image
from crawler.text import collapse, normalize_text, quick_clean
from crawler.urls import canonicalize_url

BLOCK_TAGS = frozenset(
    (
        "p div section article header footer aside blockquote figure figcaption h1 h2 h3 h4 h5 h6 "
        "ul ol li table thead tbody tfoot tr dl dt dd pre address center main nav form hr"
    ).split()
)
SKIP_TAGS = frozenset("script style noscript template iframe object embed svg button select input textarea".split())
CAPTION_CLASS = re.compile(r"caption|desc|chuthich|chu-thich|image-note|img-note|note-img|expNoEdit", re.I)
ATTACHMENT_EXT = frozenset(
    ["pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "zip", "rar", "7z", "odt", "ods", "rtf", "csv"]
)
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "zip": "application/zip",
    "rar": "application/vnd.rar",
    "7z": "application/x-7z-compressed",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "rtf": "application/rtf",
    "csv": "text/csv",
    "json": "application/json",
    "geojson": "application/geo+json",
    "xml": "application/xml",
}
# Alignment set by class (WordPress blocks, Bootstrap) rather than by style.
_CENTER_CLASS = re.compile(r"\b(?:has-text-align-center|text-center|aligncenter|text-align-center)\b")
_RIGHT_CLASS = re.compile(r"\b(?:has-text-align-right|text-right|alignright|text-align-right)\b")
SENTENCE_END = re.compile(r"[.;:!?…。！？：；]\s*[\"”’»)」』]*$")
_PHOTO_CREDIT = re.compile(r"\(?\s*Ảnh\s*:\s*[^)]{1,60}\)?\.?$", re.I)
_INITIALS = re.compile(r"^(?:[^\W\d_]\.)+[^\W\d_]?\.?$")
# Names in one byline: "Tố Tuấn – Nhật Quang", "A, B và C", "A & B", "John Smith and Jane Doe".
_BYLINE_SPLIT = re.compile(r"\s+[-–—]\s+|\s*[,;]\s*|\s+(?:và|and|und|et|&)\s+", re.I)
_TRAILING_STAMP = re.compile(r"\s+\d{1,2}/\d{1,2}/\d{4}(?:\s+\d{1,2}:\d{2})?$")
# What a byline says around the names (DOMAIN.md §3.3): who wrote and photographed it, how it was made.
_BYLINE_PREFIX = re.compile(
    r"^(?:(?:Tin|Bài)\s*(?:,|và|-|/)\s*ảnh|Bài|Tin|Ảnh|Nguồn(?:\s*tin)?|Tác\s*giả|Người\s*viết|Thực\s*hiện"
    r"|Nhóm\s*thực\s*hiện|Author|Authors|Autor|Autorin|Auteur|Text|Words|Reporter)\s*:\s*"
    r"|^(?:(?:Posted|Written|Published|Words|Story|Reported|Text|Submitted)\s+by|Submitted|By|Von|Par|Por|Door|Đăng\s+bởi|Viết\s+bởi|Bởi"
    r"|(?:View|See)\s+(?:all\s+)?(?:posts|articles|stories)\s+by|Alle\s+Beiträge\s+von)\s*:?(?:\s+|$)",
    re.I,
)
_BYLINE_SUFFIX = re.compile(
    r"\s*(?:\((?:tổng\s*hợp|TH|t/h|st|sưu\s*tầm|lược\s*dịch|biên\s*dịch|TTXVN)\)|[-–—/]\s*TTXVN)\s*\.?$", re.I
)
# A date or time after the names: "VĂN HÀO - TRẦN HỮU 30/04/2016 11:39", "By Dan Goodin - Apr 16, 2015 8:02 pm".
_STAMP_CUT = re.compile(
    r"\s*[-–—|·•,]\s*|(?:^|\s+)(?:on|am|le|el|il|ngày|lúc|vào|at|um)\s+"
    r"|\s+(?:updated|published|posted|cập nhật|đăng ngày|aktualisiert|veröffentlicht)\b",
    re.I,
)
# A second label in a byline that credits the photos ("…, ảnh: Tư liệu"), and a month name before a date.
_PHOTO_CREDIT_LABEL = re.compile(r"\s*[,;.–—-]?\s*\b(?:ảnh|photo|photos|foto|fotos)\s*:", re.I)
# Where a date or time starts after the names (not a document number, not a login's digits).
_DATE_START = re.compile(
    r"(?<![^\W\d_])(?:\d{1,2}\s*[:h]\s*\d{2}\b|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|\d{4}-\d{1,2}-\d{1,2}"
    r"|\d{1,2}\s+tháng\b|\d{1,2}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{2}\b|(?<![/\w])(?:19|20)\d{2}\b(?!/))",
    re.I,
)
# What may stand between the word introducing a date and the date: a weekday, commas, spaces.
_DATE_FILLER = re.compile(r"(?:[\s,:]|\b(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?|thứ\s+\w+|chủ\s+nhật)*$", re.I)
_MONTH_BEFORE = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s*$|\btháng\s*$", re.I)
_SOURCE_LABEL = re.compile(r"^\(?\s*(?:Nguồn(?:\s*tin)?\s*:|Theo\s)", re.I)


# The tree trafilatura builds itself: no comments (text after an in-paragraph <!-- --> would be a
# comment's tail, which extractors drop) and no processing instructions; no depth limit, so pages
# pasted from Word with hundreds of unclosed <font> tags keep all their text.
_HTML_PARSER = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, huge_tree=True)
# Markup larger than this is read without its scripts, styles and inline data; what is still larger
# is refused (a 30 MB page would cost minutes and gigabytes).
MAX_HTML_CHARS = 8_000_000
# Deeper trees than this are flattened: our readers walk trees recursively, and libxml2 stops at 2,048.
MAX_TREE_DEPTH = 400
_INERT_OPENING = re.compile(r"<(script|style|noscript|template)\b|<!--", re.I)
_INLINE_DATA = re.compile(r"\bdata:[\w/+.-]+;base64,[\w+/=\s]+")
# Flattening keeps the tags that carry no nesting (headings, paragraphs, media, the document's
# frame), turns every other block into a paragraph break and drops inline tags.
# Thousands of `<div>`s in a row around an article: the parser gives up nesting them (about 2 000
# levels deep) and drops what follows. A run of one bare tag (no attributes) is one tag; the
# article's container keeps its class, so its platform still recognises it.
_BARE_OPENING_RUN = re.compile(r"(<(div|span|font|center|section)>\s*)(?:<\2>\s*){7,}", re.I)
_BARE_CLOSING_RUN = re.compile(r"(</(div|span|font|center|section)>\s*)(?:</\2>\s*){7,}", re.I)
_TAG = re.compile(r"<(/?)([a-zA-Z][\w:-]*)\b([^>]*)>")
_FLAT_KEPT = frozenset(
    "html head body title meta link base script style noscript template p h1 h2 h3 h4 h5 h6 img br hr "
    "iframe embed object param video audio source picture a".split()
)
_CLASS_AND_ID = re.compile(r"""\s(?:class|id)\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)""", re.I)


@dataclass
class Markup:
    """A parsed page, and what had to be done to read it (None when nothing)."""

    tree: lxml.html.HtmlElement | None
    repair: str | None = None


def read_markup(html: str) -> Markup:
    """The page's tree, read within bounds: inert bulk (scripts, styles, inline data) dropped from
    oversized markup, nesting deeper than our readers walk flattened, oversized pages refused."""
    if not html or not html.strip():
        return Markup(None)
    repair = None
    if len(html) > MAX_HTML_CHARS:
        html = _without_inert(html)
        repair = "oversized markup trimmed (scripts, styles and inline data dropped)"
        if len(html) > MAX_HTML_CHARS:
            return Markup(None, f"page too large ({len(html) // 1_000_000} MB of markup without scripts)")
    tree = _parse(html)
    if tree is not None and _deeply_nested(tree):
        collapsed = _BARE_OPENING_RUN.sub(r"\1", _BARE_CLOSING_RUN.sub(r"\1", html))
        tree = _parse(collapsed)
        repair = f"deep nesting collapsed (runs of bare wrappers, more than {MAX_TREE_DEPTH} levels)"
        if tree is not None and _deeply_nested(tree):
            tree = _parse(_TAG.sub(_flat_tag, html))
            repair = f"deep nesting flattened (more than {MAX_TREE_DEPTH} levels)"
    return Markup(tree, repair)


def _flat_tag(tag: re.Match[str]) -> str:
    """A tag of flattened markup: kept, a paragraph break keeping the block's class and id (so page
    furniture is still known by them), or nothing."""
    name = tag.group(2).lower()
    if name in _FLAT_KEPT:
        return tag.group()
    if tag.group(1) or name not in BLOCK_TAGS | {"li", "td", "th", "tr"}:
        return ""
    return f"<p{''.join(_CLASS_AND_ID.findall(tag.group(3)))}>"


def _without_inert(html: str) -> str:
    """The markup without scripts, styles, comments and inline data, in one pass over it (a
    backtracking pattern would rescan the rest of the page for every element left unclosed)."""
    lowered = html.lower()
    kept: list[str] = []
    position = 0
    while (opening := _INERT_OPENING.search(html, position)) is not None:
        kept.append(html[position : opening.start()])
        closing = "-->" if opening.group(1) is None else f"</{opening.group(1).lower()}"
        end = lowered.find(closing, opening.end())
        if end == -1:
            position = len(html)
            break
        after = lowered.find(">", end)
        position = len(html) if after == -1 else after + 1
        kept.append(" ")
    kept.append(html[position:])
    return _INLINE_DATA.sub(" ", "".join(kept))


def parse_html(html: str) -> lxml.html.HtmlElement | None:
    """The document tree, or None for empty, unparsable or oversized input."""
    return read_markup(html).tree


def _parse(html: str) -> lxml.html.HtmlElement | None:
    try:
        return lxml.html.document_fromstring(html, parser=_HTML_PARSER)
    except (ParserError, ValueError):
        return None


def _deeply_nested(tree: lxml.html.HtmlElement) -> bool:
    """True when the tree is deeper than MAX_TREE_DEPTH. Tags left unclosed nest everything after
    them, down to the end of the page: following the last child from the root finds the depth."""
    node, depth = tree, 0
    while depth <= MAX_TREE_DEPTH:
        children = [child for child in node if isinstance(child.tag, str)]
        if not children:
            return False
        node, depth = children[-1], depth + 1
    return True


# Line breaks in the HTML source are spaces on the page: only blocks and <br> start a line.
_SOURCE_BREAKS = str.maketrans("\r\n", "  ")


def _apart(tag: str) -> str:
    """What sets an element's text apart from its neighbours': a line for blocks, a space for cells."""
    return "\n" if tag in BLOCK_TAGS else " " if tag in ("td", "th") else ""


def block_text(element: lxml.html.HtmlElement) -> str:
    """The element's text with each block (p, div, h1–h6, li, tr …) and <br> on a line of its own and
    table cells apart by a space: `text_content()` glues "63/2023/AL" to a following heading's
    "Danh…" and the glued word reads as part of the document number. Scripts and styles are left out.
    """
    parts: list[str] = []

    def enter(el: lxml.html.HtmlElement) -> bool:
        tag = el.tag if isinstance(el.tag, str) else ""
        if not tag or tag in SKIP_TAGS:
            return False
        if tag == "br":
            parts.append("\n")
            return False
        parts.append(_apart(tag))
        if el.text:
            parts.append(el.text.translate(_SOURCE_BREAKS))
        return True

    def leave(el: lxml.html.HtmlElement) -> None:
        parts.append(_apart(el.tag))

    def tail(el: lxml.html.HtmlElement) -> None:
        if el.tail:
            parts.append(el.tail.translate(_SOURCE_BREAKS))

    walk_tree(element, enter, leave, tail)
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


_TITLE_IN_HEAD = etree.XPath("/html/head/title")


def page_title(tree: lxml.html.HtmlElement) -> str:
    """The text of the page's <title> (looked for in <head> first: a // search walks the tree)."""
    found = _TITLE_IN_HEAD(tree.getroottree().getroot())
    return text_of(found[0] if found else first(tree, "title"))


def text_of(element: lxml.html.HtmlElement | None) -> str:
    if element is None:
        return ""
    return normalize_text(unescape_entities(collapse(element.text_content())))


_ESCAPED_ENTITY = re.compile(r"&(?:[a-zA-Z][a-zA-Z0-9]{1,8}|#\d{2,6}|#[xX][0-9a-fA-F]{2,5});")


def unescape_entities(text: str) -> str:
    """Entities a CMS escaped twice ("&amp;nbsp;" shows as "&nbsp;") decoded once more: whole
    references only, each on its own, so "?a=1&sect=2" and "&para 3" stay as written."""
    if "&" not in text:
        return text
    return _ESCAPED_ENTITY.sub(lambda found: html_module.unescape(found.group()), text)


# The direct path first: a // search walks the whole tree, and the link is nearly always in <head>.
_CANONICAL_IN_HEAD = etree.XPath('/html/head/link[@rel="canonical"]/@href')
_CANONICAL_ANYWHERE = etree.XPath('//link[@rel="canonical"]/@href')


@lru_cache(maxsize=512)
def css(selector: str) -> CSSSelector:
    """A compiled CSS selector: compiling costs more than matching, so each is compiled once."""
    return CSSSelector(selector, translator="html")


def select(tree: lxml.html.HtmlElement, selector: str) -> list[lxml.html.HtmlElement]:
    return css(selector)(tree)


def first(tree: lxml.html.HtmlElement, *selectors: str) -> lxml.html.HtmlElement | None:
    for selector in selectors:
        found = css(selector)(tree)
        if found:
            return found[0]
    return None


@lru_cache(maxsize=64)
def _class_xpath(names: tuple[str, ...], tag: str) -> etree.XPath:
    test = " or ".join(f"contains(@class, '{name}')" for name in names)
    return etree.XPath(f"//{tag}[@class][{test}]")


def by_class(tree: lxml.html.HtmlElement, *names: str, tag: str = "*") -> dict[str, list[lxml.html.HtmlElement]]:
    """Elements (of `tag`) carrying each class name, found in one pass over the tree, not one per name."""
    found: dict[str, list[lxml.html.HtmlElement]] = {name: [] for name in names}
    for el in _class_xpath(names, tag)(tree):
        tokens = set((el.get("class") or "").split())
        for name in names:
            if name in tokens:
                found[name].append(el)
    return found


def meta_content(tree: lxml.html.HtmlElement, *names: str) -> str | None:
    """The content of the first <meta> naming one of `names` (by property, name or itemprop)."""
    index = _meta_index(tree)
    for name in names:
        for attr in ("property", "name", "itemprop"):
            found = index.get((attr, name))
            if found:
                return normalize_text(unescape_entities(found))
    return None


# Every page's <meta> tags, read once: parsers and sanity rules ask for a dozen names per page, and
# each XPath lookup walks the whole tree.
_META_INDEXES: weakref.WeakKeyDictionary[lxml.html.HtmlElement, dict[tuple[str, str], str]] = (
    weakref.WeakKeyDictionary()
)


def _meta_index(tree: lxml.html.HtmlElement) -> dict[tuple[str, str], str]:
    root = tree.getroottree().getroot()
    index = _META_INDEXES.get(root)
    if index is None:
        index = {}
        for meta in root.iter("meta"):
            content = meta.get("content")
            if content is None or not content.strip():
                continue
            for attr in ("property", "name", "itemprop"):
                key = meta.get(attr)
                if key:
                    index.setdefault((attr, key), content)
        _META_INDEXES[root] = index
    return index


def canonical_link(tree: lxml.html.HtmlElement, url: str) -> str | None:
    """The page's rel=canonical, made absolute; None when it cannot name this page: another host,
    or a page many articles share (the site root, a listing above the article, the same script
    without the query that picks the article)."""
    hrefs = _CANONICAL_IN_HEAD(tree) or _CANONICAL_ANYWHERE(tree)
    if not hrefs or not hrefs[0].strip():
        return None
    absolute = urljoin(url, hrefs[0].strip())
    if urlsplit(absolute).hostname != urlsplit(url).hostname or shared_canonical(absolute, url):
        return None
    return absolute


# A site's front page, never one article: "/", "/vi/", "/index.html", "/trang-chu".
FRONT_PAGE_PATH = re.compile(
    r"^/(?:(?:vi|en|vn|vi-vn|en-us)/?)?(?:(?:index|default|home|trang-chu)(?:\.\w{2,5})?)?$", re.I
)
_PAGED = re.compile(r"[?&](?:page|trang|p|pageindex|pg|cur|_\w+_cur)=\d+", re.I)
_ARTICLE_LEAF = re.compile(r"\d{3,}|(?:[^/-]+-){3,}")


def shared_canonical(canonical: str, url: str) -> bool:
    """A canonical URL that names a page other articles point to as well."""
    if canonical == url:
        return False
    page, named = urlsplit(canonicalize_url(url)), urlsplit(canonicalize_url(canonical))
    if (page.path, page.query) == (named.path, named.query):
        return False
    if FRONT_PAGE_PATH.match(named.path or "/") and not named.query:
        return True  # the site's front page
    if _PAGED.search(f"?{named.query}"):
        return True  # a page of a listing
    page_path, named_path = page.path.rstrip("/"), named.path.rstrip("/")
    if named_path and page_path.startswith(named_path + "/"):
        # The category the article sits under, not the article behind an /amp or /print view.
        return not _ARTICLE_LEAF.search(named_path.rsplit("/", 1)[-1])
    # "NewsDetail.aspx" for "NewsDetail.aspx?id=480": the query picks the article, the canonical drops it.
    leaf = named_path.rsplit("/", 1)[-1]
    return named_path == page_path and bool(page.query) and not named.query and not _ARTICLE_LEAF.search(leaf)


@dataclass
class Block:
    """A paragraph of text or an image, in reading order, with the layout hints a caption or byline has.

    Hints are read from the owning element only when asked: just the blocks under an image or at the
    end of the body ever are.
    """

    text: str = ""
    image: Image | None = None
    owner: lxml.html.HtmlElement | None = None
    _hints: dict[str, bool] | None = None

    def _hint(self, name: str) -> bool:
        if self._hints is None:
            if self.owner is None:
                self._hints = {}
            else:
                self._hints = _layout(self.owner)
                self._hints["emphasised"] = _emphasised(self.owner, self.text)
        return self._hints.get(name, False)

    @property
    def centered(self) -> bool:
        return self._hint("centered")

    @property
    def right(self) -> bool:
        return self._hint("right")

    @property
    def emphasised(self) -> bool:
        return self._hint("emphasised")

    @property
    def caption_class(self) -> bool:
        return self._hint("caption_class")

    @property
    def small(self) -> bool:
        return self._hint("small")


@dataclass
class Body:
    paragraphs: list[str] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    # The closing byline lines as shown ("Tin, ảnh: Hải Yến"); cleaning splits them into names.
    authors: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    embeds: list[str] = field(default_factory=list)  # players and viewers (files go to attachments)


EMBED_TAGS = frozenset({"iframe", "embed", "object", "video", "audio"})
# Frames that are advertising or social buttons, not the article's media.
_NOT_MEDIA = re.compile(
    r"doubleclick|googlesyndication|googleadservices|adservice|facebook\.com/plugins/(?:like|share|page|comments)|"
    r"platform\.twitter\.com/widgets/(?:tweet_button|follow)|addthis|sharethis|about:blank|googletagmanager",
    re.I,
)
# Document viewers name the file in a parameter: pdf.js "viewer.html?file=…", Google "viewer?url=…".
_VIEWER_PARAMS = ("file", "url", "src", "doc")


def embed_source(el: lxml.html.HtmlElement, base_url: str) -> str | None:
    """The absolute http(s) URL an embedded player or document shows (the file itself for viewers)."""
    candidates = [el.get("data-src"), el.get("src"), el.get("data")]
    if el.tag in ("video", "audio"):
        candidates += [source.get("src") for source in el.iter("source")]
    for candidate in candidates:
        if not candidate or not candidate.strip() or candidate.startswith(("data:", "javascript:")):
            continue
        url = urljoin(base_url, candidate.strip())
        if urlsplit(url).scheme not in ("http", "https") or _NOT_MEDIA.search(url):
            continue
        return _viewed_file(url) or url
    return None


def _viewed_file(url: str) -> str | None:
    """The document a viewer URL displays, when it names one by a file extension."""
    for name, value in parse_qsl(urlsplit(url).query):
        if name.lower() in _VIEWER_PARAMS and _is_file(value):
            return urljoin(url, value)
    return None


def _is_file(url: str) -> bool:
    return PurePosixPath(urlsplit(url).path).suffix.lower().lstrip(".") in ATTACHMENT_EXT


def _style(el: lxml.html.HtmlElement) -> str:
    return (el.get("style") or "").replace(" ", "").lower()


def _layout(el: lxml.html.HtmlElement) -> dict[str, bool]:
    """Layout hints of a block element and its single-child wrappers."""
    hints = {"centered": False, "right": False, "caption_class": False, "small": False}
    node: lxml.html.HtmlElement | None = el
    while node is not None:
        style = _style(node)
        align = (node.get("align") or "").lower()
        classes = node.get("class") or ""
        if align == "center" or "text-align:center" in style or node.tag == "center" or _CENTER_CLASS.search(classes):
            hints["centered"] = True
        if align == "right" or "text-align:right" in style or _RIGHT_CLASS.search(classes):
            hints["right"] = True
        if node.tag == "figcaption" or CAPTION_CLASS.search(node.get("class") or ""):
            hints["caption_class"] = True
        size = re.search(r"font-size:(\d+(?:\.\d+)?)px", style)
        if size and float(size.group(1)) <= 13:
            hints["small"] = True
        children = [c for c in node if isinstance(c.tag, str)]
        only_child = children[0] if len(children) == 1 and not (node.text or "").strip() else None
        node = only_child if only_child is not None and not (only_child.tail or "").strip() else None
    return hints


def _emphasised(el: lxml.html.HtmlElement, text: str) -> bool:
    """True when all of the block's text sits inside <em>/<i> (a common caption style)."""
    if not text:
        return False
    inner = "".join(collapse(e.text_content()) for e in el.iter("em", "i") if e.getparent() is not None)
    return len(inner.replace(" ", "")) >= len(text.replace(" ", "")) * 0.9


class _Walker:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.blocks: list[Block] = []
        self.links: list[tuple[str, str]] = []
        self.embeds: list[str] = []
        self._buffer: list[str] = []
        self._after_break: int | None = None  # buffer length right after the last <br>

    def embed(self, el: lxml.html.HtmlElement) -> None:
        source = embed_source(el, self.base_url)
        if source and source not in self.embeds:
            self.embeds.append(source)

    def flush(self, owner: lxml.html.HtmlElement | None) -> None:
        text = quick_clean(unescape_entities("".join(self._buffer)))
        self._buffer.clear()
        self._after_break = None
        if not text:
            return
        self.blocks.append(Block(text=text, owner=owner))

    def image(self, el: lxml.html.HtmlElement) -> None:
        # Lazy-loading pages put a placeholder (a data: URI) in src and the image in data-src.
        candidates = (el.get("data-src"), el.get("data-original"), el.get("src"))
        src = next((c.strip() for c in candidates if c and c.strip() and not c.startswith("data:")), "")
        if not src:
            return
        alt = normalize_text(el.get("alt") or "") or None
        self.blocks.append(Block(image=Image(url=urljoin(self.base_url, src.strip()), alt=alt)))

    def line_break(self, owner: lxml.html.HtmlElement | None) -> None:
        """One <br> is a space; two in a row (blank space between them) end a paragraph."""
        if self._after_break is not None and not "".join(self._buffer[self._after_break :]).strip():
            self.flush(owner)
            return
        self._buffer.append(" ")
        self._after_break = len(self._buffer)

    def enter(self, el: lxml.html.HtmlElement, owner: lxml.html.HtmlElement | None) -> bool:
        """Read an element's opening; False when its content is not read (skipped, an image, a break)."""
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in EMBED_TAGS:
            self.embed(el)
        if tag in SKIP_TAGS or not tag:
            return False
        if tag == "img":
            self.flush(owner)
            self.image(el)
            return False
        if tag == "br":
            self.line_break(owner)
            return False
        if tag == "a" and el.get("href"):
            href = el.get("href").strip()
            # Link text is needed only where the URL does not name the file (DNN LinkClick.aspx).
            self.links.append((href, collapse(el.text_content()) if "linkclick" in href.lower() else ""))
        if tag in BLOCK_TAGS:
            self.flush(owner)
        if tag in ("td", "th"):
            self._buffer.append(" ")
        if el.text:
            self._buffer.append(el.text)
        return True

    def leave(self, el: lxml.html.HtmlElement) -> None:
        if el.tag in ("td", "th"):
            self._buffer.append(" | " if el.getnext() is not None else " ")
        if el.tag in BLOCK_TAGS:
            self.flush(el)

    def tail(self, el: lxml.html.HtmlElement) -> None:
        if el.tail:
            self._buffer.append(el.tail)


def walk_tree(
    root: lxml.html.HtmlElement,
    enter: Callable[[lxml.html.HtmlElement], bool],
    leave: Callable[[lxml.html.HtmlElement], None],
    tail: Callable[[lxml.html.HtmlElement], None],
) -> None:
    """Visit `root`'s subtree in reading order without recursion (pasted pages nest thousands of
    levels deep): `enter` each element (False: its content is not visited), `leave` each entered
    one, then `tail` after each element below the root."""
    if not enter(root):
        return
    stack = [(root, iter(root))]
    while stack:
        element, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            leave(element)
            if stack:
                tail(element)
        elif enter(child):
            stack.append((child, iter(child)))
        else:
            tail(child)


def _walk(element: lxml.html.HtmlElement, base_url: str) -> _Walker:
    walker = _Walker(base_url)
    # The block each element's text belongs to: the element itself for blocks, else its owner's.
    owners: dict[lxml.html.HtmlElement, lxml.html.HtmlElement] = {element: element}

    def enter(el: lxml.html.HtmlElement) -> bool:
        owner = owners.get(el.getparent(), element) if el is not element else element
        if not walker.enter(el, owner):
            return False
        owners[el] = el if el.tag in BLOCK_TAGS else owner
        return True

    walk_tree(element, enter, walker.leave, walker.tail)
    walker.flush(element)
    return walker


def looks_like_caption(block: Block, after_image: bool) -> bool:
    """A caption is short and styled as one, or short, sentence-less text right under an image.
    A heading is never a caption: it opens the next section."""
    if block.image is not None or len(block.text) > 300:
        return False
    if block.owner is not None and block.owner.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
        return False
    if block.caption_class:
        return True
    if not after_image:
        return False
    if block.centered or block.emphasised or block.small or _PHOTO_CREDIT.search(block.text):
        return True
    return len(block.text) <= 200 and not SENTENCE_END.search(block.text)


def looks_like_byline(text: str) -> bool:
    """A name or pen-name line such as "Lê Hằng", "N.T", "Tố Tuấn – Nhật Quang", "Tin, ảnh: Hải Yến".

    A "Nguồn: …" or "Theo …" line names a source, not a writer.
    """
    if _SOURCE_LABEL.match(text.strip()):
        return False
    names = split_byline(text)
    return bool(names) and all(_is_name(n) for n in names)


def _is_name(name: str) -> bool:
    words = name.split()
    return 1 <= len(words) <= 6 and len(name) <= 40 and all(_is_name_word(w) for w in words)


def _is_name_word(word: str) -> bool:
    if _INITIALS.match(word):
        return word[0].isupper()
    return word[0].isupper() and word.replace("'", "").isalpha()


_SYLLABLE = re.compile(r"^(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?[aeiouy]{1,3}(?:ch|ng|nh|[cmnpt])?$")
_REPORTER_ABBREVIATIONS = frozenset({"PV", "CTV", "BTV", "TTXVN"})


def looks_like_vietnamese_name(text: str) -> bool:
    """A byline whose names are Vietnamese: every word a Vietnamese syllable ("Lê Hằng", "VĂN HÀO"),
    initials ("N.T") or a reporter abbreviation ("Nhóm PV"); "Related Posts" or "Tags" are not."""
    names = split_byline(text)
    words = [w for name in names for w in name.split()]
    return bool(words) and all(
        _INITIALS.match(w) or w in _REPORTER_ABBREVIATIONS or _SYLLABLE.match(_fold(w)) for w in words
    )


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word.casefold().replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _signature(text: str) -> bool:
    """A short right-aligned closing line that is no sentence: a unit signing ("Phòng Công tác xã hội")."""
    return (
        len(text) <= 60
        and len(text.split()) <= 8
        and not SENTENCE_END.search(text)
        and text[:1].isupper()
        and not _SOURCE_LABEL.match(text)
    )


def _strip_byline(text: str) -> str:
    """The names part of a byline: labels before them, a photo credit, "(tổng hợp)"/"- TTXVN" and a
    date after them go."""
    text = _TRAILING_STAMP.sub("", " ".join(text.split()))
    previous = None
    while previous != text:
        previous = text
        text = _BYLINE_PREFIX.sub("", text).strip()
    credit = _PHOTO_CREDIT_LABEL.search(text)
    if credit:  # "Hoàng Anh, ảnh: Tư liệu": the photographer's credit is not a writer
        text = text[: credit.start()]
    text = _before_date(text)
    previous = None
    while previous != text:
        previous = text
        text = _BYLINE_SUFFIX.sub("", text).strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    return text.strip(" -–—|·•,:;")


def _before_date(text: str) -> str:
    """The byline up to a date or time after the names, and the word or separator that introduces
    it ("- 12:30, 05/06/2024", "on Apr 16, 2015", " 30.04.2024"); a separator between names stays."""
    digit = _DATE_START.search(text)
    if digit is None:
        return text
    start = digit.start()
    month = _MONTH_BEFORE.search(text, 0, start)
    if month:
        start = month.start()
    introducer = None
    for cut in _STAMP_CUT.finditer(text, 0, start):
        if _DATE_FILLER.match(text, cut.end(), start):
            introducer = cut
            break
    return text[: introducer.start() if introducer else start]


def split_byline(text: str) -> list[str]:
    """The names of a byline line, its labels, agency suffixes and dates removed."""
    names = (_tidy_name(part) for part in _BYLINE_SPLIT.split(_strip_byline(text)))
    return [name for name in names if name]


def _tidy_name(name: str) -> str:
    """A name without stray brackets or a full stop ("Hải Yến." → "Hải Yến"; "N.T." keeps its dots)."""
    name = name.strip(" ()")
    words = name.split()
    if words and not _INITIALS.match(words[-1]):
        name = name.rstrip(".").strip()
    return name


def clean_byline(text: str) -> list[str]:
    """The names a byline gives: split when every part is a name, else the whole line as one author
    ("Phòng Công tác xã hội", "Ban Biên tập - Sở Y tế"), labels and suffixes removed either way."""
    names = split_byline(text)
    if names and all(_is_name(n) for n in names):
        return names
    whole = _strip_byline(text)
    return [whole] if whole else []


def read_body(element: lxml.html.HtmlElement, base_url: str, *, trailing_byline: bool = True) -> Body:
    """Paragraphs, images with captions, a right-aligned trailing byline and attachments of a body."""
    walker = _walk(element, base_url)
    blocks = walker.blocks
    body = Body(attachments=attachments_from_links(walker.links + [(e, "") for e in walker.embeds], base_url))
    body.embeds = [e for e in walker.embeds if not _is_file(e)]
    pending_image: Image | None = None
    kept: list[Block] = []
    for block in blocks:
        if block.image is not None:
            body.images.append(block.image)
            pending_image = block.image
            continue
        if pending_image is not None and looks_like_caption(block, after_image=True):
            pending_image.caption = block.text
            pending_image = None
            continue
        if body.images and body.images[-1].caption is None and block.caption_class:
            body.images[-1].caption = block.text
            continue
        pending_image = None
        kept.append(block)
    if trailing_byline:
        while kept and kept[-1].right and (looks_like_byline(kept[-1].text) or _signature(kept[-1].text)):
            body.authors.insert(0, kept.pop().text)
    body.paragraphs = [b.text for b in kept]
    return body


# What tag soup pushes out of a body container: an unmatched </div> in the text closes the container
# early, and the rest of the text follows it as unclassed paragraphs.
_SPILL_TAGS = frozenset("p font span strong b em i u br img table ul ol blockquote center".split())
MIN_SPILLED_CHARS = 40
SPILL_REPAIR = "tag soup: text pushed out of the body container read with it"


def _mostly_links(el: lxml.html.HtmlElement, text: str) -> bool:
    linked = sum(len(collapse(a.text_content())) for a in el.iter("a"))
    return bool(text) and linked >= len(text) / 2


def with_spilled_text(container: lxml.html.HtmlElement) -> tuple[lxml.html.HtmlElement, bool]:
    """The body container, joined by the text tag soup pushed out of it (the unclassed paragraphs
    right after it, and the small blocks between them), read together from a copy; and whether
    there was any."""
    spilled: list[lxml.html.HtmlElement] = []
    last_plain = -1
    for sibling in container.itersiblings():
        if not isinstance(sibling.tag, str):
            continue
        plain = sibling.tag in _SPILL_TAGS and not sibling.get("class") and not sibling.get("id")
        text = collapse(sibling.text_content())
        if (not plain and len(text) >= MIN_SPILLED_CHARS) or _mostly_links(sibling, text):
            break  # another component of the page, or a list of links (related articles)
        spilled.append(sibling)
        last_plain = len(spilled) - 1 if plain else last_plain
    spilled = spilled[: last_plain + 1]
    tail = (container.tail or "").strip()
    if len(tail) + sum(len(collapse(el.text_content())) for el in spilled) < MIN_SPILLED_CHARS:
        return container, False
    joined = lxml.html.Element("div")
    joined.append(copy.deepcopy(container))
    joined[-1].tail = f"{tail} " if tail else None
    for el in spilled:
        joined.append(copy.deepcopy(el))
    return joined, True


def attachments_from_links(links: list[tuple[str, str]], base_url: str) -> list[Attachment]:
    found: dict[str, Attachment] = {}
    for href, text in links:
        if "linkclick.aspx" in href.lower() and "fileticket=" in href.lower():
            # DotNetNuke serves files only through LinkClick.aspx: the link text names the file.
            url = urljoin(base_url, href)
            if urlsplit(url).scheme not in ("http", "https"):
                continue  # file:///etc/passwd?LinkClick.aspx&fileticket=… is no attachment
            ext = PurePosixPath(text.strip()).suffix.lower().lstrip(".")
            found.setdefault(url, Attachment(url=url, filename=text.strip() or "file", media_type=MEDIA_TYPES.get(ext)))
            continue
        if PurePosixPath(urlsplit(href).path).suffix.lower().lstrip(".") not in ATTACHMENT_EXT:
            continue
        url = urljoin(base_url, href)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            continue
        path = unquote(parts.path)
        ext = PurePosixPath(path).suffix.lower().lstrip(".")
        if ext not in ATTACHMENT_EXT:
            continue
        filename = PurePosixPath(path).name
        found.setdefault(url, Attachment(url=url, filename=filename, media_type=MEDIA_TYPES.get(ext)))
    return list(found.values())
