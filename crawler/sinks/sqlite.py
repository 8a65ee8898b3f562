"""SQLite: one file to query with SQL and search with full text, Vietnamese with or without tone marks.

`records` has the columns people filter on (portal, province, url, title, summary, body, dates,
version, duplicate links, document number …) and `data`, the record's full JSON line (query it with
json_extract). `records_fts` is an FTS5 index over title, summary and body, each beside its folded
form (see `fold`), so `MATCH 'hoi nghi'`, `MATCH 'Hội nghị'` and `MATCH 'dong nai'` all find
"Hội nghị … Đồng Nai". Exporting into an existing file updates it: a record is one row whatever
the number of exports (its newest version wins), and `export_progress` remembers the last state
change each selection exported, so the next export of the same selection only adds what followed.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.sinks import Selection, SinkError, StoredRecord
from crawler.sinks.files import checked_file_dest
from crawler.text import fold_vietnamese

FORMAT_MARK = "vn-portal-crawler export 1"

# The typed columns of `records`, each with how it is taken from the record.
COLUMNS: dict[str, str] = {
    "id": "TEXT NOT NULL UNIQUE",
    "portal": "TEXT NOT NULL",
    "platform": "TEXT",
    "province_code": "TEXT",
    "province_name": "TEXT",
    "legacy_province_code": "TEXT",
    "legacy_province_name": "TEXT",
    "page_type": "TEXT",
    "url": "TEXT NOT NULL",
    "canonical_url": "TEXT",
    "title": "TEXT NOT NULL",
    "summary": "TEXT",
    "body": "TEXT NOT NULL",
    "category": "TEXT",
    "language": "TEXT",
    "published_at": "TEXT",
    "updated_at": "TEXT",
    "fetched_at": "TEXT",
    "version": "INTEGER NOT NULL",
    "content_hash": "TEXT",
    "dup_of": "TEXT",
    "dup_kind": "TEXT",
    "dup_similarity": "REAL",
    "document_number": "TEXT",
    "document_type": "TEXT",
    "document_issuer": "TEXT",
    "document_issued_at": "TEXT",
    "data": "TEXT NOT NULL",
}
TEXT_COLUMNS = ("title", "summary", "body")

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS export_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- `row` is the rowid spelled out, so that VACUUM keeps it and records_fts stays joined to it.
CREATE TABLE IF NOT EXISTS records (
    row INTEGER PRIMARY KEY,
    {", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())}
);
CREATE INDEX IF NOT EXISTS records_portal ON records (portal, published_at);
CREATE INDEX IF NOT EXISTS records_province ON records (province_code, published_at);
CREATE INDEX IF NOT EXISTS records_published ON records (published_at);
CREATE INDEX IF NOT EXISTS records_dup_of ON records (dup_of);
-- Contentless: the text is in `records` (join on rowid = records.row); the index alone is stored.
CREATE VIRTUAL TABLE IF NOT EXISTS records_fts USING fts5(
    title, summary, body, title_folded, summary_folded, body_folded,
    content='', tokenize='unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS export_progress (
    selection TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, exported_at TEXT NOT NULL
);
"""

_UPSERT = (
    f"INSERT INTO records ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)}) "
    f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{name} = excluded.{name}' for name in COLUMNS if name != 'id')} "
    "RETURNING row"
)
_FTS_COLUMNS = "rowid, title, summary, body, title_folded, summary_folded, body_folded"


def _columns(data: dict[str, Any], line: str) -> list[Any]:
    province = data.get("province") or {}
    document = data.get("document") or {}
    values = {
        **{name: data.get(name) for name in COLUMNS},
        "province_code": province.get("current_code"),
        "province_name": province.get("current_name"),
        "legacy_province_code": province.get("legacy_code"),
        "legacy_province_name": province.get("legacy_name"),
        "document_number": document.get("number"),
        "document_type": document.get("doc_type"),
        "document_issuer": document.get("issuer"),
        "document_issued_at": document.get("issued_at"),
        "version": data.get("version") or 1,
        "body": data.get("body") or "",
        "data": line,
    }
    return [values[name] for name in COLUMNS]


def _fts_values(row: int, texts: tuple[str | None, ...]) -> tuple[Any, ...]:
    plain = tuple(text or "" for text in texts)
    return (row, *plain, *(fold_vietnamese(text) for text in plain))


class SqliteSink:
    """Upserts each batch into DEST in one transaction, together with the selection's progress."""

    def __init__(self, dest: str | Path) -> None:
        self.path = checked_file_dest(dest)
        # A new file that no batch reached is removed again by close(ok=False): checking a
        # destination (crawl --export) or an export that failed at once leaves nothing behind.
        self.created = not self.path.exists()
        self.batches = 0
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None)
        except sqlite3.Error as error:
            raise SinkError(f"cannot open {self.path} ({error}); give another .sqlite file") from None
        try:
            self._check_ours()
            self.db.execute("PRAGMA cache_size = -65536")  # 64 MiB: FTS5 merges its index segments in it
            self.db.executescript(f"BEGIN; {SCHEMA} COMMIT;")
            self.db.execute("INSERT OR IGNORE INTO export_info VALUES ('format', ?)", (FORMAT_MARK,))
        except sqlite3.DatabaseError as error:
            self.close(ok=False)
            if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
                raise SinkError(f"{self.path} is in use by another program; try again when it is free") from None
            raise SinkError(f"cannot use {self.path} as an SQLite export ({error}); give a new .sqlite file") from None

    def _check_ours(self) -> None:
        """Refuse an SQLite file of something else (the crawl's own state file, for one)."""
        tables = {name for (name,) in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "export_info" not in tables:
            self.close(ok=False)
            raise SinkError(f"{self.path} is another SQLite database, not an export: give a new .sqlite file")

    def resume_after(self, selection: Selection) -> int | None:
        found = self.db.execute("SELECT last_seq FROM export_progress WHERE selection = ?", (selection.key,)).fetchone()
        return found[0] if found else None

    def write_batch(self, records: list[StoredRecord], selection: Selection) -> None:
        if not records:
            return
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            for record in records:
                self._upsert(record)
            db.execute(
                "INSERT INTO export_progress VALUES (?, ?, ?) ON CONFLICT (selection) "
                "DO UPDATE SET last_seq = excluded.last_seq, exported_at = excluded.exported_at",
                (selection.key, records[-1].seq, datetime.now(UTC).isoformat(timespec="seconds")),
            )
            db.execute("COMMIT")
            self.batches += 1
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _upsert(self, record: StoredRecord) -> None:
        data = json.loads(record.data)
        old = self.db.execute(
            "SELECT row, version, title, summary, body FROM records WHERE id = ?", (data["id"],)
        ).fetchone()
        if old is not None:
            if old[1] > (data.get("version") or 1):
                return  # the file already holds a newer version of this record
            # A contentless index forgets a row's words when told them again.
            self.db.execute(
                f"INSERT INTO records_fts (records_fts, {_FTS_COLUMNS}) VALUES ('delete', ?, ?, ?, ?, ?, ?, ?)",
                _fts_values(old[0], old[2:]),
            )
        (row,) = self.db.execute(_UPSERT, _columns(data, record.data)).fetchone()
        self.db.execute(
            f"INSERT INTO records_fts ({_FTS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            _fts_values(row, tuple(data.get(name) for name in TEXT_COLUMNS)),
        )

    def close(self, ok: bool) -> None:
        self.db.close()  # every finished batch is committed; a failed export resumes after the last one
        if not ok and self.created and not self.batches:
            for path in (self.path, self.path.with_name(self.path.name + "-journal")):
                path.unlink(missing_ok=True)
