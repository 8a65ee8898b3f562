"""Joomla com_content (khuyennong.lamdong, congan.thuathienhue, bachmai; DOMAIN.md §2.3.6).

Article: `.page-header h2[itemprop=name]` (or h1), `[itemprop=articleBody]`, `time[itemprop=datePublished]`,
author `[itemprop=author] [itemprop=name]`, category `.category-name a`. Blog listing:
`.blog h2[itemprop=name] a`, pager `.pagination a` ("Trang sau"). Aliases may lose every Vietnamese
letter (`/1814-tin-ho-t-d-ng`); the numeric id is the article's identity.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import lxml.html

from crawler.platforms.base import meta_content
from crawler.platforms.page import ParsedPage
from crawler.platforms.selectors import Selectors, parse_with
from crawler.urls import site_key

NAME = "joomla"
VERSION = "1.0"

SPEC = Selectors(
    title=(
        ".item-page .page-header h2[itemprop=name]",
        ".item-page .page-header h1",
        ".item-page h2",
        "h2[itemprop=headline]",
    ),
    body=("[itemprop=articleBody]", ".item-page .article-body"),
    date=("time[itemprop=datePublished]", "dd.published time", "dd.published", ".create"),
    date_attribute="datetime",
    authors=("dd.createdby [itemprop=name]", "[itemprop=author] [itemprop=name]"),
    category=("dd.category-name a", ".category-name a"),
    tags=(".tags a",),
    listing_links=(".blog h2[itemprop=name] a", ".blog .page-header h2 a", ".items-leading h2 a", ".items-row h2 a"),
    listing_items=(".blog .items-leading > div", ".blog .items-row .item", ".blog-item"),
    listing_dates=("time", "dd.published"),
    pagination=(".pagination a", "a[title='Trang sau']", "a.next"),
)
_ALIAS_ID = re.compile(r"/(?P<id>\d+)-[^/]*$")


def detect(tree: lxml.html.HtmlElement | None, url: str, quick: bool = False) -> list[str]:
    evidence = []
    if "option=com_content" in url:
        evidence.append("URL has option=com_content")
    if tree is not None:
        generator = meta_content(tree, "generator") or ""
        if generator.lower().startswith("joomla"):
            evidence.append(f"<meta name=generator content='{generator}'>")
        if tree.xpath("//script[contains(@src, '/media/jui/') or contains(@src, '/media/system/')][1]"):
            evidence.append("scripts under /media/jui/ or /media/system/")
    return evidence


def article_key(url: str) -> str | None:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    # `id` names an article only in an article view: a category or section listing has its own ids.
    article_view = query.get("view", ["article"])[0] == "article" and query.get("task", ["view"])[0] == "view"
    if query.get("option") == ["com_content"] and "id" in query:
        return f"{site_key(url)}:joomla:{query['id'][0].split(':')[0]}" if article_view else None
    found = _ALIAS_ID.search(parts.path.removesuffix(".html"))
    return f"{site_key(url)}:joomla:{found.group('id')}" if found else None


def parse_tree(tree: lxml.html.HtmlElement, url: str) -> ParsedPage:
    return parse_with(SPEC, NAME, VERSION, tree, url)
