"""Drupal 7–10 (tuyentruyen.langson; DOMAIN.md §2.3.6): `/node/N`, "Submitted by … on 18 October 2019".

Title `h1.page-title` / `h1.title`, body `.field--name-body` / `.field-name-body`, date and author from
the `.submitted` line (English date, day first), tags `.field--name-field-tags a`. Listing: node
teasers `article.node--view-mode-teaser h2 a` / `.node-teaser h2 a`, pager `.pager a`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import lxml.html

from crawler.platforms.base import meta_content
from crawler.platforms.page import ParsedPage
from crawler.platforms.selectors import Selectors, parse_with
from crawler.urls import site_key

NAME = "drupal"
VERSION = "1.0"

SPEC = Selectors(
    title=("h1.page-title", "h1.title", "h1.node__title", "h1"),
    body=(".field--name-body", ".field-name-body", ".node__content .field--type-text-with-summary"),
    date=(".node__submitted time", ".submitted time", ".submitted", ".node__submitted"),
    date_attribute="datetime",
    authors=(".submitted .username", ".node__submitted .username", ".field--name-uid"),
    tags=(".field--name-field-tags a", ".field-name-field-tags a"),
    listing_links=("article.node--view-mode-teaser h2 a", ".node-teaser h2 a", ".views-row .views-field-title a"),
    listing_items=("article.node--view-mode-teaser", ".node-teaser", ".views-row"),
    listing_dates=("time", ".submitted", ".views-field-created"),
    pagination=(".pager a", ".pager__item a"),
)
_NODE = re.compile(r"/node/(?P<id>\d+)/?$")


def detect(tree: lxml.html.HtmlElement | None, url: str, quick: bool = False) -> list[str]:
    evidence = []
    if _NODE.search(urlsplit(url).path):
        evidence.append("URL /node/N")
    if tree is not None:
        generator = meta_content(tree, "Generator", "generator") or ""
        if generator.lower().startswith("drupal"):
            evidence.append(f"<meta name=Generator content='{generator}'>")
        if tree.xpath("//*[@data-drupal-selector or @data-drupal-link-system-path][1]"):
            evidence.append("data-drupal-* attributes")
        if tree.xpath("//script[contains(., 'Drupal.settings') or contains(@src, '/sites/default/files/')][1]"):
            evidence.append("Drupal.settings or /sites/default/files/ scripts")
    return evidence if len(evidence) > 1 or (evidence and not evidence[0].startswith("URL")) else []


def article_key(url: str) -> str | None:
    found = _NODE.search(urlsplit(url).path)
    return f"{site_key(url)}:drupal:{found.group('id')}" if found else None


def parse_tree(tree: lxml.html.HtmlElement, url: str) -> ParsedPage:
    return parse_with(SPEC, NAME, VERSION, tree, url)
