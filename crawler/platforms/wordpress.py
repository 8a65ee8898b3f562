"""WordPress, classic and block themes (tintaynguyen.com, police and hospital sites; DOMAIN.md §2.3.6).

Classic: `h1.entry-title`, `time.entry-date[datetime]` (prefer the attribute's text only when the
page shows none), `.entry-content`, `.cat-links a`, `.tags-links a`. Block themes:
`.wp-block-post-title`, `.wp-block-post-date time`, `.wp-block-post-content`. Listing: article
titles, `.nav-links a.page-numbers` / `/page/N/`.

Authors: themes print them in too many ways for a list of selectors, so a closing byline in the
body comes first, then `meta.cms_authors` (Yoast's JSON-LD Person, rel=author, hCard, author
classes). The summary is the post's explicit excerpt where the theme prints one; a description that
is only the body's beginning cut short is no summary. A single post whose theme hides its text from
these selectors is read by the generic reader through the fallback chain (`parse_page`): the record
stays credited to WordPress, with `parser.fallback_from = "wordpress"`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import lxml.html

from crawler.platforms.base import meta_content
from crawler.platforms.page import ParsedPage
from crawler.platforms.selectors import Selectors, parse_with
from crawler.urls import site_key

NAME = "wordpress"
VERSION = "1.1"

SPEC = Selectors(
    title=(
        "article h1.entry-title",
        "h1.entry-title",
        "h1.wp-block-post-title",
        "h1.post-title",
        "h1.single-post-title",
        "h1.jeg_post_title",
        "h1.tdb-title-text",
        ".single-post h1",
    ),
    body=(
        ".entry-content",
        ".wp-block-post-content",
        ".td-post-content",
        ".post-content",
        ".content-inner",
        ".single-post-content",
        ".post-entry",
        ".entry-body",
    ),
    date=("article time.entry-date", "time.entry-date", ".wp-block-post-date time", "time.published", "time"),
    date_attribute="datetime",
    # An explicit excerpt as themes print it on the post page (block themes, Newspaper, JNews, classic).
    summary=(
        ".wp-block-post-excerpt__excerpt",
        ".td-post-sub-title",
        ".jeg_post_subtitle",
        ".entry-header .entry-summary",
        ".entry-header .post-excerpt",
        ".entry-header .excerpt",
        ".entry-subtitle",
        ".post-subtitle",
        ".entry-excerpt",
        ".post-excerpt",
        ".entry-summary",
    ),
    category=(".cat-links a", ".wp-block-post-terms a[rel~=category]"),
    tags=(".tags-links a", ".wp-block-post-terms a[rel=tag]"),
    strip=(".sharedaddy", ".jp-relatedposts", ".addtoany_share_save_container", ".yarpp-related"),
    listing_links=("article .entry-title a", ".wp-block-post-title a", "article h2 a", "article h3 a"),
    listing_items=("article", ".wp-block-post"),
    listing_dates=("time",),
    pagination=(".nav-links a.page-numbers", ".wp-block-query-pagination a", "a.next.page-numbers"),
)
_POST_ID = re.compile(r"[?&]p=(?P<id>\d+)")


def detect(tree: lxml.html.HtmlElement | None, url: str, quick: bool = False) -> list[str]:
    evidence = []
    if "/wp-content/" in url:
        evidence.append("URL under /wp-content/")
    if tree is not None:
        generator = meta_content(tree, "generator") or ""
        if generator.lower().startswith("wordpress"):
            evidence.append(f"<meta name=generator content='{generator}'>")
        if tree.xpath("//link[contains(@href, '/wp-content/') or contains(@href, '/wp-includes/')][1]"):
            evidence.append("stylesheets under /wp-content/ or /wp-includes/")
        if tree.xpath("//script[contains(@class, 'yoast-schema-graph')][1]"):
            evidence.append("Yoast SEO schema graph")
    return evidence


def article_key(url: str) -> str | None:
    found = _POST_ID.search(urlsplit(url).query)
    return f"{site_key(url)}:wordpress:{found.group('id')}" if found else None


def parse_tree(tree: lxml.html.HtmlElement, url: str) -> ParsedPage:
    return parse_with(SPEC, NAME, VERSION, tree, url)
