"""What a platform parser returns for one page: a record (article pages) and the links to follow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import lxml.html

from crawler.items import ParserInfo, PortalRecord
from crawler.platforms.base import canonical_link
from crawler.urls import ascii_host, site_key


@dataclass
class ListingEntry:
    """An article link found on a listing page, with the date the listing shows beside it."""

    url: str
    title: str = ""
    date_raw: str | None = None


@dataclass
class ParsedPage:
    """A parser's verdict on a page: an article (record set) or a listing (entries and pages)."""

    kind: str  # "article", "listing", "other" (neither), "empty" or "refused" (too large to read)
    record: PortalRecord | None = None
    entries: list[ListingEntry] = field(default_factory=list)
    pagination: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)
    postbacks: list[tuple[str, str]] = field(default_factory=list)  # WebForms pager (target, argument)
    # Links `links` leaves out (mailto:, javascript:, tel:, other schemes, other hosts): the spider
    # asks its boundary about them and counts why each is not followed.
    unfollowed: list[str] = field(default_factory=list)
    reason: str | None = None
    # Why the platform's parser was not believed and the generic reader tried (None when it was).
    fallback: str | None = None
    # What had to be done to read the markup at all (flattened nesting, dropped inline data).
    repair: str | None = None


def listing_result(entries: list[ListingEntry], pagination: list[str], links: list[str]) -> ParsedPage:
    """A non-article page: a listing when it leads to articles or further pages, else "other"."""
    kind = "listing" if entries or pagination else "other"
    reason = None if kind == "listing" else "no article and no article links"
    return ParsedPage(kind=kind, entries=entries, pagination=pagination, links=links, reason=reason)


class PlatformParser(Protocol):
    """The interface each module in `crawler.platforms` offers."""

    NAME: str
    VERSION: str

    def detect(self, tree: lxml.html.HtmlElement | None, url: str) -> list[str]: ...

    def parse_tree(self, tree: lxml.html.HtmlElement, url: str) -> ParsedPage: ...

    def article_key(self, url: str) -> str | None: ...


def same_host(url: str, other: str) -> bool:
    return site_host(url) == site_host(other)


def site_host(url: str) -> str:
    """The host that names a site: lower case, IDNA ASCII, without "www." (www.laodong.vn is laodong.vn)."""
    return ascii_host(urlsplit(url).hostname or "").removeprefix("www.")


def page_links(tree: lxml.html.HtmlElement, url: str) -> list[str]:
    """Every http(s) link on the page that stays on the page's host, made absolute, in order."""
    return _split_links(tree, url)[0]


def unfollowed_links(tree: lxml.html.HtmlElement, url: str) -> list[str]:
    """The links `page_links` leaves out, once each: mailto:/javascript:/tel: and other schemes as
    written, links to other hosts made absolute (in-page `#` anchors are no links)."""
    return _split_links(tree, url)[1]


def _split_links(tree: lxml.html.HtmlElement, url: str) -> tuple[list[str], list[str]]:
    host = site_host(url)
    bases = tree.xpath("//base/@href")
    if bases and bases[0].strip():
        url = urljoin(url, bases[0].strip())
    seen: dict[str, None] = {}
    left_out: dict[str, None] = {}
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith("#"):
            continue
        if href.lower().startswith(("javascript:", "mailto:", "tel:")):
            left_out.setdefault(href, None)
            continue
        absolute = urljoin(url, href).split("#", 1)[0]
        if absolute.startswith(("http://", "https://")) and site_host(absolute) == host:
            seen.setdefault(absolute, None)
        else:
            left_out.setdefault(absolute, None)
    return list(seen), list(left_out)


def new_record(tree: lxml.html.HtmlElement, url: str, name: str, version: str, **fields: Any) -> PortalRecord:
    """A record with the provenance every parser sets the same way."""
    return PortalRecord(
        url=url,
        canonical_url=canonical_link(tree, url) or url,
        portal=site_key(url),  # the name the state files the crawl under (crawler.spiders.portal)
        platform=name,
        parser=ParserInfo(name=name, version=version),
        language=(tree.get("lang") or "").split("-")[0] or None,
        **fields,
    )


def relabel(page: ParsedPage, name: str, version: str) -> ParsedPage:
    """A page another platform's reader parsed, credited to the platform whose site it is."""
    if page.record is not None:
        page.record.platform = name
        page.record.parser = ParserInfo(name=name, version=version)
    return page
