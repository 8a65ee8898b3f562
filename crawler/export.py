"""The run folder: records.jsonl, rejects.jsonl and manifest.json, written as the crawl goes.

Each line is written whole and flushed, so a killed crawl leaves complete lines only.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Self

from itemadapter import ItemAdapter
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro

from crawler.dates import ICT

# Sent by the spider for every page that yields no record: url, kind, reason.
page_rejected = object()


def _schedule_coro(coro: Any) -> None:
    """Run a Scrapy coroutine from a synchronous signal handler."""
    deferred_from_coro(coro)


def new_run_id() -> str:
    return datetime.now(ICT).strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"


def default_run_dir(root: str | Path = "output") -> Path:
    return Path(root) / "runs" / new_run_id()


def _now() -> str:
    return datetime.now(ICT).isoformat(timespec="seconds")


def write_json_line(handle: IO[str], data: dict[str, Any]) -> None:
    handle.write(json.dumps(data, ensure_ascii=False, sort_keys=False) + "\n")
    handle.flush()


class RunWriter:
    """Write the run's records, rejects and manifest; stop the crawl once max_items are written."""

    def __init__(self, crawler: Crawler, run_dir: Path) -> None:
        self.crawler = crawler
        self.run_dir = run_dir
        self.started_at = _now()
        self.records_written = 0
        self.rejects: Counter[str] = Counter()
        self.portals: set[str] = set()
        self.max_items: int | None = None
        self._records: IO[str] | None = None
        self._rejects: IO[str] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        run_dir = crawler.settings.get("RUN_DIR") or default_run_dir(crawler.settings.get("OUTPUT_ROOT", "output"))
        writer = cls(crawler, Path(run_dir))
        crawler.signals.connect(writer.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(writer.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(writer.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(writer.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(writer.page_rejected, signal=page_rejected)
        return writer

    def spider_opened(self, spider: Spider) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._records = (self.run_dir / "records.jsonl").open("a", encoding="utf-8")
        self._rejects = (self.run_dir / "rejects.jsonl").open("a", encoding="utf-8")
        self.max_items = getattr(spider, "max_items", None)
        self.spider = spider

    def item_scraped(self, item: Any, response: Any, spider: Spider) -> None:
        assert self._records is not None
        if self.max_items is not None and self.records_written >= self.max_items:
            self.crawler.stats.inc_value("export/over_max_items")
            return
        data = ItemAdapter(item).asdict()
        write_json_line(self._records, data)
        self.records_written += 1
        self.portals.add(data.get("portal", ""))
        if self.max_items is not None and self.records_written >= self.max_items:
            _schedule_coro(self.crawler.engine.close_spider_async(reason="max_items"))

    def item_dropped(self, item: Any, response: Any, exception: DropItem, spider: Spider) -> None:
        reason = type(exception).__name__
        self._reject(ItemAdapter(item).get("url", ""), "record", reason, str(exception))

    def page_rejected(self, url: str, kind: str, reason: str) -> None:
        self._reject(url, "page", kind, reason)

    def _reject(self, url: str, stage: str, kind: str, detail: str) -> None:
        assert self._rejects is not None
        self.rejects[kind] += 1
        write_json_line(self._rejects, {"url": url, "stage": stage, "reason": kind, "detail": detail, "at": _now()})

    def spider_closed(self, spider: Spider, reason: str) -> None:
        for handle in (self._records, self._rejects):
            if handle is not None:
                handle.close()
        stats = self.crawler.stats.get_stats()
        manifest = {
            "run_id": self.run_dir.name,
            "started_at": self.started_at,
            "finished_at": _now(),
            "finish_reason": reason,
            "portals": sorted(self.portals) or [getattr(spider, "portal_name", "")],
            "start_urls": list(getattr(spider, "start_urls", [])),
            "arguments": {
                "since": spider.since.isoformat() if getattr(spider, "since", None) else None,
                "max_items": getattr(spider, "max_items", None),
            },
            "pages_fetched": stats.get("downloader/response_count", 0),
            "pages_by_kind": _prefixed(stats, "pages/"),
            "records_written": self.records_written,
            "rejects_by_reason": dict(sorted(self.rejects.items())),
            "duplicates_skipped": {
                "article_urls_not_fetched": stats.get("dedupe/article_urls_skipped", 0),
                "records_same_canonical_url": stats.get("dedupe/same_canonical_url", 0),
                "records_same_content": stats.get("dedupe/same_content", 0),
                "alternative_urls_tried": stats.get("dedupe/alternative_url_tried", 0),
            },
            "discovery": _prefixed(stats, "discovery/"),
            "files": _prefixed(stats, "files/"),
            "errors_by_kind": _prefixed(stats, "errors/"),
            "links_not_followed": {
                **_prefixed(stats, "schedule/"),
                **{f"guard_{k}": v for k, v in _prefixed(stats, "guard/").items()},
                **{f"since_{k}": v for k, v in _prefixed(stats, "since/").items()},
            },
            "http_status_counts": _prefixed(stats, "downloader/response_status_count/"),
            "cleaning": {
                key: value
                for key, value in sorted(stats.items())
                if key.split("/")[0] in {"boilerplate", "captions", "byline", "source", "dates", "normalize", "decode"}
            },
            "outputs": {"records": "records.jsonl", "rejects": "rejects.jsonl"},
        }
        path = self.run_dir / "manifest.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)


def _prefixed(stats: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix) :]: v for k, v in sorted(stats.items()) if k.startswith(prefix)}
