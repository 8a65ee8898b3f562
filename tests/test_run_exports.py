"""`crawler crawl … --export DEST` (and `-a export=` under Scrapy): at the end of the run, the run's
records from the state into each destination; a destination that cannot be used is refused before
crawling, one that fails at the end is in the manifest and the exit status."""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pyarrow.parquet as pq

from tests.test_scrapy_native import crawler_crawl, scrapy_crawl


def test_a_crawl_exports_its_records_to_every_destination(site: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = crawler_crawl(
        f"{site}/vi/tin-tuc-su-kien", out, tmp_path / "s.sqlite", "--delay", "0",
        "--export", str(tmp_path / "x.jsonl"), "--export", str(tmp_path / "x.csv"), "--csv-bom",
        "--export", str(tmp_path / "x.sqlite"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    written = (out / "records.jsonl").read_text(encoding="utf-8").splitlines()
    assert written
    assert sorted((tmp_path / "x.jsonl").read_text(encoding="utf-8").splitlines()) == sorted(written)
    raw = (tmp_path / "x.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with (tmp_path / "x.csv").open(encoding="utf-8-sig", newline="") as handle:
        assert sorted(row["id"] for row in csv.DictReader(handle)) == sorted(json.loads(x)["id"] for x in written)
    with sqlite3.connect(tmp_path / "x.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM records").fetchone()[0] == len(written)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [export["records"] for export in manifest["exports"]] == [len(written)] * 3
    assert f"exported {len(written)} records → {tmp_path / 'x.sqlite'}" in result.stdout


def test_scrapy_crawl_exports_too(site: str, tmp_path: Path) -> None:
    result = scrapy_crawl(
        "-a", f"url={site}/vi/tin-tuc-su-kien", "-a", f"out={tmp_path / 'run'}", "-a", f"state={tmp_path / 's.sqlite'}",
        "-a", "delay=0", "-a", f"export={tmp_path / 'x.parquet'}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    written = [
        json.loads(line) for line in (tmp_path / "run" / "records.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    table = pq.read_table(tmp_path / "x.parquet")
    assert sorted(table.column("id").to_pylist()) == sorted(record["id"] for record in written)


def test_a_destination_of_no_known_format_is_refused_before_crawling(site: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = crawler_crawl(f"{site}/", out, tmp_path / "s.sqlite", "--export", str(tmp_path / "x.xlsx"))
    theirs = scrapy_crawl("-a", f"url={site}/", "-a", f"state={tmp_path / 's2.sqlite'}", "-a", "export=x.xlsx")
    assert theirs.returncode != 0 and "export: cannot tell which format" in theirs.stderr
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "export: cannot tell which format" in result.stderr
    assert not (out / "records.jsonl").exists()


_FAILING_JSONL = """
from crawler.sinks import SinkError
from crawler.sinks.jsonl import JsonlSink
def fail(self, records, selection):
    raise SinkError("disk full (injected)")
JsonlSink.write_batch = fail
"""


def test_an_export_failing_at_the_end_is_reported_and_the_records_stay(site: str, tmp_path: Path) -> None:
    from tests.test_exits import patched_cli

    out = tmp_path / "run"
    result = patched_cli(
        _FAILING_JSONL, "crawl", f"{site}/vi/tin-tuc-su-kien", "--out", str(out), "--state", str(tmp_path / "s.sqlite"),
        "--delay", "0", "--export", str(tmp_path / "x.jsonl"),
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert "export to" in result.stderr and "disk full (injected)" in result.stderr
    assert f"--state {tmp_path / 's.sqlite'} --run" in result.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["exports"][0]["error"] == "disk full (injected)"
    assert not (tmp_path / "x.jsonl").exists()  # never half a file
    # The records are safe in the state: exporting them afterwards gives the run's records.
    again = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "export", str(tmp_path / "later.jsonl"), "--state",
         str(tmp_path / "s.sqlite"), "--run", manifest["run_id"]],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert sorted((tmp_path / "later.jsonl").read_text(encoding="utf-8").splitlines()) == sorted(
        (out / "records.jsonl").read_text(encoding="utf-8").splitlines()
    )


def test_exporting_a_run_the_state_does_not_know_is_one_line(site: str, tmp_path: Path) -> None:
    crawler_crawl(
        f"{site}/vi/tin-tuc-su-kien", tmp_path / "run", tmp_path / "s.sqlite", "--delay", "0", "--max-items", "1"
    )
    result = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "export", str(tmp_path / "x.jsonl"),
         "--state", str(tmp_path / "s.sqlite"), "--run", "20990101T000000-1"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "no run '20990101T000000-1'" in result.stderr


def test_a_crawl_exported_twice_to_postgresql_keeps_one_row_per_article_the_newest(
    database_url: str, tmp_path: Path
) -> None:
    import psycopg

    from tests.test_incremental import Mirror, crawl, today_articles

    table = f"records_e2e_{uuid.uuid4().hex[:8]}"
    dest = f"{database_url}?table={table}"
    mirror = Mirror(today_articles(12))
    state = tmp_path / "state.sqlite"
    try:
        first, _ = crawl(mirror, tmp_path / "run1", state, "--export", dest)
        edited = mirror.articles[3]
        mirror.edit(edited, "Cập nhật: bổ sung danh sách đơn vị tham gia hội nghị.")
        second, manifest = crawl(mirror, tmp_path / "run2", state, "--export", dest)
    finally:
        mirror.close()
    assert [(record["title"], record["version"]) for record in second] == [(edited["title"], 2)]
    assert manifest["exports"] == [{"dest": dest, "records": 1}]
    export = subprocess.run(  # the whole state once more, by hand: nothing doubles
        [sys.executable, "-m", "crawler.cli", "export", dest, "--state", str(state)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert export.returncode == 0, export.stderr
    with psycopg.connect(database_url) as db:
        try:
            rows = db.execute(f"SELECT id, version, title, body FROM {table}").fetchall()
            found = db.execute(
                f"SELECT count(*) FROM {table} WHERE search @@ plainto_tsquery('simple', 'hoi nghi')"
            ).fetchone()
        finally:
            db.execute(f"DROP TABLE IF EXISTS {table}")
            db.execute("DELETE FROM crawler_export_progress WHERE target_table = %s", (table,))
    assert len(rows) == len({row[0] for row in rows}) == len(first) == 12
    newest = {title: (version, body) for _, version, title, body in rows}
    assert newest[edited["title"]][0] == 2 and "bổ sung danh sách" in newest[edited["title"]][1]
    assert found[0] >= 1  # the edit's "hội nghị", found without its tone marks


def test_a_database_that_does_not_answer_is_refused_before_crawling(site: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = crawler_crawl(
        f"{site}/", out, tmp_path / "s.sqlite", "--export", "postgresql://postgres@127.0.0.1:9/test?table=t"
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "export: cannot connect to PostgreSQL at 127.0.0.1:9" in result.stderr
    assert not (out / "records.jsonl").exists()


def test_a_crawl_refused_before_it_began_leaves_no_run_folder_of_its_own(site: str, tmp_path: Path) -> None:
    for refused in (["--export", str(tmp_path / "x.xlsx")], ["--state", str(tmp_path)]):
        result = subprocess.run(
            [sys.executable, "-m", "crawler.cli", "crawl", f"{site}/", *refused],
            capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode in (2, 4) and result.stderr.count("\n") == 1, result.stderr
        assert not (tmp_path / "output" / "runs").exists() or not any((tmp_path / "output" / "runs").iterdir())
