"""How fast the PostgreSQL sink upserts records, against a bare COPY of the same rows.

    python bench/bench_export_pg.py [COUNT] [--batch N] [--database-url URL]   # default 100000, 1000

Generates COUNT realistic records (Vietnamese bodies of 1–6 KB, 70 registry portals, authors, images,
attachments, some official documents) into a temporary file, then runs each way of loading them in
its own process, batch by batch with one commit per batch, so each peak RSS is that way's own:

- baseline: psycopg COPY of (id, data jsonb) into a plain table without index;
- sink (pipelined executemany of INSERT … ON CONFLICT): PostgresSink.write_batch into a new table,
  the way it ships;
- sink again over the same rows: a re-run of the export, every row an update;
- COPY + INSERT … SELECT: the same upsert fed by COPY into a temporary table, then one INSERT …
  SELECT … ON CONFLICT per batch: the other way the sink could work (measured no faster);
- sink without search vector: the same with `search` left empty, to show what full-text costs.

Prints records/s, peak RSS, the table's size and each way's time as a multiple of the baseline's
(target: the sink within 2×), and the load average (other work on the machine slows every way).
Tables are made under unique names and dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from importlib.resources import files
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from crawler.demo.site import load_articles
from crawler.items import record_id
from crawler.sinks import Selection, StoredRecord
from crawler.sinks.postgres import COLUMN_VALUES, ROW_COLUMNS, PostgresSink, upsert_statement

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
ICT = timezone(timedelta(hours=7))
_EXTRA_SENTENCES = [
    "Hội nghị sơ kết công tác thông tin đối ngoại 6 tháng đầu năm đã diễn ra tại hội trường UBND tỉnh.",
    "Đồng chí Phó Chủ tịch UBND tỉnh đề nghị các sở, ngành tiếp tục đẩy mạnh cải cách hành chính.",
    "Theo báo cáo, tỉnh đã thu hút 09 dự án đầu tư nước ngoài, chủ yếu vào lĩnh vực nông lâm nghiệp.",
    "Ủy ban nhân dân tỉnh ban hành Quyết định số 1025/QĐ-UBND về việc phê duyệt kế hoạch năm 2024.",
    "Các địa phương cần bảo đảm an ninh trật tự, an toàn giao thông trong dịp nghỉ lễ.",
    "Sở Tài nguyên và Môi trường hướng dẫn người dân thực hiện thủ tục cấp giấy chứng nhận quyền sử dụng đất.",
    "Trong 6 tháng đầu năm, tổng thu ngân sách nhà nước trên địa bàn đạt 52,3% dự toán.",
    "Lễ ra quân Chiến dịch Thanh niên tình nguyện hè thu hút hơn 500 đoàn viên tham gia.",
]


def _sentences() -> list[str]:
    """Real sentences of the bundled demo portal and a few of the seed report's kind."""
    texts = [block[1] for article in load_articles() for block in article["blocks"] if block[0] == "p"]
    pool = [part.strip() + "." for text in texts for part in text.split(". ") if len(part) > 20]
    return pool + _EXTRA_SENTENCES


def _portals() -> list[dict[str, Any]]:
    registry = tomllib.loads(files("crawler.registry").joinpath("portals.toml").read_text(encoding="utf-8"))
    return registry["portal"]


def generated_records(count: int, seed: int = 11) -> Iterator[str]:
    """`count` record JSON lines shaped like the crawler's (crawler/record.schema.json), all ids distinct."""
    rng = random.Random(seed)
    sentences = _sentences()
    portals = _portals()
    names = ["Lê Hằng", "Nguyễn Văn An", "Trần Thị Bích", "Phạm Đức", "Hoàng Yến", "Vũ Minh Quân"]
    categories = ["Tin tức sự kiện", "Hoạt động lãnh đạo", "Văn bản chỉ đạo", "Kinh tế", "Văn hóa - Xã hội"]
    newest = datetime(2025, 6, 30, 8, 0, tzinfo=ICT)
    for number in range(count):
        portal = portals[number % len(portals)]
        url = f"https://{portal['domain']}/tin-tuc/bai-viet-{number}.html"
        paragraphs = [
            " ".join(rng.choice(sentences) for _ in range(rng.randint(2, 5))) for _ in range(rng.randint(3, 10))
        ]
        published = newest - timedelta(minutes=37 * number)
        title = rng.choice(sentences)[:120].rstrip(".")
        record = {
            "url": url,
            "canonical_url": url,
            "portal": portal["slug"],
            "platform": rng.choice(["liferay", "nukeviet", "sharepoint", "generic"]),
            "parser": {"name": "liferay", "version": "1.0", "fallback_from": None, "fallback_reason": None},
            "title": title,
            "id": record_id(url),
            "province": {
                "current_code": portal["code"],
                "current_name": portal["name"].removeprefix("Tỉnh ").removeprefix("Thành phố "),
                "legacy_code": None,
                "legacy_name": None,
            },
            "page_type": "article",
            "summary": paragraphs[0][:200],
            "body": "\n\n".join(paragraphs),
            "published_at": published.isoformat(timespec="seconds"),
            "published_raw": published.strftime("%d/%m/%Y | %H:%M"),
            "published_rule": "dmy",
            "updated_at": None,
            "authors": rng.sample(names, rng.randint(0, 2)),
            "byline_raw": None,
            "editor": None,
            "source": None,
            "category": rng.choice(categories),
            "tags": [],
            "images": [
                {"url": f"{url[:-5]}-{i}.jpg", "caption": rng.choice(sentences)[:80], "alt": None}
                for i in range(rng.randint(0, 3))
            ],
            "attachments": [
                {
                    "url": f"{url[:-5]}.pdf",
                    "filename": f"van-ban-{number}.pdf",
                    "media_type": "application/pdf",
                    "sha256": None,
                    "size": None,
                    "stored_path": None,
                }
            ]
            if number % 5 == 0
            else [],
            "document": {"number": f"{number}/QĐ-UBND", "doc_type": "Quyết định", "issuer": portal["name"]}
            if number % 10 == 0
            else None,
            "document_refs": [],
            "media_only": None,
            "embeds": [],
            "view_count": rng.randint(0, 5000),
            "language": "vi",
            "content_hash": f"{number:064x}",
            "version": 1,
            "dup_of": None,
            "dup_kind": None,
            "dup_similarity": None,
            "fetched_at": "2025-07-01T09:00:00+07:00",
            "http_status": 200,
        }
        yield json.dumps(record, ensure_ascii=False)


def _batches(path: Path, batch_size: int) -> Iterator[list[tuple[int, str, str]]]:
    """(seq, id, line) batches read from `id<TAB>json` lines (JSON text never holds a raw tab)."""
    batch: list[tuple[int, str, str]] = []
    with path.open(encoding="utf-8") as lines:
        for seq, line in enumerate(lines, start=1):
            identifier, data = line.rstrip("\n").split("\t", 1)
            batch.append((seq, identifier, data))
            if len(batch) == batch_size:
                yield batch
                batch = []
    if batch:
        yield batch


class CopySink(PostgresSink):
    """The sink fed by COPY into a temporary table and one INSERT … SELECT per batch, for comparison."""

    def __init__(self, url: str, *, table: str) -> None:
        super().__init__(url, table=table)
        self._select_upsert = upsert_statement(self.table, sql.SQL("crawler_staging s"))
        self._copy = sql.SQL("COPY crawler_staging ({}) FROM STDIN").format(
            sql.SQL(", ").join(sql.Identifier(column) for column in ROW_COLUMNS)
        )

    def _upsert(self, cursor: psycopg.Cursor, rows: list[tuple[Any, ...]]) -> None:
        columns = ", ".join(f"{column} {kind}" for column, kind in ROW_COLUMNS.items())
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS crawler_staging ({columns}) ON COMMIT DELETE ROWS")
        with cursor.copy(self._copy) as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(self._select_upsert)


class NoSearchSink(PostgresSink):
    """The sink with an empty search vector, for measuring what the full-text column costs."""

    def __init__(self, url: str, *, table: str) -> None:
        super().__init__(url, table=table)
        self._upsert_sql = upsert_statement(self.table, values={**COLUMN_VALUES, "search": "''::tsvector"})


SINKS: dict[str, type[PostgresSink]] = {
    "sink": PostgresSink,
    "copy": CopySink,
    "nosearch": NoSearchSink,
}


def load(method: str, url: str, table: str, path: Path, batch_size: int) -> dict[str, float]:
    """One way of loading the file; run in a child process so its peak RSS is its own."""
    started = time.perf_counter()
    count = 0
    if method == "baseline":
        with psycopg.connect(url) as connection:
            connection.execute(sql.SQL("CREATE TABLE {} (id text, data jsonb)").format(sql.Identifier(table)))
            connection.commit()
            started = time.perf_counter()
            copy_sql = sql.SQL("COPY {} (id, data) FROM STDIN").format(sql.Identifier(table))
            for batch in _batches(path, batch_size):
                with connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
                    for _, identifier, data in batch:
                        copy.write_row((identifier, data))
                connection.commit()
                count += len(batch)
    else:
        sink = SINKS[method](url, table=table)
        selection = Selection(state_id=f"bench-{method}")
        sink.resume_after(selection)  # creates the table, outside the timing
        started = time.perf_counter()
        for batch in _batches(path, batch_size):
            sink.write_batch([StoredRecord(seq, data) for seq, _, data in batch], selection)
            count += len(batch)
        sink.close(ok=True)
    seconds = time.perf_counter() - started
    return {
        "records": count,
        "seconds": seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "table_mb": _table_size_mb(url, table),
    }


def _child(method: str, url: str, table: str, path: Path, batch_size: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", method, "--table", table, "--file", str(path)]
    command += ["--database-url", url, "--batch", str(batch_size)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output)


def _table_size_mb(url: str, table: str) -> float:
    """Heap, TOAST and indexes, dead rows of an update included."""
    with psycopg.connect(url) as connection:
        [(size,)] = connection.execute("SELECT pg_total_relation_size(to_regclass(%s))", (table,)).fetchall()
    return size / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("count", nargs="?", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--table", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(load(args.child, args.database_url, args.table, args.file, args.batch)))
        return
    suffix = uuid.uuid4().hex[:8]
    tables = {
        "baseline": f"bench_copy_{suffix}",
        "sink": f"bench_sink_{suffix}",
        "copy": f"bench_copyupsert_{suffix}",
        "nosearch": f"bench_nosearch_{suffix}",
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.tsv"
        with path.open("w", encoding="utf-8") as out:
            for line in generated_records(args.count):
                out.write(f"{json.loads(line)['id']}\t{line}\n")
        print(f"{args.count} records, {path.stat().st_size / 1e6:.0f} MB of JSON, batches of {args.batch}")
        try:
            runs = [
                (label, _child(method, args.database_url, tables[method], path, args.batch))
                for label, method in (
                    ("baseline: COPY (id, data jsonb)", "baseline"),
                    ("sink: upserts, new table", "sink"),
                    ("sink again: every row an update", "sink"),
                    ("COPY + INSERT … SELECT, new table", "copy"),
                    ("sink without search vector", "nosearch"),
                )
            ]
        finally:
            with psycopg.connect(args.database_url, autocommit=True) as connection:
                for table in tables.values():
                    connection.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
                if connection.execute("SELECT to_regclass('crawler_export_progress')").fetchone()[0]:
                    connection.execute(
                        "DELETE FROM crawler_export_progress WHERE target_table = ANY(%s)", (list(tables.values()),)
                    )
    print("load average (1, 5, 15 min): " + ", ".join(f"{load:.1f}" for load in os.getloadavg()))
    base_seconds = runs[0][1]["seconds"]
    print(f"{'way':<34} {'records/s':>10} {'seconds':>8} {'× baseline':>10} {'peak RSS':>9} {'table':>9}")
    for name, result in runs:
        print(
            f"{name:<34} {result['records'] / result['seconds']:>10.0f} {result['seconds']:>8.1f}"
            f" {result['seconds'] / base_seconds:>10.2f} {result['peak_mb']:>6.0f} MB {result['table_mb']:>6.0f} MB"
        )


if __name__ == "__main__":
    main()
