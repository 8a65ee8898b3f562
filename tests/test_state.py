"""The persistent state (crawler.state) and the TrackRecords pipeline that places records against it:
versions across runs, exact and near duplicates across portals, crash recovery, reset."""

from __future__ import annotations

import os
import socket
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path

import pytest
from scrapy.settings import Settings

from crawler import pipelines
from crawler.cleaning import clean_record
from crawler.items import Document, ParserInfo, PortalRecord, record_context, record_line
from crawler.similarity import fingerprint
from crawler.state import CrawlState, _process_holder, _utc_iso, cut_partial_line

# Invented, long enough for near-duplicate comparison (MIN_WORDS); each sentence differs.
NOTICE = [
    "Ủy ban nhân dân tỉnh vừa ban hành kế hoạch triển khai dịch vụ công trực tuyến toàn trình trên địa bàn "
    "trong năm 2024, với mục tiêu đưa tối thiểu tám mươi phần trăm hồ sơ thủ tục hành chính được tiếp nhận "
    "và giải quyết qua môi trường mạng.",
    "Theo kế hoạch, các sở, ban, ngành và ủy ban nhân dân cấp huyện rà soát toàn bộ quy trình nội bộ, cắt giảm "
    "giấy tờ không cần thiết, kết nối cơ sở dữ liệu quốc gia về dân cư để người dân không phải khai báo lại "
    "thông tin đã có.",
    "Sở Thông tin và Truyền thông được giao chủ trì hướng dẫn kỹ thuật, bảo đảm an toàn thông tin cho hệ thống, "
    "đồng thời tổ chức tập huấn cho cán bộ một cửa tại các xã, phường, thị trấn trước ngày 30 tháng 6.",
    "Kết quả thực hiện được đánh giá hằng quý và công khai trên cổng thông tin điện tử của tỉnh để người dân, "
    "doanh nghiệp theo dõi, góp ý.",
]
OTHER = [
    "Hội nghị sơ kết công tác thông tin đối ngoại sáu tháng đầu năm đã đánh giá những kết quả nổi bật trong "
    "việc quảng bá hình ảnh địa phương tới bạn bè quốc tế, thu hút đầu tư và phát triển du lịch bền vững.",
    "Đại biểu các cơ quan báo chí kiến nghị tăng cường cung cấp thông tin chính thống, xây dựng kho ảnh tư liệu "
    "dùng chung và đẩy mạnh sản xuất nội dung số bằng nhiều ngôn ngữ để tiếp cận cộng đồng người Việt ở nước ngoài.",
    "Phát biểu kết luận, lãnh đạo Sở đề nghị các đơn vị chủ động phối hợp, chuẩn bị tốt các sự kiện đối ngoại "
    "cuối năm và báo cáo kết quả trước ngày 15 tháng 12.",
]


class FakeStats:
    def __init__(self) -> None:
        self.values: Counter[str] = Counter()

    def inc_value(self, key: str, count: int = 1) -> None:
        self.values[key] += count


def article(path: str, body: list[str], title: str = "Triển khai dịch vụ công trực tuyến", **fields) -> PortalRecord:
    url = f"http://127.0.0.1:8000{path}"
    record = PortalRecord(
        url=url,
        canonical_url=url,
        portal="127.0.0.1:8000",
        platform="liferay",
        parser=ParserInfo("liferay", "1.0"),
        title=title,
        body="\n\n".join(body),
        published_raw="02/06/2024 | 4:20 PM",
        **fields,
    )
    return clean_record(record)


class Run:
    """One run's TrackRecords pipeline, storing what it passes as StoreRecord does."""

    def __init__(self, state: CrawlState, run_id: str, **settings) -> None:
        self.state, self.run_id, self.stats = state, run_id, FakeStats()
        self.pipeline = pipelines.TrackRecords(self.stats, state, Settings(settings), run_id)
        self.written: list[PortalRecord] = []

    def process(self, record: PortalRecord) -> PortalRecord:
        return self.pipeline.process_item(record)

    def page_key(self, record: PortalRecord) -> str | None:
        """The key its page is stored under (None: the state picks one from the record)."""
        return None

    def export(self, record: PortalRecord) -> PortalRecord:
        self.process(record)
        self.state.store_record(
            asdict(record),
            portal="p",
            page_key=self.page_key(record),
            run_id=self.run_id,
            headers={},
            fingerprint=record_context(record).fingerprint,
        )
        self.written.append(record)
        return record


@pytest.fixture
def state(tmp_path: Path) -> Iterator[CrawlState]:
    opened = CrawlState(tmp_path / "state" / "crawler.sqlite")
    yield opened
    opened.close()


def test_new_records_are_version_one_and_not_duplicates(state: CrawlState) -> None:
    run = Run(state, "r1")
    first = run.export(article("/a", NOTICE))
    second = run.export(article("/b", OTHER, title="Hội nghị sơ kết"))
    assert (first.version, first.dup_of, second.dup_of) == (1, None, None)
    assert run.stats.values["state/new"] == 2


def test_same_canonical_url_twice_in_one_run_is_dropped(state: CrawlState) -> None:
    run = Run(state, "r1")
    record = article("/a", NOTICE)
    run.export(record)  # stored before anything else is placed
    with pytest.raises(pipelines.DuplicateRecord, match="already exported in this run"):
        run.process(replace(record))
    # Spellings of one page are one record id: http/https, www., trailing slash, tracking parameters.
    assert article("/a/?utm_source=zalo", NOTICE).id == record.id


def test_exact_duplicate_on_another_url_is_kept_and_flagged(state: CrawlState) -> None:
    run = Run(state, "r1")
    first = run.export(article("/a", NOTICE))
    # Another portal republishes it: other case, other tone placement ("hoà"/"hòa"), other spacing.
    republished = [p.replace("Ủy ban", "Uỷ ban").upper() for p in NOTICE]
    copy = run.export(article("/other-portal/x", republished, title="TRIỂN KHAI DỊCH VỤ CÔNG TRỰC TUYẾN"))
    assert copy.content_hash == first.content_hash
    assert (copy.dup_of, copy.dup_kind, copy.dup_similarity) == (first.id, "exact", 1.0)
    assert run.stats.values["dedupe/exact"] == 1


def test_near_duplicate_is_flagged_with_its_similarity(state: CrawlState) -> None:
    Run(state, "r1").export(article("/a", NOTICE))
    later = Run(state, "r2")  # another run, another portal: the state remembers
    edited = [*NOTICE[:3], "Nguồn: Cổng thông tin điện tử tỉnh"]  # last sentence replaced, source added
    near = later.export(article("/newspaper/y", edited, title="Tỉnh đẩy mạnh dịch vụ công trực tuyến"))
    assert near.dup_kind == "near"
    assert 0.8 <= near.dup_similarity <= 1.0  # most of the shorter text is in the other
    unrelated = later.export(article("/c", OTHER, title="Hội nghị sơ kết"))
    assert unrelated.dup_of is None


def test_documents_with_different_numbers_are_never_near_duplicates(state: CrawlState) -> None:
    run = Run(state, "r1")
    run.export(article("/qd-1", NOTICE, document=Document(number="12/2024/QĐ-UBND")))
    same_template = [*NOTICE[:3], "Quyết định này có hiệu lực từ ngày ký."]
    other = run.export(article("/qd-2", same_template, document=Document(number="13/2024/QĐ-UBND")))
    assert other.dup_of is None


def test_short_texts_are_compared_exactly_only() -> None:
    assert fingerprint("Thông báo lịch tiếp công dân tháng 6.") is None
    assert fingerprint(" ".join(NOTICE)) is not None


def test_unchanged_article_is_not_written_again_and_an_edit_is_a_new_version(state: CrawlState) -> None:
    first = Run(state, "r1").export(article("/a", NOTICE))
    second_run = Run(state, "r2")
    with pytest.raises(pipelines.UnchangedRecord, match="unchanged since version 1"):
        second_run.process(article("/a", NOTICE))
    edited = second_run.export(article("/a", [*NOTICE, "Cập nhật: bổ sung danh sách thủ tục."]))
    assert (edited.id, edited.version, edited.dup_of) == (first.id, 2, None)  # not a duplicate of itself
    assert edited.updated_at == edited.fetched_at
    assert second_run.stats.values["state/updated"] == second_run.stats.values["state/unchanged"] == 1


def test_full_crawl_rewrites_unchanged_records_with_their_version(state: CrawlState) -> None:
    Run(state, "r1").export(article("/a", NOTICE))
    again = Run(state, "r2", FULL_CRAWL=True).export(article("/a", NOTICE))
    assert (again.version, again.dup_of) == (1, None)


def test_frontier_schedules_once_and_keeps_alternatives(state: CrawlState) -> None:
    assert state.claim("run", "k", "http://h/a")
    assert not state.claim("run", "k", "http://h/b")
    state.add_alternative("run", "k", "http://h/b", limit=4)
    assert state.next_alternative("run", "k") == "http://h/b"
    assert state.next_alternative("run", "k") is None  # nothing left: released …
    assert state.claim("run", "k", "http://h/c")  # … so a later URL of it is scheduled
    assert state.claim("other-run", "k")  # frontiers are per run (or per job)


def test_a_killed_run_of_an_older_crawler_is_reconciled_from_its_output(tmp_path: Path, state: CrawlState) -> None:
    run_dir = tmp_path / "runs" / "r1"
    run_dir.mkdir(parents=True)
    state.start_run("r1", "p", run_dir, full=False, bounded=False)
    written = Run(state, "r1")
    record = written.process(article("/a", NOTICE))
    line = record_line(asdict(record))
    # An older crawler wrote the line first: killed after the line was flushed but before the state
    # committed, in the middle of the next line.
    (run_dir / "records.jsonl").write_text(line + "\n" + line[:40], encoding="utf-8")
    state.close()

    reopened = CrawlState(state.path)
    assert reopened.recover_unfinished() == ["r1"]
    assert (run_dir / "records.jsonl").read_text(encoding="utf-8") == line + "\n"
    known = reopened.record(record.id)
    assert known is not None and known.content_hash == record.content_hash
    assert reopened.page("127.0.0.1:8000/a") is not None
    assert reopened.integrity() == "ok"
    assert reopened.recover_unfinished() == []  # once
    reopened.close()


def test_cut_partial_line(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": ')
    assert cut_partial_line(path)
    assert path.read_bytes() == b'{"a": 1}\n'
    assert not cut_partial_line(path)


def test_reset_forgets_one_portal_only(state: CrawlState) -> None:
    run = Run(state, "r1")
    run.export(article("/a", NOTICE))
    state.store_record(
        {"id": "other", "url": "http://x/1", "content_hash": "0" * 64, "portal": "q"},
        portal="q",
        page_key="x/1",
        run_id="r1",
        headers={},
    )
    summary = {row["portal"]: row for row in state.summary()}
    assert summary["p"]["records"] == 1 and summary["q"]["records"] == 1
    assert summary["p"]["newest_published"] == "2024-06-02T16:20:00+07:00"
    removed = state.reset_portal("p")
    assert removed["records"] == 1
    assert [row["portal"] for row in state.summary()] == ["q"]
    assert state.db.execute("SELECT COUNT(*) FROM bands").fetchone()[0] == 0
    # Forgotten text is new again.
    assert Run(state, "r2").export(article("/a", NOTICE)).version == 1


def test_a_file_that_is_not_a_state_is_refused(tmp_path: Path) -> None:
    from crawler.state import StateError

    bogus = tmp_path / "notes.txt"
    bogus.write_text("not sqlite " * 200, encoding="utf-8")
    with pytest.raises(StateError, match="pass another --state PATH"):
        CrawlState(bogus)


def _real_articles() -> list[PortalRecord]:
    """Every real article page in ../shared/realpages, parsed and cleaned as a crawl would."""
    from crawler.decoding import decode_html
    from crawler.platforms import parse_page

    from .conftest import need_shared, realpage_urls

    records = []
    for local, url in sorted(realpage_urls().items()):
        if not local.endswith(".html"):
            continue
        html = decode_html(need_shared("realpages", local).read_bytes(), None)[0]
        page = parse_page(html, url if " " not in url else "https://example.gov.vn/", None)
        if page.record is not None:
            records.append(clean_record(page.record))
    return records


def test_planted_near_duplicates_among_real_pages_are_flagged_and_nothing_else(state: CrawlState) -> None:
    real = _real_articles()
    long_enough = [r for r in real if fingerprint(r.body) is not None]
    assert len(long_enough) >= 5
    run = Run(state, "r1")
    for record in real:
        assert run.export(record).dup_of is None, record.url  # real, distinct articles: nothing flagged

    planted = []
    for n, original in enumerate(long_enough[:3]):
        paragraphs = original.body.split("\n\n")
        # A department or newspaper republishes it: its own headline, the lead paragraph cut or
        # a source line added, under its own URL.
        body = paragraphs[1:] if len(paragraphs) > 3 else paragraphs
        copy = replace(
            original,
            url=f"https://baotinh.example.vn/thoi-su/dang-lai-{n}.html",
            canonical_url="",
            title=f"Đăng lại: {original.title}",
            body="\n\n".join([*body, "Nguồn: Cổng thông tin điện tử Sở"]),
            content_hash="",
        )
        planted.append((original, run.export(clean_record(copy))))
    for original, copy in planted:
        assert copy.dup_of == original.id and copy.dup_kind == "near", copy.url
    assert run.stats.values["dedupe/near"] == 3 and run.stats.values["dedupe/exact"] == 0


def test_a_run_still_going_in_another_process_is_not_recovered(tmp_path: Path, state: CrawlState) -> None:
    import subprocess
    import sys

    run_dir = tmp_path / "runs" / "live"
    run_dir.mkdir(parents=True)
    (run_dir / "records.jsonl").write_text('{"id": "x", "url": "http://h/a", "content', encoding="utf-8")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        # Registered by that process (this machine, this PID namespace), its lease good for an hour.
        state.db.execute(
            "INSERT INTO runs (run_id, portal, run_dir, host, pid, started_at, lease_until, holder) "
            "VALUES ('live', 'p', ?, ?, ?, '2026-01-01', ?, ?)",
            (str(run_dir), socket.gethostname(), other.pid, _utc_iso(3600), _process_holder()),
        )
        # Another crawl sharing the state file starts: the live run's half-written line is not touched.
        with CrawlState(state.path) as another:
            assert another.recover_unfinished() == []
        assert (run_dir / "records.jsonl").read_text(encoding="utf-8").endswith('"content')
        other.kill()
        os.waitid(os.P_PID, other.pid, os.WEXITED | os.WNOWAIT)  # dead, not reaped
        # Killed but not reaped yet (a zombie): dead all the same, its lease not yet expired.
        with CrawlState(state.path) as another:
            assert another.recover_unfinished() == ["live"]
    finally:
        other.kill()
        other.wait()
    assert (run_dir / "records.jsonl").read_text(encoding="utf-8") == ""


def _snapshot(path: Path) -> tuple[bytes, str, list[str]]:
    import sqlite3

    db = sqlite3.connect(path)
    try:
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
        tables = sorted(name for (name,) in db.execute("SELECT name FROM sqlite_master"))
    finally:
        db.close()
    return path.read_bytes(), mode, tables


def test_a_database_of_another_application_is_refused_untouched(tmp_path: Path) -> None:
    import sqlite3

    from crawler.state import StateError

    other = tmp_path / "app.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    db.execute("INSERT INTO invoices (total) VALUES (12.5)")
    db.commit()
    db.close()
    before = _snapshot(other)
    with pytest.raises(StateError, match="another application") as refused:
        CrawlState(other)
    assert "\n" not in str(refused.value) and "pass another --state PATH" in str(refused.value)
    assert _snapshot(other) == before and before[1] == "delete"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]  # no -wal, no -shm left


def test_empty_files_become_states(tmp_path: Path) -> None:
    import sqlite3

    (tmp_path / "zero.sqlite").touch()
    sqlite3.connect(tmp_path / "empty.sqlite").execute("PRAGMA user_version = 0").connection.close()
    for name in ("zero.sqlite", "empty.sqlite"):
        with CrawlState(tmp_path / name) as state:
            assert state.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("1",)


def test_a_schema_that_differs_from_its_version_is_refused(tmp_path: Path) -> None:
    import sqlite3

    from crawler.state import StateError

    path = tmp_path / "state.sqlite"
    CrawlState(path).close()
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE records DROP COLUMN content_hash")
    db.commit()
    db.close()
    with pytest.raises(StateError, match=r"schema version 1 claimed but records\.content_hash missing"):
        CrawlState(path)
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StateError, match="schema version 7, this crawler uses 1"):
        CrawlState(path)


def test_a_state_of_before_leases_gains_the_lease_columns(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "state.sqlite"
    CrawlState(path).close()
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE runs DROP COLUMN lease_until")
    db.execute("ALTER TABLE runs DROP COLUMN holder")
    db.execute("DROP TABLE dead_pages")
    db.commit()
    db.close()
    with CrawlState(path) as state:
        columns = {row[1] for row in state.db.execute("PRAGMA table_info(runs)")}
        assert {"lease_until", "holder"} <= columns
        assert state.dead_page("x") is None


def test_a_state_file_deleted_or_replaced_during_a_run_is_noticed(tmp_path: Path) -> None:
    from crawler.state import StateError

    for replace_it in (False, True):
        path = tmp_path / f"state-{replace_it}.sqlite"
        state = CrawlState(path)
        noticed: list[str] = []
        state.on_failure = noticed.append
        state.start_run("r1", "p", tmp_path, full=False, bounded=False)
        assert state.claim("r1", "a")
        for leftover in tmp_path.glob(f"{path.name}*"):
            leftover.unlink()
        if replace_it:
            CrawlState(path).close()  # someone starts a fresh state under the same name
        with pytest.raises(StateError, match="deleted or replaced during the run"):
            state.claim("r1", "b")
        with pytest.raises(StateError):
            state.settle("r1", "a")
        assert len(noticed) == 1
        state.finish_run("r1", "state_error", {})  # nothing to record in a file that is not ours
        state.close()


def test_a_run_elsewhere_is_dead_when_its_lease_expires_and_alive_while_renewed(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "far"
    run_dir.mkdir(parents=True)
    (run_dir / "records.jsonl").write_text("", encoding="utf-8")
    path = tmp_path / "state.sqlite"
    with CrawlState(path) as state:
        # Another machine (or container): its host name and PID say nothing here, only its lease.
        state.db.execute(
            "INSERT INTO runs (run_id, portal, run_dir, host, pid, started_at, lease_until, holder) "
            "VALUES ('far', 'p', ?, ?, ?, '2026-01-01', ?, 'another-boot/pid:[1]')",
            (str(run_dir), socket.gethostname(), os.getpid(), _utc_iso(0.5)),
        )
        assert state.recover_unfinished() == []
        time.sleep(0.6)
        assert state.recover_unfinished() == ["far"]

    # A crawl that writes nothing for a while keeps its lease: the heartbeat renews it.
    running = CrawlState(path, lease_seconds=0.4)
    running.start_run("quiet", "p", run_dir, full=False, bounded=False)
    time.sleep(1.2)
    lease_until = running.db.execute("SELECT lease_until FROM runs WHERE run_id = 'quiet'").fetchone()[0]
    assert lease_until > _utc_iso(0)
    running.finish_run("quiet", "finished", {})
    assert running.db.execute("SELECT lease_until FROM runs WHERE run_id = 'quiet'").fetchone()[0] is None
    running.close()
