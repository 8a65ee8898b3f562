"""The frontier without Scrapy: decisions on new, repeated, known, re-checked, dead and off-site
links; the paging policy in each crawl mode; what a fetch's outcome teaches the state."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from crawler.dates import ICT
from crawler.frontier import (
    NON_HTML_EXTENSIONS,
    Frontier,
    FrontierSettings,
    Outcome,
    PagingPlan,
    crawl_mode,
    plan_paging,
)
from crawler.state import CrawlState

SITE = "http://portal.test"
NOW = datetime(2024, 6, 30, 9, 0, tzinfo=ICT)


def liferay_id(url: str) -> str | None:
    found = re.search(r"/-/view_content/(\d+)-", url)
    return f"liferay:{found.group(1)}" if found else None


def article(n: int, category: str = "tin-tuc") -> str:
    return f"{SITE}/vi/{category}/-/view_content/{n}-bai-{n}.html"


class Clock:
    def __init__(self, moment: datetime = NOW) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def state(tmp_path: Path) -> Iterator[CrawlState]:
    with CrawlState(tmp_path / "state.sqlite") as opened:
        yield opened


def frontier(
    state: CrawlState,
    run_id: str = "run-1",
    stats: Counter[str] | None = None,
    clock: Clock | None = None,
    **settings: object,
) -> Frontier:
    counts = stats if stats is not None else Counter()

    def count(name: str, n: int = 1) -> None:
        counts[name] += n

    def link_kind(url: str) -> str | None:
        if url.startswith("mailto:"):
            return "mailto"
        return None if url.startswith(SITE) else "offsite"

    return Frontier(
        state,
        portal="portal.test",
        scope=run_id,
        run_id=run_id,
        settings=FrontierSettings(**settings),
        link_kind=link_kind,
        article_key=liferay_id,
        count=count,
        clock=clock or Clock(),
    )


def record(state: CrawlState, url: str, run_id: str, published: str, etag: str | None = None) -> None:
    """An earlier run's record of the article at `url`."""
    state.store_record(
        {"id": f"id-{url}", "url": url, "content_hash": url.rjust(64, "0")[-64:], "published_at": published},
        portal="portal.test",
        page_key=liferay_id(url),
        run_id=run_id,
        headers={"etag": etag} if etag else {},
    )


def finished_run(state: CrawlState, run_id: str, reason: str = "finished", bounded: bool = False) -> None:
    state.start_run(run_id, "portal.test", Path("/tmp") / run_id, full=False, bounded=bounded)
    state.finish_run(run_id, reason, {})


def test_the_frontier_imports_no_scrapy() -> None:
    code = "import sys, crawler.frontier; print(any(m.split('.')[0] == 'scrapy' for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_its_non_html_extensions_are_scrapys() -> None:
    from scrapy.linkextractors import IGNORED_EXTENSIONS

    assert {f".{ext}" for ext in IGNORED_EXTENSIONS} == NON_HTML_EXTENSIONS


def test_a_new_article_is_fetched_once_under_its_canonical_url(state: CrawlState) -> None:
    stats: Counter[str] = Counter()
    front = frontier(state, stats=stats)
    first = front.decide(article(1) + "?utm_source=zalo", "page", nav_depth=1)
    assert first.fetch and first.status == "new"
    assert (first.url, first.key, first.role, first.priority) == (article(1), "liferay:1", "article", 20)
    assert not first.validators and not first.recheck
    # The same link again, then the article under another category: repeats, the latter kept as an
    # alternative URL in case the first one gives no record.
    assert front.decide(article(1) + "?utm_source=zalo", "page", nav_depth=1).status == "repeat"
    other = front.decide(article(1, "thong-bao"), "article", nav_depth=1)
    assert other.status == "repeat" and not other.fetch
    assert stats["dedupe/article_urls_skipped"] == 1
    alternative = front.alternative("liferay:1", nav_depth=1)
    assert alternative is not None and alternative.url == article(1, "thong-bao") and alternative.fetch
    assert stats["dedupe/alternative_url_tried"] == 1
    assert front.alternative("liferay:1", nav_depth=1) is None
    listing = front.decide(f"{SITE}/vi/tin-tuc?page=2", "listing", nav_depth=0, listing_page=1)
    assert (listing.status, listing.priority, listing.listing_page) == ("new", 10, 1)


def test_links_off_the_boundary_are_counted_not_followed(state: CrawlState) -> None:
    stats: Counter[str] = Counter()
    front = frontier(state, stats=stats)
    cases = {
        "https://elsewhere.test/a": "offsite",
        "mailto:vanphong@portal.test": "mailto",
        "http://portal.test:abc/x": "bad_url",
        f"{SITE}/files/bieu-mau.docx": "non_html_link",
    }
    for url, reason in cases.items():
        decision = front.decide(url, "page", nav_depth=1)
        assert (decision.status, decision.reason, decision.fetch) == ("skipped", reason, False)
    # Older stat names kept for the reasons that had them; new reasons are plain `schedule/<reason>`.
    assert stats == Counter(
        {
            "schedule/offsite": 1,
            "schedule/mailto": 1,
            "schedule/bad_url": 1,
            "schedule/non_html_link": 1,
        }
    )
    assert front.allows(f"{SITE}/sitemap.xml") and not front.allows("https://elsewhere.test/sitemap.xml")


def test_known_articles_are_skipped_young_ones_rechecked_with_validators(state: CrawlState) -> None:
    record(state, article(1), "run-0", published="2020-01-01T08:00:00+07:00")
    record(state, article(2), "run-0", published=(NOW - timedelta(days=2)).isoformat(), etag='"v1"')
    stats: Counter[str] = Counter()
    front = frontier(state, stats=stats)
    old = front.decide(article(1), "article", nav_depth=1)
    assert old.status == "known" and not old.fetch
    young = front.decide(article(2), "article", nav_depth=1)
    assert young.recheck and young.fetch and young.validators == {"If-None-Match": '"v1"'}
    assert front.decide(article(2, "thong-bao"), "article", nav_depth=1).status == "known"  # once per run
    assert stats["incremental/skipped_seen"] == 1 and stats["incremental/rechecked"] == 1


def test_a_sitemap_date_after_the_last_fetch_rechecks_a_known_article(state: CrawlState) -> None:
    record(state, article(1), "run-0", published="2020-01-01T08:00:00+07:00")
    front = frontier(state)
    assert front.decide(article(1), "article", nav_depth=1).status == "known"  # a listing: no date
    earlier = "2021-01-01T00:00:00+07:00"
    assert front.decide(article(1), "article", nav_depth=1, changed_at=earlier).status == "known"
    later = (datetime.now(ICT) + timedelta(hours=1)).isoformat()
    assert front.decide(article(1), "article", nav_depth=1, changed_at=later).status == "recheck"
    assert front.decide(article(1), "article", nav_depth=1, changed_at=later).status == "known"


def test_full_mode_treats_the_state_as_empty(state: CrawlState) -> None:
    record(state, article(1), "run-0", published="2020-01-01T08:00:00+07:00")
    frontier(state, run_id="run-0").settle("liferay:2", Outcome.dead("http_404"), url=article(2), role="article")
    front = frontier(state, full=True)
    assert front.mode == "full"
    assert front.decide(article(1), "article", nav_depth=1).status == "new"
    assert front.decide(article(2), "article", nav_depth=1).status == "new"


def test_dead_pages_wait_out_a_growing_back_off(state: CrawlState) -> None:
    clock = Clock()
    url = article(9)
    stats: Counter[str] = Counter()
    for run, days_later, expected_wait in ((1, 0, 7), (2, 7, 14), (3, 21, 28), (4, 49, 28)):
        clock.moment = NOW + timedelta(days=days_later)
        front = frontier(state, run_id=f"run-{run}", stats=stats, clock=clock)
        assert front.decide(url, "article", nav_depth=1).status == "new"
        front.settle("liferay:9", Outcome.of_kind("http_404"), url=url, role="article")
        dead = state.dead_page("liferay:9")
        assert dead is not None and dead.deaths == run and dead.reason == "http_404"
        assert datetime.fromisoformat(dead.retry_at) == clock.moment + timedelta(days=expected_wait)
        # Not due yet: the next run does not fetch it, and says why.
        clock.moment += timedelta(days=expected_wait) - timedelta(minutes=1)
        waiting = frontier(state, run_id=f"run-{run}b", stats=stats, clock=clock)
        decision = waiting.decide(url, "article", nav_depth=1)
        assert (decision.status, decision.reason, decision.fetch) == ("dead", "dead_backoff", False)
        assert waiting.decide(url, "article", nav_depth=1).status == "dead"  # the same link again
    assert stats["schedule/dead_backoff"] == 4  # once per run, not per repeated link
    assert stats["frontier/dead_remembered"] == 4


def test_a_dead_page_that_comes_back_as_a_listing_is_forgotten(state: CrawlState) -> None:
    front = frontier(state)
    front.settle("liferay:9", Outcome.dead("http_404"), url=article(9), role="article")
    assert state.dead_page("liferay:9") is not None
    front.settle("liferay:9", Outcome.alive(), url=article(9), role="article")
    assert state.dead_page("liferay:9") is None


def test_a_dead_page_that_gives_a_record_is_forgotten(state: CrawlState) -> None:
    clock = Clock()
    frontier(state, run_id="run-1", clock=clock).settle(
        "liferay:9", Outcome.dead("no_article"), url=article(9), role="article"
    )
    clock.moment += timedelta(days=8)
    front = frontier(state, run_id="run-2", clock=clock)
    assert front.decide(article(9), "article", nav_depth=1).fetch
    front.settle("liferay:9", Outcome.record(), url=article(9), role="article")
    assert state.dead_page("liferay:9") is None


def test_a_sitemap_date_after_the_death_reopens_a_dead_page(state: CrawlState) -> None:
    frontier(state, run_id="run-1").settle("liferay:9", Outcome.dead("http_410"), url=article(9), role="article")
    front = frontier(state, run_id="run-2", clock=Clock(NOW + timedelta(days=1)))
    assert front.decide(article(9), "article", nav_depth=1, changed_at="2024-06-29").status == "dead"
    reopened = front.decide(article(9), "article", nav_depth=1, changed_at=(NOW + timedelta(hours=2)).isoformat())
    assert reopened.status == "new" and reopened.fetch
    assert front.decide(article(9, "thong-bao"), "article", nav_depth=1, changed_at=NOW.isoformat()).status == "repeat"
    # Dated by the first sitemap entry already: fetched once however many sitemaps list it.
    other_run = frontier(state, run_id="run-3", clock=Clock(NOW + timedelta(days=1)))
    changed = (NOW + timedelta(hours=1)).isoformat()
    assert other_run.decide(article(9), "article", nav_depth=1, changed_at=changed).fetch
    assert not other_run.decide(article(9, "thong-bao"), "article", nav_depth=1, changed_at=changed).fetch


def test_a_death_in_this_run_does_not_block_another_url_of_the_article(state: CrawlState) -> None:
    stats: Counter[str] = Counter()
    front = frontier(state, stats=stats)
    assert front.decide(article(9), "article", nav_depth=1).fetch
    front.settle("liferay:9", Outcome.dead("http_404"), url=article(9), role="article")
    assert front.alternative("liferay:9", nav_depth=1) is None  # nothing else known: released
    second = front.decide(article(9, "thong-bao"), "article", nav_depth=1)
    assert second.status == "new" and second.fetch
    front.settle("liferay:9", Outcome.dead("http_404"), url=second.url, role="article")
    dead = state.dead_page("liferay:9")
    assert dead is not None and dead.deaths == 1  # one death per run
    assert stats["frontier/dead_remembered"] == 1


def test_transient_failures_listings_and_start_urls_are_never_dead(state: CrawlState) -> None:
    front = frontier(state)
    for kind in ("timeout", "http_503", "dns", "connection_refused", "parse_error", "refused"):
        outcome = Outcome.of_kind(kind)
        assert outcome.status == "transient"
        front.settle("liferay:9", outcome, url=article(9), role="article")
    front.settle("listing-key", Outcome.dead("no_article"), url=f"{SITE}/vi/tin-tuc", role="listing")
    front.settle("start-key", Outcome.dead("http_404"), url=f"{SITE}/", role="start")
    front.settle(None, Outcome.dead("http_404"), url=f"{SITE}/x", role="page")
    # A menu page without an article may be a hub leading to listings: fetched again next run.
    front.settle("hub-key", Outcome.dead("no_article"), url=f"{SITE}/vi/chuyen-muc", role="page")
    assert state.db.execute("SELECT COUNT(*) FROM dead_pages").fetchone()[0] == 0
    for kind in ("http_404", "http_410", "non_html", "empty", "no_article"):
        assert Outcome.of_kind(kind) == Outcome.dead(kind)


def test_dead_pages_are_reset_with_their_portal(state: CrawlState) -> None:
    finished_run(state, "run-1")
    frontier(state).settle("liferay:9", Outcome.dead("empty"), url=article(9), role="page")
    assert {row["portal"]: row["dead_pages"] for row in state.summary()} == {"portal.test": 1}
    assert state.reset_portal("portal.test")["dead_pages"] == 1
    assert state.dead_page("liferay:9") is None


def test_the_crawl_mode_comes_from_the_state(state: CrawlState) -> None:
    assert crawl_mode(state, "portal.test", full=False) == "first"
    finished_run(state, "run-1", reason="max_items", bounded=True)
    assert crawl_mode(state, "portal.test", full=False) == "catch_up"
    finished_run(state, "run-2")
    assert crawl_mode(state, "portal.test", full=False) == "incremental"
    assert crawl_mode(state, "portal.test", full=True) == "full"
    finished_run(state, "run-3", reason="shutdown")
    assert frontier(state).mode == "catch_up"


def paging(mode: str, seen: dict[str, int], **page: object) -> PagingPlan:
    arguments: dict = {
        "has_entries": True,
        "fresh": True,
        "has_pagination": True,
        "has_postbacks": False,
        "listing_page": 0,
    }
    arguments.update(page)
    return plan_paging(mode, seen, FrontierSettings(), **arguments)


def test_paging_goes_on_while_pages_bring_new_articles() -> None:
    for mode in ("first", "catch_up", "incremental", "full"):
        plan = paging(mode, {"new": 2})
        assert plan.follow and plan.stale_streak == 0 and plan.stat is None
        assert plan.one_at_a_time == (mode == "incremental")


def test_paging_ends_after_stale_pages_in_a_row() -> None:
    assert paging("first", {"repeat": 2}, stale_streak=1) == PagingPlan(True, stale_streak=2)
    ended = paging("first", {"repeat": 2}, stale_streak=2)
    assert ended == PagingPlan(False, stat="guard/pagination_without_new_articles")
    # Postbacks (WebForms pager) alone count as a pager too.
    assert paging("full", {"repeat": 2}, stale_streak=2, has_pagination=False, has_postbacks=True).stat == (
        "guard/pagination_without_new_articles"
    )


def test_empty_pages_down_a_chain_are_stale_the_first_page_is_not() -> None:
    # A calendar's empty days: each adds no article, so the chain ends like any stale one.
    empty_day = {"has_entries": False, "listing_page": 4}
    assert paging("first", {}, stale_streak=1, **empty_day) == PagingPlan(True, stale_streak=2)
    assert paging("first", {}, stale_streak=2, **empty_day).stat == "guard/pagination_without_new_articles"
    # A listing's own first page without entries (its pager alone) is followed.
    assert paging("first", {}, stale_streak=2, has_entries=False) == PagingPlan(True)


def test_a_redirect_landing_is_not_fetched_again(state: CrawlState) -> None:
    front = frontier(state)
    assert front.decide(f"{SITE}/tin/cu", "page", nav_depth=1).status == "new"
    front.arrived(article(7))  # /tin/cu redirected to the article
    assert front.decide(article(7) + "?print=1", "article", nav_depth=1).status == "repeat"
    assert front.decide(article(7, "thong-bao"), "article", nav_depth=1).status == "repeat"


def test_incremental_paging_stops_at_known_or_dead_articles_other_modes_go_on() -> None:
    for seen in ({"known": 2}, {"recheck": 1, "known": 1}, {"dead": 2}):
        assert paging("incremental", seen) == PagingPlan(False, stat="incremental/pagination_stopped")
        for mode in ("first", "catch_up"):
            assert paging(mode, seen) == PagingPlan(True)  # a cut-short run left articles further down
    assert paging("full", {"known": 2}) == PagingPlan(True, stale_streak=1, known_streak=1)
    two_pages = plan_paging(
        "incremental",
        {"known": 2},
        FrontierSettings(incremental_stop_pages=2),
        has_entries=True,
        fresh=True,
        has_pagination=True,
        has_postbacks=False,
        listing_page=3,
    )
    assert two_pages == PagingPlan(True, one_at_a_time=True, stale_streak=1, known_streak=1)


def test_paging_guards_the_listing_page_limit_and_the_since_filter() -> None:
    assert paging("first", {"new": 2}, listing_page=499) == PagingPlan(False, stat="guard/listing_page_limit")
    assert paging("first", {}, fresh=False) == PagingPlan(False, stat="since/pagination_stopped")
    assert paging("first", {}, has_entries=False, has_pagination=False) == PagingPlan(False)


def test_settings_are_read_from_any_scrapy_like_settings() -> None:
    class Settings(dict):
        def getbool(self, name: str, default: bool = False) -> bool:
            return bool(self.get(name, default))

        def getint(self, name: str, default: int = 0) -> int:
            return int(self.get(name, default))

        def getlist(self, name: str, default: list | None = None) -> list:
            value = self.get(name, default)
            return value.split(",") if isinstance(value, str) else list(value)

    read = FrontierSettings.from_settings(Settings(FULL_CRAWL=True, DEAD_PAGE_BACKOFF_DAYS="3,9", RECHECK_DAYS=2))
    assert read.full and read.recheck_days == 2 and read.dead_page_backoff_days == (3, 9)
    assert [read.backoff(n).days for n in (1, 2, 3)] == [3, 9, 9]
    assert FrontierSettings.from_settings(Settings()) == FrontierSettings()
    with pytest.raises(ValueError, match="DEAD_PAGE_BACKOFF_DAYS"):
        FrontierSettings.from_settings(Settings(DEAD_PAGE_BACKOFF_DAYS=""))
