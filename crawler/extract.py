"""One page to one cleaned record, exactly as a crawl makes it, with no network and no Scrapy engine:
used by `crawler extract`, fixture recording, tests and benchmarks."""

from __future__ import annotations

import dataclasses
from typing import Any

from crawler.cleaning import clean_record
from crawler.platforms import parse_page


def extract_record(html: str, url: str, platform: str | None = None) -> dict[str, Any] | None:
    """Parse and clean one page exactly as a crawl would; None when the page holds no article."""
    return extract_with_reason(html, url, platform)[0]


def extract_with_reason(html: str, url: str, platform: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """(the cleaned record or None, why there is none)."""
    page = parse_page(html, url, platform)
    if page.record is None:
        return None, page.reason
    return dataclasses.asdict(clean_record(page.record)), None
