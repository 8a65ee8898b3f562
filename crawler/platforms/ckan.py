"""CKAN 2.10 open-data portals with the VNPT theme (odp.cantho.gov.vn; DOMAIN.md §2.3.8).

Blog posts (`/blog/{slug}`: `h1.page-heading`, `span.muted.date` "30 tháng 8, 2024") are articles;
dataset pages (`/dataset/{name}`) are records of page_type "dataset" whose resources are attachments
and whose creation/update times come from the additional-info table's machine dates.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import lxml.html

from crawler.dates import parse_vietnamese_date
from crawler.items import Attachment
from crawler.platforms.base import MEDIA_TYPES, first, meta_content, read_body, select, text_of
from crawler.platforms.page import ListingEntry, ParsedPage, listing_result, new_record, page_links, same_host
from crawler.text import join_paragraphs
from crawler.urls import site_key

NAME = "ckan"
VERSION = "1.0"

_PATHS = re.compile(r"/(?:dataset|organization|group|blog|api/3/action)(?:/|\?|$)")
_DETAIL = re.compile(r"/(?:dataset|blog)/[^/?#]+/?$")


def detect(tree: lxml.html.HtmlElement | None, url: str, quick: bool = False) -> list[str]:
    evidence = []
    if tree is not None:
        generator = meta_content(tree, "generator") or ""
        if generator.lower().startswith("ckan"):
            evidence.append(f"<meta name=generator content='{generator}'>")
            if quick:
                return evidence
        if tree.xpath("//body[@data-site-root]") and tree.xpath("//script[contains(., 'ckan.')]"):
            evidence.append("body[data-site-root] and ckan.* scripts")
    if evidence and _PATHS.search(urlsplit(url).path):
        evidence.append("CKAN URL path (/dataset/, /organization/, /group/, /blog/)")
    return evidence


def article_key(url: str) -> str | None:
    path = urlsplit(url).path.rstrip("/")
    if _DETAIL.search(path + "/") or _DETAIL.search(path):
        return f"{site_key(url)}:ckan:{path}"
    return None


def _blog_post(tree: lxml.html.HtmlElement, url: str) -> ParsedPage | None:
    heading = first(tree, "[role=main] h1.page-heading")
    if heading is None:
        return None
    section = heading.getparent()
    body_el = next((el for el in heading.itersiblings() if el.tag == "div"), None)
    if section is None or body_el is None:
        return None
    body = read_body(body_el, url)
    return ParsedPage(
        kind="article",
        record=new_record(
            tree,
            url,
            NAME,
            VERSION,
            title=text_of(heading),
            body=join_paragraphs(body.paragraphs),
            published_raw=text_of(first(section, "span.date")) or None,
            authors=body.authors,
            images=body.images,
            attachments=body.attachments,
            embeds=body.embeds,
        ),
    )


def _machine_date(row_label: str, tree: lxml.html.HtmlElement) -> str | None:
    for row in select(tree, "section.additional-info tr"):
        label = text_of(first(row, "th"))
        stamp = first(row, "[data-datetime]")
        if label.casefold() == row_label and stamp is not None:
            return stamp.get("data-datetime")
    return None


def _dataset(tree: lxml.html.HtmlElement, url: str) -> ParsedPage | None:
    resources = select(tree, "li.resource-item")
    heading = first(tree, "[role=main] .module-content h1", "[role=main] h1")
    if heading is None or not (resources or first(tree, "section.additional-info") is not None):
        return None
    notes = first(tree, ".notes")
    body = read_body(notes, url) if notes is not None else None
    attachments = []
    for item in resources:
        link = first(item, "a.resource-url-analytics", "a.heading")
        label = first(item, "a.heading")
        if link is None or not link.get("href"):
            continue
        format_label = first(item, ".format-label")
        fmt = (format_label.get("data-format") or "").lower() if format_label is not None else ""
        name = (
            (label.get("title") if label is not None else None) or text_of(label) or link.get("href").rsplit("/", 1)[-1]
        )
        attachments.append(
            Attachment(url=urljoin(url, link.get("href")), filename=name, media_type=MEDIA_TYPES.get(fmt))
        )
    updated = parse_vietnamese_date(_machine_date("cập nhật mới nhất", tree))
    return ParsedPage(
        kind="article",
        record=new_record(
            tree,
            url,
            NAME,
            VERSION,
            title=text_of(heading),
            page_type="dataset",
            body=join_paragraphs(body.paragraphs) if body else "",
            published_raw=_machine_date("ngày tạo", tree),
            updated_at=updated.iso if updated else None,
            attachments=attachments,
            tags=[text_of(tag) for tag in select(tree, ".tag-list a") if text_of(tag)],
        ),
    )


def parse_tree(tree: lxml.html.HtmlElement, url: str) -> ParsedPage:
    page = _blog_post(tree, url) or _dataset(tree, url)
    if page is not None and page.record is not None and page.record.title:
        return page
    entries: dict[str, ListingEntry] = {}
    for heading in select(tree, "h3.dataset-heading, h2.dataset-heading"):
        link = first(heading, "a")
        if link is None or not link.get("href"):
            continue
        href = urljoin(url, link.get("href"))
        if same_host(href, url):
            entries.setdefault(
                href, ListingEntry(url=href, title=text_of(link), date_raw=text_of(first(heading, "small")) or None)
            )
    pagination = [urljoin(url, a.get("href")) for a in select(tree, ".pagination a") if a.get("href", "#") != "#"]
    return listing_result(list(entries.values()), list(dict.fromkeys(pagination)), page_links(tree, url))
