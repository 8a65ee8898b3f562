"""Fault budgets: one retry budget per URL, Retry-After through the host's slot, per-attempt timeout
and per-URL time budget, failure kinds, start-URL failures and option checks.

Crawls run as `crawler crawl` subprocesses against raw-socket servers on 127.0.0.1 (tests/rawsite.py)
with small timeouts and budgets, and the servers count and time every request they receive.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler.cli import main, start_failure_message
from crawler.middlewares import BudgetRetryMiddleware, GaveUp, SettingsError, retry_after_seconds
from crawler.spiders.portal import PortalSpider, SpiderArgumentError, failure_kind
from crawler.urls import site_key

from .rawsite import (
    RawSite,
    answer,
    article_html,
    article_url,
    gzip_bomb,
    home_page,
    huge,
    reset,
    serve,
    stall,
    truncated,
)

RETRY_TIMES = 3
FAST = {
    "DOWNLOAD_TIMEOUT": "1",
    "URL_TIME_BUDGET": "10",
    "RETRY_BACKOFF_BASE": "0.05",
    "RETRY_BACKOFF_MAX": "0.2",
    "RETRY_AFTER_MAX_SECONDS": "5",
    "DOWNLOAD_MAXSIZE": "1000000",
    "RETRY_TIMES": str(RETRY_TIMES),
    # These crawls plant host failures on purpose: the exit status they test is the crawl's own,
    # not the failed_pages check's (whose verdict on them test_fault_run_is_judged_by_the_checks reads).
    "CHECK_FAILED_PAGES_WARN": "1",
    "CHECK_FAILED_PAGES_FAIL": "1",
}


@dataclass
class Run:
    result: subprocess.CompletedProcess[str]
    out: Path
    site: RawSite

    @property
    def records(self) -> list[dict[str, Any]]:
        return _lines(self.out / "records.jsonl")

    @property
    def rejects(self) -> list[dict[str, Any]]:
        return _lines(self.out / "rejects.jsonl")

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads((self.out / "manifest.json").read_text(encoding="utf-8"))

    def outcome(self, path: str) -> list[str]:
        """What the run made of one URL: "record", or the reasons of its rejects."""
        url = self.site.base + path
        found = ["record" for r in self.records if r["url"] == url]
        return found + [r["reason"] for r in self.rejects if r["url"] == url]

    def reject(self, path: str) -> dict[str, Any]:
        (row,) = [r for r in self.rejects if r["url"] == self.site.base + path]
        return row


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def crawl(site: RawSite, out: Path, path: str = "/", settings: dict[str, str] | None = None, delay: str = "0") -> Run:
    args = [sys.executable, "-m", "crawler.cli", "crawl", site.base + path, "--out", str(out)]
    args += ["--state", str(out.parent / f"{out.name}.sqlite"), "--delay", delay]
    for name, value in {**FAST, **(settings or {})}.items():
        args += ["-s", f"{name}={value}"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    return Run(result, out, site)


# -- one crawl of a site full of faults ---------------------------------------------------------


def test_fault_run_is_judged_by_the_checks(fault_run: Run) -> None:
    """The planted host failures are what the failed_pages check counts (its thresholds raised
    here so that the crawl's own exit status can be tested)."""
    manifest = json.loads((fault_run.out / "manifest.json").read_text(encoding="utf-8"))
    fetch = manifest["fetch"]
    assert {"http_503", "timeout", "connection_reset", "truncated"} <= set(fetch["failed_by_kind"])
    assert fetch["failed"] == sum(fetch["failed_by_kind"].values()) and fetch["failed_share"] > 0.1
    (check,) = [result for result in manifest["checks"]["results"] if result["name"] == "failed_pages"]
    assert check["status"] == "pass" and f"{fetch['failed']} of {fetch['attempted']} fetches failed" in check["message"]


FAULTS = {
    "ok-after-429": [answer(429, b"busy", {"Retry-After": "1"}), answer(200, article_html(0))],
    "always-503": [answer(503, b"down")],
    "storm": [answer(429, b"busy"), reset, answer(429, b"busy"), reset],
    "wait-too-long": [answer(429, b"busy", {"Retry-After": "100000"})],
    "stall": [stall],
    "reset": [reset],
    "truncated": [truncated],
    "huge-declared": [huge(3_000_000, declared=True)],
    "huge-streamed": [huge(3_000_000, declared=False)],
    "gzip-bomb": [gzip_bomb(5_000_000)],
    "good": [answer(200, article_html(1))],
}
LONG_LINK = "/vi/tin-tuc-su-kien/-/view_content/300999-" + "dai" * 800 + ".html"


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    routes = {article_url(name): behaviours for name, behaviours in FAULTS.items()}
    routes[LONG_LINK] = [answer(200, article_html(2))]
    routes["/"] = [answer(200, home_page(list(routes)))]
    with serve(routes) as site:
        run = crawl(site, tmp_path_factory.mktemp("faults") / "run")
        assert run.result.returncode == 0, run.result.stderr
        yield run


@pytest.mark.parametrize(
    ("name", "outcome", "hits"),
    [
        ("ok-after-429", ["record"], 2),
        ("always-503", ["http_503"], RETRY_TIMES + 1),
        ("storm", ["connection_reset"], RETRY_TIMES + 1),  # 429s and resets share ONE budget
        ("wait-too-long", ["retry_after_too_long"], 1),
        ("stall", ["timeout"], RETRY_TIMES + 1),
        ("reset", ["connection_reset"], RETRY_TIMES + 1),
        ("truncated", ["truncated"], RETRY_TIMES + 1),
        ("huge-declared", ["too_large"], 1),
        ("huge-streamed", ["too_large"], 1),
        ("gzip-bomb", ["too_large"], 1),
        ("good", ["record"], 1),
    ],
)
def test_each_fault_ends_in_one_outcome_within_the_retry_budget(
    fault_run: Run, name: str, outcome: list[str], hits: int
) -> None:
    path = article_url(name)
    assert fault_run.outcome(path) == outcome, f"{name}: expected {outcome}, got {fault_run.outcome(path)}"
    assert fault_run.site.count(path) == hits, f"{name}: {fault_run.site.count(path)} requests, expected {hits}"


def test_fault_details_and_counts(fault_run: Run) -> None:
    assert "Retry-After 100000 s" in fault_run.reject(article_url("wait-too-long"))["detail"]
    assert "Content-Length" in fault_run.reject(article_url("truncated"))["detail"]
    assert "DOWNLOAD_MAXSIZE" in fault_run.reject(article_url("gzip-bomb"))["detail"]
    manifest = fault_run.manifest
    assert manifest["errors_by_kind"]["too_large"] == 3
    assert manifest["errors_by_kind"]["retry_after_too_long"] == 1
    assert manifest["start_failures"] == []
    log = (fault_run.out / "crawl.log").read_text(encoding="utf-8")
    # Scrapy's own RetryMiddleware is gone: every retry is ours, counted by the cause.
    assert "'retry/reason_count/http_429'" in log and "'retry/retry_after_waits': 1" in log


def test_a_link_longer_than_the_url_limit_is_counted_not_fetched(fault_run: Run) -> None:
    assert fault_run.manifest["links_not_followed"]["url_too_long"] == 1
    assert fault_run.site.count(LONG_LINK) == 0


# -- the host's slot waits; the time budget cuts retries short -----------------------------------


def test_the_host_waits_for_retry_after_before_anything_more_is_sent(tmp_path: Path) -> None:
    """Two URLs of one host after a 429 with Retry-After: 1: nothing reaches the host before then."""
    others = [article_url(f"other-{n}") for n in range(4)]
    routes = {path: [answer(200, article_html(n + 1))] for n, path in enumerate(others)}
    first = article_url("first")
    routes[first] = [answer(429, b"busy", {"Retry-After": "1"}), answer(200, article_html(0))]
    routes["/"] = [answer(200, home_page([*others, first]))]
    with serve(routes) as site:
        # One request at a time to the host, so the other URLs are still queued when the 429 comes
        # (Scrapy 2.19 starts every queued request of a slot at once when its delay is 0).
        run = crawl(site, tmp_path / "run", settings={"CONCURRENT_REQUESTS_PER_DOMAIN": "1"}, delay="0.01")
    assert run.result.returncode == 0, run.result.stderr
    assert all(run.outcome(path) == ["record"] for path in [first, *others]), run.rejects
    told = site.times(first)[0]
    after = [hit for hit in site.hits if hit.at > told]
    assert any(hit.path != first for hit in after), "no other URL was left to send after the 429"
    early = [(hit.path, round(hit.at - told, 3)) for hit in after if hit.at - told < 0.95]
    assert not early, f"sent before the Retry-After wait was over: {early}"
    # Once the host answered normally again, its own pace (0.01 s) is back: no second long wait.
    pace = [round(b.at - a.at, 3) for a, b in pairwise(after)]
    assert pace and max(pace) < 0.9, pace


def test_a_stalled_url_is_cut_by_its_time_budget(tmp_path: Path) -> None:
    path = article_url("stall")
    routes = {path: [stall], "/": [answer(200, home_page([path]))]}
    with serve(routes) as site:
        run = crawl(site, tmp_path / "run", settings={"URL_TIME_BUDGET": "2.5"})
    assert run.result.returncode == 0, run.result.stderr
    assert run.outcome(path) == ["timeout"]
    assert "time budget exhausted" in run.reject(path)["detail"]
    times = site.times(path)
    # Two attempts of 1 s fit in 2.5 s, a third could not finish: not started.
    assert len(times) == 2
    assert times[-1] - times[0] + 1 <= 2.5 + 0.5


def test_a_retry_after_longer_than_the_time_budget_gives_up(tmp_path: Path) -> None:
    path = article_url("later")
    routes = {path: [answer(503, b"later", {"Retry-After": "4"})], "/": [answer(200, home_page([path]))]}
    with serve(routes) as site:
        run = crawl(site, tmp_path / "run", settings={"URL_TIME_BUDGET": "3"})
    assert run.outcome(path) == ["time_budget_exhausted"]
    assert "http_503" in run.reject(path)["detail"]
    assert site.count(path) == 1


# -- start URLs --------------------------------------------------------------------------------


def test_a_start_url_answering_404_exits_3_with_a_reject(tmp_path: Path) -> None:
    with serve({"/tin-tuc": [answer(404, b"<html><body>Not found</body></html>")]}) as site:
        run = crawl(site, tmp_path / "run", path="/tin-tuc")
    assert run.result.returncode == 3
    lines = run.result.stderr.strip().splitlines()
    assert lines == [f"crawler: start URL {site.base}/tin-tuc answered HTTP 404; check the URL"]
    assert run.outcome("/tin-tuc") == ["http_404"]
    assert run.manifest["start_failures"] == [{"url": f"{site.base}/tin-tuc", "reason": "http_404"}]
    assert "'start/failed/http_404': 1" in (run.out / "crawl.log").read_text(encoding="utf-8")


def test_a_start_url_longer_than_the_limit_exits_3_with_a_reject(tmp_path: Path) -> None:
    path = "/tin-tuc/" + "x" * 2100
    with serve({path: [answer(200, home_page([]))]}) as site:
        run = crawl(site, tmp_path / "run", path=path)
    assert run.result.returncode == 3
    lines = run.result.stderr.strip().splitlines()
    assert len(lines) == 1 and "longer than URLLENGTH_LIMIT" in lines[0], run.result.stderr
    assert run.outcome(path) == ["url_too_long"]
    assert run.manifest["start_failures"] == [{"url": site.base + path, "reason": "url_too_long"}]
    assert site.count(path) == 0


def test_start_failures_exit_non_zero_only_when_every_start_url_failed() -> None:
    urls = ["http://a.gov.vn/", "http://b.gov.vn/"]
    some = {"start_urls": urls, "start_failures": [{"url": urls[0], "reason": "dns"}]}
    assert start_failure_message(some) is None
    every = {**some, "start_failures": [*some["start_failures"], {"url": urls[1], "reason": "http_503"}]}
    message = start_failure_message(every)
    assert message is not None and "http://a.gov.vn/ (dns)" in message and "http://b.gov.vn/ (http_503)" in message
    assert start_failure_message({"start_urls": urls, "start_failures": []}) is None


def test_a_start_url_naming_a_file_exits_3_with_a_reject(tmp_path: Path) -> None:
    with serve({"/files/bao-cao.pdf": [answer(200, b"%PDF-1.4", {"Content-Type": "application/pdf"})]}) as site:
        run = crawl(site, tmp_path / "run", path="/files/bao-cao.pdf")
    assert run.result.returncode == 3
    lines = run.result.stderr.strip().splitlines()
    assert len(lines) == 1 and "names a file, not a page" in lines[0], run.result.stderr
    assert run.outcome("/files/bao-cao.pdf") == ["non_html_link"]


def test_a_run_whose_start_urls_all_failed_is_no_finished_walk(tmp_path: Path) -> None:
    """Its next run must not take the portal for walked to its end (and stop paging at known
    articles): a first or interrupted crawl stays one until a run really crawls."""
    from crawler.state import CrawlState

    with serve({"/tin-tuc": [answer(404, b"<html><body>Not found</body></html>")]}) as site:
        run = crawl(site, tmp_path / "run", path="/tin-tuc")
    assert run.result.returncode == 3
    assert run.manifest["finish_reason"] == "start_failed"
    with CrawlState(tmp_path / "run.sqlite") as state:
        assert not state.portal_is_current(site_key(site.base))
        reasons = [row[0] for row in state.db.execute("SELECT finish_reason FROM runs")]
    assert reasons == ["start_failed"]


# -- option and setting checks ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--delay", "inf"], "--delay: 'inf' must be a finite number of seconds"),
        (["--delay", "nan"], "--delay: 'nan' must be a finite number of seconds"),
        (["--delay", "-1"], "--delay: '-1' must be a finite number of seconds"),
        (["--delay", "soon"], "--delay: 'soon' is not a number of seconds"),
        (["--max-items", "0"], "--max-items: '0' must be at least 1"),
        (["--max-items", "-1"], "--max-items: '-1' must be at least 1"),
        (["-s", "DOWNLOAD_TIMEOUT=inf"], "setting DOWNLOAD_TIMEOUT must be a finite number above 0, not 'inf'"),
        (["-s", "URL_TIME_BUDGET=nan"], "setting URL_TIME_BUDGET must be a finite number above 0"),
        (["-s", "DOWNLOAD_DELAY=-2"], "setting DOWNLOAD_DELAY must be a finite number at least 0"),
        (["-s", "RETRY_AFTER_MAX_SECONDS=-1"], "setting RETRY_AFTER_MAX_SECONDS must be a finite number at least 0"),
        (["-s", "RETRY_TIMES=1.5"], "setting RETRY_TIMES must be a whole number at least 0"),
        (["-s", "MAX_LISTING_PAGES=0"], "setting MAX_LISTING_PAGES must be a whole number at least 1"),
        (["-s", "DEAD_PAGE_BACKOFF_DAYS=7,x"], "DEAD_PAGE_BACKOFF_DAYS must list whole days"),
        (["-s", "DEAD_PAGE_BACKOFF_DAYS=-1"], "DEAD_PAGE_BACKOFF_DAYS must list whole days"),
    ],
)
def test_bad_numbers_exit_2_with_one_line(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["crawl", "http://127.0.0.1:9/", "--out", str(tmp_path / "run"), "--state", str(tmp_path / "s"), *args])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("crawler: ") and message in lines[0], err
    assert not (tmp_path / "run" / "manifest.json").exists()


def test_components_refuse_bad_settings_under_scrapy_crawl_too() -> None:
    crawler = get_crawler(settings_dict={"DOWNLOAD_DELAY": "inf"})
    with pytest.raises(SettingsError, match="DOWNLOAD_DELAY must be a finite number"):
        BudgetRetryMiddleware.from_crawler(crawler)
    for bad in ("0", "-1"):
        with pytest.raises(SpiderArgumentError, match="max_items must be at least 1"):
            PortalSpider(url="http://127.0.0.1/", max_items=bad)


# -- small pieces ------------------------------------------------------------------------------


def test_retry_after_is_seconds_or_an_http_date() -> None:
    assert retry_after_seconds(b"120") == 120
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True).encode()
    seconds = retry_after_seconds(later)
    assert seconds is not None and 85 <= seconds <= 90
    assert retry_after_seconds(b"soon") is None and retry_after_seconds(None) is None


def test_failure_kind_takes_the_reason_any_ignore_request_carries() -> None:
    class OffsiteRedirect(IgnoreRequest):
        reason = "offsite_redirect"

    assert failure_kind(Failure(OffsiteRedirect("a -> b"))) == "offsite_redirect"
    assert failure_kind(Failure(GaveUp("redirect_loop", "a -> b -> a"))) == "redirect_loop"
    assert failure_kind(Failure(IgnoreRequest("Forbidden by robots.txt"))) == "robots_disallowed"
    assert re.fullmatch(r"[A-Za-z]+", failure_kind(Failure(ValueError("x"))))
    for error, kind in [
        (CannotResolveHostError("no.such.host"), "dns"),
        (DownloadConnectionRefusedError("refused"), "connection_refused"),
        (DownloadTimeoutError("took longer"), "timeout"),
    ]:
        assert failure_kind(Failure(error)) == kind


# -- the budget bookkeeping, without a server ----------------------------------------------------


def _middleware() -> BudgetRetryMiddleware:
    crawler = get_crawler(settings_dict={"URL_TIME_BUDGET": 100, "DOWNLOAD_TIMEOUT": 10})
    return BudgetRetryMiddleware.from_crawler(crawler)


def test_a_host_wait_for_other_urls_is_not_charged_to_a_queued_url() -> None:
    from scrapy import Request
    from scrapy.core.downloader import Slot

    from crawler.middlewares import BUDGET_STARTED

    middleware = _middleware()
    queued = Request("http://portal.test/b", meta={"download_slot": "portal.test"})
    middleware.process_request(queued)
    started = queued.meta[BUDGET_STARTED][1]
    slot = Slot(concurrency=1, delay=0.0)
    slot.queue.append((queued, None))
    middleware._hold("portal.test", slot, 30.0)  # another URL of the host got a 429 asking for 30 s
    assert queued.meta[BUDGET_STARTED][1] == pytest.approx(started + 30.0, abs=0.5)
    assert middleware._elapsed(queued) == 0.0
    middleware._hold("portal.test", slot, 10.0)  # a shorter wait inside the first adds nothing
    assert queued.meta[BUDGET_STARTED][1] == pytest.approx(started + 30.0, abs=0.5)
    # A URL arriving during the wait starts its budget when the wait ends.
    later = Request("http://portal.test/c", meta={"download_slot": "portal.test"})
    middleware.process_request(later)
    assert middleware._elapsed(later) == 0.0
    assert later.meta[BUDGET_STARTED][1] > queued.meta[BUDGET_STARTED][1] - 1


def test_a_redirect_target_gets_a_budget_of_its_own() -> None:
    from scrapy import Request

    from crawler.middlewares import BUDGET_STARTED, LAST_FAILURE

    middleware = _middleware()
    first = Request("http://portal.test/a")
    middleware.process_request(first)
    first.meta[BUDGET_STARTED] = (first.meta[BUDGET_STARTED][0], first.meta[BUDGET_STARTED][1] - 95)
    first.meta.update({LAST_FAILURE: ("http_503", "busy"), "retry_times": 2})
    target = first.replace(url="http://portal.test/b")  # what RedirectMiddleware hands on
    middleware.process_request(target)  # the old URL's budget would give it up here
    assert "retry_times" not in target.meta and LAST_FAILURE not in target.meta
    assert middleware._elapsed(target) < 1


def test_unasked_waits_double_with_the_hosts_slow_downs_in_a_row() -> None:
    from scrapy import Request
    from scrapy.core.downloader import Slot
    from scrapy.http import Response

    middleware = _middleware()
    slot = Slot(concurrency=1, delay=0.0)
    waits = []
    for n in range(4):  # four different URLs, each on its first attempt
        request = Request(f"http://portal.test/{n}", meta={"download_slot": "portal.test"})
        wait, asked = middleware.slow_down_wait(request, Response(request.url, status=503, request=request))
        assert not asked
        waits.append(wait)
        middleware._hold("portal.test", slot, wait)
        middleware.holds["portal.test"].strikes += 1
    assert waits == [2.0, 4.0, 8.0, 16.0]


def test_any_failure_to_start_the_crawl_is_one_line_and_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from crawler.spiders.portal import PortalSpider as Spider

    def broken(self: Spider, *args: Any) -> None:
        raise KeyError("frontier table missing")

    monkeypatch.setattr(Spider, "bind_state", broken)
    out = tmp_path / "run"
    code = main(["crawl", "http://127.0.0.1:9/", "--out", str(out), "--state", str(tmp_path / "s")])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(lines) == 1 and "could not start (KeyError" in lines[0] and "crawl.log" in lines[0], lines
    assert "frontier table missing" in (out / "crawl.log").read_text(encoding="utf-8")
