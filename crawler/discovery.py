"""Where a portal lists its articles besides its menus: robots.txt `Sitemap:` lines, XML sitemaps
(index or urlset, plain or gzip) and RSS/Atom feeds. Pure functions of the fetched bytes.

XML is parsed without DTDs, entity expansion or network access, and gzip bodies are decompressed
only up to a limit: a sitemap can be hostile (billion laughs, zip bombs) like any other input.
"""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from crawler.dates import ICT, parse_vietnamese_date

MAX_XML_BYTES = 50 * 1024 * 1024  # the sitemap protocol's own limit for one (uncompressed) file
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json")


class DiscoveryError(ValueError):
    """A sitemap or feed that cannot be read; the message says why."""


@dataclass(frozen=True)
class Entry:
    """A URL a sitemap or feed lists, with its date (ISO 8601, +07:00) when it gives one."""

    url: str
    date: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Sitemap:
    kind: str  # "index" (lists sitemaps) or "urlset" (lists pages)
    entries: list[Entry]


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True, remove_comments=True
    )


def decompress(body: bytes, limit: int = MAX_XML_BYTES) -> bytes:
    """The body itself, or its gzip content (at most `limit` bytes, else DiscoveryError)."""
    if not body.startswith(b"\x1f\x8b"):
        if len(body) > limit:
            raise DiscoveryError(f"larger than {limit} bytes")
        return body
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
            data = stream.read(limit + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise DiscoveryError(f"broken gzip data ({error})") from None
    if len(data) > limit:
        raise DiscoveryError(f"decompresses to more than {limit} bytes")
    return data


def _xml(body: bytes) -> etree._Element:
    data = decompress(body)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as error:
        raise DiscoveryError(f"not XML ({error})") from None
    if root is None:
        raise DiscoveryError("empty document")
    return root


def _local(tag: object) -> str:
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def _child_text(element: etree._Element, *names: str) -> str | None:
    """Text of the first child named like the first of `names` that has one (names in preference order)."""
    texts = {}
    for child in element:
        name = _local(child.tag)
        if name in names and name not in texts and (child.text or "").strip():
            texts[name] = child.text.strip()
    return next((texts[name] for name in names if name in texts), None)


def _iso(raw: str | None) -> str | None:
    """A sitemap or feed date in +07:00: W3C datetime, RFC 822 (RSS pubDate) or Vietnamese text."""
    if not raw:
        return None
    if raw[:1].isalpha():  # "Mon, 16 Jul 2018 10:25:00 +0700"
        try:
            moment = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            moment = None
        if moment is not None:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=ICT)
            return moment.astimezone(ICT).isoformat()
    parsed = parse_vietnamese_date(raw)
    return parsed.iso if parsed else None


def robots_sitemaps(text: str, robots_url: str) -> list[str]:
    """The `Sitemap:` URLs of a robots.txt, absolute, in order."""
    found = []
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "sitemap" and value.strip():
            found.append(urljoin(robots_url, value.strip()))
    return list(dict.fromkeys(found))


def parse_sitemap(body: bytes, url: str) -> Sitemap:
    """A sitemap index or urlset (plain or gzip); entries newest first, undated ones last."""
    root = _xml(body)
    kind = _local(root.tag)
    if kind not in ("sitemapindex", "urlset"):
        raise DiscoveryError(f"not a sitemap (root element <{kind}>)")
    entries = []
    for item in root:
        if _local(item.tag) not in ("sitemap", "url"):
            continue
        loc = _child_text(item, "loc")
        if loc:
            entries.append(Entry(urljoin(url, loc), _iso(_child_text(item, "lastmod"))))
    return Sitemap("index" if kind == "sitemapindex" else "urlset", newest_first(entries))


def parse_feed(body: bytes, url: str) -> list[Entry]:
    """Items of an RSS 2.0, RSS 1.0 (RDF) or Atom feed, newest first."""
    root = _xml(body)
    entries = []
    for item in root.iter():
        name = _local(item.tag)
        if name == "item":  # RSS 2.0 / RSS 1.0
            link = _child_text(item, "link") or item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about")
            date = _child_text(item, "pubdate", "date", "published", "updated")
        elif name == "entry":  # Atom
            link = _atom_link(item)
            date = _child_text(item, "published", "updated")
        else:
            continue
        if link:
            title = _child_text(item, "title")
            entries.append(Entry(urljoin(url, link.strip()), _iso(date), title))
    if not entries and _local(root.tag) not in ("rss", "feed", "rdf"):
        raise DiscoveryError(f"not a feed (root element <{_local(root.tag)}>)")
    return newest_first(entries)


def _atom_link(entry: etree._Element) -> str | None:
    links = [child for child in entry if _local(child.tag) == "link" and child.get("href")]
    for link in links:
        if link.get("rel", "alternate") == "alternate":
            return link.get("href")
    return links[0].get("href") if links else None


def newest_first(entries: list[Entry]) -> list[Entry]:
    dated = sorted((e for e in entries if e.date), key=lambda e: e.date or "", reverse=True)
    return dated + [e for e in entries if not e.date]


def feed_links(tree: lxml.html.HtmlElement, url: str) -> list[str]:
    """Feeds a page announces in its <head> (<link rel="alternate" type="application/rss+xml">)."""
    found = []
    for link in tree.xpath("//link[@rel='alternate'][@href]"):
        if (link.get("type") or "").lower() in _FEED_TYPES:
            found.append(urljoin(url, link.get("href").strip()))
    return list(dict.fromkeys(found))
