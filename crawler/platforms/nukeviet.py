"""NukeViet 4 (VINADES), news module: many Sở, huyện and xã sites (DOMAIN.md §2.3.5, §3.1).

Detail `/vi/news/{cat}/{slug}-{id}.html`: `h1.title`, date "Thứ ba - 27/06/2023 10:14", lead
`.hometext`, body `#news-bodyhtml`, author/source lines ("Tác giả:", "Nguồn tin:"), files
`.news-download-file`, keywords. Listing: `.news_column h3 a`, pager `ul.pagination`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import lxml.html

from crawler.platforms.base import meta_content
from crawler.platforms.page import ParsedPage
from crawler.platforms.selectors import Selectors, parse_with
from crawler.urls import site_key

NAME = "nukeviet"
VERSION = "1.0"

SPEC = Selectors(
    title=(".news_column h1.title", "h1.title"),
    body=("#news-bodyhtml", ".bodytext"),
    date=(".news_column span.h5", "span.h5"),
    summary=(".hometext",),
    authors=(".news_column p.text-right:not(.source) strong + span", ".author"),
    source=(".news_column p.source", ".news_column .source"),
    category=(".breadcrumbs li:last-child a span", ".breadcrumbs li:last-child"),
    tags=(".keywords a",),
    files=(".news-download-file",),
    images=(".news_column figure.article",),
    strip=(".news-download-file", ".social-icon"),
    listing_links=(".news_column h3 a", ".news-content h3 a", ".viewcat_list h3 a"),
    listing_items=(".news_column .panel-body", ".news-content"),
    listing_dates=(".text-muted", "p"),
    pagination=("ul.pagination a",),
)
_ARTICLE = re.compile(r"/news/[^/]+/[^/]*-(?P<id>\d+)\.html$")
_URL = re.compile(r"/(?:vi|en)/news/|[?&]nv=news")


def detect(tree: lxml.html.HtmlElement | None, url: str, quick: bool = False) -> list[str]:
    evidence = []
    if tree is not None:
        generator = meta_content(tree, "generator") or ""
        if generator.lower().startswith("nukeviet"):
            evidence.append(f"<meta name=generator content='{generator}'>")
        if tree.xpath("//script[contains(., 'nv_base_siteurl')]"):
            evidence.append("script defines nv_base_siteurl")
    if evidence and _URL.search(url):
        evidence.append("news-module URL (/vi/news/… or nv=news)")
    return evidence


def article_key(url: str) -> str | None:
    found = _ARTICLE.search(urlsplit(url).path)
    return f"{site_key(url)}:nukeviet:{found.group('id')}" if found else None


def parse_tree(tree: lxml.html.HtmlElement, url: str) -> ParsedPage:
    return parse_with(SPEC, NAME, VERSION, tree, url)
