"""Platforms whose pages are described by CSS selectors alone share this reader.

A platform module declares a `Selectors` spec (title, date, lead, body, byline, source, category,
tags, files, listing links, pager) and gets article and listing parsing from `parse_with`; the body
goes through the shared block reader, so captions and bylines are handled as everywhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin

import lxml.html

from crawler.dates import parse_vietnamese_date
from crawler.platforms.base import (
    SPILL_REPAIR,
    attachments_from_links,
    first,
    meta_content,
    read_body,
    select,
    text_of,
    with_spilled_text,
)
from crawler.platforms.container import in_comments
from crawler.platforms.meta import cms_authors, document_from_page, find_date_text, find_view_count, post_scoped
from crawler.platforms.page import ListingEntry, ParsedPage, listing_result, new_record, page_links, same_host
from crawler.text import join_paragraphs, match_key

_LABEL = ("Tác giả:", "Tác giả", "Nguồn tin:", "Nguồn tin", "Nguồn:", "Người đăng:", "Từ khóa:", "Tags:")


@dataclass(frozen=True)
class Selectors:
    title: tuple[str, ...]
    body: tuple[str, ...]
    date: tuple[str, ...] = ()
    date_attribute: str | None = None  # machine date on the date element (WordPress time[datetime])
    summary: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    images: tuple[str, ...] = ()  # image blocks outside the body (a lead photo with its caption)
    strip: tuple[str, ...] = ()  # removed from the body before reading (share bars, ads, related lists)
    listing_links: tuple[str, ...] = ()
    listing_dates: tuple[str, ...] = ()  # relative to a listing link's item
    listing_items: tuple[str, ...] = ()
    pagination: tuple[str, ...] = ()


def _label_free(text: str) -> str:
    for label in _LABEL:
        if text.startswith(label):
            return text[len(label) :].strip()
    return text


_SHOWN_TIME = re.compile(r"\d{1,2}\s*[:hg]\s*\d{2}")


def _precise_date(shown: str | None, machine: str | None) -> tuple[str | None, str | None]:
    """The machine date when the page shows the same day without a time; else leave it to ParseDates,
    so a shown date that disagrees with the markup's machine date wins."""
    if not shown or not machine or _SHOWN_TIME.search(shown):
        return None, None
    seen, exact = parse_vietnamese_date(shown), parse_vietnamese_date(machine)
    if seen and exact and seen.iso[:10] == exact.iso[:10]:
        return exact.iso, "datetime-attribute"
    return None, None


_ELLIPSIS = re.compile(r"\s*(?:\[\s*(?:…|\.\.\.|&hellip;)\s*\]|…|\.\.\.)\s*$")


def is_body_cut(text: str, paragraphs: list[str]) -> bool:
    """True when `text` is only the beginning of the body (a CMS's automatic excerpt or description,
    often cut mid-sentence and ended with "…" or "[…]")."""
    core = match_key(_ELLIPSIS.sub("", text))
    if len(core) < 20:
        return bool(core)
    start = match_key(" ".join(paragraphs))[: len(core) + 400]
    if core in start:
        return True
    # Cut inside a word: all but the last, partial word must match.
    head = core.rsplit(" ", 1)[0]
    return bool(_ELLIPSIS.search(text)) and len(head) >= 20 and head in start


def _summary(spec: Selectors, tree: lxml.html.HtmlElement, paragraphs: list[str]) -> str | None:
    """The lead: the platform's summary element (for WordPress the post's explicit excerpt), else the
    page's description unless that is just the body's beginning cut short."""
    for el in post_scoped(tree, spec.summary):
        text = text_of(el)
        if text and not is_body_cut(text, paragraphs):
            return text
    for name in ("og:description", "description"):
        text = meta_content(tree, name)
        if text and not is_body_cut(text, paragraphs):
            return text
    return None


def _body_element(tree: lxml.html.HtmlElement, selectors: tuple[str, ...]) -> lxml.html.HtmlElement | None:
    """The first selector's richest match outside a <header> and outside the comments: themes reuse
    a body class for the excerpt in the post's header and for each reader's comment."""
    for selector in selectors:
        found = [
            el
            for el in select(tree, selector)
            if not any(a.tag == "header" for a in el.iterancestors()) and not in_comments(el)
        ]
        if found:
            return max(found, key=lambda el: len(el.text_content()))
    return None


def parse_article(spec: Selectors, name: str, version: str, tree: lxml.html.HtmlElement, url: str) -> ParsedPage | None:
    title_el = first(tree, *spec.title)
    body_el = _body_element(tree, spec.body)
    if title_el is None or body_el is None or not text_of(title_el):
        return None
    body_el, spilled = with_spilled_text(body_el)
    for selector in spec.strip:
        for el in select(body_el, selector):
            el.drop_tree()
    body = read_body(body_el, url)
    date_el = first(tree, *spec.date) if spec.date else None
    date_raw = text_of(date_el) or None
    machine = date_el.get(spec.date_attribute) if spec.date_attribute and date_el is not None else None
    if date_raw is None:
        shown, structured = find_date_text(tree, title_el)  # JSON-LD / Open Graph as the last resort
        date_raw = machine or shown or structured
    published_at, rule = _precise_date(date_raw, machine)
    authors = [_label_free(text_of(el)) for el in select(tree, ", ".join(spec.authors))] if spec.authors else []
    source = _label_free(text_of(first(tree, *spec.source))) if spec.source else ""
    attachments = body.attachments
    for selector in spec.files:
        for container in select(tree, selector):
            links = [(a.get("href"), text_of(a)) for a in container.iter("a") if a.get("href")]
            known = {a.url for a in attachments}
            attachments += [a for a in attachments_from_links(links, url) if a.url not in known]
    lead_images = [
        image for selector in spec.images for el in select(tree, selector) for image in read_body(el, url).images
    ]
    document = document_from_page(body_el, " ".join(body.paragraphs))
    record = new_record(
        tree,
        url,
        name,
        version,
        title=text_of(title_el),
        summary=_summary(spec, tree, body.paragraphs),
        body=join_paragraphs(body.paragraphs),
        published_raw=date_raw,
        published_at=published_at,
        published_rule=rule,
        authors=[a for a in authors if a] or body.authors or cms_authors(tree),
        source=source or None,
        category=text_of(first(tree, *spec.category)) or None if spec.category else None,
        tags=[t for t in (text_of(el) for el in select(tree, ", ".join(spec.tags))) if t] if spec.tags else [],
        images=lead_images + [i for i in body.images if i.url not in {lead.url for lead in lead_images}],
        attachments=attachments,
        embeds=body.embeds,
        document=document,
        page_type="document" if document else "article",
        view_count=find_view_count(tree),
    )
    return ParsedPage(kind="article", record=record, repair=SPILL_REPAIR if spilled else None)


def parse_listing(spec: Selectors, tree: lxml.html.HtmlElement, url: str) -> ParsedPage:
    entries: dict[str, ListingEntry] = {}
    items = set(select(tree, ", ".join(spec.listing_items))) if spec.listing_items else set()
    for link in select(tree, ", ".join(spec.listing_links)) if spec.listing_links else []:
        href = urljoin(url, (link.get("href") or "").strip())
        if not link.get("href") or not same_host(href, url):
            continue
        item = next((ancestor for ancestor in link.iterancestors() if ancestor in items), None)
        date_el = first(item, *spec.listing_dates) if item is not None and spec.listing_dates else None
        entries.setdefault(href, ListingEntry(url=href, title=text_of(link), date_raw=text_of(date_el) or None))
    pagination = []
    for selector in spec.pagination:
        for anchor in select(tree, selector):
            href = (anchor.get("href") or "").strip()
            if href and not href.startswith(("#", "javascript:")) and same_host(urljoin(url, href), url):
                pagination.append(urljoin(url, href))
    return listing_result(list(entries.values()), list(dict.fromkeys(pagination)), page_links(tree, url))


def parse_with(spec: Selectors, name: str, version: str, tree: lxml.html.HtmlElement, url: str) -> ParsedPage:
    return parse_article(spec, name, version, tree, url) or parse_listing(spec, tree, url)
