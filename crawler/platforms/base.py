"""What every platform parser shares: HTML → blocks, captions, bylines, attachments, links.

A parser finds the article's elements with its platform's selectors, then hands the body element to
`read_body`, which turns it into paragraphs, images (with the caption the markup puts under each) and
the byline the page right-aligns at the end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

import lxml.html
from lxml import etree
from lxml.cssselect import CSSSelector
from lxml.etree import ParserError

from crawler.items import Attachment, Image
from crawler.text import collapse, normalize_text, quick_clean

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
_SENTENCE_END = re.compile(r"[.;:!?…]\s*[\"”’»)]*$")
_PHOTO_CREDIT = re.compile(r"\(?\s*Ảnh\s*:\s*[^)]{1,60}\)?\.?$", re.I)
_INITIALS = re.compile(r"^(?:[^\W\d_]\.)+[^\W\d_]?\.?$")
_BYLINE_SPLIT = re.compile(r"\s+[-–—]\s+|\s*,\s*|\s+và\s+")
_TRAILING_STAMP = re.compile(r"\s+\d{1,2}/\d{1,2}/\d{4}(?:\s+\d{1,2}:\d{2})?$")


def parse_html(html: str) -> lxml.html.HtmlElement | None:
    """The document tree, or None for empty or unparsable input."""
    if not html or not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html)
    except (ParserError, ValueError):
        return None


# Line breaks in the HTML source are spaces on the page: only blocks and <br> start a line.
_SOURCE_BREAKS = str.maketrans("\r\n", "  ")


def block_text(element: lxml.html.HtmlElement) -> str:
    """The element's text with each block (p, div, h1–h6, li, tr …) and <br> on a line of its own and
    table cells apart by a space: `text_content()` glues "63/2023/AL" to a following heading's
    "Danh…" and the glued word reads as part of the document number. Scripts and styles are left out.
    """
    parts: list[str] = []

    def walk(el: lxml.html.HtmlElement) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if not tag or tag in SKIP_TAGS:
            return
        if tag == "br":
            parts.append("\n")
            return
        apart = "\n" if tag in BLOCK_TAGS else " " if tag in ("td", "th") else ""
        parts.append(apart)
        if el.text:
            parts.append(el.text.translate(_SOURCE_BREAKS))
        for child in el:
            walk(child)
            if child.tail:
                parts.append(child.tail.translate(_SOURCE_BREAKS))
        parts.append(apart)

    walk(element)
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def text_of(element: lxml.html.HtmlElement | None) -> str:
    if element is None:
        return ""
    return normalize_text(collapse(element.text_content()))


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
    for name in names:
        for attr in ("property", "name", "itemprop"):
            found = tree.xpath(f'//meta[@{attr}="{name}"]/@content')
            if found and found[0].strip():
                return normalize_text(found[0])
    return None


def canonical_link(tree: lxml.html.HtmlElement, url: str) -> str | None:
    """The page's rel=canonical, made absolute; None when it points at another host."""
    hrefs = _CANONICAL_IN_HEAD(tree) or _CANONICAL_ANYWHERE(tree)
    if not hrefs or not hrefs[0].strip():
        return None
    absolute = urljoin(url, hrefs[0].strip())
    if urlsplit(absolute).hostname != urlsplit(url).hostname:
        return None
    return absolute


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
    authors: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


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
        self._buffer: list[str] = []

    def flush(self, owner: lxml.html.HtmlElement | None) -> None:
        text = quick_clean("".join(self._buffer))
        self._buffer.clear()
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

    def visit(self, el: lxml.html.HtmlElement, owner: lxml.html.HtmlElement | None) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in SKIP_TAGS or not tag:
            return
        if tag == "img":
            self.flush(owner)
            self.image(el)
            return
        if tag == "br":
            self._buffer.append(" ")
            return
        if tag == "a" and el.get("href"):
            href = el.get("href").strip()
            # Link text is needed only where the URL does not name the file (DNN LinkClick.aspx).
            self.links.append((href, collapse(el.text_content()) if "linkclick" in href.lower() else ""))
        block = tag in BLOCK_TAGS
        if block:
            self.flush(owner)
        if tag in ("td", "th"):
            self._buffer.append(" ")
        if el.text:
            self._buffer.append(el.text)
        for child in el:
            self.visit(child, el if block else owner)
            if child.tail:
                self._buffer.append(child.tail)
        if tag in ("td", "th"):
            self._buffer.append(" | " if el.getnext() is not None else " ")
        if block:
            self.flush(el)


def walk_blocks(element: lxml.html.HtmlElement, base_url: str) -> tuple[list[Block], list[tuple[str, str]]]:
    """Blocks of `element` in reading order, plus every link (href as written, text) inside it."""
    walker = _Walker(base_url)
    walker.visit(element, element)
    walker.flush(element)
    return walker.blocks, walker.links


def looks_like_caption(block: Block, after_image: bool) -> bool:
    """A caption is short and styled as one, or short, sentence-less text right under an image."""
    if block.image is not None or len(block.text) > 300:
        return False
    if block.caption_class:
        return True
    if not after_image:
        return False
    if block.centered or block.emphasised or block.small or _PHOTO_CREDIT.search(block.text):
        return True
    return len(block.text) <= 200 and not _SENTENCE_END.search(block.text)


def looks_like_byline(text: str) -> bool:
    """A name or pen-name line such as "Lê Hằng", "N.T", "Tố Tuấn – Nhật Quang"."""
    names = split_byline(text)
    return bool(names) and all(_is_name(n) for n in names)


def _is_name(name: str) -> bool:
    words = name.split()
    return 1 <= len(words) <= 6 and len(name) <= 40 and all(_is_name_word(w) for w in words)


def _is_name_word(word: str) -> bool:
    if _INITIALS.match(word):
        return word[0].isupper()
    return word[0].isupper() and word.replace("'", "").isalpha()


def _signature(text: str) -> bool:
    """A short right-aligned closing line that is no sentence: a unit signing ("Phòng Công tác xã hội")."""
    return len(text) <= 60 and len(text.split()) <= 8 and not _SENTENCE_END.search(text) and text[:1].isupper()


def split_byline(text: str) -> list[str]:
    text = _TRAILING_STAMP.sub("", text.strip().strip("()").strip())
    text = re.sub(r"^(?:Tác giả|Bài và ảnh|Bài, ảnh|Bài|Tin|Ảnh)\s*:\s*", "", text, flags=re.I)
    return [n.strip() for n in _BYLINE_SPLIT.split(text) if n.strip()]


def read_body(element: lxml.html.HtmlElement, base_url: str, *, trailing_byline: bool = True) -> Body:
    """Paragraphs, images with captions, a right-aligned trailing byline and attachments of a body."""
    blocks, links = walk_blocks(element, base_url)
    body = Body(attachments=attachments_from_links(links, base_url))
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
            text = kept.pop().text
            body.authors[:0] = split_byline(text) if looks_like_byline(text) else [text]
    body.paragraphs = [b.text for b in kept]
    return body


def attachments_from_links(links: list[tuple[str, str]], base_url: str) -> list[Attachment]:
    found: dict[str, Attachment] = {}
    for href, text in links:
        if "linkclick.aspx" in href.lower() and "fileticket=" in href.lower():
            # DotNetNuke serves files only through LinkClick.aspx: the link text names the file.
            url = urljoin(base_url, href)
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
