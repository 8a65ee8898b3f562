"""Many portals in one process: `crawler crawl --all`, `--status active`, or several slugs.

Each portal is its own Scrapy crawler in one CrawlerProcess (Scrapy's way of running several spiders
in a process): its own downloader, so every host keeps its own delay and concurrency; its own
stats, run folder and manifest; one state file shared by all. At most PORTALS_AT_ONCE run at a
time, the next one starting as one ends. A portal that fails (its host gone, every page 5xx, a bug)
ends alone and is reported; the others go on.

    output/runs/<RUN_ID>/summary.json         every portal's outcome, the run's checks, its exit status
    output/runs/<RUN_ID>/crawl.log            the whole process's log
    output/runs/<RUN_ID>/<slug>/              the portal's manifest.json, records.jsonl, rejects.jsonl, crawl.log

Retired post-merger domains: a registry portal marked legacy (or merged into another unit) whose
host no longer resolves is remembered in the state as retired, and passed over by later runs until
RETIRED_RECHECK_DAYS have gone by; then it is tried once more.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from twisted.python.failure import Failure

from crawler.dates import ICT
from crawler.exits import (
    EXIT_ABNORMAL,
    EXIT_CHECK_FAIL,
    EXIT_CHECK_WARN,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_STATE,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
)
from crawler.registry import PortalEntry, Registry
from crawler.runs import page_rejected
from crawler.state import CrawlState, release_state, shared_state

# Start-URL failures that mean the host itself is gone (DOMAIN.md §8: "DNS failure = retired").
HOST_GONE = frozenset({"dns"})
# How a portal's part of the run ended, worst first (summary.json `outcome`).
OUTCOMES = ("failed", "interrupted", "retired", "ok")
# The run's exit status when portals end differently: the most serious wins.
_EXIT_PRIORITY = (
    EXIT_STATE,
    EXIT_INTERRUPTED,
    EXIT_ABNORMAL,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    EXIT_CHECK_FAIL,
    EXIT_CHECK_WARN,
    EXIT_OK,
)

Judge = Callable[[dict[str, Any], Path], tuple[int, str | None]]


class SelectionError(ValueError):
    """Portals asked for that the registry does not have; the message says what to give."""


def select_portals(
    registry: Registry, slugs: Iterable[str], all_portals: bool, statuses: Iterable[str]
) -> list[PortalEntry]:
    """The registry portals a run covers: the slugs named, or all (of the given statuses)."""
    slugs, statuses = list(slugs), set(statuses)
    if slugs and (all_portals or statuses):
        raise SelectionError("give portal slugs, or --all / --status, not both")
    if slugs:
        unknown = [slug for slug in slugs if registry.get(slug) is None]
        if unknown:
            raise SelectionError(f"unknown portal {', '.join(unknown)}: run `crawler portals` for the slugs")
        return [entry for slug in dict.fromkeys(slugs) if (entry := registry.get(slug)) is not None]
    chosen = [entry for entry in registry if not statuses or entry.status in statuses]
    if not chosen:
        raise SelectionError(f"no portal in the registry has status {', '.join(sorted(statuses))}")
    return chosen


def is_retirable(entry: PortalEntry) -> bool:
    """A portal whose domain the 2025 merger may have retired: its host going is no failure."""
    return entry.status == "legacy" or entry.merged_into is not None


@dataclass
class PortalRun:
    """One portal's part of the run."""

    entry: PortalEntry
    run_id: str
    folder: Path
    outcome: str = "waiting"  # then running, and one of OUTCOMES (or not_started after Ctrl-C)
    message: str | None = None
    exit_code: int = 0
    manifest: dict[str, Any] | None = None
    crawler: Crawler | None = None
    rejects: int = 0
    retired: dict[str, str] | None = None

    @property
    def slug(self) -> str:
        return self.entry.slug

    def row(self) -> dict[str, Any]:
        manifest = self.manifest or {}
        return {
            "portal": self.slug,
            "name": self.entry.name,
            "status": self.entry.status,
            "run_id": self.run_id,
            "folder": self.slug,
            "outcome": self.outcome,
            "message": self.message,
            "exit_code": self.exit_code,
            "finish_reason": manifest.get("finish_reason"),
            "records_written": manifest.get("records_written", 0),
            "pages_fetched": manifest.get("pages_fetched", 0),
            "rejects": sum(manifest.get("rejects_by_reason", {}).values()),
            "checks": (manifest.get("checks") or {}).get("status"),
            "retired": self.retired,
        }


@dataclass
class MultiRun:
    """Launch the portals' crawlers, at most `at_once` at a time, and judge each as it ends."""

    process: CrawlerProcess
    runs: list[PortalRun]
    group: str
    folder: Path
    spider_args: dict[str, Any]
    judge: Judge
    state_path: Path
    at_once: int = 8
    recheck_days: float = 30.0
    on_change: Callable[[PortalRun], None] | None = None
    started_at: str = field(default_factory=lambda: datetime.now(ICT).isoformat(timespec="seconds"))
    stopping: bool = False

    def start(self) -> None:
        """Pass over portals retired in the state (until their recheck is due), start the first ones."""
        self.state: CrawlState = shared_state(self.state_path, self)
        now = datetime.now(ICT).isoformat(timespec="seconds")
        for run in self.runs:
            retired = self.state.retired(run.slug)
            if retired is not None and retired["recheck_at"] > now:
                run.outcome, run.retired = "retired", retired
                run.message = self._retired_line(run.entry, retired)
                self._changed(run)
        for _ in range(max(1, self.at_once)):
            self._launch_next()

    def _retired_line(self, entry: PortalEntry, retired: dict[str, str]) -> str:
        merged = f"; merged into unit {entry.merged_into}" if entry.merged_into else ""
        return (
            f"retired since {retired['since'][:10]} ({retired['reason']}){merged}; "
            f"not crawled until {retired['recheck_at'][:10]}"
        )

    def _launch_next(self) -> None:
        if self.stopping:
            return
        run = next((run for run in self.runs if run.outcome == "waiting"), None)
        if run is None:
            return
        crawler = self.process.create_crawler("portal")
        for name, value in (
            ("RUN_ID", run.run_id),
            ("RUN_GROUP", self.group),
            ("PROGRESS", "off"),  # the run's board shows every portal (crawler.progress.PortalBoard)
            ("EXPORTS", []),  # exported once for the whole run, when every portal has ended
        ):
            crawler.settings.set(name, value, priority="cmdline")
        crawler.signals.connect(lambda **_: self._rejected(run), signal=page_rejected, weak=False)
        crawler.signals.connect(lambda **_: self._rejected(run), signal=signals.item_dropped, weak=False)
        run.crawler, run.outcome = crawler, "running"
        self._changed(run)
        deferred = self.process.crawl(crawler, portal=run.slug, out=str(run.folder), **self.spider_args)
        deferred.addBoth(lambda result: self._ended(run, result))

    def _rejected(self, run: PortalRun) -> None:
        run.rejects += 1

    def _ended(self, run: PortalRun, result: Any) -> None:
        try:
            self._judge(run, result)
        finally:
            self._changed(run)
            self._launch_next()

    def _judge(self, run: PortalRun, result: Any) -> None:
        manifest_path = run.folder / "manifest.json"
        if isinstance(result, Failure) and result.check(KeyboardInterrupt):  # Ctrl-C before Scrapy's handlers
            self.stopping = True
            run.outcome, run.exit_code, run.message = "interrupted", EXIT_INTERRUPTED, "interrupted while starting"
            return
        if isinstance(result, Failure) and not manifest_path.exists():
            run.outcome, run.exit_code = "failed", EXIT_USAGE
            run.message = f"could not start ({type(result.value).__name__}: {result.value})"
            return
        try:
            run.manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            run.outcome, run.exit_code = "failed", EXIT_ABNORMAL
            run.message = f"stopped before writing its manifest; see {run.folder / 'crawl.log'}"
            return
        code, message = self.judge(run.manifest, run.folder)
        run.exit_code, run.message = code, message
        if run.manifest.get("finish_reason") == "shutdown":
            self.stopping = True
            run.outcome = "interrupted"
            run.message = (
                f"interrupted (Ctrl-C or SIGTERM) after {run.manifest.get('records_written', 0)} records; "
                "the next run crawls the rest"
            )
            return
        failures = run.manifest.get("start_failures") or []
        host_gone = bool(failures) and all(failure.get("reason") in HOST_GONE for failure in failures)
        if code == EXIT_UNREACHABLE and host_gone and is_retirable(run.entry):
            self.state.retire_portal(run.slug, "host does not resolve", self.recheck_days)
            run.retired = self.state.retired(run.slug)
            run.outcome, run.exit_code = "retired", EXIT_OK
            run.message = self._retired_line(run.entry, run.retired or {})
            return
        if code != EXIT_UNREACHABLE and self.state.retired(run.slug) is not None:
            self.state.revive_portal(run.slug)  # its host answered again
        run.outcome = "ok" if code in (EXIT_OK, EXIT_CHECK_WARN, EXIT_CHECK_FAIL) else "failed"

    def _changed(self, run: PortalRun) -> None:
        if self.on_change is not None:
            self.on_change(run)

    def finish(self) -> dict[str, Any]:
        """After the process ended: portals never started are marked, the summary written."""
        for run in self.runs:
            if run.outcome in ("waiting", "running"):
                run.outcome, run.exit_code = "interrupted", EXIT_INTERRUPTED
                run.message = "not started: the run was interrupted" if run.crawler is None else "interrupted"
        release_state(self, self.state)
        return self.summary()

    def exit_code(self) -> int:
        codes = {run.exit_code for run in self.runs}
        return next((code for code in _EXIT_PRIORITY if code in codes), max(codes, default=0))

    def summary(self) -> dict[str, Any]:
        counts = {outcome: sum(1 for run in self.runs if run.outcome == outcome) for outcome in OUTCOMES}
        results = [
            result for run in self.runs for result in ((run.manifest or {}).get("checks") or {}).get("results", [])
        ]
        statuses = [((run.manifest or {}).get("checks") or {}).get("status") or "pass" for run in self.runs]
        return {
            "run_id": self.group,
            "started_at": self.started_at,
            "finished_at": datetime.now(ICT).isoformat(timespec="seconds"),
            "portals_by_outcome": counts,
            "records_written": sum((run.manifest or {}).get("records_written", 0) for run in self.runs),
            "pages_fetched": sum((run.manifest or {}).get("pages_fetched", 0) for run in self.runs),
            "portals": [run.row() for run in self.runs],
            "checks": {"status": max(statuses, key=("pass", "warn", "fail").index, default="pass"), "results": results},
            "exit_code": self.exit_code(),
        }


def portal_summary_line(run: PortalRun) -> str:
    return row_line(run.row())


def row_line(row: dict[str, Any]) -> str:
    """One ended portal of summary.json: `✓ slug: 34 records from 120 pages`, `✗ slug: failed: …`."""
    marks = {"ok": "✓", "retired": "–", "failed": "✗", "interrupted": "!"}
    text = f"{marks.get(row['outcome'], '?')} {row['portal']}: "
    if row["outcome"] == "ok":
        text += f"{row['records_written']} records from {row['pages_fetched']} pages"
        if row.get("checks") not in (None, "pass"):
            text += f"; checks {row['checks']}"
        return text + (f" ({row['message']})" if row.get("message") else "")
    message = row.get("message") or row.get("finish_reason") or ""
    return text + (message if message.startswith(row["outcome"]) else f"{row['outcome']}: {message}".rstrip(": "))


def write_summary(folder: Path, summary: dict[str, Any]) -> Path:
    path = folder / "summary.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
