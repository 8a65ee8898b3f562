"""`scrapy crawl portal -a …` (so Scrapyd) and `crawler crawl` are one program: every option is a
spider argument turned into the setting the components read. Both are run as real subprocesses on
the same local site and their records, state and manifest compared."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parent.parent

# What differs between two runs of the same crawl by nature: when, which run, where; and which of
# a sitemap, a feed or a listing reached an article first (a busy machine changes the order).
_RUN_FIELDS = ("fetched_at",)
_MANIFEST_VARYING = (
    "run_id",
    "started_at",
    "finished_at",
    "state",
    "outputs",
    "discovery",
    "duplicates_skipped",
    "elapsed_seconds",
    "fetch",  # timings
)


def crawler_crawl(url: str, out: Path, state: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", "crawl", url, "--out", str(out), "--state", str(state), *options],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )


def scrapy_crawl(*arguments: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`scrapy crawl portal …` as a scheduler runs it (scrapy.cfg found from the project folder)."""
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawler.settings"}
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "portal", *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
        env=env,
    )


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def comparable_records(path: Path) -> list[dict[str, Any]]:
    records = lines(path)
    for record in records:
        for field in _RUN_FIELDS:
            record.pop(field)
    return sorted(records, key=lambda record: record["id"])


def comparable_state(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as db:
        return {
            "records": db.execute(
                "SELECT id, portal, page_key, url, content_hash, version, published_at, dup_of, dup_kind "
                "FROM records ORDER BY id"
            ).fetchall(),
            "pages": db.execute("SELECT key, portal, url, record_id, published_at FROM pages ORDER BY key").fetchall(),
            "dead_pages": db.execute("SELECT key, reason, deaths FROM dead_pages ORDER BY key").fetchall(),
            "portals": db.execute("SELECT portal, newest_published, complete FROM portals").fetchall(),
            "stored_versions": db.execute(
                "SELECT record_id, version FROM record_versions ORDER BY record_id"
            ).fetchall(),
        }


def comparable_manifest(path: Path) -> dict[str, Any]:
    manifest = json.loads(path.read_text(encoding="utf-8"))
    return {key: value for key, value in manifest.items() if key not in _MANIFEST_VARYING}


def test_scrapy_crawl_and_crawler_crawl_make_the_same_run(site: str, tmp_path: Path) -> None:
    url = f"{site}/vi/tin-tuc-su-kien"
    ours = crawler_crawl(url, tmp_path / "ours", tmp_path / "ours.sqlite", "--since", "2024-02-01", "--delay", "0")
    assert ours.returncode == 0, ours.stderr
    theirs = scrapy_crawl(
        "-a", f"url={url}",
        "-a", f"out={tmp_path / 'theirs'}",
        "-a", f"state={tmp_path / 'theirs.sqlite'}",
        "-a", "since=2024-02-01",
        "-a", "delay=0",
    )  # fmt: skip
    assert theirs.returncode == 0, theirs.stderr
    records = comparable_records(tmp_path / "ours" / "records.jsonl")
    assert records and all(record["published_at"] >= "2024-02-01" for record in records)
    assert comparable_records(tmp_path / "theirs" / "records.jsonl") == records
    assert comparable_state(tmp_path / "theirs.sqlite") == comparable_state(tmp_path / "ours.sqlite")
    assert comparable_manifest(tmp_path / "theirs" / "manifest.json") == comparable_manifest(
        tmp_path / "ours" / "manifest.json"
    )
    # The whole log is in each run folder, whether the terminal had it (scrapy) or not (crawler).
    for run in ("ours", "theirs"):
        assert "Spider closed (finished)" in (tmp_path / run / "crawl.log").read_text(encoding="utf-8")


def test_max_items_limits_the_feed_the_run_folder_and_the_state_alike(site: str, tmp_path: Path) -> None:
    url = f"{site}/vi/tin-tuc-su-kien"
    state = tmp_path / "state.sqlite"
    feed = tmp_path / "feed.jsonl"
    first = scrapy_crawl(
        "-a", f"url={url}", "-a", f"out={tmp_path / 'first'}", "-a", f"state={state}", "-a", "max_items=2",
        "-a", "delay=0", "-o", str(feed),
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    written = lines(tmp_path / "first" / "records.jsonl")
    assert len(written) == 2
    assert sorted(record["id"] for record in lines(feed)) == sorted(record["id"] for record in written)
    with sqlite3.connect(state) as db:
        stored = [row[0] for row in db.execute("SELECT v.data FROM run_records r JOIN record_versions v USING (seq)")]
    assert sorted(stored) == sorted((tmp_path / "first" / "records.jsonl").read_text(encoding="utf-8").splitlines())
    manifest = json.loads((tmp_path / "first" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["finish_reason"] == "max_items" and manifest["records_written"] == 2
    # What the limit left out was not stored: the next run writes it, and nothing twice.
    second = scrapy_crawl(
        "-a", f"url={url}", "-a", f"out={tmp_path / 'second'}", "-a", f"state={state}", "-a", "delay=0"
    )
    assert second.returncode == 0, second.stderr
    rest = lines(tmp_path / "second" / "records.jsonl")
    first_ids = {record["id"] for record in written}
    assert rest and not first_ids & {record["id"] for record in rest}
    everything = crawler_crawl(url, tmp_path / "all", tmp_path / "all.sqlite", "--delay", "0")
    assert everything.returncode == 0, everything.stderr
    assert first_ids | {r["id"] for r in rest} == {r["id"] for r in lines(tmp_path / "all" / "records.jsonl")}


def test_crawler_crawl_takes_scrapy_feeds_too_written_as_the_exports(site: str, tmp_path: Path) -> None:
    feed, xml = tmp_path / "feed.csv", tmp_path / "feed.xml"
    result = crawler_crawl(
        f"{site}/vi/tin-tuc-su-kien", tmp_path / "run", tmp_path / "s.sqlite", "--delay", "0", "--max-items", "3",
        "-o", f"{feed}:csv", "-o", str(xml), "--export", str(tmp_path / "export.csv"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with feed.open(encoding="utf-8", newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: row["id"])
    with (tmp_path / "export.csv").open(encoding="utf-8", newline="") as handle:
        exported = sorted(csv.DictReader(handle), key=lambda row: row["id"])
    assert len(rows) == 3 and rows == exported  # cell for cell, no Python reprs
    assert json.loads(rows[0]["parser"])["name"]
    parsers = ElementTree.parse(xml).getroot().findall("item/parser/name")
    assert len(parsers) == 3 and all(name.text for name in parsers)


def test_a_wrong_spider_argument_is_one_line(site: str, tmp_path: Path) -> None:
    result = scrapy_crawl("-a", f"url={site}/", "-a", "max_items=many", "-a", f"state={tmp_path / 's.sqlite'}")
    assert result.returncode != 0
    assert "max_items must be a whole number, not 'many'" in result.stderr


def test_a_misspelt_spider_argument_is_refused_not_ignored(site: str, tmp_path: Path) -> None:
    result = scrapy_crawl("-a", f"url={site}/", "-a", "max-items=1", "-a", f"state={tmp_path / 's.sqlite'}")
    assert result.returncode != 0
    assert "unknown spider argument 'max-items'; did you mean max_items?" in result.stderr


def test_output_root_moves_the_run_folder_and_the_state_alike(site: str, tmp_path: Path) -> None:
    root = tmp_path / "elsewhere"
    result = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "crawl", f"{site}/vi/tin-tuc-su-kien", "--delay", "0", "--max-items", "1",
         "-s", f"OUTPUT_ROOT={root}"],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (run,) = (root / "runs").iterdir()
    assert (root / "state" / "crawler.sqlite").exists() and not (tmp_path / "output").exists()
    # The folder it made is named by the run's id, so `crawler export --run <folder name>` finds it.
    assert json.loads((run / "manifest.json").read_text(encoding="utf-8"))["run_id"] == run.name
