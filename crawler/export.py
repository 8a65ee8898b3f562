"""The run folder: records.jsonl, rejects.jsonl and manifest.json, written as the crawl goes.

Each line is written whole and flushed, so a killed crawl leaves complete lines only.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
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
from crawler.state import StateError, cut_partial_line, read_records, state_for

# Sent by the spider for every page that yields no record: url, kind, reason.
page_rejected = object()


def _schedule_coro(coro: Any) -> None:
    """Run a Scrapy coroutine from a synchronous signal handler."""
    deferred_from_coro(coro)


def new_run_id() -> str:
    return datetime.now(ICT).strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"


def default_run_dir(root: str | Path = "output") -> Path:
    return Path(root) / "runs" / new_run_id()


RUN_FILES = ("manifest.json", "records.jsonl", "rejects.jsonl")


class RunFolderError(ValueError):
    """A run folder or job folder that belongs to another run; the message says what to give instead."""


def check_new_run_dir(run_dir: Path) -> None:
    """Refuse a folder that already holds another run's files: a new run there would count the old
    lines against --max-items and report records it did not write. Refused rather than emptied:
    the old run's records are nobody's to delete but the user's."""
    found = [name for name in RUN_FILES if (run_dir / name).exists()]
    if found:
        raise RunFolderError(
            f"{run_dir} already holds a run ({', '.join(found)}); give a new --out folder, or remove that one"
        )


def job_run_dir(
    job_dir: Path, out: Path | None, root: str | Path = "output", target: str | None = None
) -> tuple[Path, bool]:
    """A job (JOBDIR) keeps one run folder across pauses: the first start picks it (`out`, or a new
    one under `root`) and notes the crawl's `target`, resumes reuse it. Returns (folder, whether this
    is a resume). A job folder is one crawl: another target, another --out, or a job that already
    finished is refused (RunFolderError)."""
    marker = job_dir / "run_dir.txt"
    target_marker = job_dir / "target.txt"
    if marker.exists():
        stored = Path(marker.read_text(encoding="utf-8").strip())
        stored_target = target_marker.read_text(encoding="utf-8").strip() if target_marker.exists() else None
        if target is not None and stored_target is not None and stored_target != target:
            raise RunFolderError(
                f"--job {job_dir} is a crawl of {stored_target}, not of {target}; give another --job folder"
            )
        if out is not None and out.resolve() != stored:
            raise RunFolderError(
                f"--job {job_dir} writes its run into {stored}; leave out --out (or give that folder) to resume it"
            )
        finished = _finish_reason(stored)
        if finished in ("finished", "max_items"):
            raise RunFolderError(f"--job {job_dir} already ended ({finished}); give a new --job folder for a new run")
        return stored, True
    run_dir = out or default_run_dir(root)
    check_new_run_dir(run_dir)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(str(run_dir.resolve()) + "\n", encoding="utf-8")
    if target is not None:
        target_marker.write_text(target + "\n", encoding="utf-8")
    return run_dir, False


def _finish_reason(run_dir: Path) -> str | None:
    """How the run in `run_dir` ended, from its manifest (None without a readable one)."""
    try:
        return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8")).get("finish_reason")
    except (OSError, ValueError, AttributeError):
        return None


def run_dir_for(crawler: Crawler) -> Path:
    """The crawl's run folder: RUN_DIR when set (by `crawler crawl`), else the job's folder under
    JOBDIR, else output/runs/<new run id>; decided once per crawler so every component agrees.
    A RUN_DIR that holds another run is refused (RunFolderError), unless this is its job resuming."""
    run_dir = getattr(crawler, "_run_dir", None)
    if run_dir is None:
        configured = crawler.settings.get("RUN_DIR")
        job_dir = crawler.settings.get("JOBDIR")
        root = crawler.settings.get("OUTPUT_ROOT", "output")
        if configured:
            run_dir = Path(configured)
            if not job_dir:  # a job's folder is its own to continue; any other run starts a folder
                check_new_run_dir(run_dir)
        elif job_dir:
            run_dir = job_run_dir(Path(job_dir), None, root)[0]
        else:
            run_dir = default_run_dir(root)
        setattr(crawler, "_run_dir", run_dir)  # noqa: B010 — not a declared Crawler attribute
    return run_dir


def run_id_for(crawler: Crawler) -> str:
    """The run's id in the state: new for every run (two runs into one --out folder are two runs),
    kept across pause and resume of a job (JOBDIR)."""
    run_id = getattr(crawler, "_run_id", None)
    if run_id is None:
        job_dir = crawler.settings.get("JOBDIR")
        marker = Path(job_dir) / "run_id.txt" if job_dir else None
        if marker is not None and marker.exists():
            run_id = marker.read_text(encoding="utf-8").strip()
        else:
            run_id = new_run_id() if crawler.settings.get("RUN_DIR") else run_dir_for(crawler).name
            if marker is not None:
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.write_text(run_id + "\n", encoding="utf-8")
        setattr(crawler, "_run_id", run_id)  # noqa: B010 — not a declared Crawler attribute
    return run_id


def frontier_scope(crawler: Crawler) -> str:
    """Whose schedule the state's frontier rows belong to: the job (JOBDIR, kept across a pause) or
    this run alone."""
    job_dir = crawler.settings.get("JOBDIR")
    return f"job:{Path(job_dir).resolve()}" if job_dir else run_id_for(crawler)


def response_validators(response: Any) -> dict[str, str]:
    """ETag and Last-Modified of a response, for the next run's conditional GET."""
    if response is None:
        return {}
    found = {}
    for header, name in ((b"ETag", "etag"), (b"Last-Modified", "last_modified")):
        value = response.headers.get(header)
        if value:
            found[name] = value.decode("latin-1")
    return found


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
        in_our_code = record.name == "scrapy.utils.signal" or hasattr(record, "item")  # signal handler, pipeline
        if isinstance(error, sqlite3.Error | StateError) or in_our_code:
            self.add(error)

    def add(self, error: BaseException) -> None:
        kind = "state" if isinstance(error, sqlite3.Error | StateError) else "exception"
        text = f"{type(error).__name__}: {error}".splitlines()[0][:300]
        key = (kind, text) if len(self.found) < self.LIMIT else (kind, "more errors; see crawl.log")
        self.found[key] = self.found.get(key, 0) + 1

    def as_list(self) -> list[dict[str, Any]]:
        return [{"kind": kind, "error": text, "count": count} for (kind, text), count in self.found.items()]


def write_json_line(handle: IO[str], data: dict[str, Any]) -> None:
    handle.write(json.dumps(data, ensure_ascii=False, sort_keys=False) + "\n")
    handle.flush()


class RunWriter:
    """Write the run's records, rejects and manifest; stop the crawl once max_items are written."""

    def __init__(self, crawler: Crawler, run_dir: Path) -> None:
        self.crawler = crawler
        self.state = state_for(crawler)
        self.run_dir = run_dir
        self.started_at = _now()
        self.records_written = 0
        self.rejects: Counter[str] = Counter()
        self.portals: set[str] = set()
        self.max_items: int | None = None
        self._records: IO[str] | None = None
        self._rejects: IO[str] | None = None
        self.errors = CaughtErrors()
        logging.getLogger().addHandler(self.errors)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        writer = cls(crawler, run_dir_for(crawler))
        crawler.signals.connect(writer.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(writer.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(writer.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(writer.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(writer.page_rejected, signal=page_rejected)
        return writer

    def spider_opened(self, spider: Spider) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        records_path, rejects_path = self.run_dir / "records.jsonl", self.run_dir / "rejects.jsonl"
        # A resumed job (JOBDIR) continues its run folder: whole lines are kept, counts carry on.
        # Any other run counts only what it writes (`crawler crawl` refuses a folder of another run).
        for path in (records_path, rejects_path):
            cut_partial_line(path)
        if self.crawler.settings.get("JOBDIR"):
            self.records_written = sum(1 for _ in read_records(records_path))
            self.rejects.update(row.get("reason", "") for row in read_records(rejects_path))
            if self.state.finish_reason(run_id_for(self.crawler)) == "killed":
                # Killed, not paused: Scrapy's on-disk queue of the job is not to be trusted, so
                # the job's schedule is forgotten and every link decided again (the state still
                # holds what was recorded: the resumed run catches up on the rest).
                self.state.drop_scope(frontier_scope(self.crawler))
                self.crawler.stats.set_value("state/job_resumed_after_kill", 1)
        self._records = records_path.open("a", encoding="utf-8")
        self._rejects = rejects_path.open("a", encoding="utf-8")
        self.max_items = getattr(spider, "max_items", None)
        self.spider = spider
        self.portal = getattr(spider, "state_portal", "") or getattr(spider, "portal_name", "")
        bounded = bool(getattr(spider, "since", None) or self.max_items)
        self.run_id = run_id_for(self.crawler)
        self.state.start_run(
            self.run_id,
            self.portal,
            self.run_dir,
            full=self.crawler.settings.getbool("FULL_CRAWL"),
            bounded=bounded,
        )

    def item_scraped(self, item: Any, response: Any, spider: Spider) -> None:
        assert self._records is not None
        data = ItemAdapter(item).asdict()
        held = self.state.release(data["id"])
        if self.max_items is not None and self.records_written >= self.max_items:
            self.crawler.stats.inc_value("export/over_max_items")
            return
        self.crawler.stats.inc_value(f"export/{self._written_as(data)}")
        write_json_line(self._records, data)
        self.records_written += 1
        self.portals.add(data.get("portal", ""))
        # Only now, with the line on disk, does the state learn of the record (see crawler.state).
        self._register(data, response, held)
        if self.max_items is not None and self.records_written >= self.max_items:
            _schedule_coro(self.crawler.engine.close_spider_async(reason="max_items"))

    def _written_as(self, data: dict[str, Any]) -> str:
        """What a record about to be written is to the state: `new`, `updated` or
        `unchanged_rewritten` (summaries count what was written, not what the pipelines passed)."""
        known = self.state.record(data["id"])
        if known is None:  # or known under its former id: its version goes on
            return "new" if int(data.get("version") or 1) <= 1 else "updated"
        return "updated" if known.content_hash != data.get("content_hash") else "unchanged_rewritten"

    def _register(self, data: dict[str, Any], response: Any, held: Any) -> None:
        self.state.register_record(
            data,
            portal=self.portal,
            page_key=getattr(response, "meta", {}).get("key") if response is not None else None,
            run_id=self.run_id,
            headers=response_validators(response),
            fingerprint=held.fingerprint if held is not None else None,
        )

    def item_dropped(self, item: Any, response: Any, exception: DropItem, spider: Spider) -> None:
        from crawler.pipelines import DroppedDuplicate, UnchangedRecord

        data = ItemAdapter(item).asdict()
        # Only TrackRecords' own duplicate drop comes after it holds the record; another drop of
        # the same id (same URL twice) must not release the first one's hold.
        held = self.state.release(data.get("id", "")) if isinstance(exception, DroppedDuplicate) else None
        if isinstance(exception, UnchangedRecord) and response is not None and response.meta.get("key"):
            self.state.touch_page(response.meta["key"], response_validators(response))
        elif isinstance(exception, DroppedDuplicate):
            self._register(data, response, held)  # known from now on, so not fetched again
        self._reject(data.get("url", ""), "record", type(exception).__name__, str(exception))

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
                "since": spider.since.isoformat() if getattr(spider, "since", None) else None,
                "max_items": getattr(spider, "max_items", None),
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
            "cleaning": {
                key: value
                for key, value in sorted(stats.items())
                if key.split("/")[0] in _CLEANING_STATS
            },
            "outputs": {"records": "records.jsonl", "rejects": "rejects.jsonl"},
        }
        counts = {"records_written": self.records_written, **manifest["records"], **manifest["incremental"]}
        try:
            self.state.finish_run(self.run_id, reason, counts)
            if not self.crawler.settings.get("JOBDIR") or reason == "finished":
                self.state.drop_scope(frontier_scope(self.crawler))
            self.state.close()
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


# Stat namespaces of the cleaning and identity steps, shown in the manifest's `cleaning` block.
_CLEANING_STATS = frozenset({"boilerplate", "captions", "byline", "source", "dates", "normalize", "decode", "ids"})


def _prefixed(stats: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix) :]: v for k, v in sorted(stats.items()) if k.startswith(prefix)}
