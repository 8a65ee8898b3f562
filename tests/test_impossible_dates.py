"""Dates that cannot be: an impossible date keeps the record (no `published_at`, the raw text kept,
rule `impossible`, counted `dates/impossible`); a date further ahead of the fetch than
FUTURE_DATE_TOLERANCE_DAYS is kept but marked (`+future`), so it is not taken as a watermark."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from crawler import cleaning, pipelines
from crawler.dates import ICT, IMPOSSIBLE_RULE, is_future, shows_impossible_date, watermark_date
from crawler.demo.site import generated_articles
from crawler.items import ParserInfo, PortalRecord
from tests.test_incremental import Mirror, crawl
from tests.test_pipelines import FakeStats


def _record(raw: str | None, **fields) -> PortalRecord:
    return PortalRecord(
        url="https://kontum.gov.vn/tin-tuc/a-1",
        canonical_url="https://kontum.gov.vn/tin-tuc/a-1",
        portal="kontum.gov.vn",
        platform="generic",
        parser=ParserInfo("generic", "1.0"),
        title="Tiêu đề bài viết",
        body="Nội dung bài viết.",
        published_raw=raw,
        **fields,
    )


@pytest.mark.parametrize(
    "raw", ["31/02/2025", "Ngày đăng 25/13/2024 | 8:00 AM", "ngày 30 tháng 2 năm 2024", "2024-02-30", "01/01/1800"]
)
def test_impossible_date_keeps_the_record_without_a_date(raw: str) -> None:
    assert shows_impossible_date(raw)
    counts: Counter[str] = Counter()
    record = cleaning.clean_record(_record(raw), counts)
    assert (record.published_at, record.published_raw, record.published_rule) == (None, raw, IMPOSSIBLE_RULE)
    assert counts["dates/impossible"] == 1 and not counts["dates/unparsed"]
    stats = FakeStats()
    assert pipelines.ValidateRecord(stats).process_item(record) is record
    assert stats.values["validate/ok"] == 1


@pytest.mark.parametrize("raw", ["đang cập nhật", "hôm qua", "Lượt xem: 1501"])
def test_text_without_a_date_is_still_not_understood(raw: str) -> None:
    assert not shows_impossible_date(raw)
    counts: Counter[str] = Counter()
    record = cleaning.clean_record(_record(raw), counts)
    assert record.published_rule is None and counts["dates/unparsed"] == 1
    with pytest.raises(pipelines.InvalidRecord, match="date shown but not understood"):
        pipelines.ValidateRecord(FakeStats()).process_item(record)


def test_a_date_ahead_of_the_fetch_is_kept_but_not_a_watermark() -> None:
    fetched = datetime(2025, 3, 10, 9, 0, tzinfo=ICT)
    soon, later = "11/03/2025 | 8:00 AM", "20/03/2025 | 8:00 AM"
    counts: Counter[str] = Counter()
    near = _record(soon, fetched_at=fetched.isoformat())
    cleaning.parse_dates(near, counts)
    assert (near.published_rule, watermark_date(near.published_at, near.published_rule)) == ("dmy", near.published_at)
    ahead = _record(later, fetched_at=fetched.isoformat())
    cleaning.parse_dates(ahead, counts)
    cleaning.parse_dates(ahead, counts)  # marked once
    assert ahead.published_at == "2025-03-20T08:00:00+07:00" and ahead.published_raw == later
    assert ahead.published_rule == "dmy+future" and counts["dates/future"] == 1
    assert watermark_date(ahead.published_at, ahead.published_rule) is None
    # The tolerance is a setting: ten days ahead is trusted with a tolerance of two weeks.
    lenient = _record(later, fetched_at=fetched.isoformat())
    cleaning.parse_dates(lenient, Counter(), future_tolerance_days=14)
    assert lenient.published_rule == "dmy"
    assert is_future("2025-03-13", fetched) and not is_future("2025-03-12", fetched)


@pytest.fixture
def odd_dates() -> Iterator[tuple[Mirror, dict, dict]]:
    articles = generated_articles(6, newest=date.today().isoformat())
    impossible, ahead = articles[1], articles[2]
    impossible["date"] = "31/02/2025 | 8:00 AM"
    future = date.today() + timedelta(days=30)
    ahead["date"] = f"{future.day:02d}/{future.month:02d}/{future.year} | 8:00 AM"
    site = Mirror(articles)
    yield site, impossible, ahead
    site.close()


def test_crawl_keeps_articles_with_impossible_and_future_dates(
    odd_dates: tuple[Mirror, dict, dict], tmp_path: Path
) -> None:
    site, impossible, ahead = odd_dates
    records, manifest = crawl(site, tmp_path / "run", tmp_path / "state.sqlite", "-s", "FUTURE_DATE_TOLERANCE_DAYS=2")
    by_title = {r["title"]: r for r in records}
    assert len(records) == 6
    odd = by_title[impossible["title"]]
    assert (odd["published_at"], odd["published_rule"]) == (None, "impossible")
    assert odd["published_raw"] == impossible["date"]
    early = by_title[ahead["title"]]
    assert early["published_at"] and early["published_rule"].endswith("+future")
    assert manifest["cleaning"]["dates/impossible"] == 1 and manifest["cleaning"]["dates/future"] == 1
    assert "InvalidRecord" not in manifest["rejects_by_reason"]
    # The future date is no watermark of the portal: its newest published date is a real one.
    from crawler.state import CrawlState

    with CrawlState(tmp_path / "state.sqlite") as state:
        newest = state.db.execute("SELECT MAX(newest_published) FROM portals").fetchone()[0]
    assert newest is not None and newest[:10] <= date.today().isoformat(), newest
