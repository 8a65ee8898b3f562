"""DotNetNuke (DNN) sites: `tabid/NNN` pages, EasyDNNnews articles, files only through
`LinkClick.aspx?fileticket=…&tabid=…` (DOMAIN.md §2.1). DNN is WebForms underneath, so articles and
postback pagers are read as for other ASP.NET portals; records carry this platform's name.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import lxml.html

from crawler.platforms import aspnet
from crawler.platforms.base import meta_content
from crawler.platforms.page import ParsedPage, relabel
from crawler.urls import site_key

NAME = "dotnetnuke"
VERSION = "1.0"

_ARTICLE = re.compile(r"/tabid/(?P<tab>\d+)/ArticleID/(?P<id>\d+)", re.I)


def detect(tree: lxml.html.HtmlElement | None, url: str, quick: bool = False) -> list[str]:
    evidence = []
    if re.search(r"/tabid/\d+", urlsplit(url).path, re.I):
        evidence.append("URL has tabid/N")
    if tree is not None:
        if "dotnetnuke" in (meta_content(tree, "generator", "GENERATOR") or "").lower():
            evidence.append("<meta name=generator> DotNetNuke")
        if tree.xpath("//a[contains(@href, 'LinkClick.aspx')][1]"):
            evidence.append("files through LinkClick.aspx")
        if tree.xpath("//*[starts-with(@id, 'dnn_')][1] | //link[contains(@href, '/Portals/')][1]"):
            evidence.append("dnn_ element ids or /Portals/ resources")
    return evidence if len(evidence) > 1 else []


def article_key(url: str) -> str | None:
    found = _ARTICLE.search(urlsplit(url).path)
    return f"{site_key(url)}:dotnetnuke:{found.group('id')}" if found else None


def parse_tree(tree: lxml.html.HtmlElement, url: str) -> ParsedPage:
    return relabel(aspnet.parse_tree(tree, url), NAME, VERSION)
