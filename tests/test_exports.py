"""File exports of the state: each format written from realistic records and read back."""

from __future__ import annotations

import csv
import dataclasses
import json
import sqlite3
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crawler.cli import main
from crawler.demo.records import generated_records
from crawler.items import PortalRecord, record_line
from crawler.sinks import Selection, SinkError, StoredRecord, export_state, open_sink
from crawler.sinks.csvfile import CsvSink
from crawler.sinks.jsonl import JsonlSink
from crawler.sinks.parquet import ParquetSink
from crawler.sinks.sqlite import SqliteSink
from crawler.text import fold_vietnamese as fold

from .conftest import FIXTURES, need_shared

FIELDS = [field.name for field in dataclasses.fields(PortalRecord)]
SELECTION = Selection("state-1")
MOMENTS = ("published_at", "updated_at", "fetched_at")


def _full_record(partial: dict[str, Any]) -> dict[str, Any]:
    """A fixture's reviewed fields as the line a run writes: every field, in PortalRecord order."""
    volatile = {"fetched_at": "2026-12-01T09:00:00+07:00", "http_status": 200}
    return {name: partial[name] if name in partial else volatile[name] for name in FIELDS}


def fixture_records() -> list[dict[str, Any]]:
    """Every article fixture's record (news, documents with signers, images, attachments …)."""
    records = []
    for path in sorted(FIXTURES.glob("*/*/expected.json")):
        expected = json.loads(path.read_text(encoding="utf-8"))
        if "title" in expected:
            records.append(_full_record(expected))
    return records


def seed_record() -> dict[str, Any]:
    record = _full_record(json.loads((FIXTURES / "generic" / "kontum_seed" / "expected.json").read_text("utf-8")))
    seed = json.loads(need_shared("seed", "expected.json").read_text(encoding="utf-8"))
    assert record["title"] == seed["title"]  # the fixture is the seed report
    return record


def dong_nai_record() -> dict[str, Any]:
    record = _full_record(json.loads((FIXTURES / "vbpl" / "hanoi_thuoctinh" / "expected.json").read_text("utf-8")))
    record.update(
        id="dongnai0000000000001",
        title="Đồng Nai ban hành Quy chế quản lý hệ thống thông tin một cửa điện tử",
        summary="UBND tỉnh Đồng Nai ban hành quy chế thí điểm.",
    )
    return record


def realistic_records() -> list[dict[str, Any]]:
    """Fixture records, then generated ones (co-signers, duplicates, provinces), one with no fetched_at."""
    records = fixture_records() + list(generated_records(60))
    records[-1]["fetched_at"] = ""  # PortalRecord's default: no moment, an empty string kept as is
    return records


def stored(records: list[dict[str, Any]], first_seq: int = 1) -> list[StoredRecord]:
    return [StoredRecord(seq, record_line(record)) for seq, record in enumerate(records, start=first_seq)]


def write(dest: Path, records: list[StoredRecord], selection: Selection = SELECTION, **options: Any) -> None:
    sink = open_sink(str(dest), **options)
    sink.write_batch(records, selection)
    sink.close(ok=True)


# --- choosing the sink -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("out.jsonl", JsonlSink),
        ("out.ndjson", JsonlSink),
        ("OUT.CSV", CsvSink),
        ("out.parquet", ParquetSink),
        ("out.sqlite", SqliteSink),
        ("out.db", SqliteSink),
    ],
)
def test_dest_suffix_chooses_the_format(tmp_path: Path, name: str, kind: type) -> None:
    sink = open_sink(str(tmp_path / "new folder" / name))
    sink.close(ok=False)
    assert isinstance(sink, kind)


def test_unknown_suffix_says_which_formats_exist(tmp_path: Path) -> None:
    with pytest.raises(SinkError, match=r"\.jsonl .*\.csv, \.parquet or \.sqlite .*postgresql://"):
        open_sink(str(tmp_path / "records.xlsx"))


def test_unusable_folder_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SinkError, match="cannot create the folder"):
        open_sink(str(blocker / "out.csv"))
    (tmp_path / "exports.csv").mkdir()
    with pytest.raises(SinkError, match="is a folder"):
        open_sink(str(tmp_path / "exports.csv"))


def test_failed_export_leaves_dest_and_folder_as_they_were(tmp_path: Path) -> None:
    dest = tmp_path / "out.jsonl"
    dest.write_text("previous export\n")
    sink = open_sink(str(dest))
    sink.write_batch(stored(realistic_records()), SELECTION)
    sink.close(ok=False)
    assert dest.read_text() == "previous export\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.jsonl"]


@pytest.mark.parametrize("name", ["out.jsonl", "out.csv", "out.parquet"])
def test_a_full_disk_at_the_end_leaves_no_partial_file(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(path: Path, target: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", disk_full)
    with pytest.raises(SinkError, match=f"cannot write .*{name} \\(No space left on device\\)"):
        export_state(ListState(realistic_records()), str(tmp_path / name), SELECTION)
    assert list(tmp_path.iterdir()) == []


# --- JSONL -----------------------------------------------------------------------------------------------------


def test_jsonl_is_the_stored_lines_byte_for_byte(tmp_path: Path) -> None:
    records = stored(realistic_records())
    sink = open_sink(str(tmp_path / "out.jsonl"))
    sink.write_batch(records[:10], SELECTION)
    sink.write_batch(records[10:], SELECTION)
    sink.close(ok=True)
    assert (tmp_path / "out.jsonl").read_bytes() == b"".join(f"{r.data}\n".encode() for r in records)


# --- CSV -------------------------------------------------------------------------------------------------------


def _csv_rows(path: Path, encoding: str) -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == FIELDS
        return list(reader)


def test_csv_flattens_each_record_to_one_row(tmp_path: Path) -> None:
    records = realistic_records()
    write(tmp_path / "out.csv", stored(records))
    assert not (tmp_path / "out.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    rows = _csv_rows(tmp_path / "out.csv", "utf-8")
    assert len(rows) == len(records)
    for row, record in zip(rows, records, strict=True):
        assert row["title"] == record["title"]
        assert row["body"] == record["body"]  # paragraphs (newlines) survive quoting
        assert row["authors"] == "; ".join(record["authors"])
        assert row["tags"] == "; ".join(record["tags"])
        assert json.loads(row["parser"]) == record["parser"]
        assert json.loads(row["images"] or "[]") == record["images"]
        assert json.loads(row["attachments"] or "[]") == record["attachments"]
        assert (json.loads(row["document"]) if row["document"] else None) == record["document"]
        assert row["version"] == str(record["version"])
        assert row["summary"] == (record["summary"] or "")
    signed = [row for row in rows if row["document"] and json.loads(row["document"])["signer"]]
    assert signed, "the fixtures hold signed documents"


def test_csv_with_bom_reads_the_same_after_the_mark(tmp_path: Path) -> None:
    records = stored(realistic_records())
    write(tmp_path / "plain.csv", records)
    write(tmp_path / "excel.csv", records, csv_bom=True)
    raw = (tmp_path / "excel.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and not raw[3:].startswith(b"\xef\xbb\xbf")
    assert raw[3:] == (tmp_path / "plain.csv").read_bytes()
    assert _csv_rows(tmp_path / "excel.csv", "utf-8-sig") == _csv_rows(tmp_path / "plain.csv", "utf-8")


# --- Parquet ---------------------------------------------------------------------------------------------------


def test_parquet_columns_are_typed(tmp_path: Path) -> None:
    write(tmp_path / "out.parquet", stored(realistic_records()))
    schema = pq.read_schema(tmp_path / "out.parquet")
    utc = pa.timestamp("us", tz="UTC")
    for name in ("published_at", "updated_at", "fetched_at"):
        assert schema.field(name).type == utc
        assert schema.field(f"{name}_text").type == pa.string()
    assert schema.field("version").type == pa.int64()
    assert schema.field("view_count").type == pa.int64()
    assert schema.field("dup_similarity").type == pa.float64()
    for name in ("authors", "tags", "document_refs", "embeds"):
        assert schema.field(name).type == pa.list_(pa.string())
    image = pa.struct([("url", pa.string()), ("caption", pa.string()), ("alt", pa.string())])
    assert schema.field("images").type == pa.list_(image)
    attachment = schema.field("attachments").type.value_type
    assert attachment.field("size").type == pa.int64() and attachment.field("filename").type == pa.string()
    document = schema.field("document").type
    signer = pa.struct([("name", pa.string()), ("authority", pa.string()), ("title", pa.string())])
    assert document.field("signer").type == signer
    assert document.field("co_signers").type == pa.list_(signer)
    assert document.field("number_parts").type == pa.struct(
        [("number", pa.string()), ("year", pa.string()), ("symbol", pa.string())]
    )
    assert schema.field("province").type.field("legacy_code").type == pa.string()
    assert schema.field("parser").type.field("fallback_from").type == pa.string()


def test_parquet_reads_back_every_value(tmp_path: Path) -> None:
    records = realistic_records()
    write(tmp_path / "out.parquet", stored(records))
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert len(rows) == len(records)
    for row, record in zip(rows, records, strict=True):
        for name in MOMENTS:
            text = row.pop(f"{name}_text")
            assert text == record[name]
            assert row.pop(name) == (datetime.fromisoformat(text) if text else None)
        assert row == {name: value for name, value in record.items() if name not in MOMENTS}


def test_parquet_several_batches_and_an_odd_moment(tmp_path: Path) -> None:
    records = realistic_records()
    records[0]["updated_at"] = "2024-05-01T10:00"  # no offset: Vietnam time, as the crawler writes
    records[1]["updated_at"] = "hôm qua"  # not a moment at all: no instant, the text kept
    lines = stored(records)
    sink = open_sink(str(tmp_path / "out.parquet"))
    for start in range(0, len(lines), 7):
        sink.write_batch(lines[start : start + 7], SELECTION)
    sink.close(ok=True)
    table = pq.read_table(tmp_path / "out.parquet", columns=["id", "updated_at", "updated_at_text"]).to_pylist()
    assert [row["id"] for row in table] == [record["id"] for record in records]
    assert table[0]["updated_at"] == datetime.fromisoformat("2024-05-01T10:00+07:00")
    assert table[1]["updated_at"] is None and table[1]["updated_at_text"] == "hôm qua"


def test_duckdb_queries_the_parquet_file(tmp_path: Path) -> None:
    records = realistic_records()
    write(tmp_path / "out.parquet", stored(records))
    path = str(tmp_path / "out.parquet")
    db = duckdb.connect()
    counts = db.execute("SELECT count(*), count(document) FROM read_parquet(?)", [path]).fetchone()
    assert counts == (len(records), sum(1 for record in records if record["document"]))
    signers = db.execute(
        "SELECT document.signer.name FROM read_parquet(?) WHERE document.signer IS NOT NULL ORDER BY 1", [path]
    ).fetchall()
    expected = sorted(r["document"]["signer"]["name"] for r in records if r["document"] and r["document"]["signer"])
    assert [name for (name,) in signers] == expected
    captions = db.execute(
        "SELECT count(*) FROM (SELECT unnest(images) AS image FROM read_parquet(?)) WHERE image.caption IS NOT NULL",
        [path],
    ).fetchone()
    assert captions == (sum(1 for r in records for image in r["images"] if image["caption"] is not None),)
    recent = db.execute(
        "SELECT count(*) FROM read_parquet(?) WHERE published_at >= TIMESTAMPTZ '2024-01-01 00:00:00+07:00'", [path]
    ).fetchone()
    assert recent == (sum(1 for r in records if r["published_at"] and r["published_at"] >= "2024-01-01"),)


# --- SQLite ----------------------------------------------------------------------------------------------------


def _search(path: Path, query: str) -> list[str]:
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT records.title FROM records_fts JOIN records ON records.row = records_fts.rowid "
            "WHERE records_fts MATCH ? ORDER BY rank",
            (query,),
        ).fetchall()
    return [title for (title,) in rows]


def test_fold_removes_every_mark_and_the_bar_of_d() -> None:
    assert fold("Hội nghị Đồng Nai, Quảng Ngãi, Thừa Thiên Huế") == "hoi nghi dong nai, quang ngai, thua thien hue"


def test_sqlite_full_text_finds_vietnamese_with_or_without_marks(tmp_path: Path) -> None:
    seed, dong_nai = seed_record(), dong_nai_record()
    write(tmp_path / "out.sqlite", stored([*realistic_records(), seed, dong_nai]))
    path = tmp_path / "out.sqlite"
    for query in ("hoi nghi", "Hội nghị", '"hội nghị sơ kết"', '"hoi nghi so ket"', "HỘI NGHỊ"):
        assert seed["title"] in _search(path, query), query
    assert _search(path, '"so ket hoi nghi"') == []  # a phrase is words in that order
    for query in ("dong nai", "Đồng Nai", '"dong nai ban hanh"', '"Đồng Nai ban hành"', "đồng nai"):
        assert dong_nai["title"] in _search(path, query), query
    assert seed["title"] not in _search(path, "dong nai")
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO records_fts (records_fts) VALUES ('integrity-check')")
        row = db.execute(
            "SELECT portal, province_code, legacy_province_code, json_extract(data, '$.authors[0]') "
            "FROM records WHERE id = ?",
            (seed["id"],),
        ).fetchone()
    assert row == (seed["portal"], "51", "62", seed["authors"][0])


def test_sqlite_export_again_upserts_and_keeps_the_newest_version(tmp_path: Path) -> None:
    path = tmp_path / "out.sqlite"
    first = dong_nai_record()
    newer = {**first, "version": 2, "title": "Đồng Nai sửa đổi Quy chế một cửa điện tử", "summary": None}
    write(path, stored([first]), Selection("state-1"))
    assert _search(path, "thi diem") == [first["title"]]
    write(path, stored([newer], first_seq=2), Selection("state-1"))
    write(path, stored([first]), Selection("another-state"))  # an older copy from elsewhere: ignored
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT version, title, summary, data FROM records").fetchall()
        db.execute("INSERT INTO records_fts (records_fts) VALUES ('integrity-check')")
    assert rows == [(2, newer["title"], None, record_line(newer))]
    assert _search(path, "sua doi") == [newer["title"]]
    assert _search(path, "thi diem") == []  # the first version's words left the index with it


def test_sqlite_remembers_how_far_each_selection_went(tmp_path: Path) -> None:
    path = tmp_path / "out.sqlite"
    selection = Selection("state-1", portal="portal0.gov.vn")
    write(path, stored(list(generated_records(5)), first_seq=40), selection)
    sink = open_sink(str(path))
    assert sink.resume_after(selection) == 44
    assert sink.resume_after(Selection("state-1")) is None
    sink.close(ok=True)


def test_sqlite_checked_but_not_written_leaves_no_file(tmp_path: Path) -> None:
    open_sink(str(tmp_path / "new.sqlite")).close(ok=False)
    assert list(tmp_path.iterdir()) == []
    write(tmp_path / "kept.sqlite", stored(realistic_records()[:3]))
    sink = open_sink(str(tmp_path / "kept.sqlite"))
    sink.close(ok=False)  # an existing export is never removed
    assert [path.name for path in tmp_path.iterdir()] == ["kept.sqlite"]


def test_sqlite_refuses_another_database(tmp_path: Path) -> None:
    from crawler.state import CrawlState

    CrawlState(tmp_path / "state.sqlite").close()
    with pytest.raises(SinkError, match="another SQLite database"):
        open_sink(str(tmp_path / "state.sqlite"))
    (tmp_path / "notes.db").write_text("not a database at all, but long enough to have a header")
    with pytest.raises(SinkError, match=r"cannot use .*notes\.db"):
        open_sink(str(tmp_path / "notes.db"))


# --- the streaming loop ----------------------------------------------------------------------------------------


class ListState:
    """A state stand-in over a list of records: `iter_records` as CrawlState offers it."""

    def __init__(self, records: list[dict[str, Any]], state_id: str = "state-1") -> None:
        self.state_id = state_id
        self.records = stored(records)
        self.asked: list[int | None] = []

    def iter_records(
        self,
        *,
        portal: str | None = None,
        since: str | None = None,
        run_id: str | None = None,
        after_seq: int | None = None,
        batch_size: int = 2000,
    ) -> Iterator[list[StoredRecord]]:
        self.asked.append(after_seq)
        chosen = [
            record
            for record in self.records
            if record.seq > (after_seq or 0) and portal in (None, json.loads(record.data)["portal"])
        ]
        for start in range(0, len(chosen), batch_size):
            yield chosen[start : start + batch_size]


class InterruptError(Exception):
    """Stands for Ctrl-C in the middle of an export."""


def _interrupt_after(batches: int) -> Any:
    def progress(written: int) -> None:
        progress.calls += 1  # type: ignore[attr-defined]
        if progress.calls == batches:  # type: ignore[attr-defined]
            raise InterruptError

    progress.calls = 0  # type: ignore[attr-defined]
    return progress


@pytest.mark.parametrize("name", ["out.jsonl", "out.csv", "out.parquet"])
def test_interrupted_file_export_leaves_nothing(tmp_path: Path, name: str) -> None:
    state = ListState(realistic_records())
    with pytest.raises(InterruptError):
        export_state(state, str(tmp_path / name), SELECTION, batch_size=10, progress=_interrupt_after(2))
    assert list(tmp_path.iterdir()) == []
    assert export_state(state, str(tmp_path / name), SELECTION, batch_size=10) == len(state.records)
    assert state.asked == [None, None]


def test_interrupted_sqlite_export_resumes_after_its_last_batch(tmp_path: Path) -> None:
    records = realistic_records()
    state = ListState(records)
    dest = str(tmp_path / "out.sqlite")
    with pytest.raises(InterruptError):
        export_state(state, dest, SELECTION, batch_size=10, progress=_interrupt_after(2))
    assert export_state(state, dest, SELECTION, batch_size=10) == len(records) - 20
    assert state.asked == [None, 20]
    assert export_state(state, dest, SELECTION, batch_size=10) == 0
    with sqlite3.connect(dest) as db:
        assert db.execute("SELECT count(*) FROM records").fetchone() == (len({r["id"] for r in records}),)


def test_export_of_a_selection_counts_what_it_wrote(tmp_path: Path) -> None:
    records = list(generated_records(30))
    state = ListState(records)
    counted: list[int] = []
    written = export_state(
        state, str(tmp_path / "out.csv"), Selection("state-1", portal="portal3.gov.vn"), progress=counted.append
    )
    chosen = [record["id"] for record in records if record["portal"] == "portal3.gov.vn"]
    assert 0 < written == len(chosen) < len(records)
    assert [row["id"] for row in _csv_rows(tmp_path / "out.csv", "utf-8")] == chosen
    assert counted == [written]


def test_nothing_selected_still_writes_a_readable_file(tmp_path: Path) -> None:
    state = ListState([])
    for name in ("out.jsonl", "out.csv", "out.parquet", "out.sqlite"):
        assert export_state(state, str(tmp_path / name), SELECTION) == 0
    assert (tmp_path / "out.jsonl").read_bytes() == b""
    assert _csv_rows(tmp_path / "out.csv", "utf-8") == []
    assert pq.read_table(tmp_path / "out.parquet").num_rows == 0


# --- memory ----------------------------------------------------------------------------------------------------


class GeneratedState:
    """`count` records made as they are read, so the export alone decides what memory holds: the
    lines of a few realistic records, each given a new id (distinct rows). Their bodies are cut
    short: growth, not size, is measured, and the test runs under tracemalloc's slow bookkeeping."""

    state_id = "generated"
    TEMPLATES = [record_line({**record, "body": record["body"][:400]}) for record in generated_records(50)]

    def __init__(self, count: int) -> None:
        self.count = count

    def iter_records(self, *, batch_size: int = 2000, **_: Any) -> Iterator[list[StoredRecord]]:
        batch = []
        for seq in range(1, self.count + 1):
            template = self.TEMPLATES[seq % len(self.TEMPLATES)]
            batch.append(StoredRecord(seq, template.replace('"id": "', f'"id": "{seq:08d}', 1)))
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch


def _peak_bytes(tmp_path: Path, name: str, count: int) -> int:
    tracemalloc.start()
    try:
        export_state(GeneratedState(count), str(tmp_path / f"{count}-{name}"), SELECTION, batch_size=500)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", ["out.jsonl", "out.csv", "out.parquet", "out.sqlite"])
def test_memory_does_not_grow_with_the_number_of_records(tmp_path: Path, name: str) -> None:
    small = _peak_bytes(tmp_path, name, 2_000)
    large = _peak_bytes(tmp_path, name, 20_000)
    assert large / small < 2, f"{name}: peak {small} bytes for 2k records, {large} for 20k"


# --- `crawler export` against a real state ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def crawled(site: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A crawl of the demo portal: its run folder and its state file."""
    folder = tmp_path_factory.mktemp("crawled")
    run_dir, state = folder / "run", folder / "state.sqlite"
    command = [sys.executable, "-m", "crawler.cli", "crawl", f"{site}/", "--out", str(run_dir), "--state", str(state)]
    result = subprocess.run([*command, "--delay", "0"], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return run_dir, state


def _export(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["export", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_crawler_export_writes_every_format_from_the_state(
    crawled: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir, state = crawled
    lines = (run_dir / "records.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 5
    for name in ("out.jsonl", "out.csv", "out.parquet", "out.sqlite"):
        code, out, err = _export(capsys, str(tmp_path / name), "--state", str(state), "--batch-size", "2")
        assert (code, err) == (0, "")
        assert out.startswith(f"{len(lines)} records → {tmp_path / name} in ")
    assert sorted((tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()) == sorted(lines)
    assert len(_csv_rows(tmp_path / "out.csv", "utf-8")) == len(lines)
    assert pq.read_table(tmp_path / "out.parquet").num_rows == len(lines)
    seed = json.loads(need_shared("seed", "expected.json").read_text(encoding="utf-8"))
    assert seed["title"] in _search(tmp_path / "out.sqlite", "hoi nghi so ket")
    # Again into the same SQLite file: nothing new since, nothing duplicated.
    code, out, _ = _export(capsys, str(tmp_path / "out.sqlite"), "--state", str(state))
    assert (code, out.split(" → ")[0]) == (0, "0 records")
    with sqlite3.connect(tmp_path / "out.sqlite") as db:
        assert db.execute("SELECT count(*) FROM records").fetchone() == (len(lines),)


def test_crawler_export_selects_by_run_portal_and_date(
    crawled: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir, state = crawled
    records = [json.loads(line) for line in (run_dir / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    code, out, _ = _export(capsys, str(tmp_path / "run.jsonl"), "--state", str(state), "--run", manifest["run_id"])
    assert code == 0 and out.startswith(f"{len(records)} records")
    portal = records[0]["portal"]
    code, out, _ = _export(capsys, str(tmp_path / "portal.jsonl"), "--state", str(state), "--portal", portal)
    assert code == 0 and out.startswith(f"{len(records)} records")
    code, out, _ = _export(capsys, str(tmp_path / "none.csv"), "--state", str(state), "--portal", "no-such-portal")
    assert code == 0 and out.startswith("0 records")
    since = "2024-04-01"
    recent = [r["id"] for r in records if r["published_at"] is None or r["published_at"][:10] >= since]
    assert 0 < len(recent) < len(records)
    code, out, _ = _export(capsys, str(tmp_path / "recent.jsonl"), "--state", str(state), "--since", since)
    assert code == 0
    exported = [json.loads(line)["id"] for line in (tmp_path / "recent.jsonl").read_text("utf-8").splitlines()]
    assert sorted(exported) == sorted(recent)


def test_crawler_export_errors_are_one_line(
    crawled: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, state = crawled
    cases = [
        ((str(tmp_path / "out.csv"), "--state", str(tmp_path / "missing.sqlite")), 4, "no state file"),
        ((str(tmp_path / "out.xlsx"), "--state", str(state)), 2, "cannot tell which format"),
        ((str(tmp_path / "out.csv"), "--state", str(state), "--since", "2024-31-12"), 2, "--since must be a date"),
        ((str(state), "--state", str(state)), 2, "another SQLite database"),
        ((str(tmp_path / "out.csv"), "--state", str(state), "--batch-size", "0"), 2, "must be at least 1"),
    ]
    for args, expected_code, message in cases:
        code, out, err = _export(capsys, *args)
        assert code == expected_code, args
        assert err.startswith("crawler: ") and message in err and err.count("\n") == 1, err
        assert out == ""
    assert sorted(path.name for path in tmp_path.iterdir()) == []
