"""Oracle WebCenter portals (quangnam, tamky.quangnam; DOMAIN.md §2.1):
`/webcenter/portal/ubnd/pages_tin-tuc/chi-tiet?dDocName=PORTAL537326`.

`dDocName` is the article's stable id whatever page path shows it. The page templates are not
documented, so the body is read by the generic reader; the record is labelled with this platform.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import lxml.html

from crawler.platforms import generic
from crawler.platforms.page import ParsedPage, relabel
from crawler.urls import site_key

NAME = "webcenter"
VERSION = "1.0"


def detect(tree: lxml.html.HtmlElement | None, url: str, quick: bool = False) -> list[str]:
    parts = urlsplit(url)
    evidence = []
    if "/webcenter/" in parts.path.lower():
        evidence.append("URL under /webcenter/")
    if any(key.lower() == "ddocname" for key in parse_qs(parts.query)):
        evidence.append("dDocName= document id in the URL")
    if tree is not None and tree.xpath("//script[contains(@src, '/adf/') or contains(., 'AdfPage')][1]"):
        evidence.append("Oracle ADF scripts")
    return evidence


def article_key(url: str) -> str | None:
    parts = urlsplit(url)
    query = {k.lower(): v[0] for k, v in parse_qs(parts.query).items()}
    return f"{site_key(url)}:webcenter:{query['ddocname']}" if "ddocname" in query else None


def parse_tree(tree: lxml.html.HtmlElement, url: str) -> ParsedPage:
    return relabel(generic.parse_tree(tree, url), NAME, VERSION)
