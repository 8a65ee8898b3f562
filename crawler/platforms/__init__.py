"""Platform parsers and the detection that picks one for a page.

Each platform is one small module with NAME, VERSION, detect(tree, url), parse_tree(tree, url) and
article_key(url). A portal on a known platform needs only a registry entry.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import ModuleType

import lxml.html

from crawler.discovery import feed_links
from crawler.items import ParserInfo, PortalRecord
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
    sanity,
    sharepoint,
    vbpl,
    webcenter,
    wordpress,
)
from crawler.platforms.base import parse_html, read_markup
from crawler.platforms.page import ListingEntry, ParsedPage, listing_result, page_links, unfollowed_links

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
    """Parse one page with the named platform's parser, or the detected one; pure, no network.

    When that parser raises, finds no article on a page that says it is one, or returns a record
    whose title or body is not believable (`sanity`), the generic reader parses the page too and
    the better record wins; `ParsedPage.fallback` and the record's `parser` say what happened.
    """
    markup = read_markup(html)
    tree = markup.tree
    if tree is None and markup.repair:
        return ParsedPage(kind="refused", reason=markup.repair)
    if tree is None or not tree.text_content().strip():
        return ParsedPage(kind="empty", reason="empty page (no text)")
    unfollowed = unfollowed_links(tree, url)  # before a parser prunes the tree
    page = _parse_tree(tree, html, url, platform)
    page.repair = markup.repair or page.repair
    page.unfollowed = unfollowed
    return page


def _parse_tree(tree: lxml.html.HtmlElement, html: str, url: str, platform: str | None) -> ParsedPage:
    name = platform if platform in PARSERS else _detect_tree(tree, url, quick=True).platform
    module = PARSERS[name]
    page, failure = _run(module, tree, url)
    if page is not None:
        page = _with_links(page, module, tree, url)
    if module is generic:
        return page if page is not None else _unparsed(tree, url, failure or "")
    reason = "parser error" if failure else _doubt(page, tree)
    if reason is None:
        return page
    # The platform's parser may have pruned the tree it was given: the generic reader gets its own.
    fresh = parse_html(html)
    fresh = fresh if fresh is not None else tree
    alternative, _ = _run(generic, fresh, url)
    chosen = _better(page, alternative, fresh, name, failure or reason)
    if chosen is None:
        return _unparsed(tree, url, failure or "")
    if chosen is page:
        return page
    chosen.fallback = reason
    if page is not None and page.kind == "listing":
        # The listing the platform saw still leads on: its entries and pages are followed.
        chosen.links = list(dict.fromkeys([*chosen.links, *(e.url for e in page.entries), *page.pagination]))
    return _with_links(chosen, generic, tree, url)


def _run(module: ModuleType, tree: lxml.html.HtmlElement, url: str) -> tuple[ParsedPage | None, str | None]:
    """The parser's page, or its failure in words: one parser's bug must not lose the page."""
    try:
        return module.parse_tree(tree, url), None
    except Exception as error:  # every parser failure is a counted fallback, never a lost page
        return None, f"{module.NAME} parser failed: {type(error).__name__}: {error}"[:300]


def _doubt(page: ParsedPage | None, tree: lxml.html.HtmlElement) -> str | None:
    """Why the platform parser's verdict needs a second opinion (a short reason), or None."""
    if page is None:
        return "parser error"
    if page.kind == "article" and page.record is not None:
        return sanity.record_problem(page.record, tree)
    if page.kind == "other":
        return "no article found"
    # The platform's listing selectors matched, yet the page declares itself one article (a sign
    # only its own page carries, or two: a site-wide og:type alone is no evidence).
    return "listing on an article page" if sanity.says_single_article(tree) else None


def _better(
    page: ParsedPage | None, alternative: ParsedPage | None, tree: lxml.html.HtmlElement, name: str, reason: str
) -> ParsedPage | None:
    """The platform's page or the generic reader's, by the sanity rules; the winner's record notes
    the fallback, and keeps what only the platform's parser could read (dates, category …)."""
    ours = page.record if page is not None and page.kind == "article" else None
    theirs = alternative.record if alternative is not None and alternative.kind == "article" else None
    if theirs is None:
        return page if page is not None else alternative
    if ours is None and page is not None and sanity.record_problem(theirs, tree):
        return page  # where the platform saw no article, only a believable one from the generic reader counts
    if ours is not None and _platform_stands(ours, theirs, tree):
        return page
    if ours is not None:
        _keep_platform_fields(theirs, ours, tree)
    theirs.platform = name
    theirs.parser = ParserInfo(generic.NAME, generic.VERSION, fallback_from=name, fallback_reason=reason)
    return alternative


def _platform_stands(ours: PortalRecord, theirs: PortalRecord, tree: lxml.html.HtmlElement) -> bool:
    """The generic record is doubtful too: the platform's record, with a believable title, stands
    unless its body is the problem and the generic one's body is not."""
    if sanity.record_problem(theirs, tree) is None or sanity.title_problem(ours, tree):
        return False
    return sanity.body_problem(theirs) is not None or sanity.body_problem(ours) is None


# Fields a platform's selectors read better than the generic reader guesses them; a date moves
# with its raw text and rule, so the three always agree.
_PLATFORM_FIELDS = ("category", "tags", "editor", "view_count")
_DATE_FIELDS = ("published_raw", "published_at", "published_rule")


def _keep_platform_fields(record: PortalRecord, platform_record: PortalRecord, tree: lxml.html.HtmlElement) -> None:
    for field_name in _PLATFORM_FIELDS:
        value = getattr(platform_record, field_name)
        if value:
            setattr(record, field_name, value)
    if platform_record.published_raw or platform_record.published_at:
        for field_name in _DATE_FIELDS:
            setattr(record, field_name, getattr(platform_record, field_name))
    if sanity.title_problem(record, tree) and not sanity.title_problem(platform_record, tree):
        record.title = platform_record.title


def _with_links(page: ParsedPage, module: ModuleType, tree: lxml.html.HtmlElement, url: str) -> ParsedPage:
    """A non-article page with every link the platform knows as an article, and its feeds."""
    if page.kind == "article":
        return page
    # Links whose shape the platform knows as an article (…/ArticleID/355/…, ?dDocName=…) are
    # entries even where the list markup is unknown.
    known = {entry.url for entry in page.entries}
    extra = [ListingEntry(url=link) for link in page.links if link not in known and module.article_key(link)]
    if extra:
        page = replace(
            listing_result(page.entries + extra, page.pagination, page.links),
            postbacks=page.postbacks,
            fallback=page.fallback,
        )
    page.feeds = feed_links(tree, url)  # home and category pages announce the portal's feeds
    return page


def _unparsed(tree: lxml.html.HtmlElement, url: str, failure: str) -> ParsedPage:
    """Every parser failed: the page's links still lead on, and the reason is kept."""
    page = listing_result([], [], page_links(tree, url))
    page.kind = "other"
    page.reason = failure
    page.fallback = "parser error"
    return page


def article_key(url: str, platform: str | None = None) -> str | None:
    """A platform's identity for the article behind `url` (same article, other category/print URL)."""
    names = [platform] if platform in PARSERS else list(PARSERS)
    for name in names:
        key = PARSERS[name].article_key(url)
        if key:
            return key
    return None
