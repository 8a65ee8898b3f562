"""One article, one id: the record id is the platform's identity of the article (here Liferay's
article id, scoped by site), whichever category URL the crawl reached it through, across runs and
`--full` re-crawls; no record is ever a duplicate of itself or of another URL of the same article."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, replace
from datetime import date
from pathlib import Path

import pytest

from crawler import pipelines
from crawler.cleaning import clean_record, finalize
from crawler.demo.site import CATEGORIES, generated_articles, listing_path
from crawler.items import ParserInfo, PortalRecord, record_id
from crawler.platforms import article_key
from crawler.state import CrawlState, crawl_key
from crawler.urls import url_key
from tests.test_incremental import Mirror, crawl
from tests.test_state import NOTICE, OTHER, Run, article

ARTICLES = 12


class CrawlRun(Run):
    """A run exporting like the spider's: each page is remembered under its crawl key."""

    def page_key(self, record: PortalRecord) -> str | None:
        return crawl_key(record.url, record.platform)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[CrawlState]:
    opened = CrawlState(tmp_path / "crawler.sqlite")
    yield opened
    opened.close()


@pytest.fixture
def everywhere() -> Iterator[Mirror]:
    """A portal whose every article is listed under both categories, so under two URLs."""
    articles = generated_articles(ARTICLES, newest=date.today().isoformat())
    for item in articles:
        item["also_in"] = [c for c in CATEGORIES if c != item["category"]]
    site = Mirror(articles)
    yield site
    site.close()


def test_full_recrawl_through_other_categories_keeps_one_id_per_article(everywhere: Mirror, tmp_path: Path) -> None:
    state_file = tmp_path / "state.sqlite"
    first_category, second_category = list(CATEGORIES)
    first, _ = crawl(everywhere, tmp_path / "run1", state_file, start=listing_path(first_category, 1))
    again, manifest = crawl(everywhere, tmp_path / "run2", state_file, "--full", start=listing_path(second_category, 1))
    assert len(first) == len({r["id"] for r in first}) == ARTICLES
    assert len(again) == len({r["id"] for r in again}) == ARTICLES
    # The re-crawl reached articles under other URLs, and still gave each its first id.
    assert {r["url"] for r in first} != {r["url"] for r in again}
    assert {r["id"]: r["title"] for r in first} == {r["id"]: r["title"] for r in again}
    assert all(r["dup_of"] is None for r in first + again)
    assert all(r["version"] == 1 for r in again)
    assert manifest["records"]["unchanged_rewritten"] == ARTICLES


def test_id_comes_from_the_platform_identity_scoped_by_site() -> None:
    def finalized(url: str, platform: str = "liferay", canonical: str | None = None) -> PortalRecord:
        record = PortalRecord(
            url=url,
            canonical_url=canonical or url,
            portal="demo",
            platform=platform,
            parser=ParserInfo(platform, "1"),
            title="Tiêu đề",
            body="Nội dung bài viết.",
        )
        finalize(record, Counter())
        return record

    news = finalized("https://a.gov.vn/vi/tin-tuc/-/view_content/4898-bai-viet.html")
    notice = finalized("https://a.gov.vn/vi/thong-bao/-/view_content/4898-bai-viet.html?utm_source=zalo")
    other_site = finalized("https://b.gov.vn/vi/tin-tuc/-/view_content/4898-bai-viet.html")
    assert news.id == notice.id == record_id(news.url, article_key(news.url, "liferay"))
    assert other_site.id != news.id
    # No platform identity: the URL's, as before (existing states keep matching).
    plain = finalized("https://a.gov.vn/tin/bai-viet-dai.html", platform="generic")
    assert plain.id == record_id(plain.url) == record_id(plain.url, None)
    # A canonical naming the site root or the category above the article is no identity.
    for shared in ("https://a.gov.vn/", "https://a.gov.vn/tin"):
        record = finalized("https://a.gov.vn/tin/bai-viet-dai.html", platform="generic", canonical=shared)
        assert record.id == plain.id and url_key(record.canonical_url) == url_key(plain.url)


def test_a_record_known_under_its_former_url_id_goes_on_under_the_platform_id(state: CrawlState) -> None:
    """A state written when ids came from URLs: the article is the same one, not new, and never its
    own duplicate."""
    path = "/vi/tin-tuc/-/view_content/4898-trien-khai.html"
    current = article(path, NOTICE)
    former = replace(current, id=record_id(current.url))
    assert former.id != current.id
    data = asdict(former)
    page_key = crawl_key(current.url, "liferay")
    state.store_record(data, portal="p", page_key=page_key, run_id="r0", headers={})

    with pytest.raises(pipelines.UnchangedRecord):
        Run(state, "r1").process(article(path, NOTICE))
    rewritten = Run(state, "r2", FULL_CRAWL=True).export(article(path, NOTICE))
    assert (rewritten.id, rewritten.version, rewritten.dup_of) == (current.id, 1, None)
    edited = Run(state, "r3").export(article(path, [*NOTICE, "Đính chính số liệu."]))
    assert (edited.version, edited.dup_of) == (2, None)


def test_full_recrawl_never_makes_the_original_a_duplicate_of_its_copy(state: CrawlState) -> None:
    first = Run(state, "r1")
    original = first.export(article("/a", NOTICE))
    copy = first.export(article("/copy", NOTICE))
    assert copy.dup_of == original.id

    again = Run(state, "r2", FULL_CRAWL=True)
    copy_again = again.process(article("/copy", NOTICE))  # held, not yet written, when the original comes
    original_again = again.process(article("/a", NOTICE))
    assert (copy_again.dup_of, original_again.dup_of) == (original.id, None)


def test_a_canonical_shared_by_pages_of_other_text_is_no_identity(state: CrawlState) -> None:
    """Every page naming one canonical ("/gioi-thieu") that no URL rule recognises as shared: the
    second page of other text in the run shows it, and that page is keyed by its own URL."""
    run = CrawlRun(state, "r1")
    base = "http://127.0.0.1:8000"

    def page(url: str, body: list[str]) -> PortalRecord:
        record = PortalRecord(
            url=url,
            canonical_url=base + "/gioi-thieu",
            portal="127.0.0.1:8000",
            platform="generic",
            parser=ParserInfo("generic", "1"),
            title="Tiêu đề",
            body="\n\n".join(body),
        )
        return clean_record(record)

    pages = [
        run.export(page(base + path, body))
        for path, body in (("/tin/bai-mot.html", NOTICE), ("/tin/bai-hai.html", OTHER))
    ]
    assert len({p.id for p in pages}) == 2
    assert pages[1].id == record_id(pages[1].url) and pages[1].canonical_url == pages[1].url
    assert run.stats.values["ids/shared_canonical_seen"] == 1
    # Next run, the second page alone: the state holds the canonical's id for the first page and
    # knows this page under its own, so it stays that page's, unchanged (not a version of the first).
    with pytest.raises(pipelines.UnchangedRecord):
        CrawlRun(state, "r2").process(page(base + "/tin/bai-hai.html", OTHER))
    again = CrawlRun(state, "r3", FULL_CRAWL=True).export(page(base + "/tin/bai-hai.html", OTHER))
    assert (again.id, again.version, again.dup_of) == (pages[1].id, 1, None)


def test_a_joomla_category_is_not_the_article_of_the_same_number() -> None:
    article_url = "https://a.gov.vn/index.php?option=com_content&view=article&id=12:bai-viet&catid=5"
    legacy_url = "https://a.gov.vn/index.php?option=com_content&task=view&id=12"
    assert article_key(article_url, "joomla") == article_key(legacy_url, "joomla") == "a.gov.vn:joomla:12"
    assert article_key("https://a.gov.vn/index.php?option=com_content&view=category&id=12", "joomla") is None
    assert article_key("https://a.gov.vn/index.php?option=com_content&task=category&id=12", "joomla") is None
