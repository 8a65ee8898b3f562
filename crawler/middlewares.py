"""Downloader middleware: honour Retry-After on 429/503 (Scrapy's RetryMiddleware ignores it)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response


def retry_after_seconds(value: bytes | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class RetryAfterMiddleware:
    """Wait as long as the server asks (up to RETRY_AFTER_MAX_SECONDS) before retrying 429/503."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
        self.cap = crawler.settings.getfloat("RETRY_AFTER_MAX_SECONDS", 300)
        self.max_times = crawler.settings.getint("RETRY_TIMES", 3)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status not in (429, 503):
            return response
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        tries = request.meta.get("retry_after_times", 0)
        if wait is None or wait > self.cap or tries >= self.max_times:
            if wait is not None and wait > self.cap:
                self.stats.inc_value("retry_after/too_long")
            return response
        self.stats.inc_value("retry_after/waited")
        await asyncio.sleep(wait)
        retry = request.replace(dont_filter=True)
        retry.meta["retry_after_times"] = tries + 1
        return retry
