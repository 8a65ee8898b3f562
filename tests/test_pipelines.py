"""The Scrapy pipelines that validate, filter and deduplicate (the cleaning ones wrap crawler.cleaning)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from crawler import pipelines
from crawler.cleaning import clean_record
from crawler.items import ParserInfo, PortalRecord


class FakeStats:
    def __init__(self) -> None:
        self.values: Counter[str] = Counter()

    def inc_value(self, key: str, count: int = 1) -> None:
        self.values[key] += count


def _record(**fields) -> PortalRecord:
    base = {
        "url": "http://127.0.0.1/vi/a/-/view_content/1-a.html",
        "canonical_url": "http://127.0.0.1/vi/a/-/view_content/1-a.html",
        "portal": "127.0.0.1",
        "platform": "liferay",
        "parser": ParserInfo("liferay", "1.0"),
        "title": "Thông báo tuyển dụng",
        "body": "Nội dung thông báo.",
        "published_raw": "02/06/2024 | 4:20 PM",
    }
    base.update(fields)
    return clean_record(PortalRecord(**base))


def test_valid_record_passes() -> None:
    stats = FakeStats()
    record = _record()
    assert pipelines.ValidateRecord(stats).process_item(record) is record
    assert stats.values["validate/ok"] == 1


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"title": ""}, "missing title"),
        ({"body": ""}, "empty body and no attachments"),
        ({"published_raw": "hôm qua"}, "date shown but not understood"),
    ],
)
def test_invalid_record_is_dropped_with_reason(fields: dict, reason: str) -> None:
    stats = FakeStats()
    with pytest.raises(pipelines.InvalidRecord, match=reason):
        pipelines.ValidateRecord(stats).process_item(_record(**fields))
    assert stats.values[f"validate/{reason.replace(' ', '_')}"] == 1


def test_since_drops_older_records_only() -> None:
    stats = FakeStats()
    since = pipelines.FilterSince(date(2024, 6, 1), stats)
    assert since.process_item(_record()) is not None
    with pytest.raises(pipelines.OlderThanSince, match="before since=2024-06-01"):
        since.process_item(_record(published_raw="31/05/2024 | 11:59 PM"))
    assert since.process_item(_record(published_raw=None)) is not None  # undated: kept


def test_step_pipelines_count_in_namespaced_stats() -> None:
    stats = FakeStats()
    record = PortalRecord(
        url="http://127.0.0.1/a",
        canonical_url="http://127.0.0.1/a",
        portal="127.0.0.1",
        platform="generic",
        parser=ParserInfo("generic", "1.0"),
        title="Tiêu đề",
        body="Nội dung.\n\nLoading...\n\n162",
    )
    pipelines.StripBoilerplate(stats).process_item(record)
    assert record.body == "Nội dung."
    assert stats.values["boilerplate/phrase"] == 1
    assert stats.values["boilerplate/counter"] == 1
