"""The state is the source of truth: StoreRecord commits each accepted record (page known, version,
duplicate links, its JSON line) before any output sees it; the run folder is a view of that, and a
killed run's records.jsonl is completed from the state."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector
from twisted.internet.defer import Deferred, succeed

from crawler import pipelines
from crawler.cleaning import clean_record
from crawler.items import ParserInfo, PortalRecord, record_context, record_line
from crawler.state import CrawlState

BODY = (
    "Ủy ban nhân dân tỉnh vừa ban hành kế hoạch triển khai dịch vụ công trực tuyến toàn trình trên địa bàn "
    "trong năm 2024, với mục tiêu đưa tối thiểu tám mươi phần trăm hồ sơ được giải quyết qua môi trường mạng."
)


def article(n: int, body: str = BODY, published: str = "02/06/2024 | 4:20 PM") -> PortalRecord:
    url = f"http://127.0.0.1:8000/tin/{n}"
    record = PortalRecord(
        url=url,
        canonical_url=url,
        portal="127.0.0.1:8000",
        platform="liferay",
        parser=ParserInfo("liferay", "1.0"),
        title=f"Bài số {n}",
        body=f"{body} Số {n}.",
        published_raw=published,
    )
    record = clean_record(record)
    record_context(record).page_key = f"127.0.0.1:8000/tin/{n}"
    return record


class FakeEngine:
    def __init__(self) -> None:
        self.closed: list[str] = []

    def close_spider_async(self, reason: str) -> Deferred[None]:
        self.closed.append(reason)
        return succeed(None)


class Run:
    """TrackRecords then StoreRecord, as the crawl's last two pipelines run them."""

    def __init__(self, state: CrawlState, run_id: str, **settings: Any) -> None:
        self.stats = MemoryStatsCollector(SimpleNamespace(settings=Settings()))
        crawler = SimpleNamespace(
            stats=self.stats,
            settings=Settings(settings),
            engine=FakeEngine(),
            spider=SimpleNamespace(state_portal="p"),
        )
        self.engine = crawler.engine
        self.track = pipelines.TrackRecords(self.stats, state, crawler.settings, run_id)
        self.store = pipelines.StoreRecord(crawler, state, run_id)  # type: ignore[arg-type]
        self.store.open_spider()

    def accept(self, record: PortalRecord) -> PortalRecord:
        return self.store.process_item(self.track.process_item(record))


@pytest.fixture
def state(tmp_path: Path) -> Iterator[CrawlState]:
    opened = CrawlState(tmp_path / "state.sqlite")
    yield opened
    opened.close()


def other_connection(state: CrawlState) -> sqlite3.Connection:
    return sqlite3.connect(state.path)


def test_an_accepted_record_is_committed_with_its_page_and_line_before_anyone_writes_it(state: CrawlState) -> None:
    calls: list[Any] = []
    state.defer_commit = calls.append  # as in a crawl: writes of one reactor turn share a transaction
    record = Run(state, "r1").accept(article(1))
    with other_connection(state) as db:  # another process sees it at once
        assert db.execute("SELECT record_id FROM pages WHERE key = '127.0.0.1:8000/tin/1'").fetchone() == (record.id,)
        line = db.execute("SELECT data FROM record_versions WHERE record_id = ?", (record.id,)).fetchone()[0]
        assert db.execute("SELECT COUNT(*) FROM run_records WHERE run_id = 'r1'").fetchone() == (1,)
    assert line == record_line(json.loads(line))
    assert json.loads(line)["title"] == "Bài số 1"


def test_max_items_stops_storing_so_every_output_gets_the_same_records(state: CrawlState) -> None:
    run = Run(state, "r1", MAX_ITEMS=2)
    run.accept(article(1))
    run.accept(article(2))
    assert run.engine.closed == ["max_items"]
    with pytest.raises(pipelines.OverMaxItems, match="over max_items=2"):
        run.accept(article(3))
    assert state.run_record_count("r1") == 2
    assert state.page("127.0.0.1:8000/tin/3") is None  # the next run fetches it
    assert run.stats.get_value("export/new") == 2 and run.stats.get_value("export/over_max_items") == 1


def test_a_dropped_duplicate_is_remembered_but_in_no_output(state: CrawlState) -> None:
    run = Run(state, "r1", DROP_DUPLICATES=True)
    first = run.accept(article(1))
    copy = article(2)
    copy.body, copy.content_hash = first.body, first.content_hash
    with pytest.raises(pipelines.DroppedDuplicate, match=f"of record {first.id}"):
        run.accept(copy)
    assert state.page("127.0.0.1:8000/tin/2") is not None  # not fetched again
    exported = [json.loads(r.data)["id"] for batch in state.iter_records() for r in batch]
    assert exported == [first.id]


def test_unchanged_records_touch_their_page_in_the_pipeline_that_decides(state: CrawlState) -> None:
    Run(state, "r1").accept(article(1))
    again = article(1)
    record_context(again).validators = {"etag": '"v2"'}
    with pytest.raises(pipelines.UnchangedRecord):
        Run(state, "r2").accept(again)
    page = state.page("127.0.0.1:8000/tin/1")
    assert page is not None and page.etag == '"v2"'


def test_exports_read_current_versions_or_what_one_run_wrote(state: CrawlState) -> None:
    Run(state, "r1").accept(article(1))
    Run(state, "r1").accept(article(2, published="02/06/2023 | 4:20 PM"))
    edited = article(1, body=BODY + " Bản sửa.")
    Run(state, "r2").accept(edited)
    current = [json.loads(r.data) for batch in state.iter_records(batch_size=1) for r in batch]
    assert [(r["title"], r["version"]) for r in current] == [("Bài số 2", 1), ("Bài số 1", 2)]
    first_run = [json.loads(r.data) for batch in state.iter_records(run_id="r1") for r in batch]
    assert sorted((r["title"], r["version"]) for r in first_run) == [("Bài số 1", 1), ("Bài số 2", 1)]
    recent = [json.loads(r.data)["title"] for batch in state.iter_records(since="2024-01-01") for r in batch]
    assert recent == ["Bài số 1"]
    seqs = [r.seq for batch in state.iter_records() for r in batch]
    assert [r.seq for batch in state.iter_records(after_seq=seqs[0]) for r in batch] == seqs[1:]
    assert list(state.iter_records(portal="elsewhere")) == []


def test_a_rewritten_version_takes_a_new_seq_and_its_first_run_keeps_it(state: CrawlState) -> None:
    Run(state, "r1").accept(article(1))
    before = [r.seq for batch in state.iter_records() for r in batch]
    Run(state, "r2", FULL_CRAWL=True).accept(article(1))
    after = [r.seq for batch in state.iter_records() for r in batch]
    assert after[0] > before[0]  # a resumable export sees it again
    assert len([r for batch in state.iter_records(run_id="r1") for r in batch]) == 1


def test_a_killed_run_has_its_file_completed_from_the_state(tmp_path: Path, state: CrawlState) -> None:
    run_dir = tmp_path / "runs" / "r1"
    run_dir.mkdir(parents=True)
    state.start_run("r1", "p", run_dir, full=False, bounded=False)
    run = Run(state, "r1")
    lines = [record_line(dataclasses.asdict(run.accept(article(n)))) for n in (1, 2, 3)]
    # Killed after the state committed three records and the file got one and a half lines.
    (run_dir / "records.jsonl").write_text(lines[0] + "\n" + lines[1][:30], encoding="utf-8")
    state.close()

    reopened = CrawlState(state.path)
    assert reopened.recover_unfinished() == ["r1"]
    assert (run_dir / "records.jsonl").read_text(encoding="utf-8").splitlines() == lines
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["finish_reason"] == "killed" and manifest["lines_completed_from_state"] == 2
    assert reopened.recover_unfinished() == []
    reopened.close()


def test_a_state_made_before_records_were_kept_gains_their_tables(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    CrawlState(path).close()
    with sqlite3.connect(path) as db:  # as the crawler of the previous release left it
        db.execute("DROP TABLE record_versions")
        db.execute("DROP TABLE run_records")
        db.execute("DROP INDEX records_seq")
        db.execute("ALTER TABLE records DROP COLUMN seq")
    with CrawlState(path) as upgraded:
        Run(upgraded, "r1").accept(article(1))
        assert len([r for batch in upgraded.iter_records() for r in batch]) == 1
        assert upgraded.integrity() == "ok"


def test_runs_made_before_records_were_kept_are_adopted_from_their_files(tmp_path: Path, state: CrawlState) -> None:
    run_dir = tmp_path / "old-run"
    run_dir.mkdir()
    state.start_run("old", "p", run_dir, full=False, bounded=False)
    run = Run(state, "old")
    lines = [record_line(dataclasses.asdict(run.accept(article(n)))) for n in (1, 2)]
    (run_dir / "records.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    state.finish_run("old", "finished", {})
    with other_connection(state) as db:  # what a state of the previous release holds of that run
        db.execute("DELETE FROM record_versions")
        db.execute("DELETE FROM run_records")
        db.execute("UPDATE records SET seq = NULL")
        db.execute("DELETE FROM meta WHERE key = 'runs_adopted'")
    assert list(state.iter_records()) == []
    assert state.adopt_run_files() == 2
    assert [r.data for batch in state.iter_records() for r in batch] == lines
    assert state.adopt_run_files() == 0


def exported(state: CrawlState, **selection: Any) -> list[dict[str, Any]]:
    return [json.loads(record.data) for batch in state.iter_records(**selection) for record in batch]


def test_a_resumed_job_already_at_its_limit_closes_at_once(state: CrawlState) -> None:
    Run(state, "job", MAX_ITEMS=2, JOBDIR="/tmp/job").accept(article(1))
    Run(state, "job", MAX_ITEMS=2, JOBDIR="/tmp/job").accept(article(2))
    resumed = Run(state, "job", MAX_ITEMS=2, JOBDIR="/tmp/job")
    for n in (3, 4):
        with pytest.raises(pipelines.OverMaxItems):
            resumed.accept(article(n))
    assert resumed.engine.closed == ["max_items"]  # asked once


def sharing_canonical(n: int, body: str) -> PortalRecord:
    """A page whose rel=canonical names a URL other pages with other text name too."""
    record = article(n, body=body)
    record.platform, record.parser = "generic", ParserInfo("generic", "1.0")
    record.canonical_url = "http://127.0.0.1:8000/tin/chung"
    record = clean_record(record)
    record_context(record).page_key = f"127.0.0.1:8000/tin/{n}"
    return record


def test_a_canonical_shared_with_a_page_of_an_earlier_run_is_no_identity(state: CrawlState) -> None:
    first = Run(state, "r1").accept(sharing_canonical(1, BODY))
    second = Run(state, "r2").accept(sharing_canonical(2, "Một bài hoàn toàn khác về giao thông nông thôn."))
    assert second.id != first.id and second.version == 1
    assert sorted(record["title"] for record in exported(state)) == ["Bài số 1", "Bài số 2"]


def test_an_article_continued_under_a_new_id_is_current_once(state: CrawlState) -> None:
    before = article(1)
    before.canonical_url = "http://127.0.0.1:8000/bai-viet/1"  # the site fixed its canonical since
    before.platform, before.parser = "generic", ParserInfo("generic", "1.0")
    before = clean_record(before)
    record_context(before).page_key = "127.0.0.1:8000/tin/1"
    first = Run(state, "r1").accept(before)
    edited = article(1, body=BODY + " Bản sửa.")
    edited.platform, edited.parser = "generic", ParserInfo("generic", "1.0")
    edited = clean_record(edited)
    record_context(edited).page_key = "127.0.0.1:8000/tin/1"
    second = Run(state, "r2").accept(edited)
    assert second.id != first.id and second.version == 2
    assert [(record["id"], record["version"]) for record in exported(state)] == [(second.id, 2)]


def test_a_site_crawled_by_slug_then_by_url_keeps_one_portal_per_record(state: CrawlState) -> None:
    by_slug = Run(state, "r1")
    by_slug.store.portal = "da-nang"
    by_slug.accept(article(1))
    by_url = Run(state, "r2")
    by_url.store.portal = "127.0.0.1:8000"
    by_url.accept(article(1, body=BODY + " Bản sửa."))
    assert [record["version"] for record in exported(state, portal="da-nang")] == [2]
    state.reset_portal("da-nang")
    assert state.db.execute("SELECT COUNT(*) FROM record_versions").fetchone() == (0,)


def test_a_full_rewrite_leaves_each_run_its_own_lines(state: CrawlState) -> None:
    one = article(1)
    one.fetched_at = "2024-06-01T10:00:00+07:00"
    Run(state, "r1").accept(one)
    again = article(1)
    again.fetched_at = "2024-07-01T10:00:00+07:00"
    Run(state, "r2", FULL_CRAWL=True).accept(again)
    assert [record["fetched_at"] for record in exported(state, run_id="r1")] == ["2024-06-01T10:00:00+07:00"]
    assert [record["fetched_at"] for record in exported(state)] == ["2024-07-01T10:00:00+07:00"]


def test_a_record_whose_new_text_is_a_dropped_duplicate_leaves_the_outputs(state: CrawlState) -> None:
    other = Run(state, "r1").accept(article(2))
    mine = Run(state, "r1").accept(article(1))
    copy = article(1)  # page 1 now republishes page 2's text
    copy.title, copy.body = other.title, other.body
    copy = clean_record(copy)
    record_context(copy).page_key = "127.0.0.1:8000/tin/1"
    with pytest.raises(pipelines.DroppedDuplicate):
        Run(state, "r2", DROP_DUPLICATES=True).accept(copy)
    assert mine.id not in {record["id"] for record in exported(state)}  # never its stale version 1
