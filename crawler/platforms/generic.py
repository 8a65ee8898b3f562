"""Fallback for sites on no known platform: trafilatura finds the main text, then the shared
block reader takes captions and the byline out of it, as for every platform.
"""

from __future__ import annotations

import copy
import re
from urllib.parse import urljoin, urlsplit

import lxml.html
import trafilatura
from lxml import etree

from crawler.items import Attachment, Document, Image
from crawler.platforms.base import attachments_from_links, first, meta_content, read_body, text_of
from crawler.platforms.meta import (
    cms_authors,
    document_from_page,
    find_date_text,
    find_view_count,
    is_metadata_row,
    updated_at_of,
)
from crawler.platforms.page import ListingEntry, ParsedPage, listing_result, new_record, page_links
from crawler.text import collapse, join_paragraphs, normalize_text

NAME = "generic"
VERSION = "1.0"

# trafilatura's XML-like output back to the HTML tags the block reader understands.
_TRAFILATURA_TAGS = {
    "graphic": "img",
    "head": "h3",
    "list": "ul",
    "item": "li",
    "lb": "br",
    "ref": "a",
    "row": "tr",
    "cell": "td",
    "quote": "blockquote",
    "code": "pre",
}
_PAGER_TEXT = re.compile(r"^(?:\d{1,4}|sau|tiếp|trang sau|trang tiếp|next|›|»|>|>>|cuối|last)$", re.I)
_PAGER_URL = re.compile(r"[?&](?:page|trang|p|pageindex|pg|cur)=\d+|/(?:page|trang)[-/]\d+", re.I)
_ARTICLE_URL = re.compile(r"(?:\d{3,}|[a-z0-9]+(?:-[a-z0-9]+){3,})(?:\.[a-z]{2,5})?/?$", re.I)
# A site's front page is never one article, whatever its teasers look like.
_FRONT_PAGE = re.compile(r"^/(?:(?:vi|en|vi-vn)/?)?(?:(?:index|default|home|trang-chu)(?:\.\w{2,5})?)?$", re.I)
_HEADINGS = etree.XPath("//h1 | //h2 | //*[contains(@class, 'title')]")
_MASTHEAD = re.compile(r"logo|header|banner|masthead|brand|top-?bar", re.I)
_TITLE_SUFFIX = re.compile(r"\s+[-|–—]\s+[^-|–—]{3,80}$")
MIN_ARTICLE_CHARS = 200
MAX_LINK_DENSITY = 0.5


def detect(tree: lxml.html.HtmlElement | None, url: str, quick: bool = False) -> list[str]:
    return ["no platform signature matched: generic extraction"]


def article_key(url: str) -> str | None:
    return None


def parse_tree(tree: lxml.html.HtmlElement, url: str) -> ParsedPage:
    # trafilatura takes the parsed tree (no second parse of the page) but prunes it: give it a copy.
    extracted = trafilatura.bare_extraction(
        copy.deepcopy(tree), url=url, include_images=True, include_tables=True, include_links=True, with_metadata=True
    )
    main_text = getattr(extracted, "body", None)
    body_el = _as_html(main_text) if main_text is not None else None
    title = _title(tree, extracted)
    date_raw, date_attr = find_date_text(tree, _title_element(tree, title))
    body = read_body(body_el, url) if body_el is not None else None
    paragraphs = body.paragraphs if body is not None else []
    if body is not None and paragraphs:
        body.images = _images_from_page(tree, url, paragraphs, body.images)
    document = document_from_page(tree, tree.text_content()) if body is not None else None
    if document is not None and body is not None:
        # The metadata table is the document's fields, not its text; its files may sit beside the text.
        paragraphs = [p for p in paragraphs if not is_metadata_row(p)]
        body.attachments = _document_attachments(tree, url, paragraphs, body.attachments)
    density = _link_density(tree, paragraphs)
    if (
        body is not None
        and title
        and (paragraphs or document)
        and _is_article(tree, url, paragraphs, date_raw, document, density)
    ):
        record = new_record(
            tree,
            url,
            NAME,
            VERSION,
            title=title,
            summary=meta_content(tree, "og:description", "description"),
            body=join_paragraphs(paragraphs),
            published_raw=date_raw or date_attr,
            authors=body.authors or cms_authors(tree),
            category=meta_content(tree, "article:section"),
            tags=[normalize_text(t) for t in tree.xpath('//meta[@property="article:tag"]/@content')],
            images=body.images,
            attachments=body.attachments,
            view_count=find_view_count(tree),
            updated_at=updated_at_of(tree),
            document=document,
            page_type="document" if document else "article",
        )
        return ParsedPage(kind="article", record=record)
    return listing(tree, url)


def _as_html(element: etree._Element) -> lxml.html.HtmlElement:
    copy = lxml.html.fromstring(etree.tostring(element, encoding="unicode"))
    for el in copy.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag in _TRAFILATURA_TAGS:
            el.tag = _TRAFILATURA_TAGS[el.tag]
            if el.tag == "a" and el.get("target"):
                el.set("href", el.get("target"))
        elif el.tag == "hi" and "#i" in (el.get("rend") or ""):
            el.tag = "em"
        elif el.tag == "hi":
            el.tag = "span"
    return copy


def _images_from_page(tree: lxml.html.HtmlElement, url: str, paragraphs: list[str], found: list[Image]) -> list[Image]:
    """Images of the article with their captions, read from the page's own markup.

    trafilatura drops some images (an <img> beside a caption in one <div>) and most caption markup
    (figcaption, caption cells), so the element holding the article's first and last paragraphs is
    read again with the shared block reader; images only trafilatura saw are kept after them.
    """
    # Anchor on long paragraphs: short first/last ones may be a repeated title or a byline.
    anchors = [p for p in paragraphs if len(p) >= 80]
    container = _content_container(tree, anchors[0], anchors[-1]) if anchors else None
    if container is None:
        container = tree.body if tree.find("body") is not None else tree
        own = {i.url: i for i in read_body(container, url, trailing_byline=False).images}
        for image in found:
            if image.caption is None and image.url in own:
                image.caption = own[image.url].caption
        return found
    images = read_body(container, url, trailing_byline=False).images
    seen = {image.url for image in images}
    return images + [image for image in found if image.url not in seen]


def _document_attachments(
    tree: lxml.html.HtmlElement, url: str, paragraphs: list[str], found: list[Attachment]
) -> list[Attachment]:
    """Files of a document page: links in the block around the document's text (its "Tệp đính kèm")."""
    anchors = [p for p in paragraphs if len(p) >= 80]
    container = _content_container(tree, anchors[0], anchors[-1]) if anchors else None
    if container is None:
        return found
    around = container.getparent() if container.getparent() is not None else container
    links = [(href, "") for href in around.xpath(".//a/@href")]
    known = {a.url for a in found}
    return found + [a for a in attachments_from_links(links, url) if a.url not in known]


def _content_container(tree: lxml.html.HtmlElement, first_para: str, last_para: str) -> lxml.html.HtmlElement | None:
    """The smallest element containing both the first and the last paragraph of the extracted text."""
    start = _element_with_text(tree, first_para)
    end = _element_with_text(tree, last_para)
    if start is None or end is None:
        return None
    ancestors = {id(a) for a in (start, *start.iterancestors())}
    for candidate in (end, *end.iterancestors()):
        if id(candidate) in ancestors:
            return candidate
    return None


def _element_with_text(tree: lxml.html.HtmlElement, paragraph: str) -> lxml.html.HtmlElement | None:
    snippet = paragraph[:40]
    if not snippet or ("'" in snippet and '"' in snippet):
        return None
    quote = '"' if "'" in snippet else "'"
    for node in tree.xpath(f"//body//text()[contains(normalize-space(.), {quote}{snippet}{quote})]"):
        parent = node.getparent()
        if parent is not None and parent.tag not in ("script", "style", "title"):
            return parent
    return None


def _title_element(tree: lxml.html.HtmlElement, title: str) -> lxml.html.HtmlElement | None:
    """The element showing the title (to look for the date after it)."""
    for el in tree.xpath("//h1 | //h2 | //h3 | //*[contains(@class, 'title')]"):
        if text_of(el) == title:
            return el
    return first(tree, "h1")


def _title(tree: lxml.html.HtmlElement, document: object) -> str:
    """The article title: a heading the document title repeats, else og:title, else the first real h1.

    Portals often put the site name in an <h1> logo, so a heading only wins outright when the
    page's <title> or og:title contains it.
    """
    og = meta_content(tree, "og:title")
    page_title = normalize_text(text_of(first(tree, "title")))
    headings = [text_of(el) for el in _HEADINGS(tree)]
    headings = [h for h in headings if len(h) >= 10]
    for heading in headings:
        if (og and heading in og) or heading in page_title:
            return heading
    if og:
        return og
    for el in _HEADINGS(tree):
        if el.tag == "h1" and len(text_of(el)) >= 10 and not _in_masthead(el):
            return text_of(el)
    found = getattr(document, "title", None) or page_title
    return _TITLE_SUFFIX.sub("", normalize_text(found or ""))


def _in_masthead(el: lxml.html.HtmlElement) -> bool:
    return any(
        _MASTHEAD.search(f"{a.get('class', '')} {a.get('id', '')}") or a.tag == "header" for a in el.iterancestors()
    )


def _link_density(tree: lxml.html.HtmlElement, paragraphs: list[str]) -> float:
    """Share of the extracted text that is the text of the page's links: a list of headlines is
    mostly links (trafilatura's fallback on such pages returns them as plain text)."""
    text = " ".join(paragraphs)
    if not text:
        return 0.0
    anchors = {collapse(a.text_content()) for a in tree.iter("a")}
    linked = sum(len(anchor) for anchor in anchors if len(anchor) >= 15 and anchor in text)
    return linked / len(text)


def _is_article(
    tree: lxml.html.HtmlElement,
    url: str,
    paragraphs: list[str],
    date_raw: str | None,
    document: Document | None = None,
    link_density: float = 0.0,
) -> bool:
    if document is not None:
        return True
    if _FRONT_PAGE.match(urlsplit(url).path or "/") and not urlsplit(url).query:
        return False
    chars = sum(len(p) for p in paragraphs)
    if chars < MIN_ARTICLE_CHARS or link_density > MAX_LINK_DENSITY:
        return False
    typed = meta_content(tree, "og:type") == "article" or bool(tree.xpath('//*[@itemprop="articleBody"]'))
    return typed or date_raw is not None or len(paragraphs) >= 3


def listing(tree: lxml.html.HtmlElement, url: str) -> ParsedPage:
    """Links of a page that is not an article: likely articles, pagination, everything else."""
    links = page_links(tree, url)
    entries: dict[str, ListingEntry] = {}
    pagination: list[str] = []
    for anchor in tree.iter("a"):
        href = urljoin(url, (anchor.get("href") or "").strip()).split("#", 1)[0]
        if href not in links:
            continue
        label = collapse(anchor.text_content())
        path = urlsplit(href).path
        if _PAGER_TEXT.match(label) or (_PAGER_URL.search(href) and len(label) < 12):
            if href not in pagination:
                pagination.append(href)
        elif len(label) >= 20 and _ARTICLE_URL.search(path):
            entries.setdefault(href, ListingEntry(url=href, title=normalize_text(label)))
    return listing_result(list(entries.values()), pagination, links)
