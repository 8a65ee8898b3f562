"""SharePoint 2010/2013 publishing portals (DOMAIN.md §2.3.3, §2.3.4).

Three URL families: the Tân Dân product `/portal/Pages/YYYY-M-D/{Slug}-{hash}.aspx` (dienbien,
ninhthuan, namdinh; classes `tandan-*`), the Vietnamese pages library `/Trang/*.aspx`
(quangninh: `ChiTietTinTuc.aspx?nid=`), and generic `/Pages/*.aspx` (`ItemID=`). Master-page text
leaks ("Sign In", the "This div, which you should delete…" placeholder) are platform boilerplate.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import lxml.html

from crawler.platforms.base import meta_content
from crawler.platforms.page import ParsedPage
from crawler.platforms.selectors import Selectors, parse_with
from crawler.urls import site_key

NAME = "sharepoint"
VERSION = "1.0"

SPEC = Selectors(
    title=(".tandan-title-view", ".tandan-p-article-news-title", ".news-detail h1", ".ms-rtestate-field h1", "h1"),
    body=(".tandan-content-view", ".tandan-p-article-main", ".news-detail .content", ".ms-rtestate-field"),
    date=(".tandan-date-view", ".tandan-span-date-publish", ".news-detail .date", ".ngay-dang"),
    summary=(".tandan-p-article-news-summary", ".tandan-summary-view", ".news-detail .summary"),
    authors=(".tandan-author-view", ".news-detail .author"),
    tags=(".td-tags a",),
    files=(".tandan-attachments", ".news-detail .attachments"),
    listing_links=(".channel-news-title a", ".tandan-p-article-news-title a", ".news-list .title a"),
    listing_items=(".channel-news", ".tandan-p-article-news", ".news-list li"),
    listing_dates=(".tandan-span-date-publish", ".date"),
    pagination=(".tandan-paging a", ".paging a", "a[href*='PageIndex=']"),
)
_PORTAL_PAGES = re.compile(r"/portal/Pages/\d{4}-\d{1,2}-\d{1,2}/[^/]+-(?P<id>[a-z0-9]+)\.aspx$", re.I)
_URL_SIGNS = (
    (re.compile(r"/Pages/[^/]+\.aspx", re.I), "/Pages/*.aspx"),
    (re.compile(r"/Trang/[^/]+\.aspx", re.I), "/Trang/*.aspx"),
)


def detect(tree: lxml.html.HtmlElement | None, url: str, quick: bool = False) -> list[str]:
    evidence = []
    if tree is not None:
        generator = meta_content(tree, "GENERATOR", "generator") or ""
        if "sharepoint" in generator.lower():
            evidence.append(f"<meta name=GENERATOR content='{generator}'>")
        if tree.xpath("//*[starts-with(@id, 'ctl00_')][1]") and tree.xpath("//*[contains(@class, 'ms-')][1]"):
            evidence.append("ctl00_ control ids and ms- classes")
        if tree.xpath("//*[contains(@class, 'tandan-')][1]"):
            evidence.append("Tân Dân portal classes (tandan-*)")
    if evidence:
        evidence += [why for pattern, why in _URL_SIGNS if pattern.search(urlsplit(url).path)]
    return evidence


def article_key(url: str) -> str | None:
    parts = urlsplit(url)
    found = _PORTAL_PAGES.search(parts.path)
    if found:
        return f"{site_key(url)}:sharepoint:{found.group('id').lower()}"
    query = {k.lower(): v for k, v in parse_qs(parts.query).items()}
    for name in ("itemid", "nid"):
        if name in query and parts.path.lower().endswith(".aspx"):
            return f"{site_key(url)}:sharepoint:{parts.path.lower()}:{query[name][0]}"
    return None


def parse_tree(tree: lxml.html.HtmlElement, url: str) -> ParsedPage:
    return parse_with(SPEC, NAME, VERSION, tree, url)
