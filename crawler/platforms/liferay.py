"""Liferay 6.x asset publisher (portlet 101), as on sotttt.hanoi.gov.vn and many provincial portals.

Detail: `.asset-full-content-title`, `.assetPublishDate` ("Ngày đăng 13/05/2016 | 4:59 PM | View
count: 1501"), `.sapo-wrapper p.sapo`, `.journal-content-article`, editor `p.view-content-author`,
category `.dd_chuyenmuc`. Listing: `.asset-abstract` with `h3.asset-title a` and `.lfr-pagination`.
A `view_content` URL can render the list instead (DOMAIN §2.3.1): the detail selector decides.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from crawler.items import Image, PortalRecord
from crawler.platforms.base import SPILL_REPAIR, by_class, first, read_body, select, text_of, with_spilled_text
from crawler.platforms.meta import document_from_page, find_date_text, is_metadata_row
from crawler.platforms.page import ListingEntry, ParsedPage, listing_result, new_record, page_links, same_host
from crawler.text import join_paragraphs
from crawler.urls import site_key

NAME = "liferay"
VERSION = "1.0"

_ARTICLE_PATH = re.compile(r"/-/(?:view_content|asset_publisher/[^/]+/content|details)/(?P<id>\d+)?")
_HREFS = etree.XPath("//a/@href")
# The article id, only when nothing follows the slug: "…/1005455-slug.html/en" renders a list.
_VIEW_CONTENT_ID = re.compile(r"/-/view_content/(?P<id>\d+)-[^/]*$")
_VIEW_COUNT = re.compile(r"(?:View count|Lượt xem|Số lượt xem|cms-view-count)\s*:?\s*(?P<n>[\d.,]+)", re.I)
_DATE_LABEL = re.compile(r"^(?:Ngày đăng|Ngày cập nhật|Cập nhật|Posted on|Publish date)\s*:?\s*", re.I)
_SIGNATURES = (
    (re.compile(r"/-/view_content/|/-/asset_publisher/"), "URL has a Liferay /-/ asset path"),
    (re.compile(r"[?&]p_p_id="), "URL has p_p_id portlet parameter"),
)


def detect(tree: lxml.html.HtmlElement | None, url: str, quick: bool = False) -> list[str]:
    """Evidence that the page is served by Liferay (empty when there is none); `quick` stops at the first."""
    evidence = [why for pattern, why in _SIGNATURES if pattern.search(url)]
    if tree is None or (quick and evidence):
        return evidence
    if select(tree, ".journal-content-article, .asset-full-content-title"):
        evidence.append("journal-content-article / asset publisher markup")
        if quick:
            return evidence
    if tree.xpath('//*[starts-with(@id, "p_p_id_")]'):
        evidence.append("portlet boundaries with id p_p_id_…")
    if tree.xpath('//html[contains(concat(" ", normalize-space(@class), " "), " aui ")]'):
        evidence.append("<html class='aui'> (Liferay AlloyUI)")
    if tree.xpath('//script[contains(., "Liferay.")]'):
        evidence.append("inline script calls Liferay.*")
    return evidence


def article_key(url: str) -> str | None:
    """One key per article whatever category path or portlet parameters the link carries."""
    found = _VIEW_CONTENT_ID.search(urlsplit(url).path)
    if found:
        return f"{site_key(url)}:liferay:{found.group('id')}"
    return None


def is_article_url(url: str) -> bool:
    return bool(_ARTICLE_PATH.search(urlsplit(url).path))


def article_links(tree: lxml.html.HtmlElement, url: str) -> list[str]:
    """Same-host links to other Liferay articles (related lists, print views), cheap on big pages."""
    found: dict[str, None] = {}
    for href in _HREFS(tree):
        if _ARTICLE_PATH.search(href):
            absolute = urljoin(url, href.strip()).split("#", 1)[0]
            if same_host(absolute, url):
                found.setdefault(absolute, None)
    return list(found)


def _split_date_line(raw: str) -> tuple[str | None, int | None]:
    """("Ngày đăng 13/05/2016 | 4:59 PM | View count: 1501") → ("13/05/2016 | 4:59 PM", 1501)."""
    views = None
    kept = []
    for part in (p.strip() for p in raw.split("|")):
        counter = _VIEW_COUNT.search(part)
        if counter:
            views = int(re.sub(r"\D", "", counter.group("n")) or 0)
        elif part:
            kept.append(_DATE_LABEL.sub("", part))
    date = " | ".join(p for p in kept if p)
    return (date or None), views


# Other Liferay hosts (DOMAIN.md §2.3.2): bacgiang-style detail templates, moh.gov.vn.
_OTHER_TITLES = (".title-news h1", ".title-detail h1", ".title-detail", "h1.title-news")
_OTHER_BODIES = ".content-detail, .detail-content"
_DETAIL_CLASSES = (
    "asset-full-content-title",
    "journal-content-article",
    "assetPublishDate",
    "sapo-wrapper",
    "dd_chuyenmuc",
    "time-post",
)


def parse_tree(tree: lxml.html.HtmlElement, url: str) -> ParsedPage:
    parts = by_class(tree, *_DETAIL_CLASSES, tag="div")  # asset-publisher templates use <div> for these
    titles = parts["asset-full-content-title"]
    title_el = titles[0] if titles else first(tree, *_OTHER_TITLES)
    content = None
    if title_el is not None:
        # The body is the first content element of the title's own portlet; side portlets are
        # journal-content-articles too (banners, link tables).
        scope = _portlet_of(title_el)
        inside = [el for el in parts["journal-content-article"] if scope is not None and _within(el, scope)]
        if not inside and scope is not None:
            inside = select(scope, _OTHER_BODIES)
        content = inside[0] if inside else None
    if title_el is None or content is None:
        return _listing(tree, url)
    content, spilled = with_spilled_text(content)
    record = _record(tree, url, title_el, content, parts)
    # Related-article and print links lead to articles no listing may show; the spider dedupes them.
    links = article_links(tree, url)
    return ParsedPage(kind="article", record=record, links=links, repair=SPILL_REPAIR if spilled else None)


def _portlet_of(el: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The portlet boundary (id p_p_id_…) around `el`, else its parent."""
    for ancestor in el.iterancestors():
        if (ancestor.get("id") or "").startswith("p_p_id_"):
            return ancestor
    return el.getparent()


def _within(el: lxml.html.HtmlElement, ancestor: lxml.html.HtmlElement) -> bool:
    return any(parent is ancestor for parent in el.iterancestors())


def _record(
    tree: lxml.html.HtmlElement,
    url: str,
    title_el: lxml.html.HtmlElement,
    content: lxml.html.HtmlElement,
    parts: dict[str, list[lxml.html.HtmlElement]],
) -> PortalRecord:
    editor = None
    for author_el in select(content, "p.view-content-author"):
        editor = text_of(author_el) or editor
        author_el.drop_tree()
    body = read_body(content, url)
    document = document_from_page(content, " ".join(body.paragraphs))
    if document is not None:
        body.paragraphs = [p for p in body.paragraphs if not is_metadata_row(p)]
    date_el = next(iter(parts["assetPublishDate"] + parts["time-post"]), None)
    if date_el is None:
        date_el = first(tree, ".time-post")
    date_raw, views = _split_date_line(text_of(date_el))
    if date_raw is None and date_el is None:
        date_raw = find_date_text(tree, title_el)[0]
    sapo = next(iter(parts["sapo-wrapper"]), None)
    images: list[Image] = []
    summary = None
    if sapo is not None:
        summary = text_of(first(sapo, "p.sapo")) or None
        for img in sapo.iter("img"):
            if img.get("src"):
                images.append(Image(url=_absolute(url, img.get("src")), alt=img.get("alt") or None))
    crumbs = parts["dd_chuyenmuc"]
    category_el = first(crumbs[0], ".tintuc", "span:last-child") if crumbs else None
    return new_record(
        tree,
        url,
        NAME,
        VERSION,
        title=text_of(title_el),
        summary=summary,
        body=join_paragraphs(body.paragraphs),
        published_raw=date_raw,
        authors=body.authors,
        editor=editor,
        category=text_of(category_el) or None,
        images=images + body.images,
        attachments=body.attachments,
        embeds=body.embeds,
        view_count=views,
        document=document,
        page_type="document" if document else "article",
    )


def _absolute(base: str, href: str) -> str:
    return urljoin(base, href.strip())


def _listing(tree: lxml.html.HtmlElement, url: str) -> ParsedPage:
    entries: dict[str, ListingEntry] = {}
    for item in select(tree, ".asset-abstract"):
        link = first(item, "h3.asset-title a", ".asset-title a", "a")
        if link is None or not link.get("href"):
            continue
        href = _absolute(url, link.get("href"))
        if not same_host(href, url):
            continue
        date_el = first(item, ".assetPublishDate")
        date_raw = _split_date_line(text_of(date_el))[0] if date_el is not None else None
        entries.setdefault(href, ListingEntry(url=href, title=text_of(link), date_raw=date_raw))
    pagination = []
    for pager in select(tree, ".lfr-pagination, .pagination, .pager, .lfr-pagination-buttons"):
        for anchor in pager.iter("a"):
            href = (anchor.get("href") or "").strip()
            if href and not href.startswith(("javascript:", "#")):
                absolute = _absolute(url, href)
                if same_host(absolute, url) and absolute not in pagination:
                    pagination.append(absolute)
    links = page_links(tree, url)
    for href in links:
        if is_article_url(href) and href not in entries:
            entries[href] = ListingEntry(url=href)
    return listing_result(list(entries.values()), pagination, links)
