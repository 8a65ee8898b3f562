"""The run folder: records.jsonl, rejects.jsonl, manifest.json and crawl.log, written as the crawl goes.

records.jsonl is a view of the state: the line of each record the state accepted (StoreRecord
commits it first), in order. Each line is written whole and flushed, so a killed crawl leaves
complete lines only, and the next crawl opening the state appends any line the process did not
live to write. The writer decides nothing about the state: it writes what it is told and reports.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Self

from itemadapter import ItemAdapter
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.dates import ICT
from crawler.items import record_context, record_line
from crawler.metrics import RunMetrics, articles_seen, history_metrics
from crawler.runs import frontier_scope, page_rejected, run_dir_for, run_id_for
from crawler.state import StateError, cut_partial_line, read_records, release_state, state_for


def _now() -> str:
    return datetime.now(ICT).isoformat(timespec="seconds")


class CaughtErrors(logging.Handler):
    """Exceptions Scrapy caught and logged during the run, so that they reach the manifest's
    `errors` and the exit status, not only crawl.log: `state`, the state file failing (SQLite,
    StateError) anywhere; `exception`, a bug in a signal handler or an item pipeline. Download
    failures are the site's doing (rejects and `errors_by_kind`); exceptions in callbacks are
    Scrapy's `spider_exceptions/*` stats."""

    LIMIT = 20  # distinct errors kept; the rest are counted under the last one's kind

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.found: dict[tuple[str, str], int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if not record.exc_info or record.exc_info[1] is None:
            return
        error = record.exc_info[1]
        # A signal handler, an item pipeline, or a task nobody awaited (a scheduler queue failing).
        in_our_code = record.name in ("scrapy.utils.signal", "asyncio") or hasattr(record, "item")
        if isinstance(error, sqlite3.Error | StateError) or in_our_code:
            self.add(error)

    def add(self, error: BaseException) -> None:
        kind = "state" if isinstance(error, sqlite3.Error | StateError) else "exception"
        text = f"{type(error).__name__}: {error}".splitlines()[0][:300]
        key = (kind, text) if len(self.found) < self.LIMIT else (kind, "more errors; see crawl.log")
        self.found[key] = self.found.get(key, 0) + 1

    def as_list(self) -> list[dict[str, Any]]:
        return [{"kind": kind, "error": text, "count": count} for (kind, text), count in self.found.items()]


class ThisCrawler(logging.Filter):
    """In a run of many portals (one process, a crawler each), a log line naming another crawler's
    spider is not this portal's: it stays out of its crawl.log and its errors."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__()
        self.crawler = crawler

    def filter(self, record: logging.LogRecord) -> bool:
        spider = getattr(record, "spider", None)
        return spider is None or getattr(spider, "crawler", None) is self.crawler


class PortalPrefix(logging.Filter):
    """The process's log of a run of many portals: a line of a portal's spider starts with its slug
    (`[da-nang] Gave up retrying …`), so one file of many portals reads."""

    def filter(self, record: logging.LogRecord) -> bool:
        spider = getattr(record, "spider", None)
        portal = getattr(spider, "state_portal", None)
        if portal and isinstance(record.msg, str) and not getattr(record, "portal_prefixed", False):
            record.msg = f"[{portal}] {record.msg}"
            record.portal_prefixed = True
        return True


def _prefix_portals_in_process_log() -> None:
    from scrapy.utils.log import get_scrapy_root_handler

    handler = get_scrapy_root_handler()
    if handler is not None and not any(isinstance(each, PortalPrefix) for each in handler.filters):
        handler.addFilter(PortalPrefix())


class OnlyThisCrawler(ThisCrawler):
    """The portal's own crawl.log in a run of many: lines of its spider only (the process's log,
    in the run's folder, has every line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(getattr(record, "spider", None), "crawler", None) is self.crawler


def write_json_line(handle: IO[str], data: dict[str, Any]) -> None:
    handle.write(json.dumps(data, ensure_ascii=False) + "\n")
    handle.flush()


class RunWriter:
    """Write the run's records, rejects, manifest and log into its run folder."""

    def __init__(self, crawler: Crawler, run_dir: Path) -> None:
        self.crawler = crawler
        self.state = state_for(crawler)
        self.run_dir = run_dir
        self.started_at = _now()
        self.records_written = 0
        self.rejects: Counter[str] = Counter()
        self.portals: set[str] = set()
        self._records: IO[str] | None = None
        self._rejects: IO[str] | None = None
        self.metrics = RunMetrics()
        self._started = time.monotonic()
        self.errors = CaughtErrors()
        if crawler.settings.get("RUN_GROUP"):
            self.errors.addFilter(ThisCrawler(crawler))
        logging.getLogger().addHandler(self.errors)
        self.log = _run_log(crawler, run_dir)
        self._forget_killed_job_queue()

    def _forget_killed_job_queue(self) -> None:
        """A job (JOBDIR) killed rather than paused: Scrapy's on-disk queue was cut mid-write (every
        push would fail on it) and its schedule in the state is stale. Both go before the scheduler
        opens them; every link is decided again, and the state still holds what was recorded, so
        the resumed run catches up on the rest."""
        job_dir = self.crawler.settings.get("JOBDIR")
        if not job_dir or self.state.finish_reason(run_id_for(self.crawler)) != "killed":
            return
        shutil.rmtree(Path(job_dir) / "requests.queue", ignore_errors=True)
        (Path(job_dir) / "requests.seen").unlink(missing_ok=True)
        self.state.drop_scope(frontier_scope(self.crawler))
        self.crawler.stats.set_value("state/job_resumed_after_kill", 1)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        writer = cls(crawler, run_dir_for(crawler))
        crawler.signals.connect(writer.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(writer.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(writer.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(writer.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(writer.page_rejected, signal=page_rejected)
        crawler.signals.connect(writer.engine_stopped, signal=signals.engine_stopped)
        crawler.signals.connect(writer.response_received, signal=signals.response_received)
        return writer

    def response_received(self, response: Any, request: Any, spider: Spider) -> None:
        self.metrics.add_latency(request.meta.get("download_latency"))

    def _export_run(self) -> list[dict[str, Any]]:
        """The run's records also to each EXPORTS destination (`--export`, `-a export=`), read from
        the state like `crawler export DEST --run RUN_ID`; a destination that fails is reported in
        the manifest (and the exit status) and does not stop the others."""
        from crawler.sinks import Selection, SinkError, export_state, shown_destination

        settings = self.crawler.settings
        done: list[dict[str, Any]] = []
        if self.state.failure is not None:
            return done
        for dest in settings.getlist("EXPORTS"):
            shown = shown_destination(dest)
            try:
                count = export_state(
                    self.state,
                    dest,
                    Selection(self.state.state_id, run_id=self.run_id),
                    csv_bom=settings.getbool("EXPORT_CSV_BOM"),
                )
                done.append({"dest": shown, "records": count})
            except (SinkError, OSError) as error:
                # The terminal of `scrapy crawl` and Scrapyd's log see it too, not only the manifest.
                logging.getLogger(__name__).error("export to %s failed: %s", shown, error)
                done.append({"dest": shown, "error": str(error)})
            except Exception as error:  # a bug of ours: its traceback to crawl.log, the run goes on closing
                logging.getLogger(__name__).exception("export to %s failed", shown)
                done.append({"dest": shown, "error": f"{type(error).__name__}: {error}"})
        return done

    def _checks(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """The run judged against the portal's earlier runs in the state (crawler.checks); `crawler
        check RUN` judges it again later, with the thresholds of the day."""
        from crawler.checks import Thresholds, check_portal_run, checks_block
        from crawler.middlewares import SettingsError

        try:
            thresholds = Thresholds.from_settings(self.crawler.settings)
        except SettingsError as error:  # refused before the crawl by `crawler crawl` and the spider
            return {"status": "fail", "results": [], "error": str(error)}
        try:
            history = self.state.portal_history(self.portal, before=self.run_id, limit=thresholds.history_limit)
            newest = self.state.newest_record_at(self.portal)
        except (sqlite3.Error, StateError) as error:
            self.errors.add(error)
            return {"status": "fail", "results": [], "error": f"the state could not be read ({error})"}
        now = datetime.now(ICT)
        return checks_block(check_portal_run(manifest, history, thresholds, newest_record_at=newest, now=now))

    def engine_stopped(self) -> None:
        """The run's own log ends with Scrapy's last lines (spider closed, the stats dump)."""
        if self.log is not None:
            logging.getLogger().removeHandler(self.log)
            self.log.close()
            self.log = None

    def spider_opened(self, spider: Spider) -> None:
        if self.crawler.settings.get("RUN_GROUP"):
            # Each crawler made in the process installs Scrapy's log handler anew: on the one now in place.
            _prefix_portals_in_process_log()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        records_path, rejects_path = self.run_dir / "records.jsonl", self.run_dir / "rejects.jsonl"
        # A resumed job (JOBDIR) continues its run folder: whole lines are kept, counts carry on.
        # Any other run counts only what it writes (`crawler crawl` refuses a folder of another run).
        for path in (records_path, rejects_path):
            cut_partial_line(path)
        if self.crawler.settings.get("JOBDIR"):
            self.records_written = sum(1 for _ in read_records(records_path))
            self.rejects.update(row.get("reason", "") for row in read_records(rejects_path))
        self._records = records_path.open("a", encoding="utf-8")
        self._rejects = rejects_path.open("a", encoding="utf-8")
        self.spider = spider
        self.portal = getattr(spider, "state_portal", "") or getattr(spider, "portal_name", "")
        settings = self.crawler.settings
        bounded = bool(settings.get("CRAWL_SINCE") or settings.getint("MAX_ITEMS"))
        self.run_id = run_id_for(self.crawler)
        self.state.start_run(
            self.run_id,
            self.portal,
            self.run_dir,
            full=settings.getbool("FULL_CRAWL"),
            bounded=bounded,
            group=settings.get("RUN_GROUP") or None,
        )

    def item_scraped(self, item: Any, response: Any, spider: Spider) -> None:
        """A record the state accepted (StoreRecord is the last pipeline): its line, as stored."""
        assert self._records is not None
        line = record_context(item).line or record_line(ItemAdapter(item).asdict())
        self._records.write(line + "\n")
        self._records.flush()
        self.records_written += 1
        adapter = ItemAdapter(item)
        self.portals.add(adapter.get("portal", ""))
        self.metrics.add_record(adapter)

    def item_dropped(self, item: Any, response: Any, exception: DropItem, spider: Spider) -> None:
        self._reject(ItemAdapter(item).get("url", ""), "record", type(exception).__name__, str(exception))

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
        start_urls = list(getattr(spider, "start_urls", []))
        failed_starts = {failure["url"] for failure in getattr(spider, "start_failures", [])}
        if reason == "finished" and start_urls and failed_starts.issuperset(start_urls):
            # Nothing was crawled: not a finished walk of the portal (the next run must not take it
            # for one and stop paging at known articles).
            reason = "start_failed"
        manifest = {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": _now(),
            "finish_reason": reason,
            "state_error": stats.get("state/error"),
            "portals": sorted(self.portals) or [getattr(spider, "portal_name", "")],
            "start_urls": start_urls,
            "start_failures": list(getattr(spider, "start_failures", [])),
            "arguments": {
                "since": self.crawler.settings.get("CRAWL_SINCE") or None,
                "max_items": self.crawler.settings.getint("MAX_ITEMS") or None,
                "full": self.crawler.settings.getbool("FULL_CRAWL"),
                "drop_duplicates": self.crawler.settings.getbool("DROP_DUPLICATES"),
                "download_attachments": self.crawler.settings.getbool("DOWNLOAD_ATTACHMENTS"),
            },
            "pages_fetched": stats.get("downloader/response_count", 0),
            "pages_by_kind": _prefixed(stats, "pages/"),
            "records_written": self.records_written,
            "rejects_by_reason": dict(sorted(self.rejects.items())),
            "records": {
                "new": stats.get("export/new", 0),
                "updated": stats.get("export/updated", 0),
                "unchanged_rewritten": stats.get("export/unchanged_rewritten", 0),
                "unchanged_not_written": stats.get("state/unchanged", 0),
                "exact_duplicates": stats.get("dedupe/exact", 0),
                "near_duplicates": stats.get("dedupe/near", 0),
                "duplicates_dropped": stats.get("dedupe/dropped_exact", 0) + stats.get("dedupe/dropped_near", 0),
                "over_max_items_not_written": stats.get("export/over_max_items", 0),
            },
            "incremental": {
                "mode": getattr(spider, "crawl_mode", "full"),
                "pages_skipped_as_seen": stats.get("incremental/skipped_seen", 0),
                "pages_rechecked": stats.get("incremental/rechecked", 0),
                "not_modified": stats.get("incremental/not_modified", 0),
                "pagination_stopped_at_known": stats.get("incremental/pagination_stopped", 0),
                "dead_pages_not_fetched": stats.get("schedule/dead_backoff", 0),
                "dead_pages_remembered": stats.get("frontier/dead_remembered", 0),
            },
            "duplicates_skipped": {
                "article_urls_not_fetched": stats.get("dedupe/article_urls_skipped", 0),
                "records_same_canonical_url": stats.get("dedupe/same_canonical_url", 0),
                "alternative_urls_tried": stats.get("dedupe/alternative_url_tried", 0),
            },
            "state": str(self.state.path),
            "discovery": _prefixed(stats, "discovery/"),
            "files": _prefixed(stats, "files/"),
            "errors_by_kind": _prefixed(stats, "errors/"),
            "spider_exceptions": _prefixed(stats, "spider_exceptions/"),
            "links_not_followed": {
                **_prefixed(stats, "schedule/"),
                **{f"guard_{k}": v for k, v in _prefixed(stats, "guard/").items()},
                **{f"since_{k}": v for k, v in _prefixed(stats, "since/").items()},
            },
            "http_status_counts": _prefixed(stats, "downloader/response_status_count/"),
            "extraction": {
                "records_by_parser": _prefixed(stats, "extract/parser/"),
                "fallbacks": _prefixed(stats, "extract/fallback/"),
                "markup_repairs": _prefixed(stats, "extract/repair/"),
            },
            "cleaning": {key: value for key, value in sorted(stats.items()) if key.split("/")[0] in _CLEANING_STATS},
            "outputs": {"records": "records.jsonl", "rejects": "rejects.jsonl"},
        }
        entry = getattr(spider, "entry", None)
        manifest.update(
            portal=self.portal,
            platform=entry.platform if entry is not None else None,
            portal_status=entry.status if entry is not None else None,
            elapsed_seconds=round(time.monotonic() - self._started, 1),
            fetch=self.metrics.fetch_block(manifest["pages_fetched"], manifest["errors_by_kind"]),
            fill=self.metrics.fill_block(),
            records_by_day=dict(sorted(self.metrics.by_day.items(), reverse=True)),
        )
        manifest["articles_seen"] = articles_seen(manifest)
        manifest["checks"] = self._checks(manifest)
        counts = {
            "records_written": self.records_written,
            **manifest["records"],
            **manifest["incremental"],
            "metrics": history_metrics(manifest),
        }
        try:
            manifest["exports"] = self._export_run()
            self.state.finish_run(self.run_id, reason, counts, walked=not self.errors.found)
            if not self.crawler.settings.get("JOBDIR") or reason == "finished":
                self.state.drop_scope(frontier_scope(self.crawler))
            release_state(self.crawler)
        except (sqlite3.Error, StateError):
            # Logged to crawl.log, and through self.errors to the manifest and the exit status.
            logging.getLogger(__name__).error("the state could not record the end of the run", exc_info=True)
        finally:
            logging.getLogger().removeHandler(self.errors)
        manifest["errors"] = self.errors.as_list()
        path = self.run_dir / "manifest.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)


def _run_log(crawler: Crawler, run_dir: Path) -> logging.Handler | None:
    """The run folder's crawl.log, whatever else the log goes to (`scrapy crawl` logs to the
    terminal; `crawler crawl` sets LOG_FILE to this very file, which then needs no second handler)."""
    path = run_dir / "crawl.log"
    log_file = crawler.settings.get("LOG_FILE")
    if log_file and Path(log_file).resolve() == path.resolve():
        return None
    from scrapy.utils.log import get_scrapy_root_handler

    run_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    root = get_scrapy_root_handler()
    if root is not None and root.formatter is not None:
        handler.setFormatter(root.formatter)
    else:
        handler.setFormatter(
            logging.Formatter(crawler.settings.get("LOG_FORMAT"), crawler.settings.get("LOG_DATEFORMAT"))
        )
    handler.setLevel(crawler.settings.get("LOG_LEVEL", "INFO"))
    if crawler.settings.get("RUN_GROUP"):
        handler.addFilter(OnlyThisCrawler(crawler))
    logging.getLogger().addHandler(handler)
    return handler


# Stat namespaces of the cleaning and identity steps, shown in the manifest's `cleaning` block.
_CLEANING_STATS = frozenset({"boilerplate", "captions", "byline", "source", "dates", "normalize", "decode", "ids"})


def _prefixed(stats: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix) :]: v for k, v in sorted(stats.items()) if k.startswith(prefix)}
