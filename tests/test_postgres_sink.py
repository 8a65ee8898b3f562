"""The PostgreSQL sink against a real server (DATABASE_URL): table made on first use, one row per
record id whatever the re-runs, newer versions kept, exports resumed after a kill, search with or
without tone marks, and one-line errors for what a user can get wrong."""

from __future__ import annotations

import json
import socket
import threading
import unicodedata
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from crawler.extract import extract_record
from crawler.sinks import Selection, SinkError, StoredRecord
from crawler.sinks.postgres import PROGRESS_TABLE, PostgresSink
from crawler.text import fold_vietnamese

from .conftest import FIXTURES, need_shared

SELECTION = Selection(state_id="state-under-test")
ICT = timezone(timedelta(hours=7))


def _fixture_record(fixture_dir: Path) -> dict[str, Any]:
    meta = json.loads((fixture_dir / "meta.json").read_text(encoding="utf-8"))
    record = extract_record((fixture_dir / "page.html").read_text(encoding="utf-8"), meta["url"])
    assert record is not None
    return record


@pytest.fixture(scope="module")
def seed_record() -> dict[str, Any]:
    """The reference report (../shared/seed) as the generic parser extracts it from its Kon Tum page."""
    record = _fixture_record(FIXTURES / "generic" / "kontum_seed")
    expected = json.loads(need_shared("seed", "expected.json").read_text(encoding="utf-8"))
    assert record["title"] == expected["title"]
    return record


@pytest.fixture(scope="module")
def dong_nai_record() -> dict[str, Any]:
    """A NukeViet report of a Đồng Nai department, its title naming the province."""
    record = _fixture_record(FIXTURES / "nukeviet" / "news_detail")
    return {**record, "title": f"{record['title']} tại tỉnh Đồng Nai"}


def _line(record: dict[str, Any], **changes: Any) -> str:
    return json.dumps({**record, **changes}, ensure_ascii=False)


def _stored(*lines: str, first_seq: int = 1) -> list[StoredRecord]:
    return [StoredRecord(seq, line) for seq, line in enumerate(lines, start=first_seq)]


@pytest.fixture
def table(database_url: str) -> Iterator[str]:
    """A table name of this test alone, dropped (with its progress rows) afterwards."""
    name = f"test_records_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(f"DROP TABLE IF EXISTS {name}")
        if connection.execute("SELECT to_regclass(%s)", (PROGRESS_TABLE,)).fetchone()[0] is not None:
            connection.execute(f"DELETE FROM {PROGRESS_TABLE} WHERE target_table = %s", (name,))


@pytest.fixture
def sink(database_url: str, table: str) -> Iterator[PostgresSink]:
    opened = PostgresSink(database_url, table=table)
    yield opened
    opened.close(ok=True)


def _query(database_url: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as connection:
        return connection.execute(statement, params).fetchall()


def test_first_use_creates_the_table_with_typed_columns_and_search_index(
    database_url: str, table: str, sink: PostgresSink
) -> None:
    assert _query(database_url, "SELECT to_regclass(%s)", (table,)) == [(None,)]
    assert sink.resume_after(SELECTION) is None
    columns = dict(
        _query(
            database_url,
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s",
            (table,),
        )
    )
    assert columns["id"] == "text"
    assert columns["published_at"] == "timestamp with time zone"
    assert columns["version"] == "integer"
    assert columns["dup_similarity"] == "real"
    assert columns["authors"] == "ARRAY"
    assert columns["attachments"] == "jsonb"
    assert columns["data"] == "jsonb"
    assert columns["search"] == "tsvector"
    index_methods = _query(
        database_url,
        "SELECT am.amname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam"
        " WHERE i.indrelid = to_regclass(%s)",
        (table,),
    )
    assert ("gin",) in index_methods


def test_typed_columns_hold_the_record_and_data_the_whole_of_it(
    database_url: str, table: str, sink: PostgresSink, seed_record: dict[str, Any]
) -> None:
    sink.write_batch(_stored(_line(seed_record)), SELECTION)
    [row] = _query(
        database_url,
        f"SELECT id, portal, province_code, province_name, legacy_province_name, published_at, published_raw,"
        f" authors, images->1->>'caption', version, data FROM {table}",
    )
    assert row[:5] == (seed_record["id"], seed_record["portal"], "51", "Quảng Ngãi", "Kon Tum")
    assert row[5] == datetime.fromisoformat(seed_record["published_at"])
    assert row[5] == datetime(2018, 7, 16, 10, 25, tzinfo=ICT)
    assert row[6] == seed_record["published_raw"]
    assert row[7] == seed_record["authors"]
    assert row[8] == seed_record["images"][1]["caption"]
    assert row[9] == 1
    assert row[10] == seed_record


def test_writing_twice_keeps_one_row_per_id(
    database_url: str, table: str, sink: PostgresSink, seed_record: dict[str, Any], dong_nai_record: dict[str, Any]
) -> None:
    lines = _stored(_line(seed_record), _line(dong_nai_record))
    sink.write_batch(lines, SELECTION)
    sink.write_batch(lines, SELECTION)
    sink.write_batch(lines, Selection(state_id="another-state"))
    assert sorted(_query(database_url, f"SELECT id FROM {table}")) == sorted(
        [(seed_record["id"],), (dong_nai_record["id"],)]
    )


def test_newer_version_replaces_the_row_and_an_older_one_never_does(
    database_url: str, table: str, sink: PostgresSink, seed_record: dict[str, Any]
) -> None:
    sink.write_batch(_stored(_line(seed_record, version=2, title="Bản sửa lần hai")), SELECTION)
    sink.write_batch(_stored(_line(seed_record, version=1)), SELECTION)
    assert _query(database_url, f"SELECT version, title FROM {table}") == [(2, "Bản sửa lần hai")]
    sink.write_batch(_stored(_line(seed_record, version=3, title="Bản sửa lần ba")), SELECTION)
    assert _query(database_url, f"SELECT version, title, data->>'title' FROM {table}") == [
        (3, "Bản sửa lần ba", "Bản sửa lần ba")
    ]


def test_one_batch_holding_two_versions_keeps_the_newer(
    database_url: str, table: str, sink: PostgresSink, seed_record: dict[str, Any]
) -> None:
    batch = _stored(_line(seed_record, version=2, title="Mới hơn"), _line(seed_record, version=1))
    sink.write_batch(batch, SELECTION)
    assert _query(database_url, f"SELECT version, title FROM {table}") == [(2, "Mới hơn")]


def _many_records(template: dict[str, Any], count: int) -> list[StoredRecord]:
    return _stored(*(_line(template, id=f"rec{number:04d}", title=f"Bài số {number}") for number in range(count)))


class ExportKilledError(Exception):
    """Stands for the export process dying between two batches."""


def _export(sink: PostgresSink, records: list[StoredRecord], batch_size: int, kill_after_batches: int | None) -> None:
    """What `crawler export` does: skip what the sink holds, then write batch by batch."""
    done = sink.resume_after(SELECTION) or 0
    pending = [record for record in records if record.seq > done]
    for written, start in enumerate(range(0, len(pending), batch_size)):
        if written == kill_after_batches:
            raise ExportKilledError
        sink.write_batch(pending[start : start + batch_size], SELECTION)


def test_a_killed_export_resumes_after_its_last_batch(
    database_url: str, table: str, seed_record: dict[str, Any]
) -> None:
    records = _many_records(seed_record, 25)
    first = PostgresSink(database_url, table=table)
    with pytest.raises(ExportKilledError):
        _export(first, records, batch_size=10, kill_after_batches=2)
    first.close(ok=False)
    second = PostgresSink(database_url, table=table)
    assert second.resume_after(SELECTION) == 20
    _export(second, records, batch_size=10, kill_after_batches=None)
    second.close(ok=True)
    rows = _query(database_url, f"SELECT id FROM {table} ORDER BY id")
    assert rows == [(f"rec{number:04d}",) for number in range(25)]


def test_a_batch_the_server_refuses_is_written_not_at_all(
    database_url: str, table: str, sink: PostgresSink, seed_record: dict[str, Any]
) -> None:
    records = _many_records(seed_record, 6)
    sink.write_batch(records[:3], SELECTION)
    broken = StoredRecord(7, _line(seed_record, id="broken", dup_similarity="not a number"))
    with pytest.raises(SinkError) as refused:
        sink.write_batch([*records[3:], broken], SELECTION)
    assert "seq 4–7" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert sink.resume_after(SELECTION) == 3
    assert _query(database_url, f"SELECT count(*) FROM {table}") == [(3,)]
    sink.write_batch(records[3:], SELECTION)
    assert sink.resume_after(SELECTION) == 6
    assert _query(database_url, f"SELECT count(*) FROM {table}") == [(6,)]


def test_two_exports_side_by_side_into_one_table_neither_fail_nor_duplicate(
    database_url: str, table: str, seed_record: dict[str, Any]
) -> None:
    """Each writes the same ids in opposite orders: unless rows are locked in one order, they deadlock."""
    ids = [f"rec{number:04d}" for number in range(300)]
    exports = {
        1: _stored(*(_line(seed_record, id=record_id, version=1) for record_id in ids)),
        2: _stored(*(_line(seed_record, id=record_id, version=2) for record_id in reversed(ids))),
    }
    failures: list[BaseException] = []

    def export(version: int) -> None:
        sink = PostgresSink(database_url, table=table)
        try:
            for _ in range(3):
                sink.write_batch(exports[version], Selection(state_id=f"state-{version}"))
        except BaseException as error:
            failures.append(error)
        finally:
            sink.close(ok=not failures)

    creator = PostgresSink(database_url, table=table)
    creator.resume_after(SELECTION)  # the table, before the race
    creator.close(ok=True)
    threads = [threading.Thread(target=export, args=(version,)) for version in exports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert _query(database_url, f"SELECT version, count(*) FROM {table} GROUP BY version") == [(2, 300)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        *((query, "seed") for query in ("hoi nghi", "Hội nghị", "HỘI NGHỊ", "hội nghi", "thong tin doi ngoai")),
        *((query, "dong_nai") for query in ("dong nai", "Đồng Nai", "đồng nai")),
    ],
)
def test_search_finds_the_record_with_or_without_tone_marks(
    database_url: str,
    table: str,
    sink: PostgresSink,
    seed_record: dict[str, Any],
    dong_nai_record: dict[str, Any],
    query: str,
    expected: str,
) -> None:
    sink.write_batch(_stored(_line(seed_record), _line(dong_nai_record)), SELECTION)
    found = _query(database_url, f"SELECT id FROM {table} WHERE search @@ plainto_tsquery('simple', %s)", (query,))
    wanted = seed_record if expected == "seed" else dong_nai_record
    assert found == [(wanted["id"],)]


def test_fold_vietnamese_removes_tone_marks_whatever_the_normal_form() -> None:
    assert fold_vietnamese("Đồng Nai") == "dong nai"
    assert fold_vietnamese("HỘI NGHỊ sơ kết") == "hoi nghi so ket"
    assert fold_vietnamese(unicodedata.normalize("NFD", "Hội nghị")) == "hoi nghi"


def test_a_table_of_that_name_with_other_columns_is_refused_untouched(database_url: str, table: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(f"CREATE TABLE {table} (id integer PRIMARY KEY, name text)")
        connection.execute(f"INSERT INTO {table} VALUES (1, 'theirs')")
    sink = PostgresSink(f"{database_url}?table={table}")
    with pytest.raises(SinkError) as refused:
        sink.resume_after(SELECTION)
    message = str(refused.value)
    assert message.startswith(f"{table} in database ")
    assert "has other columns (id integer, name text)" in message
    assert "?table=" in message
    assert "\n" not in message
    assert _query(database_url, f"SELECT * FROM {table}") == [(1, "theirs")]


def test_a_view_of_that_name_is_refused(database_url: str, table: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(f"CREATE VIEW {table} AS SELECT 1 AS id")
    try:
        with pytest.raises(SinkError, match=f"^{table} in database .* is no plain table"):
            PostgresSink(database_url, table=table).resume_after(SELECTION)
    finally:
        with psycopg.connect(database_url, autocommit=True) as connection:
            connection.execute(f"DROP VIEW {table}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_server_is_one_line_naming_host_and_port() -> None:
    port = _free_port()
    sink = PostgresSink(f"postgresql://postgres@127.0.0.1:{port}/test")
    with pytest.raises(SinkError) as unreachable:
        sink.resume_after(SELECTION)
    message = str(unreachable.value)
    assert message.startswith(f"cannot connect to PostgreSQL at 127.0.0.1:{port} (")
    assert message.endswith("; check the URL and that the server runs")
    assert "\n" not in message


def test_a_missing_database_is_named(database_url: str) -> None:
    missing = f"no_such_db_{uuid.uuid4().hex[:8]}"
    url = database_url.rsplit("/", 1)[0] + f"/{missing}"
    with pytest.raises(SinkError, match=f"has no database {missing}; create it"):
        PostgresSink(url).resume_after(SELECTION)


def test_an_unknown_user_is_named_with_what_to_check(database_url: str) -> None:
    user = f"no_such_role_{uuid.uuid4().hex[:8]}"
    parts = urlsplit(database_url)
    url = urlunsplit(parts._replace(netloc=f"{user}@{parts.hostname}:{parts.port or 5432}"))
    with pytest.raises(SinkError) as refused:
        PostgresSink(url).resume_after(SELECTION)
    assert str(refused.value).startswith(f"PostgreSQL at {parts.hostname}:{parts.port or 5432} refused user {user} (")
    assert "check the user and password" in str(refused.value)


def test_the_postgres_scheme_is_accepted_too(database_url: str, table: str) -> None:
    sink = PostgresSink(database_url.replace("postgresql://", "postgres://", 1), table=table)
    assert sink.resume_after(SELECTION) is None
    sink.close(ok=True)


@pytest.mark.parametrize("name", ["records;drop", "1records", "Records", "a" * 49, ""])
def test_the_table_parameter_must_be_a_plain_identifier(name: str) -> None:
    with pytest.raises(SinkError, match="is not a plain identifier"):
        PostgresSink(f"postgresql://postgres@127.0.0.1/test?table={name}")


def test_the_table_parameter_is_not_passed_to_libpq(database_url: str, table: str) -> None:
    sink = PostgresSink(f"{database_url}?table={table}&connect_timeout=5")
    assert sink.table == table
    assert sink.resume_after(SELECTION) is None
    sink.close(ok=True)
    assert _query(database_url, "SELECT to_regclass(%s)::text", (table,)) == [(table,)]


def test_a_nul_character_postgresql_cannot_store_is_dropped(
    database_url: str, table: str, sink: PostgresSink, seed_record: dict[str, Any]
) -> None:
    sink.write_batch(_stored(_line(seed_record, summary="Tóm\x00 tắt")), SELECTION)
    assert _query(database_url, f"SELECT summary, data->>'summary' FROM {table}") == [("Tóm tắt", "Tóm tắt")]


def test_a_line_that_is_no_record_is_named_by_its_seq(sink: PostgresSink) -> None:
    with pytest.raises(SinkError, match=r"^record seq 7 of the state is no record of this crawler \(JSONDecodeError"):
        sink.write_batch([StoredRecord(7, "{not json")], SELECTION)


def test_a_table_dropped_or_emptied_since_is_filled_again_from_the_first_record(
    database_url: str, table: str, seed_record: dict[str, Any]
) -> None:
    records = _many_records(seed_record, 5)
    for emptied in (f"DROP TABLE {table}", f"TRUNCATE {table}"):
        sink = PostgresSink(database_url, table=table)
        _export(sink, records, batch_size=10, kill_after_batches=None)
        sink.close(ok=True)
        with psycopg.connect(database_url, autocommit=True) as connection:
            connection.execute(emptied)
        again = PostgresSink(database_url, table=table)
        assert again.resume_after(SELECTION) is None  # the progress noted for it is not in it
        _export(again, records, batch_size=10, kill_after_batches=None)
        again.close(ok=True)
        assert _query(database_url, f"SELECT count(*) FROM {table}") == [(5,)]
