"""Persistent crawl state in one SQLite file (default `output/state/crawler.sqlite`).

What it remembers across runs: every article page that gave a record (key, record id, content hash,
version, ETag/Last-Modified, when it was fetched), the first record of each exact text, MinHash band
keys of every original body (near-duplicate lookup), per-portal watermarks, the run history, and
dead pages (404, 410, not HTML, empty, no article) with when they may be fetched again.
During a run it also holds the run's frontier (article keys scheduled, alternative URLs), so no set
of URLs or hashes grows in memory.

Schema: version 1 still. The `dead_pages` table was added without a version bump because the
change is purely additive: `CREATE TABLE IF NOT EXISTS` creates it in existing files when they are
opened, no existing table or column changed, and a crawler that predates it opens a file holding it
unharmed (it neither reads nor needs the table). A bump would make such a crawler refuse the file
for nothing.

Crash safety: the state learns of a record only after its line is written and flushed to the run's
records.jsonl, and commits in batches (every few hundred writes or two seconds, and at the end). A
run killed before its last commit is reconciled when the next run opens the state: the dead run's
records.jsonl is the truth, its truncated last line (if any) is cut off, and the records it holds
are registered. So the state never knows a record that was not written, a written record is never
forgotten, and none is written twice.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from crawler.dates import ICT
from crawler.similarity import DEFAULT_THRESHOLD, Fingerprint, fingerprint
from crawler.urls import url_key

SCHEMA_VERSION = 1
DEFAULT_STATE_PATH = Path("output") / "state" / "crawler.sqlite"
# Writes that only matter for the running crawl (frontier rows) are committed in batches.
_COMMIT_EVERY_WRITES = 500
_COMMIT_EVERY_SECONDS = 2.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
    key TEXT PRIMARY KEY,
    portal TEXT NOT NULL,
    url TEXT NOT NULL,
    record_id TEXT,
    published_at TEXT,
    etag TEXT,
    last_modified TEXT,
    first_seen TEXT NOT NULL,
    last_fetched TEXT
);
CREATE INDEX IF NOT EXISTS pages_portal ON pages (portal);
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    portal TEXT NOT NULL,
    page_key TEXT,
    url TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    version INTEGER NOT NULL,
    published_at TEXT,
    dup_of TEXT,
    dup_kind TEXT,
    first_run TEXT NOT NULL,
    last_run TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_portal ON records (portal);
CREATE TABLE IF NOT EXISTS content (hash TEXT PRIMARY KEY, record_id TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fingerprints (
    rid INTEGER PRIMARY KEY,
    record_id TEXT NOT NULL UNIQUE,
    portal TEXT NOT NULL,
    doc_number TEXT,
    size INTEGER NOT NULL,
    signature BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS fingerprints_portal ON fingerprints (portal);
CREATE TABLE IF NOT EXISTS bands (key INTEGER NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY (key, rid)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS portals (
    portal TEXT PRIMARY KEY,
    newest_published TEXT,
    last_run TEXT,
    last_run_at TEXT,
    last_finish_reason TEXT,
    complete INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    portal TEXT NOT NULL,
    run_dir TEXT NOT NULL,
    full INTEGER NOT NULL DEFAULT 0,
    bounded INTEGER NOT NULL DEFAULT 0,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    finish_reason TEXT,
    counts TEXT
);
CREATE TABLE IF NOT EXISTS dead_pages (
    key TEXT PRIMARY KEY,
    portal TEXT NOT NULL,
    url TEXT NOT NULL,
    reason TEXT NOT NULL,
    deaths INTEGER NOT NULL,
    first_dead TEXT NOT NULL,
    last_dead TEXT NOT NULL,
    retry_at TEXT NOT NULL,
    last_run TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_pages_portal ON dead_pages (portal);
CREATE TABLE IF NOT EXISTS frontier (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    alternatives TEXT,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
"""


class StateError(Exception):
    """The state file cannot be opened or is not ours; the message says what to do."""


def now_iso() -> str:
    return datetime.now(ICT).isoformat(timespec="seconds")


@dataclass(frozen=True)
class KnownPage:
    """What the state knows of an article page that gave a record."""

    key: str
    record_id: str
    published_at: str | None
    first_seen: str
    last_fetched: str | None
    etag: str | None
    last_modified: str | None
    last_run: str | None  # the run that last wrote its record

    def is_young(self, days: int, now: datetime | None = None) -> bool:
        """Published (or, without a date, first seen) within the last `days` days: worth re-checking."""
        reference = self.published_at or self.first_seen
        try:
            moment = datetime.fromisoformat(reference)
        except ValueError:
            return True
        return (now or datetime.now(ICT)) - moment <= timedelta(days=days)


@dataclass(frozen=True)
class DeadPage:
    """A page that gave no record for a reason that will not go away by itself (gone, not HTML,
    empty, no article): `deaths` runs in a row, not fetched again before `retry_at`."""

    key: str
    url: str
    reason: str
    deaths: int
    first_dead: str
    last_dead: str
    retry_at: str
    last_run: str


@dataclass(frozen=True)
class KnownRecord:
    id: str
    content_hash: str
    version: int
    last_run: str


@dataclass(frozen=True)
class NearMatch:
    record_id: str
    similarity: float


@dataclass(frozen=True)
class InFlight:
    """A record that passed the pipelines but is not written yet (a handful at any time)."""

    content_hash: str
    fingerprint: Fingerprint | None
    doc_number: str | None


class CrawlState:
    """The SQLite state of all crawls that share one file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30.0)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
            self._check_version()
        except (sqlite3.DatabaseError, OSError) as error:
            raise StateError(f"cannot use state file {self.path} ({error}); pass another --state PATH") from None
        self._open = True
        self._pending_writes = 0
        self._last_commit = time.monotonic()
        # Records between the duplicate check and their written line: compared with each other too.
        self.in_flight: dict[str, InFlight] = {}

    def _check_version(self) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            self.db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            self.db.commit()
        elif int(row[0]) != SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"schema version {row[0]}, this crawler uses {SCHEMA_VERSION}")

    def __enter__(self) -> CrawlState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._open:
            self.db.commit()
            self.db.close()
            self._open = False

    def commit(self) -> None:
        self.db.commit()
        self._pending_writes = 0
        self._last_commit = time.monotonic()

    def _wrote(self) -> None:
        """Count a write; commit now and then (a crash loses nothing a recovery cannot rebuild)."""
        self._pending_writes += 1
        if self._pending_writes >= _COMMIT_EVERY_WRITES or time.monotonic() - self._last_commit > _COMMIT_EVERY_SECONDS:
            self.commit()

    # -- runs ---------------------------------------------------------------------------------

    def start_run(self, run_id: str, portal: str, run_dir: Path, *, full: bool, bounded: bool) -> None:
        """Register a run, or a resumed job's run (runs that died were reconciled when the state opened)."""
        self.db.execute(
            "INSERT INTO runs (run_id, portal, run_dir, full, bounded, host, pid, started_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET finished_at = NULL, "
            "finish_reason = NULL, host = excluded.host, pid = excluded.pid",
            (
                run_id,
                portal,
                str(run_dir.resolve()),
                int(full),
                int(bounded),
                socket.gethostname(),
                os.getpid(),
                now_iso(),
            ),
        )
        self.commit()

    def finish_run(self, run_id: str, reason: str, counts: dict[str, Any]) -> None:
        row = self.db.execute("SELECT portal, bounded FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        self.db.execute(
            "UPDATE runs SET finished_at = ?, finish_reason = ?, counts = ? WHERE run_id = ?",
            (now_iso(), reason, json.dumps(counts, ensure_ascii=False), run_id),
        )
        if row is not None:
            portal, bounded = row
            # A portal is "complete" once a run walked all its listings to the end: from then on a
            # run may stop paging at the first listing page of known articles.
            complete = reason == "finished" and not bounded
            self.db.execute(
                "INSERT INTO portals (portal, last_run, last_run_at, last_finish_reason, complete) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (portal) DO UPDATE SET last_run = excluded.last_run, "
                "last_run_at = excluded.last_run_at, last_finish_reason = excluded.last_finish_reason, "
                "complete = MAX(portals.complete, excluded.complete)",
                (portal, run_id, now_iso(), reason, int(complete)),
            )
        self.commit()

    def portal_is_current(self, portal: str) -> bool:
        """A run once walked all the portal's listings to their end, and the last run finished
        normally: the next run may stop paging at known articles."""
        row = self.db.execute("SELECT complete, last_finish_reason FROM portals WHERE portal = ?", (portal,)).fetchone()
        return bool(row and row[0] and row[1] == "finished")

    def portal_has_runs(self, portal: str) -> bool:
        return self.db.execute("SELECT 1 FROM runs WHERE portal = ? LIMIT 1", (portal,)).fetchone() is not None

    def recover_unfinished(self) -> list[str]:
        """Reconcile runs that never finished and whose process is gone (killed): their
        records.jsonl is the truth. Runs still going (another crawl sharing this file) are left alone."""
        rows = self.db.execute(
            "SELECT run_id, run_dir, portal, host, pid FROM runs WHERE finished_at IS NULL"
        ).fetchall()
        recovered = []
        for run_id, run_dir, portal, host, pid in rows:
            if _still_running(host, pid):
                continue
            records_path = Path(run_dir) / "records.jsonl"
            for path in (records_path, Path(run_dir) / "rejects.jsonl"):
                cut_partial_line(path)
            registered = written = 0
            for data in read_records(records_path):
                written += 1
                known = self.record(data.get("id", ""))
                if known is None or known.version < int(data.get("version") or 1):
                    self.register_record(
                        data,
                        portal=portal,
                        page_key=crawl_key(data.get("url", "")),
                        run_id=run_id,
                        headers={},
                        fingerprint=fingerprint(data.get("body") or ""),
                    )
                    registered += 1
            self.db.execute("DELETE FROM frontier WHERE scope = ?", (run_id,))
            counts = {"records_written": written, "records_registered_on_recovery": registered}
            self.db.execute(
                "UPDATE runs SET finished_at = ?, finish_reason = 'killed', counts = ? WHERE run_id = ?",
                (now_iso(), json.dumps(counts), run_id),
            )
            _write_killed_manifest(Path(run_dir), run_id, portal, counts)
            self.db.execute(
                "INSERT INTO portals (portal, last_run, last_run_at, last_finish_reason) VALUES (?, ?, ?, 'killed') "
                "ON CONFLICT (portal) DO UPDATE SET last_run = excluded.last_run, last_run_at = excluded.last_run_at, "
                "last_finish_reason = 'killed'",
                (portal, run_id, now_iso()),
            )
            recovered.append(run_id)
        self.commit()
        return recovered

    # -- pages and records --------------------------------------------------------------------

    def page(self, key: str) -> KnownPage | None:
        row = self.db.execute(
            "SELECT p.key, p.record_id, p.published_at, p.first_seen, p.last_fetched, p.etag, p.last_modified, "
            "r.last_run FROM pages p LEFT JOIN records r ON r.id = p.record_id "
            "WHERE p.key = ? AND p.record_id IS NOT NULL",
            (key,),
        ).fetchone()
        return KnownPage(*row) if row else None

    def record(self, record_id: str) -> KnownRecord | None:
        row = self.db.execute(
            "SELECT id, content_hash, version, last_run FROM records WHERE id = ?", (record_id,)
        ).fetchone()
        return KnownRecord(*row) if row else None

    def first_with_content(self, content_hash: str) -> str | None:
        row = self.db.execute("SELECT record_id FROM content WHERE hash = ?", (content_hash,)).fetchone()
        return row[0] if row else None

    def touch_page(self, key: str, headers: dict[str, str]) -> None:
        """A known page was fetched again (unchanged or 304): remember when, and its validators."""
        self.db.execute(
            "UPDATE pages SET last_fetched = ?, etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified) "
            "WHERE key = ?",
            (now_iso(), headers.get("etag"), headers.get("last_modified"), key),
        )
        self._wrote()

    def register_record(
        self,
        data: dict[str, Any],
        *,
        portal: str,
        page_key: str | None,
        run_id: str,
        headers: dict[str, str],
        fingerprint: Fingerprint | None = None,
    ) -> None:
        """Remember an exported record (and the page it came from)."""
        now = now_iso()
        record_id = data["id"]
        page_key = page_key or self._page_key_of(record_id) or data.get("canonical_url") or data["url"]
        self.db.execute(
            "INSERT INTO pages (key, portal, url, record_id, published_at, etag, last_modified, first_seen, "
            "last_fetched) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
            "record_id = excluded.record_id, url = excluded.url, published_at = excluded.published_at, "
            "etag = excluded.etag, last_modified = excluded.last_modified, last_fetched = excluded.last_fetched",
            (
                page_key,
                portal,
                data["url"],
                record_id,
                data.get("published_at"),
                headers.get("etag"),
                headers.get("last_modified"),
                now,
                now,
            ),
        )
        self.db.execute(
            "INSERT INTO records (id, portal, page_key, url, content_hash, version, published_at, dup_of, dup_kind, "
            "first_run, last_run, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE "
            "SET content_hash = excluded.content_hash, version = excluded.version, page_key = excluded.page_key, "
            "published_at = excluded.published_at, dup_of = excluded.dup_of, dup_kind = excluded.dup_kind, "
            "last_run = excluded.last_run, updated_at = excluded.updated_at",
            (
                record_id,
                portal,
                page_key,
                data["url"],
                data["content_hash"],
                int(data.get("version") or 1),
                data.get("published_at"),
                data.get("dup_of"),
                data.get("dup_kind"),
                run_id,
                run_id,
                now,
            ),
        )
        self.db.execute("INSERT OR IGNORE INTO content VALUES (?, ?)", (data["content_hash"], record_id))
        if fingerprint is not None and not data.get("dup_of"):
            self._store_fingerprint(record_id, portal, _document_number(data), fingerprint)
        published = data.get("published_at")
        self.db.execute(
            "INSERT INTO portals (portal, newest_published) VALUES (?, ?) ON CONFLICT (portal) DO UPDATE SET "
            "newest_published = MAX(COALESCE(portals.newest_published, ''), COALESCE(excluded.newest_published, ''))",
            (portal, published),
        )
        self._wrote()

    def _page_key_of(self, record_id: str) -> str | None:
        row = self.db.execute("SELECT page_key FROM records WHERE id = ?", (record_id,)).fetchone()
        return row[0] if row else None

    # -- near duplicates ----------------------------------------------------------------------

    def _store_fingerprint(self, record_id: str, portal: str, doc_number: str | None, fingerprint: Fingerprint) -> None:
        old = self.db.execute("SELECT rid, signature FROM fingerprints WHERE record_id = ?", (record_id,)).fetchone()
        if old is not None:
            self._delete_fingerprint(old[0], old[1])
        cursor = self.db.execute(
            "INSERT INTO fingerprints (record_id, portal, doc_number, size, signature) VALUES (?, ?, ?, ?, ?)",
            (record_id, portal, doc_number, fingerprint.size, fingerprint.to_bytes()),
        )
        self.db.executemany(
            "INSERT OR IGNORE INTO bands VALUES (?, ?)", [(k, cursor.lastrowid) for k in fingerprint.band_keys]
        )

    def _delete_fingerprint(self, rid: int, signature: bytes) -> None:
        keys = Fingerprint.from_bytes(signature, 0).band_keys
        self.db.executemany("DELETE FROM bands WHERE key = ? AND rid = ?", [(k, rid) for k in keys])
        self.db.execute("DELETE FROM fingerprints WHERE rid = ?", (rid,))

    def nearest(
        self,
        fingerprint: Fingerprint,
        *,
        exclude: str | None = None,
        doc_number: str | None = None,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> NearMatch | None:
        """The stored body most similar to this one, if at least `threshold` alike (estimated
        containment, see crawler.similarity).

        Two official documents with different numbers are never near duplicates, however alike
        their wording (decisions issued from one template).
        """
        keys = fingerprint.band_keys
        marks = ",".join("?" * len(keys))
        rows = self.db.execute(
            f"SELECT f.record_id, f.doc_number, f.size, f.signature FROM fingerprints f WHERE f.rid IN "
            f"(SELECT DISTINCT rid FROM bands WHERE key IN ({marks}))",
            keys,
        ).fetchall()
        best: NearMatch | None = None
        for record_id, other_number, size, blob in rows:
            if record_id == exclude or (doc_number and other_number and doc_number != other_number):
                continue
            similarity = fingerprint.similarity(Fingerprint.from_bytes(blob, size))
            if similarity >= threshold and (best is None or similarity > best.similarity):
                best = NearMatch(record_id, similarity)
        return best

    def hold(self, record_id: str, held: InFlight) -> None:
        self.in_flight[record_id] = held

    def release(self, record_id: str) -> InFlight | None:
        return self.in_flight.pop(record_id, None)

    def in_flight_duplicate(
        self, record_id: str, content_hash: str, fp: Fingerprint | None, doc_number: str | None, threshold: float
    ) -> tuple[str, str, float | None] | None:
        """(record id, "exact" | "near", similarity) of an in-flight record this one duplicates."""
        for other_id, held in self.in_flight.items():
            if other_id == record_id:
                continue
            if held.content_hash == content_hash:
                return other_id, "exact", None
            if fp is not None and held.fingerprint is not None:
                if doc_number and held.doc_number and doc_number != held.doc_number:
                    continue
                similarity = fp.similarity(held.fingerprint)
                if similarity >= threshold:
                    return other_id, "near", similarity
        return None

    # -- frontier (one run's schedule) --------------------------------------------------------

    def claim(self, scope: str, key: str, url: str | None = None) -> bool:
        """Schedule `key` once per run: True the first time, False after."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO frontier (scope, key, alternatives) VALUES (?, ?, ?)",
            (scope, key, json.dumps([url]) if url else None),
        )
        self._wrote()
        return cursor.rowcount == 1

    def add_alternative(self, scope: str, key: str, url: str, limit: int) -> None:
        """Another URL of an article scheduled under `key`, tried if the first one fails."""
        row = self.db.execute("SELECT alternatives FROM frontier WHERE scope = ? AND key = ?", (scope, key)).fetchone()
        if row is None or row[0] is None:
            return
        urls = json.loads(row[0])
        if url not in urls and len(urls) <= limit:
            urls.append(url)
            self.db.execute(
                "UPDATE frontier SET alternatives = ? WHERE scope = ? AND key = ?", (json.dumps(urls), scope, key)
            )
            self._wrote()

    def next_alternative(self, scope: str, key: str) -> str | None:
        """The next untried URL of a failed article; None (and the key released) when there is none."""
        row = self.db.execute("SELECT alternatives FROM frontier WHERE scope = ? AND key = ?", (scope, key)).fetchone()
        urls = json.loads(row[0]) if row and row[0] else []
        if len(urls) < 2:
            # Nothing else to try yet: release the article so a URL of it seen later is fetched.
            self.db.execute("DELETE FROM frontier WHERE scope = ? AND key = ?", (scope, key))
            self._wrote()
            return None
        url = urls.pop(1)
        self.db.execute(
            "UPDATE frontier SET alternatives = ? WHERE scope = ? AND key = ?", (json.dumps(urls), scope, key)
        )
        self._wrote()
        return url

    def settle(self, scope: str, key: str) -> None:
        """The article gave its record: its alternative URLs are no longer needed."""
        self.db.execute("UPDATE frontier SET alternatives = NULL WHERE scope = ? AND key = ?", (scope, key))
        self._wrote()

    # -- dead pages ------------------------------------------------------------------------------

    def dead_page(self, key: str) -> DeadPage | None:
        row = self.db.execute(
            "SELECT key, url, reason, deaths, first_dead, last_dead, retry_at, last_run FROM dead_pages WHERE key = ?",
            (key,),
        ).fetchone()
        return DeadPage(*row) if row else None

    def remember_dead(
        self, key: str, *, portal: str, url: str, reason: str, deaths: int, at: str, retry_at: str, run_id: str
    ) -> None:
        """Record (or renew) a dead page; the caller (crawler.frontier) counts deaths and sets the back-off."""
        self.db.execute(
            "INSERT INTO dead_pages (key, portal, url, reason, deaths, first_dead, last_dead, retry_at, last_run) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET url = excluded.url, "
            "reason = excluded.reason, deaths = excluded.deaths, last_dead = excluded.last_dead, "
            "retry_at = excluded.retry_at, last_run = excluded.last_run",
            (key, portal, url, reason, deaths, at, at, retry_at, run_id),
        )
        self._wrote()

    def forget_dead(self, key: str) -> None:
        """The page gave a record: it is alive."""
        if self.db.execute("DELETE FROM dead_pages WHERE key = ?", (key,)).rowcount:
            self._wrote()

    def drop_scope(self, scope: str) -> None:
        self.db.execute("DELETE FROM frontier WHERE scope = ?", (scope,))
        self.commit()

    # -- reporting and maintenance --------------------------------------------------------------

    def summary(self) -> list[dict[str, Any]]:
        """Per portal: watermark, last run, counts of pages, records, duplicates and versions."""
        rows = self.db.execute(
            "SELECT p.portal, p.newest_published, p.last_run, p.last_run_at, p.last_finish_reason, p.complete, "
            "(SELECT COUNT(*) FROM records r WHERE r.portal = p.portal), "
            "(SELECT COUNT(*) FROM records r WHERE r.portal = p.portal AND r.dup_kind = 'exact'), "
            "(SELECT COUNT(*) FROM records r WHERE r.portal = p.portal AND r.dup_kind = 'near'), "
            "(SELECT COUNT(*) FROM records r WHERE r.portal = p.portal AND r.version > 1), "
            "(SELECT COUNT(*) FROM runs u WHERE u.portal = p.portal), "
            "(SELECT COUNT(*) FROM dead_pages d WHERE d.portal = p.portal) "
            "FROM portals p ORDER BY p.portal"
        ).fetchall()
        names = (
            "portal",
            "newest_published",
            "last_run",
            "last_run_at",
            "last_finish_reason",
            "complete",
            "records",
            "exact_duplicates",
            "near_duplicates",
            "updated",
            "runs",
            "dead_pages",
        )
        return [dict(zip(names, row, strict=True)) for row in rows]

    def reset_portal(self, portal: str) -> dict[str, int]:
        """Forget everything about one portal: its pages, records, fingerprints, watermark, runs and
        dead pages."""
        removed = {}
        for rid, blob in self.db.execute(
            "SELECT rid, signature FROM fingerprints WHERE portal = ?", (portal,)
        ).fetchall():
            self._delete_fingerprint(rid, blob)
        self.db.execute("DELETE FROM content WHERE record_id IN (SELECT id FROM records WHERE portal = ?)", (portal,))
        for table in ("records", "pages", "runs", "portals", "dead_pages"):
            removed[table] = self.db.execute(f"DELETE FROM {table} WHERE portal = ?", (portal,)).rowcount
        self.commit()
        return removed

    def integrity(self) -> str:
        return str(self.db.execute("PRAGMA integrity_check").fetchone()[0])


def _write_killed_manifest(run_dir: Path, run_id: str, portal: str, counts: dict[str, int]) -> None:
    """Leave a manifest in a killed run's folder (it never wrote one), so every run folder says how
    it ended."""
    path = run_dir / "manifest.json"
    if path.exists() or not run_dir.is_dir():
        return
    manifest = {
        "run_id": run_id,
        "portals": [portal],
        "finish_reason": "killed",
        "recovered_at": now_iso(),
        **counts,
        "note": "the process died before finishing; a later run registered these records in the state",
        "outputs": {"records": "records.jsonl", "rejects": "rejects.jsonl"},
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def _still_running(host: str, pid: int) -> bool:
    """Whether the process of an unfinished run is alive (a run on another machine is assumed alive)."""
    if host != socket.gethostname():
        return True
    if pid == os.getpid():
        return False  # this process opens the state afresh: a run it registered earlier is over
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def crawl_key(url: str, platform: str | None = None) -> str:
    """The key the spider schedules and remembers a page under: the platform's article id when the
    URL shows one (same article under any category or print URL), else the URL's identity."""
    from crawler.platforms import article_key

    return article_key(url, platform) or url_key(url)


def _document_number(data: dict[str, Any]) -> str | None:
    document = data.get("document") or {}
    return document.get("number") if isinstance(document, dict) else None


def cut_partial_line(path: Path) -> bool:
    """Cut a last line left unfinished by a killed process (no trailing newline); True if one was cut."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    with path.open("rb+") as handle:
        handle.seek(-1, 2)
        if handle.read(1) == b"\n":
            return False
        size = handle.seek(0, 2)
        step = 1 << 16
        position = size
        while position > 0:
            start = max(0, position - step)
            handle.seek(start)
            chunk = handle.read(position - start)
            newline = chunk.rfind(b"\n")
            if newline != -1:
                handle.truncate(start + newline + 1)
                return True
            position = start
        handle.truncate(0)
        return True


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """The complete JSON lines of a records file."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.endswith("\n"):
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue


def state_for(crawler: Any) -> CrawlState:
    """The crawl's state, opened once per crawler (STATE_PATH, default output/state/crawler.sqlite).

    Opening it reconciles runs that were killed before they finished."""
    state = getattr(crawler, "_crawl_state", None)
    if state is None:
        path = crawler.settings.get("STATE_PATH") or Path(crawler.settings.get("OUTPUT_ROOT", "output")) / "state" / (
            DEFAULT_STATE_PATH.name
        )
        state = CrawlState(path)
        state.recover_unfinished()
        setattr(crawler, "_crawl_state", state)  # noqa: B010 — not a declared Crawler attribute
    return state
