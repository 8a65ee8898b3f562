"""How Scrapy's own log lines about items read (LOG_FORMATTER in crawler.settings).

Scrapy logs every dropped item at WARNING with the whole record, so a re-run that skips thousands of
unchanged articles buries the few warnings that matter under megabytes of text. Here a drop is one
line naming the page and the reason, at the level the drop asks for: most drops are the crawl
working as intended, and the record itself is in rejects.jsonl or the state already."""

from __future__ import annotations

import logging
from typing import Any, Self

from itemadapter import ItemAdapter
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.logformatter import LogFormatter, LogFormatterResult
from twisted.python.failure import Failure

from crawler.middlewares import SettingsError


def level_number(level: Any) -> int | None:
    """A log level given as a name ("DEBUG") or a number, as a number; None when it is neither."""
    if isinstance(level, str):
        return logging.getLevelNamesMapping().get(level.upper())
    if isinstance(level, int) and not isinstance(level, bool):
        return level
    return None


def drop_level(exception: BaseException, default: int = logging.INFO) -> int:
    """The level a drop is logged at: its `log_level` when it has one, else `default`.

    DropItem.__init__ sets `log_level` on the instance (None unless given), which hides a class-level
    `log_level`: both are read, the instance's first."""
    for owner in (exception, type(exception)):
        level = level_number(getattr(owner, "log_level", None))
        if level is not None:
            return level
    return default


def item_url(item: Any) -> str:
    """The page an item came from, for a log line (the item's `url`, or its type when it has none)."""
    try:
        url = ItemAdapter(item).get("url")
    except TypeError:  # not an item ItemAdapter knows
        url = None
    return str(url) if url else f"<{type(item).__name__} without url>"


class PortalLogFormatter(LogFormatter):
    """Item drops, scraped items and item errors as one line naming the page, never the whole record.

    A drop that names no level is logged at DEFAULT_DROPITEM_LOG_LEVEL (INFO in crawler.settings: a
    drop without a level is expected, filtered or over a limit, rather than a problem)."""

    def __init__(self, default_drop_level: int = logging.INFO) -> None:
        self.default_drop_level = default_drop_level

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        configured = crawler.settings.get("DEFAULT_DROPITEM_LOG_LEVEL", "INFO")
        level = level_number(configured)
        if level is None:
            raise SettingsError(
                f"DEFAULT_DROPITEM_LOG_LEVEL takes DEBUG, INFO, WARNING, ERROR or CRITICAL, not {configured!r}"
            )
        return cls(level)

    def dropped(
        self, item: Any, exception: BaseException, response: Response | Failure | None, spider: Spider
    ) -> LogFormatterResult:
        return {
            "level": drop_level(exception, self.default_drop_level),
            "msg": "Dropped %(url)s: %(reason)s",
            "args": {"url": item_url(item), "reason": str(exception) or type(exception).__name__},
        }

    def scraped(self, item: Any, response: Response | Failure | None, spider: Spider) -> LogFormatterResult:
        """At DEBUG, Scrapy would copy every record into the log: the record is in records.jsonl."""
        base = super().scraped(item, response, spider)
        source = base["args"]["src"] if isinstance(base["args"], dict) else response
        return {
            "level": base["level"],
            "msg": "Scraped %(url)s from %(src)s",
            "args": {"url": item_url(item), "src": source},
        }

    def item_error(
        self, item: Any, exception: BaseException, response: Response | Failure | None, spider: Spider
    ) -> LogFormatterResult:
        """A pipeline raised: the traceback follows (Scrapy logs it with exc_info), the record does not."""
        return {"level": logging.ERROR, "msg": "Error processing %(url)s", "args": {"url": item_url(item)}}
