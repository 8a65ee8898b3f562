"""News sites publishing schema.org NewsArticle/Article JSON-LD (VnExpress, provincial newspapers).

The structured data gives headline, description, dates, authors (read, with other author markup,
by `meta.cms_authors`) and section; the visible markup gives the body (the block reader, on the
article element), captions and the byline. When JSON-LD
and the visible date disagree, the visible date wins: it is what readers were shown.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

import lxml.html

from crawler.dates import parse_vietnamese_date
from crawler.items import Image
from crawler.platforms import generic
from crawler.platforms.base import first, text_of
from crawler.platforms.meta import (
    ARTICLE_TYPES,
    cms_authors,
    find_date_text,
    find_view_count,
    json_ld_objects,
    json_ld_types,
)
from crawler.platforms.page import ListingEntry, ParsedPage, listing_result, new_record, same_host
from crawler.text import join_paragraphs, match_key, normalize_text

NAME = "newsarticle"
VERSION = "1.0"

_BODY_SELECTORS = (
    "article.fck_detail",  # VnExpress
    "[itemprop='articleBody']",
    ".detail-content",
    ".article-body",
    ".content-detail",
    ".entry-content",
    "#news-bodyhtml",
)
_VISIBLE_DATE = ("span.date", ".date-time", ".time-detail", ".publish-date", "time")


def _article_object(tree: lxml.html.HtmlElement) -> dict[str, Any] | None:
    return next((obj for obj in json_ld_objects(tree) if json_ld_types(obj) & ARTICLE_TYPES), None)


def detect(tree: lxml.html.HtmlElement | None, url: str, quick: bool = False) -> list[str]:
    if tree is None:
        return []
    article = _article_object(tree)
    if article is None:
        return []
    kinds = ", ".join(sorted(json_ld_types(article) & ARTICLE_TYPES))
    return [f"JSON-LD {kinds} with headline and datePublished" if article.get("datePublished") else f"JSON-LD {kinds}"]


def article_key(url: str) -> str | None:
    return None


def _section(tree: lxml.html.HtmlElement, article: dict[str, Any]) -> str | None:
    for obj in json_ld_objects(tree):
        if "BreadcrumbList" in json_ld_types(obj):
            items = obj.get("itemListElement") or []
            last = items[-1] if items else None
            name = (last.get("item") or {}).get("name") if isinstance(last, dict) else None
            if isinstance(name, str):
                return normalize_text(name)
    section = article.get("articleSection") or article.get("about")
    return normalize_text(section) if isinstance(section, str) else None


def _visible_date(tree: lxml.html.HtmlElement, title_el: lxml.html.HtmlElement | None) -> str | None:
    for selector in _VISIBLE_DATE:
        el = first(tree, selector)
        text = text_of(el) if el is not None else ""
        if text and parse_vietnamese_date(text) is not None:
            return text
    return find_date_text(tree, title_el)[0]


def _summary(tree: lxml.html.HtmlElement, article: dict[str, Any]) -> str | None:
    visible = text_of(first(tree, "p.description", ".sapo", ".lead"))
    return visible or normalize_text(str(article.get("description") or "")) or None


def _listing(tree: lxml.html.HtmlElement, url: str, articles: list[dict[str, Any]]) -> ParsedPage:
    """A category page describing several articles: their JSON-LD URLs are its entries."""
    page = generic.listing(tree, url)
    known = {entry.url for entry in page.entries}
    for obj in articles:
        link = obj.get("url") or (obj.get("mainEntityOfPage") or {}).get("@id") if isinstance(obj, dict) else None
        if isinstance(link, str) and same_host(urljoin(url, link), url) and urljoin(url, link) not in known:
            date = obj.get("datePublished")
            page.entries.append(
                ListingEntry(url=urljoin(url, link), title=str(obj.get("headline") or ""), date_raw=date)
            )
            known.add(urljoin(url, link))
    return listing_result(page.entries, page.pagination, page.links)


def parse_tree(tree: lxml.html.HtmlElement, url: str) -> ParsedPage:
    articles = [obj for obj in json_ld_objects(tree) if json_ld_types(obj) & ARTICLE_TYPES]
    if len(articles) > 1:
        return _listing(tree, url, articles)
    article = articles[0] if articles else None
    if article is None:
        return generic.parse_tree(tree, url)
    # The article element the site marks, narrowed to its prose and cleared of furniture (share
    # bars, "Most popular" lists); without one, the element holding the page's prose.
    body_el = first(tree, *_BODY_SELECTORS)
    text = generic.container_text(body_el if body_el is not None else tree, url, strict=body_el is None)
    title_el = first(tree, "h1")
    headline = normalize_text(str(article.get("headline") or ""))
    shown = text_of(title_el)
    # The first <h1> is the article's title when the structured headline agrees (a side tray or a
    # logo can hold an <h1> of its own).
    title = shown if shown and (not headline or match_key(shown[:60]) in match_key(headline)) else headline or shown
    if text is None or not title:
        # No article text found on this template: the fallback chain (`parse_page`) tries the
        # generic reader and notes it in the record.
        return generic.listing(tree, url)
    body = text.body
    published = _visible_date(tree, title_el) or article.get("datePublished")
    modified = parse_vietnamese_date(article.get("dateModified")) if article.get("dateModified") else None
    images = body.images
    lead = article.get("image")
    lead_url = lead.get("url") if isinstance(lead, dict) else lead if isinstance(lead, str) else None
    if isinstance(lead_url, str) and not images:
        images = [Image(url=lead_url)]
    record = new_record(
        tree,
        url,
        NAME,
        VERSION,
        title=title,
        summary=_summary(tree, article),
        body=join_paragraphs(body.paragraphs),
        published_raw=published,
        updated_at=modified.iso if modified else None,
        authors=body.authors or cms_authors(tree),
        category=_section(tree, article),
        images=images,
        attachments=body.attachments,
        embeds=body.embeds,
        view_count=find_view_count(tree),
    )
    return ParsedPage(kind="article", record=record)
