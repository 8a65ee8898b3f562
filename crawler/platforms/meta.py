"""Date, view-count and modification metadata any platform's page may carry, found the same way."""

from __future__ import annotations

import json
import re

import lxml.html

from crawler.dates import parse_vietnamese_date
from crawler.platforms.base import meta_content
from crawler.text import collapse, normalize_text

_DATE_HINT = re.compile(r"date|time|ngay|publish|posted|post-on|block_timer|thoigian|ngaydang|meta", re.I)
_NOT_ARTICLE_DATE = re.compile(r"today|date-?now|current|clock|weather|lich-am|calendar", re.I)
_META_SEPARATOR = re.compile(r"(\s*\|\s*|\s+[-–]\s+)")
_COUNTER_PART = re.compile(r"lượt\s*xem|view|thích|like|bình\s*luận|comment|chia\s*sẻ|^\s*[\d.,]+\s*$", re.I)
_VIEWS_HINT = re.compile(r"view-?count|news-view|luot-?xem|luotxem|hits|post-views", re.I)


def find_date_text(
    tree: lxml.html.HtmlElement, title_el: lxml.html.HtmlElement | None = None
) -> tuple[str | None, str | None]:
    """(date text as shown, machine-readable date) of the article, looked for after the title."""
    machine = meta_content(tree, "article:published_time", "datePublished", "pubdate", "date")
    if machine is None:
        machine = _json_ld_date(tree)
    times = tree.xpath("//time[@datetime]")
    if machine is None and times:
        machine = times[0].get("datetime")
    order = {el: i for i, el in enumerate(tree.iter())}
    start = order.get(title_el, 0) if title_el is not None else 0
    hinted = [
        el
        for el in tree.xpath("//*[@class or @id]")
        if _DATE_HINT.search(f"{el.get('class', '')} {el.get('id', '')}")
        and not _NOT_ARTICLE_DATE.search(f"{el.get('class', '')} {el.get('id', '')}")
        and order.get(el, 0) >= start
    ]
    for el in hinted:
        text = collapse(el.text_content())
        if len(text) <= 160 and parse_vietnamese_date(text) is not None:
            inner = [collapse(c.text_content()) for c in el.iterdescendants() if c in hinted]
            dated = [t for t in inner if parse_vietnamese_date(t) is not None]
            return _date_segment(min([text, *dated], key=len)), machine
    if title_el is not None:
        # No date-like class: the first short dated block in the few elements after the title.
        parent = title_el.getparent()
        nearby = list(title_el.itersiblings())[:8] + (list(parent.itersiblings())[:5] if parent is not None else [])
        for el in nearby:
            for node in el.iter():
                text = collapse(node.text_content()) if isinstance(node.tag, str) else ""
                if text and len(text) <= 160 and parse_vietnamese_date(text) is not None:
                    return _date_segment(text), machine
    return None, machine


def _date_segment(text: str) -> str:
    """The date part of a meta line: "16/07/2018 - 10:25 | 162 lượt xem" → "16/07/2018 - 10:25"."""
    pieces = _META_SEPARATOR.split(text)
    kept = [pieces[0]] if not _COUNTER_PART.search(pieces[0]) else []
    for separator, piece in zip(pieces[1::2], pieces[2::2], strict=True):
        if not _COUNTER_PART.search(piece):
            kept.extend([separator, piece] if kept else [piece])
    return normalize_text("".join(kept) if kept else text)


def find_view_count(tree: lxml.html.HtmlElement) -> int | None:
    """The view counter a page shows near the article ("162", "Lượt xem: 1.501")."""
    for el in tree.xpath("//*[@class or @id]"):
        if _VIEWS_HINT.search(f"{el.get('class', '')} {el.get('id', '')}"):
            digits = re.sub(r"\D", "", collapse(el.text_content()))
            if digits and len(digits) < 10:
                return int(digits)
    return None


def updated_at_of(tree: lxml.html.HtmlElement) -> str | None:
    """The page's machine-readable modification time, in +07:00."""
    raw = meta_content(tree, "article:modified_time", "dateModified", "og:updated_time")
    parsed = parse_vietnamese_date(raw)
    return parsed.iso if parsed else None


def _json_ld_date(tree: lxml.html.HtmlElement) -> str | None:
    for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            data = json.loads(script)
        except ValueError:
            continue
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict) and isinstance(item.get("datePublished"), str):
                return item["datePublished"]
    return None
