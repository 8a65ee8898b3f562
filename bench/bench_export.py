"""Exports of many records to each format, against a plain loop of json.dumps.

    python bench/bench_export.py [RECORDS] [--pg URL]      # default 100000 records

Generates RECORDS records of realistic size (crawler.demo.records: 2–6 kB of Vietnamese text, nested
parser/province/document objects, images, attachments), one at a time, and exports them to JSONL,
CSV, Parquet and SQLite (and PostgreSQL with --pg) through `export_state`, each format in a child
process of its own. Prints records per second, peak RSS (polled with psutil), the output's size,
and each format's time as a multiple of the baseline: the same records generated and written with
json.dumps, one line each (target: within 2×). Generation is in every figure, so the "generate"
line says how much of each is the generator's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil

from crawler.demo.records import generated_records, stored_batches
from crawler.items import record_line
from crawler.sinks import Selection, StoredRecord, export_state


class GeneratedState:
    """The state side of an export, over generated records made as they are read."""

    state_id = "bench"

    def __init__(self, count: int) -> None:
        self.count = count

    def iter_records(self, *, batch_size: int = 2000, **_: Any) -> Iterator[list[StoredRecord]]:
        return stored_batches(generated_records(self.count), batch_size)


def generate_only(count: int, folder: Path, url: str | None) -> str | None:
    """Only make the records and their lines: what every other figure includes."""
    for _ in stored_batches(generated_records(count)):
        pass
    return None


def baseline(count: int, folder: Path, url: str | None) -> str:
    """The least an export can do: json.dumps each record into a file."""
    path = folder / "baseline.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for record in generated_records(count):
            handle.write(record_line(record) + "\n")
    return str(path)


def _export_to(name: str) -> Callable[[int, Path, str | None], str]:
    def run(count: int, folder: Path, url: str | None) -> str:
        dest = url if name == "postgresql" and url else str(folder / name)
        export_state(GeneratedState(count), dest, Selection(f"bench-{time.time_ns()}"))
        return dest

    return run


RUNS: dict[str, Callable[[int, Path, str | None], str | None]] = {
    "generate": generate_only,
    "baseline": baseline,
    "jsonl": _export_to("out.jsonl"),
    "csv": _export_to("out.csv"),
    "parquet": _export_to("out.parquet"),
    "sqlite": _export_to("out.sqlite"),
    "postgresql": _export_to("postgresql"),
}


def run_one(name: str, count: int, folder: Path, url: str | None) -> None:
    """In the child: one run, its seconds and output size as JSON on stdout."""
    started = time.perf_counter()
    dest = RUNS[name](count, folder, url)
    seconds = time.perf_counter() - started
    size = Path(dest).stat().st_size if dest and Path(dest).exists() else None
    print(json.dumps({"seconds": seconds, "bytes": size}))


def measured(name: str, count: int, folder: Path, url: str | None) -> dict[str, Any]:
    """One run in a child process: its own timing, and its peak RSS polled every 20 ms."""
    command = [sys.executable, __file__, str(count), "--one", name, "--dir", str(folder)]
    if url:
        command += ["--pg", url]
    process = psutil.Popen(command, stdout=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, process.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    assert process.stdout is not None
    output = process.stdout.read()
    if process.returncode != 0:
        raise SystemExit(f"{name} failed (exit {process.returncode})")
    return {**json.loads(output), "peak_mb": peak / 1024 / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="?", type=int, default=100_000)
    parser.add_argument("--pg", metavar="URL", help="also export to this PostgreSQL database")
    parser.add_argument("--formats", help="only these, comma-separated (e.g. parquet,sqlite); the baseline always runs")
    parser.add_argument("--one", choices=list(RUNS), help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(args.one, args.records, Path(args.dir), args.pg)
        return
    names = [name for name in RUNS if name != "postgresql" or args.pg]
    if args.formats:
        names = ["baseline", *(name for name in args.formats.split(",") if name in RUNS and name != "baseline")]
    with tempfile.TemporaryDirectory() as tmp:
        results = {name: measured(name, args.records, Path(tmp), args.pg) for name in names}
    base = results["baseline"]["seconds"]
    print(f"{args.records} generated records; each figure includes generating them")
    for name, result in results.items():
        size = f"{result['bytes'] / 1024 / 1024:8.1f} MB" if result["bytes"] else " " * 11
        print(
            f"{name:>10}: {result['seconds']:7.1f} s, {args.records / result['seconds']:8.0f} records/s, "
            f"peak RSS {result['peak_mb']:6.0f} MB, output {size}, {result['seconds'] / base:5.2f}× the baseline"
        )


if __name__ == "__main__":
    main()
