"""One live status line on the terminal while a crawl runs (the PROGRESS setting).

`crawler crawl` sends the whole log to the run's crawl.log, so without this line a long crawl shows
nothing until its final summary. The line is redrawn in place about once a second on stderr:

    pages 120 | records 34 | rejects 5 | 96 pages/min | queue 41 | 0:01:15

PROGRESS = "auto" draws it only when stderr is a terminal and the log does not go there (LOG_FILE set,
or LOG_ENABLED off): log lines would tear the status line apart, and cron jobs, CI and pipes want no
carriage returns in their output. "on" and "off" force it either way.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from typing import Any, Self, TextIO

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.settings import BaseSettings
from twisted.internet.task import LoopingCall

from crawler.export import page_rejected
from crawler.middlewares import SettingsError

REDRAW_SECONDS = 1.0
RATE_WINDOW_SECONDS = 60.0  # pages/min is measured over the last minute, so it follows slow-downs
# The stats RunWriter counts a record under when it writes it to records.jsonl (the summary's count).
RECORDS_WRITTEN_STATS = ("export/new", "export/updated", "export/unchanged_rewritten")

_MODES = {"auto": "auto", "on": "on", "off": "off", "true": "on", "false": "off", "1": "on", "0": "off"}


def progress_mode(settings: BaseSettings) -> str:
    """PROGRESS as "auto", "on" or "off" (True/False and 1/0 are also taken); one line when it is none."""
    value = settings.get("PROGRESS", "auto")
    mode = _MODES.get(str(value).strip().lower())
    if mode is None:
        raise SettingsError(f"PROGRESS takes auto, on or off, not {value!r}")
    return mode


def log_goes_to_stderr(settings: BaseSettings) -> bool:
    """Whether Scrapy's log handler writes to stderr (it does unless LOG_FILE is set or logging is off)."""
    return settings.getbool("LOG_ENABLED") and not settings.get("LOG_FILE")


def progress_wanted(settings: BaseSettings, stream: TextIO) -> bool:
    """Whether to draw the line on `stream` (see the module's docstring)."""
    mode = progress_mode(settings)
    if mode != "auto":
        return mode == "on"
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):  # no stream, or a closed one
        return False
    return terminal and not log_goes_to_stderr(settings)


def elapsed_text(seconds: float) -> str:
    """0:01:05 for 65 seconds."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class PagesPerMinute:
    """Pages per minute over the last RATE_WINDOW_SECONDS, from cumulative page counts."""

    def __init__(self, window: float = RATE_WINDOW_SECONDS) -> None:
        self.window = window
        self.samples: deque[tuple[float, int]] = deque()

    def add(self, now: float, pages: int) -> float:
        """Record the count at `now` and return the rate since the oldest sample inside the window."""
        self.samples.append((now, pages))
        while len(self.samples) > 2 and now - self.samples[1][0] >= self.window:
            self.samples.popleft()
        then, pages_then = self.samples[0]
        return (pages - pages_then) * 60.0 / (now - then) if now > then else 0.0


class ProgressLine:
    """A Scrapy extension: redraw one status line on stderr while the spider runs."""

    def __init__(self, crawler: Crawler, stream: TextIO) -> None:
        self.crawler = crawler
        self.stream = stream
        self.rejects = 0
        self.started = time.monotonic()
        self.rate = PagesPerMinute()
        self.drawn_width = 0
        self.loop: LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        stream = sys.stderr
        if not progress_wanted(crawler.settings, stream):
            raise NotConfigured  # without a message: Scrapy logs a message as a WARNING on every run
        extension = cls(crawler, stream)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(extension.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(extension.page_rejected, signal=page_rejected)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        self.started = time.monotonic()
        self.loop = LoopingCall(self.redraw)
        self.loop.start(REDRAW_SECONDS, now=True)

    def item_dropped(self, item: Any, response: Any, exception: DropItem, spider: Spider) -> None:
        self.rejects += 1

    def page_rejected(self, url: str, kind: str, reason: str) -> None:
        self.rejects += 1

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
            self.redraw()
            self._write("\n")

    def status(self) -> str:
        """The status line's text, from the crawl stats and the scheduler."""
        stats = self.crawler.stats
        pages = int(stats.get_value("downloader/response_count", 0))
        records = sum(int(stats.get_value(name, 0)) for name in RECORDS_WRITTEN_STATS)
        now = time.monotonic()
        parts = [
            f"pages {pages}",
            f"records {records}",
            f"rejects {self.rejects}",
            f"{self.rate.add(now, pages):.0f} pages/min",
        ]
        queued = self.queue_size()
        if queued is not None:
            parts.append(f"queue {queued}")
        parts.append(elapsed_text(now - self.started))
        return " | ".join(parts)

    def queue_size(self) -> int | None:
        """Requests waiting in Scrapy's scheduler, or None before it exists (or if it cannot tell)."""
        try:
            scheduler = self.crawler.engine.scheduler
            return len(scheduler) if scheduler is not None else None
        except (RuntimeError, AttributeError, TypeError):  # no engine yet (Crawler.engine raises), no __len__
            return None

    def redraw(self) -> None:
        """Overwrite the line in place: cut to the terminal's width (a wrapped line cannot be
        redrawn by a carriage return) and padded over what the previous line left."""
        text = self.status()[: max(self._columns() - 1, 1)]
        self._write("\r" + text.ljust(self.drawn_width))
        self.drawn_width = len(text)

    def _columns(self) -> int:
        return _columns(self.stream)

    def _write(self, text: str) -> None:
        """Write and flush; a terminal that went away (closed, hung up) ends the drawing, not the crawl."""
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            if self.loop is not None and self.loop.running:
                self.loop.stop()
            self.loop = None


class PortalBoard:
    """The terminal of a run of many portals (`crawler crawl --all`): a line per portal being
    crawled (pages, records, rejects, queue, time), a header with how many portals are waiting,
    running and done, and a line printed for good as each portal ends. Drawn under the same rule
    as the status line (PROGRESS); without a terminal it draws nothing."""

    def __init__(self, stream: TextIO, live: bool, total: int) -> None:
        self.stream = stream
        self.live = live
        self.total = total
        self.started = time.monotonic()
        self.drawn_lines = 0
        self.loop: LoopingCall | None = None
        self.multi: Any = None

    @classmethod
    def for_settings(cls, settings: BaseSettings, total: int, stream: TextIO | None = None) -> PortalBoard:
        stream = stream or sys.stderr
        return cls(stream, progress_wanted(settings, stream), total)

    def attach(self, multi: Any) -> None:
        """Follow a crawler.multirun.MultiRun; redraw once a second from when the reactor runs."""
        self.multi = multi
        if self.live:
            from twisted.internet import reactor

            self.loop = LoopingCall(self.redraw)
            reactor.callWhenRunning(self.loop.start, REDRAW_SECONDS, True)  # type: ignore[attr-defined]

    def changed(self, run: Any) -> None:
        """A portal started or ended: an ended one gets its line for good, above the board."""
        if not self.live or run.outcome in ("waiting", "running"):
            return
        from crawler.multirun import portal_summary_line

        self._erase()
        self._write(portal_summary_line(run) + "\n")
        self.redraw()

    def lines(self) -> list[str]:
        runs = self.multi.runs if self.multi is not None else []
        running = [run for run in runs if run.outcome == "running"]
        waiting = sum(1 for run in runs if run.outcome == "waiting")
        done = len(runs) - len(running) - waiting
        header = (
            f"portals: {len(running)} running, {waiting} waiting, {done} of {self.total} done | "
            f"{elapsed_text(time.monotonic() - self.started)}"
        )
        width = max((len(run.slug) for run in running), default=0)
        return [header, *(f"  {run.slug.ljust(width)}  {self.portal_status(run)}" for run in running)]

    def portal_status(self, run: Any) -> str:
        crawler = run.crawler
        stats = crawler.stats if crawler is not None else None
        if stats is None:
            return "starting"
        pages = int(stats.get_value("downloader/response_count", 0))
        records = sum(int(stats.get_value(name, 0)) for name in RECORDS_WRITTEN_STATS)
        parts = [f"pages {pages}", f"records {records}", f"rejects {run.rejects}"]
        try:
            scheduler = crawler.engine.scheduler
            parts.append(f"queue {len(scheduler)}")
        except (RuntimeError, AttributeError, TypeError):
            pass
        return " | ".join(parts)

    def redraw(self) -> None:
        if not self.live:
            return
        self._erase()
        columns = _columns(self.stream)
        lines = [line[: max(columns - 1, 1)] for line in self.lines()]
        self._write("".join(line + "\n" for line in lines))
        self.drawn_lines = len(lines)

    def close(self) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self._erase()

    def _erase(self) -> None:
        """Move up over the board and clear to the end of the screen."""
        if self.drawn_lines:
            self._write(f"\x1b[{self.drawn_lines}F\x1b[J")
            self.drawn_lines = 0

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away: stop drawing, go on crawling
            self.live = False
            if self.loop is not None and self.loop.running:
                self.loop.stop()


def _columns(stream: TextIO) -> int:
    """The terminal's width; 80 when it cannot tell (a terminal that reports 0 columns, as a new pty does)."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        columns = 0
    return columns or 80
