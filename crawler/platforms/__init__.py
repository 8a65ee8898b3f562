"""Platform parsers and the detection that picks one for a page.

Each platform is one small module with NAME, VERSION, detect(tree, url), parse_tree(tree, url) and
article_key(url). A portal on a known platform needs only a registry entry.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import ModuleType

from crawler.discovery import feed_links
from crawler.platforms import (
    aspnet,
    ckan,
    dotnetnuke,
    drupal,
    generic,
    joomla,
    liferay,
    newsarticle,
    nukeviet,
    sharepoint,
    vbpl,
    webcenter,
    wordpress,
)
from crawler.platforms.base import parse_html
from crawler.platforms.page import ListingEntry, ParsedPage, listing_result

PARSERS: dict[str, ModuleType] = {
    liferay.NAME: liferay,
    ckan.NAME: ckan,
    nukeviet.NAME: nukeviet,
    vbpl.NAME: vbpl,  # before sharepoint: vbpl.vn is SharePoint with its own document template
    sharepoint.NAME: sharepoint,
    joomla.NAME: joomla,
    drupal.NAME: drupal,
    webcenter.NAME: webcenter,
    dotnetnuke.NAME: dotnetnuke,  # before aspnet: DNN is WebForms with its own signs
    aspnet.NAME: aspnet,  # after SharePoint, which is ASP.NET too
    wordpress.NAME: wordpress,  # before newsarticle: Yoast adds Article JSON-LD to WordPress posts
    newsarticle.NAME: newsarticle,
    generic.NAME: generic,
}
# Platforms a registry entry may name: those with a parser, and "unknown" (detected per page).
KNOWN_PLATFORMS = frozenset({*PARSERS, "unknown"})


@dataclass(frozen=True)
class Detection:
    platform: str
    evidence: tuple[str, ...]


def detect(html: str, url: str) -> Detection:
    """The platform whose signatures the page (or its URL) carries, with the evidence found."""
    return _detect_tree(parse_html(html), url)


def _detect_tree(tree: object, url: str, quick: bool = False) -> Detection:
    for name, module in PARSERS.items():
        if module is generic:
            continue
        evidence = module.detect(tree, url, quick)
        if evidence:
            return Detection(name, tuple(evidence))
    return Detection(generic.NAME, tuple(generic.detect(tree, url)))


def parse_page(html: str, url: str, platform: str | None = None) -> ParsedPage:
    """Parse one page with the named platform's parser, or the detected one; pure, no network."""
    tree = parse_html(html)
    if tree is None or not tree.text_content().strip():
        return ParsedPage(kind="empty", reason="empty page (no text)")
    name = platform if platform in PARSERS else _detect_tree(tree, url, quick=True).platform
    module = PARSERS[name]
    page = module.parse_tree(tree, url)
    if page.kind == "article":
        return page
    # Links whose shape the platform knows as an article (…/ArticleID/355/…, ?dDocName=…) are
    # entries even where the list markup is unknown.
    known = {entry.url for entry in page.entries}
    extra = [ListingEntry(url=link) for link in page.links if link not in known and module.article_key(link)]
    if extra:
        page = replace(listing_result(page.entries + extra, page.pagination, page.links), postbacks=page.postbacks)
    page.feeds = feed_links(tree, url)  # home and category pages announce the portal's feeds
    return page


def article_key(url: str, platform: str | None = None) -> str | None:
    """A platform's identity for the article behind `url` (same article, other category/print URL)."""
    names = [platform] if platform in PARSERS else list(PARSERS)
    for name in names:
        key = PARSERS[name].article_key(url)
        if key:
            return key
    return None
