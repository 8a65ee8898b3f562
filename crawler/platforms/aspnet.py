"""Custom ASP.NET WebForms portals (DOMAIN.md §2.1, §2.3.7).

WebForms listings page with `__doPostBack('ctl21$pager','2')`: a GET cannot reach page 2, so the
parser reports each postback (event target, argument) and the spider replays the form with
`__VIEWSTATE`/`__EVENTVALIDATION`. Articles (`NewsDetail.aspx?id=480`) are read with the known selectors, else by the
generic reader. DotNetNuke sites (module `dotnetnuke`) reuse this reader.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import lxml.html

from crawler.platforms import generic
from crawler.platforms.page import ParsedPage, relabel
from crawler.platforms.selectors import Selectors, parse_article
from crawler.urls import site_key

NAME = "aspnet"
VERSION = "1.0"

SPEC = Selectors(
    title=(".news-detail-title", ".title-detail", ".tieude-chitiet", ".edn_articleTitle", "h1.title", ".news-title"),
    body=(".news-detail-content", ".content-detail", ".noidung-chitiet", ".edn_articleContent", "[id$='_lblContent']"),
    date=(".news-detail-date", ".ngay-dang", ".date-detail", ".edn_metaDetails time", "[id$='_lblDate']"),
    summary=(".news-detail-summary", ".tomtat", ".edn_articleSummary"),
    files=(".news-detail-files", ".edn_articleDocuments"),
)
_POSTBACK = re.compile(r"__doPostBack\(\s*'(?P<target>[^']+)'\s*,\s*'(?P<argument>[^']*)'\s*\)")
_PAGER_LABEL = re.compile(r"^(?:\d{1,4}|sau|tiếp|trang sau|next|›|»|>|>>|cuối|\.\.\.)$", re.I)
_STATE = re.compile(r"^(?:__VIEWSTATE|__EVENTVALIDATION)$")


def detect(tree: lxml.html.HtmlElement | None, url: str, quick: bool = False) -> list[str]:
    evidence = []
    path = urlsplit(url).path.lower()
    if tree is not None:
        if any(_STATE.match(name) for name in tree.xpath("//input[@type='hidden']/@name")):
            evidence.append("WebForms __VIEWSTATE / __EVENTVALIDATION fields")
        if tree.xpath("//a[contains(@href, '__doPostBack')][1]"):
            evidence.append("links that page with __doPostBack")
    if evidence and path.endswith(".aspx"):
        evidence.append(".aspx page")
    return evidence


def article_key(url: str) -> str | None:
    parts = urlsplit(url)
    query = {k.lower(): v[0] for k, v in parse_qs(parts.query).items()}
    if parts.path.lower().endswith("newsdetail.aspx") and "id" in query:
        return f"{site_key(url)}:aspnet:newsdetail:{query['id']}"
    return None


def postbacks(tree: lxml.html.HtmlElement) -> list[tuple[str, str]]:
    """Pager postbacks of a listing: (event target, argument), in page order, each once."""
    found: dict[tuple[str, str], None] = {}
    for anchor in tree.iter("a"):
        match = _POSTBACK.search(anchor.get("href") or "")
        label = " ".join(anchor.text_content().split())
        if match and _PAGER_LABEL.match(label):
            found.setdefault((match.group("target"), match.group("argument")), None)
    return list(found)


def parse_tree(tree: lxml.html.HtmlElement, url: str) -> ParsedPage:
    page = parse_article(SPEC, NAME, VERSION, tree, url)
    if page is None:
        page = relabel(generic.parse_tree(tree, url), NAME, VERSION)
    if page.record is None:
        page.postbacks = postbacks(tree)
        if page.postbacks and page.kind == "other":
            page.kind, page.reason = "listing", None
    return page
