"""The fault suite: one crawl of a misbehaving portal (tests/faultsite.py) on 127.0.0.1, then one
test per fault on what the run folder says about its URL, and whole-run checks: no request ever
reached another host, every good article recovered once, the crawl ended by itself, the manifest
agrees with rejects.jsonl, and every page the server answered left a record or a reject.

Timeouts, budgets and size limits are lowered (`CRAWL_SETTINGS`) so the crawl takes seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from crawler.urls import url_key
from tests.faultsite import (
    EMPTY_CALENDAR,
    GOOD_ATTACHMENT,
    PASSWD,
    PATH_TRAP,
    RETRY_TIMES,
    STALE_CALENDAR,
    FaultSite,
    Sizes,
)

MAXSIZE = 1024 * 1024
MAX_LISTING_PAGES = 12
STALE_LISTING_PAGES = 3
MAX_NAV_DEPTH = 2
CRAWL_SETTINGS = {
    "DOWNLOAD_TIMEOUT": "1.5",
    "URL_TIME_BUDGET": "20",
    "RETRY_TIMES": str(RETRY_TIMES),
    "RETRY_AFTER_MAX_SECONDS": "5",
    "RETRY_BACKOFF_BASE": "0.2",
    "RETRY_BACKOFF_MAX": "0.5",
    "DOWNLOAD_MAXSIZE": str(MAXSIZE),
    "DOWNLOAD_WARNSIZE": str(MAXSIZE // 2),
    "MAX_LISTING_PAGES": str(MAX_LISTING_PAGES),
    "STALE_LISTING_PAGES": str(STALE_LISTING_PAGES),
    "MAX_NAV_DEPTH": str(MAX_NAV_DEPTH),
}
SECRET_MARKER = b"BI-MAT-KHONG-DUOC-DOC-7f3a9c"


@dataclass
class Run:
    site: FaultSite
    out: Path
    result: subprocess.CompletedProcess[str]
    records: list[dict[str, Any]]
    rejects: list[dict[str, Any]]
    manifest: dict[str, Any]

    def records_at(self, path: str) -> list[dict[str, Any]]:
        key = url_key(self.site.url(path))
        return [r for r in self.records if url_key(r["url"]) == key]

    def rejects_at(self, path: str) -> list[dict[str, Any]]:
        key = url_key(self.site.url(path))
        return [r for r in self.rejects if url_key(r["url"]) == key]

    def outcome(self, path: str) -> str:
        """What the run folder says about a URL, for failure messages."""
        found = [f"record {r['title']!r}" for r in self.records_at(path)]
        found += [f"reject {r['reason']} ({r['detail'][:160]})" for r in self.rejects_at(path)]
        return "; ".join(found) or "neither a record nor a reject"


def _read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("faults")
    secret = tmp / "bi-mat.pdf"
    secret.write_bytes(b"%PDF-1.4\n" + SECRET_MARKER + b"\n%%EOF\n")
    site = FaultSite(Sizes(maxsize=MAXSIZE, huge_page=2 * MAXSIZE, gzip_bomb=64 * MAXSIZE), secret).start()
    out = tmp / "run"
    settings = [arg for name, value in CRAWL_SETTINGS.items() for arg in ("-s", f"{name}={value}")]
    command = [sys.executable, "-m", "crawler.cli", "crawl", f"{site.base}/", "--out", str(out)]
    command += ["--state", str(tmp / "state.sqlite"), "--delay", "0", "--download-attachments", *settings]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    finally:
        site.stop()
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    yield Run(
        site,
        out,
        result,
        _read_lines(out / "records.jsonl"),
        _read_lines(out / "rejects.jsonl"),
        manifest,
    )


def test_the_crawl_finishes_by_itself(run: Run) -> None:
    assert run.result.returncode == 0, run.result.stderr[-2000:]
    assert run.manifest, f"no manifest.json in {run.out}: {run.result.stderr[-2000:]}"
    assert run.manifest["finish_reason"] == "finished"


@pytest.mark.parametrize("name", FaultSite.fault_names())
def test_fault_outcome(run: Run, name: str) -> None:
    """Each fault URL ends as exactly what it should: one record, or one reject with its reason."""
    fault = run.site.fault(name)
    url = run.site.url(fault.path)
    got = run.outcome(fault.path)
    if fault.expect == "record":
        where = fault.record_path or fault.path
        records = run.records_at(where)
        assert len(records) == 1, (
            f"{name} {url}: expected one record at {run.site.url(where)}, got {run.outcome(where)}"
        )
        record = records[0]
        assert urlsplit(record["url"]).netloc == urlsplit(run.site.base).netloc, f"{name}: record at {record['url']}"
        assert record["title"] == fault.title, f"{name} {url}: expected title {fault.title!r}, got {record['title']!r}"
        lost = [text[:40] for text in run.site.texts[fault.title] if text not in record["body"]]
        assert not lost, f"{name} {url}: paragraphs missing from the body: {lost}"
        assert not run.rejects_at(fault.path), f"{name} {url}: expected only a record, got {got}"
    else:
        reasons = [r["reason"] for r in run.rejects_at(fault.path)]
        assert reasons == [fault.expect], f"{name} {url}: expected one reject {fault.expect}, got {got}"
        assert not run.records_at(fault.path), f"{name} {url}: expected no record, got {got}"
    hits = run.site.hits(fault.path)
    if fault.max_hits is not None:
        assert fault.min_hits <= hits <= fault.max_hits, (
            f"{name} {url}: expected {fault.min_hits}–{fault.max_hits} requests, the server saw {hits} ({got})"
        )


def test_retries_stay_within_one_budget(run: Run) -> None:
    """Whatever the cause (503, reset, truncation, timeout), a URL is tried at most RETRY_TIMES + 1 times."""
    for name in ("503_forever", "connection_reset", "truncated", "stall"):
        fault = run.site.fault(name)
        hits = run.site.hits(fault.path)
        assert 2 <= hits <= RETRY_TIMES + 1, f"{name}: {hits} requests for {run.site.url(fault.path)}"


def test_no_request_reached_another_host(run: Run) -> None:
    assert run.site.other_requests == [], f"other hosts were reached: {run.site.other_requests}"


def test_every_request_names_the_site(run: Run) -> None:
    host = urlsplit(run.site.base).netloc
    wrong = [r for r in run.site.requests if r.host != host]
    assert not wrong, f"requests with another Host header: {wrong[:5]}"


def test_every_good_article_is_recovered_exactly_once(run: Run) -> None:
    titles = Counter(r["title"] for r in run.records)
    expected = [a["title"] for a in run.site.good] + [f.title for f in run.site.faults if f.expect == "record"]
    wrong = {title: titles[title] for title in expected if titles[title] != 1}
    assert not wrong, f"articles not recorded exactly once (title: records): {wrong}"
    assert len(run.records) == len(expected), f"unexpected records: {sorted(set(titles) - set(expected))}"


def test_the_manifest_counts_what_rejects_jsonl_holds(run: Run) -> None:
    assert run.manifest["rejects_by_reason"] == dict(Counter(r["reason"] for r in run.rejects))
    assert run.manifest["records_written"] == len(run.records)


def test_no_fetched_page_is_dropped_silently(run: Run) -> None:
    """Every page the server answered (listings, discovery and attachment downloads aside) left a
    record or a reject: under its own URL, or under a URL joined to it by a redirect."""
    site = run.site
    accounted = {url_key(r["url"]) for r in run.records + run.rejects}
    for group in site.redirect_groups():
        if any(url_key(site.url(path)) in accounted for path in group):
            accounted |= {url_key(site.url(path)) for path in group}
    silent = sorted(
        {
            path
            for path in site.paths_requested()
            if site.kinds.get(path) not in ("listing", "discovery", "attachment")
            and url_key(site.url(path)) not in accounted
        }
    )
    assert not silent, f"fetched without a record or a reject: {silent}"


def test_robots_disallowed_page_is_never_fetched(run: Run) -> None:
    fault = run.site.fault("robots_disallowed")
    assert run.site.hits(fault.path) == 0
    assert not [p for p in run.site.paths_requested() if p.startswith(("/private/", "/vi/cam/"))]


def test_calendar_traps_end_at_counted_guards(run: Run) -> None:
    requested = run.site.paths_requested()
    stale = [p for p in requested if p.startswith(STALE_CALENDAR)]
    empty = [p for p in requested if p.startswith(EMPTY_CALENDAR)]
    guards = run.manifest["links_not_followed"]
    # A day listing the same articles again adds nothing: the chain ends after a few such days.
    assert 2 <= len(stale) <= STALE_LISTING_PAGES + 2, stale
    # Days listing nothing at all are stale pages too: that chain ends as soon, long before the
    # listing-page limit.
    assert 2 <= len(empty) <= STALE_LISTING_PAGES + 2, empty
    assert guards.get("guard_pagination_without_new_articles", 0) >= 2, guards
    assert "guard_listing_page_limit" not in guards, guards
    assert len(stale) == len(set(stale)) and len(empty) == len(set(empty)), "a calendar day fetched twice"


def test_growing_path_trap_ends_at_the_link_depth(run: Run) -> None:
    trap = [p for p in run.site.paths_requested() if p.startswith(PATH_TRAP)]
    assert 1 <= len(trap) <= MAX_NAV_DEPTH, trap
    for path in trap:
        assert [r["reason"] for r in run.rejects_at(path)] == ["no_article"], f"{path}: {run.outcome(path)}"


def test_hostile_sitemaps_are_read_without_expansion(run: Run) -> None:
    """Billion laughs and external entities: fetched once each, nothing expanded, nothing fetched
    through them, the crawl unharmed."""
    for path in ("/sitemap-bom.xml", "/sitemap-thuc-the.xml"):
        assert run.site.hits(path) == 1, f"{path}: {run.site.hits(path)} requests"
    assert not [p for p in run.site.paths_requested() if "lol" in p], "a URL built from an expanded entity"
    for output in _outputs(run):
        assert b"lollollol" not in output.read_bytes(), f"{output} holds an expanded entity"


def test_hostile_attachments_are_never_fetched(run: Run) -> None:
    """file:// (plain and behind DotNetNuke's LinkClick.aspx), ftp:// and another host's http://
    attachments: none read, nothing of theirs in the files store; the on-site PDF is stored."""
    fault = run.site.fault("hostile_attachments")
    store = run.out / "files"
    stored = [p for p in store.rglob("*") if p.is_file()] if store.exists() else []
    good_pdf = run.site.routes[GOOD_ATTACHMENT].body
    assert [p.read_bytes() for p in stored] == [good_pdf], f"files store holds {[str(p) for p in stored]}"
    record = _one_record(run, fault.path)
    kept = {a["url"]: a.get("stored_path") for a in record["attachments"]}
    assert kept.pop(run.site.url(GOOD_ATTACHMENT)), f"the on-site PDF was not stored: {record['attachments']}"
    assert kept and not any(kept.values()), f"hostile attachments stored: {kept}"
    assert run.site.other_requests == []
    assert not [p for p in run.site.paths_requested() if p.startswith("/etc/") or "bi-mat" in p.split("?")[0]]


def _one_record(run: Run, path: str) -> dict[str, Any]:
    records = run.records_at(path)
    assert len(records) == 1, f"{run.site.url(path)}: expected one record, got {run.outcome(path)}"
    return records[0]


def _outputs(run: Run) -> list[Path]:
    return [p for p in run.out.rglob("*") if p.is_file()]


def test_local_files_never_reach_any_output(run: Run) -> None:
    passwd_line = (
        PASSWD.read_text(encoding="utf-8", errors="replace").splitlines()[0].encode() if PASSWD.exists() else b""
    )
    for output in _outputs(run):
        data = output.read_bytes()
        assert SECRET_MARKER not in data, f"{output} holds the local secret file's content"
        assert not passwd_line or passwd_line not in data, f"{output} holds /etc/passwd content"


def test_mislabelled_charset_keeps_vietnamese_letters(run: Run) -> None:
    fault = run.site.fault("charset_mislabelled")
    record = _one_record(run, fault.path)
    assert record["title"] == fault.title
    for letters in ("Thông báo", "tuyển dụng", "viên chức", "Sở Nội vụ", "Đắk Lắk"):
        assert letters in record["title"], f"{letters!r} lost in {record['title']!r}"
    assert "Ã" not in record["body"] and "á»" not in record["body"], "UTF-8 read as Latin-1 somewhere in the body"


def test_deeply_nested_tag_soup_keeps_the_whole_article(run: Run) -> None:
    fault = run.site.fault("tag_soup_deep_nesting")
    record = _one_record(run, fault.path)
    for text in run.site.texts[fault.title]:
        assert text in record["body"], f"paragraph lost: {text[:60]}…"


def test_no_article_is_fetched_twice_through_a_redirect(run: Run) -> None:
    """A page a redirect landed on is scheduled too: its own links (print view, another category)
    do not fetch it again, so no record is rejected as a same-URL duplicate."""
    same_url = [r for r in run.rejects if r["reason"] == "DuplicateRecord"]
    assert not same_url, same_url
