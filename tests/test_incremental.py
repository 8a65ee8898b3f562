"""End to end, with real `crawler crawl` subprocesses over a generated Liferay mirror on 127.0.0.1:
one record per article whatever URL it is linked under, a second run that fetches almost nothing,
re-checks of young or changed articles (conditional GET), --full, kill -9 and pause/resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crawler.demo.site import (
    Route,
    add_dead_links,
    article_page,
    article_path,
    build_routes,
    generated_articles,
    listing_page,
    serve,
)
from crawler.state import CrawlState

ARTICLES = 30


class Mirror:
    """A generated portal whose pages a test can edit between runs; counts what it served."""

    def __init__(self, articles: list[dict], article_delay: float = 0.0) -> None:
        self.articles = articles
        self.routes = build_routes(articles)
        # Each article is also linked with tracking and session parameters and as a print view.
        home = self.routes["/"].body.decode()
        extra = "".join(
            f'<li><a href="{article_path(a)}?utm_source=zalo&amp;zarsrc=30">{a["title"]}</a></li>'
            f'<li><a href="{article_path(a)}?p_p_state=pop_up&amp;viewMode=print">In</a></li>'
            for a in articles[:5]
        )
        self.routes["/"] = Route(200, home.replace('<ul class="hot-news">', f'<ul class="hot-news">{extra}').encode())
        self.server, self.base = serve(self.routes, article_delay=article_delay)

    @property
    def served(self) -> list[str]:
        return self.server.RequestHandlerClass.served

    def article_fetches(self) -> list[str]:
        return [path for path in self.served if "/-/view_content/" in path]

    def edit(self, article: dict, extra_paragraph: str, **route_fields: str) -> None:
        article["blocks"] = [*article["blocks"], ["p", extra_paragraph]]
        for category in [article["category"], *article.get("also_in", [])]:
            html = article_page(article, category, self.articles)
            self.routes[article_path(article, category)] = Route(200, html.encode(), **route_fields)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def crawl_command(mirror: Mirror, out: Path, state: Path, *extra: str, start: str = "/") -> list[str]:
    return [
        sys.executable,
        "-m",
        "crawler.cli",
        "crawl",
        f"{mirror.base}{start}",
        "--out",
        str(out),
        "--state",
        str(state),
        "--delay",
        "0",
        *extra,
    ]


def crawl(mirror: Mirror, out: Path, state: Path, *extra: str, start: str = "/") -> tuple[list[dict], dict]:
    result = subprocess.run(
        crawl_command(mirror, out, state, *extra, start=start), capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    return read_lines(out / "records.jsonl"), json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def read_lines(path: Path) -> list[dict]:
    """Every line of a JSON-lines file; fails on a truncated or broken one."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    assert not text or text.endswith("\n"), f"{path} ends in a truncated line"
    return [json.loads(line) for line in text.splitlines()]


def today_articles(count: int) -> list[dict]:
    """Newest first, the newest published today: the first RECHECK_DAYS (7) are young."""
    return generated_articles(count, newest=date.today().isoformat())


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    site = Mirror(today_articles(ARTICLES))
    yield site
    site.close()


def test_second_run_fetches_listings_and_new_articles_only(mirror: Mirror, tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    first, manifest = crawl(mirror, tmp_path / "run1", state)
    assert len(first) == len({r["id"] for r in first}) == ARTICLES  # one record per article
    assert all(r["version"] == 1 and r["dup_of"] is None for r in first)
    assert manifest["records"]["new"] == ARTICLES
    assert manifest["duplicates_skipped"]["article_urls_not_fetched"] > 0  # its other URLs were skipped
    assert len(mirror.article_fetches()) == ARTICLES  # each article fetched once, under one URL
    first_fetched = manifest["pages_fetched"]

    # A new article appears at the top of its category; nothing else changes.
    fresh = generated_articles(1, first_id=900000, newest=date.today().isoformat(), seed=99)[0]
    fresh["slug"], fresh["title"] = "bai-moi", "Bài mới đăng hôm nay"
    mirror.articles.insert(0, fresh)
    mirror.routes.update(build_routes(mirror.articles))
    mirror.served.clear()
    second, manifest = crawl(mirror, tmp_path / "run2", state)
    assert [r["title"] for r in second] == ["Bài mới đăng hôm nay"]
    assert manifest["incremental"]["mode"] == "incremental"
    assert manifest["records"]["new"] == 1
    # Articles 0–6 were published within the last 7 days, article 7 exactly 7 days ago (young or not
    # by the hour): at most 8 are re-checked, the rest are not fetched.
    assert manifest["incremental"]["pages_skipped_as_seen"] >= ARTICLES - 8
    assert manifest["incremental"]["pagination_stopped_at_known"] >= 1
    # Old articles are not fetched again; young ones (published this week) are re-checked.
    refetched = {p for p in mirror.article_fetches() if "bai-moi" not in p}
    assert len(refetched) <= 8
    assert manifest["records"]["unchanged_not_written"] == len(refetched)
    assert manifest["pages_fetched"] < first_fetched / 2
    listing_pages = [p for p in mirror.served if "_101_cur=" in p]
    assert len(listing_pages) <= 2  # paging stopped at the first page of known articles


def test_edited_articles_come_back_as_new_versions(mirror: Mirror, tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    first, _ = crawl(mirror, tmp_path / "run1", state)
    by_title = {r["title"]: r for r in first}
    young, with_etag, old = mirror.articles[1], mirror.articles[2], mirror.articles[20]
    mirror.edit(young, "Cập nhật lúc 17 giờ: bổ sung danh sách đơn vị tham gia.")
    # An untouched young article behind an ETag: the next re-check is a conditional GET.
    mirror.edit(with_etag, "Đính chính số liệu.", etag='"v2"')
    crawl(mirror, tmp_path / "run2", state)
    mirror.served.clear()

    # An old article edited, which only the sitemap's lastmod reveals.
    mirror.edit(old, "Văn bản đã được sửa đổi, bổ sung.")
    old["modified"] = (datetime.now().astimezone() + timedelta(minutes=1)).isoformat(timespec="seconds")
    mirror.routes.update({k: v for k, v in build_routes(mirror.articles).items() if "sitemap" in k})
    third, manifest = crawl(mirror, tmp_path / "run3", state)
    assert [r["title"] for r in third] == [old["title"]]
    edited = third[0]
    assert edited["version"] == 2 and edited["id"] == by_title[old["title"]]["id"]
    assert edited["updated_at"] and edited["dup_of"] is None
    assert manifest["incremental"]["not_modified"] == 1
    assert manifest["records"]["updated"] == 1
    rejects = read_lines(tmp_path / "run3" / "rejects.jsonl")
    assert any(r["reason"] == "not_modified" and str(with_etag["id"]) in r["url"] for r in rejects)

    second = read_lines(tmp_path / "run2" / "records.jsonl")
    assert {(r["title"], r["version"]) for r in second} == {(young["title"], 2), (with_etag["title"], 2)}


def test_full_crawl_ignores_the_state(mirror: Mirror, tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    crawl(mirror, tmp_path / "run1", state)
    mirror.served.clear()
    again, manifest = crawl(mirror, tmp_path / "run2", state, "--full")
    assert len(again) == ARTICLES and {r["version"] for r in again} == {1}
    assert len(mirror.article_fetches()) == ARTICLES
    assert manifest["incremental"]["mode"] == "full"
    assert manifest["records"]["unchanged_rewritten"] == ARTICLES


def test_republished_articles_are_flagged_not_lost(tmp_path: Path) -> None:
    articles = today_articles(12)
    # The same notice on another page of the portal, once word for word, once lightly edited.
    copy = dict(articles[5], id=950001, slug="ban-sao", title=articles[5]["title"])
    near = dict(
        articles[6],
        id=950002,
        slug="dang-lai",
        title="Đăng lại: " + articles[6]["title"],
        blocks=[*articles[6]["blocks"][:3], ["p", "Nguồn: Báo tỉnh"]],
    )
    site = Mirror([*articles, copy, near])
    try:
        records, manifest = crawl(site, tmp_path / "run", tmp_path / "state.sqlite")
        drop, drop_manifest = crawl(site, tmp_path / "drop", tmp_path / "other.sqlite", "--drop-duplicates")
    finally:
        site.close()
    ids = {r["title"] + "|" + r["url"].rsplit("/", 1)[-1]: r for r in records}
    flagged = {r["url"].rsplit("/", 1)[-1].split("-")[0]: r["dup_kind"] for r in records if r["dup_of"]}
    assert flagged == {"950001": "exact", "950002": "near"}
    assert len(ids) == 14
    assert manifest["records"]["exact_duplicates"] == manifest["records"]["near_duplicates"] == 1
    assert len(drop) == 12 and drop_manifest["records"]["duplicates_dropped"] == 2
    reasons = [r["reason"] for r in read_lines(tmp_path / "drop" / "rejects.jsonl")]
    assert reasons.count("DroppedDuplicate") == 2


def _wait_for_lines(path: Path, count: int, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text(encoding="utf-8").count("\n") >= count:
            return
        if process.poll() is not None:
            pytest.fail(f"the crawl ended before writing {count} records")
        time.sleep(0.05)
    pytest.fail(f"no {count} records within {timeout} s")


def test_kill_9_then_rerun_loses_and_doubles_nothing(tmp_path: Path) -> None:
    total = 40
    site = Mirror(today_articles(total), article_delay=0.15)
    state = tmp_path / "state.sqlite"
    try:
        command = crawl_command(site, tmp_path / "killed", state, "-s", "LOOPBACK_CONCURRENCY=2")
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_lines(tmp_path / "killed" / "records.jsonl", 8, process)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        assert not (tmp_path / "killed" / "manifest.json").exists()  # it really died mid-crawl
        killed_count = len((tmp_path / "killed" / "records.jsonl").read_bytes().split(b"\n")) - 1
        assert killed_count < total

        rerun, manifest = crawl(site, tmp_path / "rerun", state)
    finally:
        site.close()
    killed = read_lines(tmp_path / "killed" / "records.jsonl")  # the partial last line, if any, was cut
    read_lines(tmp_path / "killed" / "rejects.jsonl")
    left_behind = json.loads((tmp_path / "killed" / "manifest.json").read_text(encoding="utf-8"))
    assert left_behind["finish_reason"] == "killed" and left_behind["records_written"] == len(killed)
    ids = [r["id"] for r in killed + rerun]
    assert len(ids) == len(set(ids)) == total
    assert manifest["incremental"]["mode"] == "catch_up"  # the killed run did not finish its listings
    with CrawlState(state) as reopened:
        assert reopened.integrity() == "ok"
        assert reopened.db.execute("SELECT COUNT(*) FROM records").fetchone()[0] == total
        runs = dict(reopened.db.execute("SELECT run_dir, finish_reason FROM runs").fetchall())
        # Each run folder is the view of what the state took for that run, line for line.
        for run_id, folder in reopened.db.execute("SELECT run_id, run_dir FROM runs").fetchall():
            stored = [record.data for batch in reopened.iter_records(run_id=run_id) for record in batch]
            assert sorted(stored) == sorted((Path(folder) / "records.jsonl").read_text(encoding="utf-8").splitlines())
    assert runs == {str((tmp_path / "killed").resolve()): "killed", str((tmp_path / "rerun").resolve()): "finished"}


def test_pause_and_resume_a_job(tmp_path: Path) -> None:
    total = 40
    site = Mirror(today_articles(total), article_delay=0.15)
    job = tmp_path / "job"
    state = tmp_path / "state.sqlite"
    command = [*crawl_command(site, tmp_path / "run", state, "-s", "LOOPBACK_CONCURRENCY=2"), "--job", str(job)]
    command.remove("--out")
    command.remove(str(tmp_path / "run"))
    command += ["--out", str(tmp_path / "run")]
    try:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _wait_for_lines(tmp_path / "run" / "records.jsonl", 8, process)
        process.send_signal(signal.SIGINT)  # Ctrl-C: Scrapy finishes what is in flight and keeps the queue
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 130 and "run the same command to resume" in stderr, stderr  # paused
        paused = read_lines(tmp_path / "run" / "records.jsonl")
        assert 8 <= len(paused) < total
        assert (
            json.loads((tmp_path / "run" / "manifest.json").read_text(encoding="utf-8"))["finish_reason"] == "shutdown"
        )
        fetched_before = len(site.article_fetches())

        resumed = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        assert resumed.returncode == 0, resumed.stderr
    finally:
        site.close()
    records = read_lines(tmp_path / "run" / "records.jsonl")  # the same run folder, appended to
    assert len(records) == len({r["id"] for r in records}) == total
    assert records[: len(paused)] == paused
    # The resumed part fetched only what the paused part had not.
    assert len(site.article_fetches()) - fetched_before <= total - len(paused)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["finish_reason"] == "finished" and manifest["records_written"] == total
    log = (tmp_path / "run" / "crawl.log").read_text(encoding="utf-8")
    assert "Spider closed (shutdown)" in log and log.count("Spider opened") == 2  # both parts, one log


def test_a_sitemap_date_reopens_an_article_seen_earlier_in_the_run(tmp_path: Path) -> None:
    """Feeds and listings carry no date: an article they show is skipped as known; when the sitemap
    (which may arrive later) says it changed since our last fetch, it is re-checked all the same."""
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import MemoryStatsCollector

    from crawler.spiders.portal import PortalSpider
    from crawler.state import crawl_key

    base = "http://127.0.0.1:8123"
    url = f"{base}{article_path(generated_articles(1)[0])}"
    crawler = Crawler(PortalSpider, {"STATE_PATH": str(tmp_path / "state.sqlite")})
    crawler.stats = MemoryStatsCollector(crawler)
    spider = PortalSpider.from_crawler(crawler, url=f"{base}/")
    spider.crawl_state.store_record(
        {"id": "a", "url": url, "content_hash": "0" * 64, "published_at": "2020-01-01T08:00:00+07:00"},
        portal=spider.state_portal,
        page_key=crawl_key(url),
        run_id="earlier",
        headers={"etag": '"v1"'},
    )
    frontier = spider.frontier
    assert frontier.decide(url, "article", nav_depth=0).status == "known"  # from a feed
    later = (datetime.now().astimezone() + timedelta(hours=1)).isoformat()
    decision = frontier.decide(url, "article", nav_depth=0, changed_at=later)  # the sitemap
    assert decision.status == "recheck" and decision.fetch
    request = spider.request_for(decision)
    assert request.headers.get("If-None-Match") == b'"v1"'
    assert not frontier.decide(url, "article", nav_depth=0, changed_at=later).fetch  # once per run
    spider.crawl_state.close()


def test_an_endless_listing_of_the_same_articles_stops_after_a_few_pages(tmp_path: Path) -> None:
    """A calendar-like pager repeating one article, linked under another category than the sitemap
    gives: once the article is fetched, paging stops after STALE_LISTING_PAGES pages (3) without a
    new one, although the state now knows the article."""
    articles = today_articles(2)
    routes = build_routes(articles)
    other_category = listing_page("thong-bao", 1, [articles[0]])  # its second category's URL
    assert article_path(articles[0], "thong-bao") in other_category
    link = article_path(articles[0], "thong-bao")
    for page in range(1, 60):
        more = f'<li><a href="/lich?trang={page + 1}">Sau</a></li></ul></div></div>'
        # Each page's link carries its own tracking parameter: a new URL string for the same article.
        html = other_category.replace(f'href="{link}"', f'href="{link}?zarsrc={page}"')
        routes[f"/lich?trang={page}"] = Route(200, html.replace("</ul></div></div>", more).encode())
    site = Mirror(articles)
    site.routes.clear()
    site.routes.update(routes)
    try:
        records, manifest = crawl(site, tmp_path / "run", tmp_path / "state.sqlite", start="/lich?trang=1")
        calendar = [p for p in site.served if p.startswith("/lich")]
    finally:
        site.close()
    assert len(records) == 2  # both articles (the sitemap lists them), each once
    assert 2 <= len(calendar) <= 6
    assert manifest["links_not_followed"]["guard_pagination_without_new_articles"] >= 1


def test_a_rerun_skips_dead_pages_until_their_back_off_has_passed(tmp_path: Path) -> None:
    """A quarter of the linked URLs are dead (404, 410, a document, no article): a re-run with
    nothing changed fetches none of them and writes nothing; --full fetches them; once the back-off
    has passed they are fetched again, and each new death waits longer."""
    site = Mirror(today_articles(60))
    dead = add_dead_links(site.routes, 20)
    state = tmp_path / "state.sqlite"

    def dead_fetched() -> list[str]:
        return [path for path in site.served if path in dead]

    try:
        first, manifest = crawl(site, tmp_path / "run1", state)
        assert len(first) == 60 and sorted(dead_fetched()) == sorted(dead)
        rejects = {urlsplit(r["url"]).path: r["reason"] for r in read_lines(tmp_path / "run1" / "rejects.jsonl")}
        assert {path: reason for path, reason in rejects.items() if path in dead} == dead
        assert manifest["incremental"]["dead_pages_remembered"] >= 20

        site.served.clear()
        second, manifest = crawl(site, tmp_path / "run2", state)
        assert second == [] and dead_fetched() == []
        assert manifest["incremental"]["mode"] == "incremental"
        assert manifest["incremental"]["dead_pages_not_fetched"] >= 20
        assert manifest["links_not_followed"]["dead_backoff"] >= 20

        site.served.clear()
        crawl(site, tmp_path / "full", state, "--full")
        assert sorted(dead_fetched()) == sorted(dead)

        # The back-off has passed (the state's clock moved back a month).
        with CrawlState(state) as moved:
            moved.db.execute("UPDATE dead_pages SET retry_at = '2000-01-01T00:00:00+07:00'")
        site.served.clear()
        fourth, manifest = crawl(site, tmp_path / "run4", state)
        assert fourth == [] and sorted(dead_fetched()) == sorted(dead)
    finally:
        site.close()
    with CrawlState(state) as reopened:
        rows = reopened.db.execute("SELECT url, deaths, last_dead, retry_at FROM dead_pages").fetchall()
    waits = {
        urlsplit(url).path: (deaths, datetime.fromisoformat(retry) - datetime.fromisoformat(last))
        for url, deaths, last, retry in rows
    }
    # Deaths in the first, the --full and the last run: the third waits the third back-off (28 days).
    assert {path: wait for path, wait in waits.items() if path in dead} == dict.fromkeys(dead, (3, timedelta(days=28)))
