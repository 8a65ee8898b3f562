"""Persistent crawl state in one SQLite file (default `output/state/crawler.sqlite`).

What it remembers across runs: every article page that gave a record (key, record id, content hash,
version, ETag/Last-Modified, when it was fetched), the first record of each exact text, MinHash band
keys of every original body (near-duplicate lookup), per-portal watermarks, the run history, and
dead pages (404, 410, not HTML, empty, no article) with when they may be fetched again.
During a run it also holds the run's frontier (article keys scheduled, alternative URLs), so no set
of URLs or hashes grows in memory.

Schema: version 1 still. The `dead_pages` table and the `runs.lease_until`/`runs.holder` columns
were added without a version bump because the changes are purely additive: opening a file creates
what it lacks (`CREATE TABLE IF NOT EXISTS`, `ALTER TABLE runs ADD COLUMN`), no existing table or
column changed, and a crawler that predates them opens a file holding them unharmed (it neither
reads nor needs them). A bump would make such a crawler refuse the file for nothing.

Ours or refused: an existing file is looked at read-only first. A SQLite file with tables but
without our marker (`meta.schema_version`) belongs to another application and is refused untouched
(no table added, journal mode not changed); so is a file whose tables or columns differ from what its
version claims. An empty file is made a new state. The path is checked against the file opened
(device and inode) at every commit: deleted or replaced during a run, it ends the run (StateError,
finish reason `state_error`).

Sharing: writes are short transactions (BEGIN IMMEDIATE … COMMIT, a busy timeout and retries). In
a crawl, the writes of one reactor turn (one response's links, one record) share a transaction that
is committed on the next turn, before the crawl waits on the network again; outside a crawl each
write method commits before it returns. No transaction is held open while pages are fetched, so
crawls side by side and `crawler state reset` wait milliseconds for each other.

The source of truth: an accepted record is stored (its page known, its version, duplicate links
and its JSON line in `record_versions`, with `run_records` saying which run wrote it) in one
transaction committed before any output sees it. The run's records.jsonl, Scrapy feeds and
`crawler export` are views of that.

Crash safety: the state commits a record, then the run's records.jsonl gets its line. A process
killed between the two leaves a record the state holds and the file lacks; never the reverse. Each
running run holds a lease (`runs.lease_until`), renewed at commits and by a heartbeat thread every
quarter of STATE_LEASE_SECONDS (default 60). A run whose lease expired is dead wherever it ran; one
from this boot and PID namespace whose process is gone or a zombie is dead at once. The next crawl
opening the state reconciles it: its truncated last line (if any) is cut off and the lines the
state holds for it and the file lacks are appended (a file written by an older crawler, which wrote
the line first, has its unknown lines registered instead). So no output misses a record the state
accepted, and none is written twice. A crawl started while a killed run's lease still runs (another
host or container) takes that run for alive and skips every article it stored; the run's file is
completed by the first crawl that opens the state after its lease ran out. Machines sharing a state
must agree on the time within a fraction of the lease.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from crawler.dates import ICT, watermark_date
from crawler.items import record_line
from crawler.similarity import DEFAULT_THRESHOLD, Fingerprint, fingerprint
from crawler.sinks import StoredRecord
from crawler.urls import url_key

SCHEMA_VERSION = 1
DEFAULT_STATE_PATH = Path("output") / "state" / "crawler.sqlite"
# A running crawl renews its runs' lease at least every quarter of this (STATE_LEASE_SECONDS); a run
# whose lease has expired is dead, whatever host or PID it ran under.
DEFAULT_LEASE_SECONDS = 60.0
# Crawls sharing the file wait this long for its write lock per attempt, then retry a few times.
_BUSY_TIMEOUT_SECONDS = 10.0
_BUSY_RETRIES = 8

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
CREATE TABLE IF NOT EXISTS record_versions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    portal TEXT NOT NULL,
    run_id TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS record_versions_record ON record_versions (record_id, version);
CREATE INDEX IF NOT EXISTS record_versions_portal ON record_versions (portal);
CREATE TABLE IF NOT EXISTS run_records (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS retired_portals (
    portal TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    since TEXT NOT NULL,
    last_checked TEXT NOT NULL,
    recheck_at TEXT NOT NULL
);
"""

# Parts added to version 1 after files were made with it: created when missing, never required.
_ADDITIVE_TABLES = ("dead_pages", "record_versions", "run_records", "retired_portals")
_ADDITIVE_COLUMNS = {"runs": ("lease_until", "holder", "run_group"), "records": ("seq",)}


# Runs leased by states open in this process: never taken for dead by another state object here.
_LEASED_HERE: set[str] = set()

T = TypeVar("T")
P = ParamSpec("P")


def _columns(db: sqlite3.Connection) -> dict[str, set[str]]:
    """Every table of a database with its column names."""
    tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {table: {row[1] for row in db.execute(f'PRAGMA table_info("{table}")')} for table in tables}


def _schema_columns() -> dict[str, set[str]]:
    """What a version-1 file must hold: the schema's tables and columns, less the parts added
    additively later (dead_pages, the runs lease columns), which are created when missing."""
    scratch = sqlite3.connect(":memory:")
    scratch.executescript(_SCHEMA)
    tables = _columns(scratch)
    scratch.close()
    for table in _ADDITIVE_TABLES:
        tables.pop(table)
    return tables


_REQUIRED_COLUMNS = _schema_columns()


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
    page_key: str | None = None


@dataclass(frozen=True)
class NearMatch:
    record_id: str
    similarity: float


def _writes(method: Callable[Concatenate[CrawlState, P], T]) -> Callable[Concatenate[CrawlState, P], T]:
    """The method's writes are one short transaction (or join the crawl's current turn's, see _write)."""

    @functools.wraps(method)
    def wrapper(self: CrawlState, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._write(lambda: method(self, *args, **kwargs))

    return wrapper


class CrawlState:
    """The SQLite state of all crawls that share one file."""

    def __init__(self, path: str | Path, *, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        self.path = Path(path)
        self.lease_seconds = float(lease_seconds)
        self.failure: str | None = None
        # Called once with the message when the file is found deleted or replaced (state_for ends
        # the crawl with finish reason `state_error`).
        self.on_failure: Callable[[str], None] | None = None
        # Schedules a call once the caller's current work is done (state_for: the reactor's next
        # turn); None: every write method commits before it returns.
        self.defer_commit: Callable[[Callable[[], None]], object] | None = None
        self._batch_open = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._refuse_foreign_file()
            # Autocommit: writes are short BEGIN IMMEDIATE … COMMIT transactions (see _write), so no
            # transaction, and no write lock, is held while the crawl fetches pages.
            self.db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_SECONDS, isolation_level=None)
            self._prepare()
            stat = self.path.stat()
            self._identity = (stat.st_dev, stat.st_ino)
        except (sqlite3.DatabaseError, OSError) as error:
            raise StateError(f"cannot use state file {self.path} ({error}); pass another --state PATH") from None
        self._open = True
        self._leased: set[str] = set()
        self._lease_renewed = time.monotonic()
        self._heartbeat: _Heartbeat | None = None

    def _refuse_foreign_file(self) -> None:
        """Look at an existing file read-only before anything is created or its journal mode changed:
        a SQLite file without our schema marker is another application's, and stays untouched."""
        if not self.path.exists():
            return
        with self.path.open("rb") as handle:
            header = handle.read(16)
        if not header and not Path(f"{self.path}-wal").exists():
            return  # an empty file: a new state
        if header and header != b"SQLite format 3\x00":
            raise sqlite3.DatabaseError("not a SQLite database")
        probe = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=_BUSY_TIMEOUT_SECONDS)
        try:
            tables = _columns(probe)
            if not tables:
                return  # an empty database: initialised as a new state
            marker = None
            if "key" in tables.get("meta", set()) and "value" in tables["meta"]:
                row = probe.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                marker = row[0] if row else None
            if marker is None:
                raise sqlite3.DatabaseError("a SQLite database of another application: no crawler schema marker")
            if marker != str(SCHEMA_VERSION):
                raise sqlite3.DatabaseError(f"schema version {marker}, this crawler uses {SCHEMA_VERSION}")
            missing = [
                f"{table}.{column}" if table in tables else table
                for table, columns in _REQUIRED_COLUMNS.items()
                for column in (columns if table in tables else [""])
                if table not in tables or column not in tables[table]
            ]
            if missing:
                raise sqlite3.DatabaseError(
                    f"schema version {marker} claimed but {', '.join(sorted(set(missing))[:5])} missing"
                )
        finally:
            probe.close()

    def _prepare(self) -> None:
        """WAL, the marker and every table; additive parts (dead_pages, the runs lease columns) are
        added to files made before them."""
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")

        def create() -> None:
            if (
                _columns(self.db)
                and self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None
            ):
                # Another process filled the file between our look and our lock.
                raise sqlite3.DatabaseError("a SQLite database of another application: no crawler schema marker")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('state_id', ?)", (str(uuid.uuid4()),))
            if self.db.execute("SELECT 1 FROM runs LIMIT 1").fetchone() is None:
                # A new state: no run of it predates the record lines (see adopt_run_files).
                self.db.execute("INSERT OR IGNORE INTO meta VALUES ('runs_adopted', ?)", (now_iso(),))
            columns = _columns(self.db)
            for table, added in _ADDITIVE_COLUMNS.items():
                for column in added:
                    if column not in columns[table]:
                        kind = "INTEGER" if column == "seq" else "TEXT"
                        self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            self.db.execute("CREATE INDEX IF NOT EXISTS records_seq ON records (seq)")

        self._write(create, check_identity=False)

    def __enter__(self) -> CrawlState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file; a run this object still leases is released (whoever opens the state next
        recovers it: it will never finish)."""
        if not self._open:
            return
        if self._batch_open:
            self._end_batch()
        if self._heartbeat is not None:
            self._heartbeat.stop()
        if self._leased and self.failure is None:
            leased = sorted(self._leased)
            self._write(
                lambda: self.db.executemany(
                    "UPDATE runs SET lease_until = ? WHERE run_id = ? AND finished_at IS NULL",
                    [(_utc_iso(0), run_id) for run_id in leased],
                )
            )
        _LEASED_HERE.difference_update(self._leased)
        self.db.close()
        self._open = False

    def commit(self) -> None:
        """Commit now: the open batch, or whatever a caller wrote through `db` directly."""
        self._batch_open = False
        if self.db.in_transaction:
            try:
                self._check_identity()
                self._renew_leases_if_due()
            except StateError:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def _end_batch(self) -> None:
        """The deferred commit of a batch (the crawl's turn is over); a failure already ended the crawl."""
        if self._batch_open and self._open:
            try:
                self.commit()
            except StateError:
                return

    def _write(self, work: Callable[[], T], *, check_identity: bool = True) -> T:
        """Run `work` in a short write transaction: BEGIN IMMEDIATE (waiting for a crawl sharing the
        file, then retrying), the writes, the lease renewal when due, COMMIT. With `defer_commit`
        set (a crawl: the reactor's next turn), writes made in one turn of the crawl share the
        transaction, committed as soon as the crawl goes back to waiting on the network."""
        if self.failure is not None:
            raise StateError(self.failure)
        if self._batch_open:
            return work()
        for attempt in range(_BUSY_RETRIES):
            try:
                self.db.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as error:
                if not _is_busy(error) or attempt == _BUSY_RETRIES - 1:
                    raise StateError(
                        f"state file {self.path} stayed locked by another process ({error}); retry when it is free"
                    ) from None
                time.sleep(min(0.05 * 2**attempt, 2.0))
        try:
            result = work()
            if check_identity and self.defer_commit is not None:
                self._batch_open = True
                self.defer_commit(self._end_batch)
                return result
            if check_identity:
                self._check_identity()
                self._renew_leases_if_due()
            self.db.execute("COMMIT")
        except BaseException:
            self._batch_open = False
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        return result

    def _check_identity(self) -> None:
        """The path still names the file we opened: deleted or replaced during a run, the state would
        be written to a file nobody reads again."""
        try:
            stat = self.path.stat()
            same = (stat.st_dev, stat.st_ino) == self._identity
        except FileNotFoundError:
            same = False
        if not same:
            self.failure = f"state file {self.path} was deleted or replaced during the run; run the crawl again"
            if self.on_failure is not None:
                self.on_failure(self.failure)
            raise StateError(self.failure)

    # -- leases -------------------------------------------------------------------------------

    def _renew_leases_if_due(self) -> None:
        if self._leased and time.monotonic() - self._lease_renewed >= self.lease_seconds / 4:
            self._renew_leases()

    def _renew_leases(self) -> None:
        until = _utc_iso(self.lease_seconds)
        self.db.executemany(
            "UPDATE runs SET lease_until = ? WHERE run_id = ? AND finished_at IS NULL",
            [(until, run_id) for run_id in sorted(self._leased)],
        )
        self._lease_renewed = time.monotonic()

    # -- runs ---------------------------------------------------------------------------------

    def start_run(
        self, run_id: str, portal: str, run_dir: Path, *, full: bool, bounded: bool, group: str | None = None
    ) -> None:
        """Register a run, or a resumed job's run (runs that died were reconciled when the state
        opened), and take its lease: renewed at commits and by a heartbeat thread while it runs.
        `group`: the id of the run of many portals this one is part of (crawler crawl --all)."""
        self._write(
            lambda: self.db.execute(
                "INSERT INTO runs (run_id, portal, run_dir, full, bounded, host, pid, started_at, lease_until, holder, "
                "run_group) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET "
                "finished_at = NULL, finish_reason = NULL, host = excluded.host, pid = excluded.pid, "
                "lease_until = excluded.lease_until, holder = excluded.holder",
                (
                    run_id,
                    portal,
                    str(run_dir.resolve()),
                    int(full),
                    int(bounded),
                    socket.gethostname(),
                    os.getpid(),
                    now_iso(),
                    _utc_iso(self.lease_seconds),
                    _process_holder(),
                    group,
                ),
            )
        )
        self._leased.add(run_id)
        _LEASED_HERE.add(run_id)
        self._lease_renewed = time.monotonic()
        if self._heartbeat is None:
            self._heartbeat = _Heartbeat(self)

    def finish_run(self, run_id: str, reason: str, counts: dict[str, Any], *, walked: bool = True) -> None:
        """Mark the run finished and release its lease (nothing to mark once the file is not ours).
        `walked`: the run may count as a walk of the whole portal (False when errors may have cost
        it pages: the portal is then not made "complete" by it)."""
        if self.failure is not None:
            self._leased.discard(run_id)
            _LEASED_HERE.discard(run_id)
            return

        def finish() -> None:
            row = self.db.execute("SELECT portal, bounded FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            self.db.execute(
                "UPDATE runs SET finished_at = ?, finish_reason = ?, counts = ?, lease_until = NULL WHERE run_id = ?",
                (now_iso(), reason, json.dumps(counts, ensure_ascii=False), run_id),
            )
            if row is not None:
                portal, bounded = row
                # A portal is "complete" once a run walked all its listings to the end: from then on a
                # run may stop paging at the first listing page of known articles.
                complete = reason == "finished" and not bounded and walked
                self.db.execute(
                    "INSERT INTO portals (portal, last_run, last_run_at, last_finish_reason, complete) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (portal) DO UPDATE SET last_run = excluded.last_run, "
                    "last_run_at = excluded.last_run_at, last_finish_reason = excluded.last_finish_reason, "
                    "complete = MAX(portals.complete, excluded.complete)",
                    (portal, run_id, now_iso(), reason, int(complete)),
                )

        self._write(finish)
        if self._batch_open:
            self.commit()
        self._leased.discard(run_id)
        _LEASED_HERE.discard(run_id)

    def portal_is_current(self, portal: str) -> bool:
        """A run once walked all the portal's listings to their end, and the last run finished
        normally: the next run may stop paging at known articles."""
        row = self.db.execute("SELECT complete, last_finish_reason FROM portals WHERE portal = ?", (portal,)).fetchone()
        return bool(row and row[0] and row[1] == "finished")

    def portal_has_runs(self, portal: str) -> bool:
        return self.db.execute("SELECT 1 FROM runs WHERE portal = ? LIMIT 1", (portal,)).fetchone() is not None

    def recover_unfinished(self) -> list[str]:
        """Reconcile runs that never finished and whose lease expired (killed, on any host): their
        records.jsonl is the truth. Runs still renewing their lease (another crawl sharing this file)
        are left alone. Each run is recovered inside one write transaction, so two crawls opening
        the state at once never recover it twice."""
        candidates = self.db.execute("SELECT run_id FROM runs WHERE finished_at IS NULL").fetchall()
        recovered = []
        for (run_id,) in candidates:
            if self._write(lambda run_id=run_id: self._recover(run_id)):
                recovered.append(run_id)
        return recovered

    def _recover(self, run_id: str) -> bool:
        row = self.db.execute(
            "SELECT run_dir, portal, host, pid, lease_until, holder FROM runs WHERE run_id = ? AND finished_at IS NULL",
            (run_id,),
        ).fetchone()
        if row is None or run_id in _LEASED_HERE:
            return False
        run_dir, portal, host, pid, lease_until, holder = row
        if not _run_is_dead(host, pid, lease_until, holder):
            return False
        records_path = Path(run_dir) / "records.jsonl"
        for path in (records_path, Path(run_dir) / "rejects.jsonl"):
            cut_partial_line(path)
        registered = written = 0
        in_file: set[tuple[str, int]] = set()
        for data in read_records(records_path):
            written += 1
            version = int(data.get("version") or 1)
            in_file.add((data.get("id", ""), version))
            known = self.record(data.get("id", ""))
            if known is None or known.version < version:
                # A line the state never learnt of (a run of a crawler that wrote the file first).
                self._register(
                    data,
                    portal=portal,
                    page_key=crawl_key(data.get("url", "")),
                    run_id=run_id,
                    headers={},
                    fingerprint=fingerprint(data.get("body") or ""),
                )
                self._keep_version(data["id"], version, portal, run_id, record_line(data))
                registered += 1
        completed = self._complete_run_file(run_id, records_path, in_file)
        self.db.execute("DELETE FROM frontier WHERE scope = ?", (run_id,))
        counts = {
            "records_written": written + completed,
            "records_registered_on_recovery": registered,
            "lines_completed_from_state": completed,
        }
        self.db.execute(
            "UPDATE runs SET finished_at = ?, finish_reason = 'killed', counts = ?, lease_until = NULL "
            "WHERE run_id = ?",
            (now_iso(), json.dumps(counts), run_id),
        )
        _write_killed_manifest(Path(run_dir), run_id, portal, counts)
        self.db.execute(
            "INSERT INTO portals (portal, last_run, last_run_at, last_finish_reason) VALUES (?, ?, ?, 'killed') "
            "ON CONFLICT (portal) DO UPDATE SET last_run = excluded.last_run, last_run_at = excluded.last_run_at, "
            "last_finish_reason = 'killed'",
            (portal, run_id, now_iso()),
        )
        return True

    def _complete_run_file(self, run_id: str, records_path: Path, in_file: set[tuple[str, int]]) -> int:
        """Append to a dead run's records.jsonl the records the state accepted for it whose line the
        process did not live to write (the state commits first). Nothing when the folder is gone
        (the run ran on another machine); `crawler export --run` still has them."""
        if not records_path.parent.is_dir():
            return 0
        rows = self.db.execute(
            "SELECT v.record_id, v.version, v.data FROM run_records rr JOIN record_versions v ON v.seq = rr.seq "
            "WHERE rr.run_id = ? ORDER BY rr.seq",
            (run_id,),
        ).fetchall()
        missing = [data for record_id, version, data in rows if (record_id, version) not in in_file]
        if missing:
            with records_path.open("a", encoding="utf-8") as handle:
                handle.writelines(line + "\n" for line in missing)
                handle.flush()
                os.fsync(handle.fileno())
        return len(missing)

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
            "SELECT id, content_hash, version, last_run, page_key FROM records WHERE id = ?", (record_id,)
        ).fetchone()
        return KnownRecord(*row) if row else None

    def first_with_content(self, content_hash: str) -> str | None:
        row = self.db.execute("SELECT record_id FROM content WHERE hash = ?", (content_hash,)).fetchone()
        return row[0] if row else None

    @_writes
    def touch_page(self, key: str, headers: dict[str, str]) -> None:
        """A known page was fetched again (unchanged or 304): remember when, and its validators."""
        self.db.execute(
            "UPDATE pages SET last_fetched = ?, etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified) "
            "WHERE key = ?",
            (now_iso(), headers.get("etag"), headers.get("last_modified"), key),
        )

    def store_record(
        self,
        data: dict[str, Any],
        *,
        portal: str,
        page_key: str | None,
        run_id: str,
        headers: dict[str, str],
        fingerprint: Fingerprint | None = None,
        output: bool = True,
        supersedes: str | None = None,
    ) -> str:
        """Accept a record: its page becomes known, its version and duplicate links are kept and,
        when it is `output` (not a dropped duplicate), its JSON line is kept as what this run wrote;
        else the record has no current line (outputs leave it out). `supersedes`: the id the same
        article was known under before (its record stays, for links to it, but is no longer current).
        One transaction, committed before this returns: the run's files are written after it, and
        a process killed in between has its files completed from here. Returns the JSON line."""
        line = record_line(data)

        def store() -> None:
            self._register(
                data, portal=portal, page_key=page_key, run_id=run_id, headers=headers, fingerprint=fingerprint
            )
            if output:
                self._keep_version(data["id"], int(data.get("version") or 1), portal, run_id, line)
            else:
                self.db.execute("UPDATE records SET seq = NULL WHERE id = ?", (data["id"],))
            if supersedes is not None and supersedes != data["id"]:
                self.db.execute("UPDATE records SET seq = NULL WHERE id = ?", (supersedes,))

        self._write(store)
        self.commit()
        return line

    def _keep_version(self, record_id: str, version: int, portal: str, run_id: str, line: str) -> int:
        """Keep the JSON line of one version of a record as `run_id` wrote it (a version written
        again by --full is another line, so each run's export shows what it wrote) and make it the
        record's current line. Its portal is the record's own, whatever this run calls the site."""
        row = self.db.execute("SELECT portal FROM records WHERE id = ?", (record_id,)).fetchone()
        seq = self.db.execute(
            "INSERT INTO record_versions (record_id, version, portal, run_id, data) VALUES (?, ?, ?, ?, ?) "
            "RETURNING seq",
            (record_id, version, row[0] if row else portal, run_id, line),
        ).fetchone()[0]
        self.db.execute("INSERT OR IGNORE INTO run_records (run_id, seq) VALUES (?, ?)", (run_id, seq))
        self.db.execute("UPDATE records SET seq = ? WHERE id = ? AND version <= ?", (seq, record_id, version))
        return int(seq)

    def adopt_run_files(self) -> int:
        """Keep the lines of runs made before the state kept records (their records.jsonl is all there
        is of them), so exports cover them too; runs whose folder is gone are passed over. Returns the
        number of lines adopted. Done once per state file: runs made since keep their own lines."""
        if self.db.execute("SELECT 1 FROM meta WHERE key = 'runs_adopted'").fetchone() is not None:
            return 0
        runs = self.db.execute(
            "SELECT run_id, portal, run_dir FROM runs u WHERE finished_at IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM run_records r WHERE r.run_id = u.run_id) ORDER BY started_at"
        ).fetchall()
        adopted = 0
        for run_id, portal, run_dir in runs:
            path = Path(run_dir) / "records.jsonl"

            def adopt(run_id: str = run_id, portal: str = portal, path: Path = path) -> int:
                count = 0
                for data in read_records(path):
                    known = self.record(data.get("id", ""))
                    version = int(data.get("version") or 1)
                    if known is None or version > known.version:
                        continue  # not what the state took (dropped since, or reset)
                    exists = self.db.execute(
                        "SELECT 1 FROM record_versions WHERE record_id = ? AND version = ?", (data["id"], version)
                    ).fetchone()
                    if exists is None:
                        self._keep_version(data["id"], version, portal, run_id, record_line(data))
                        count += 1
                return count

            if path.is_file():
                adopted += self._write(adopt)
        self._write(lambda: self.db.execute("INSERT OR IGNORE INTO meta VALUES ('runs_adopted', ?)", (now_iso(),)))
        return adopted

    @property
    def state_id(self) -> str:
        """This state's identity (kept in the file), so a resumable export knows its source."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'state_id'").fetchone()
        return str(row[0]) if row else str(self.path.resolve())

    def run_record_count(self, run_id: str) -> int:
        """How many records the run has written (a resumed job goes on counting toward max_items)."""
        return int(self.db.execute("SELECT COUNT(*) FROM run_records WHERE run_id = ?", (run_id,)).fetchone()[0])

    def iter_records(
        self,
        *,
        portal: str | None = None,
        since: str | None = None,
        run_id: str | None = None,
        after_seq: int | None = None,
        batch_size: int = 2000,
    ) -> Iterator[list[StoredRecord]]:
        """The records as the state committed them, in batches in `seq` order: the current version
        of each record, or with `run_id` the versions that run wrote. `since` (YYYY-MM-DD) keeps
        records published on or after it and undated ones, as a crawl's --since does. Each batch is
        its own query (keyset on seq): no read transaction is held while a sink writes."""
        group = self.group_runs(run_id) if run_id is not None and not self._is_run(run_id) else []
        if group:  # a run of many portals: the versions its portals' runs wrote
            marks = ", ".join("?" * len(group))
            query = (
                "SELECT v.seq, v.data FROM run_records rr JOIN record_versions v ON v.seq = rr.seq "
                f"WHERE rr.run_id IN ({marks}) AND rr.seq > ?"
            )
            params: list[Any] = list(group)
            published = "json_extract(v.data, '$.published_at')"
        elif run_id is not None:
            query = (
                "SELECT v.seq, v.data FROM run_records rr JOIN record_versions v ON v.seq = rr.seq "
                "WHERE rr.run_id = ? AND rr.seq > ?"
            )
            params = [run_id]
            published = "json_extract(v.data, '$.published_at')"
        else:
            query = "SELECT v.seq, v.data FROM record_versions v JOIN records r ON r.seq = v.seq WHERE v.seq > ?"
            params = []
            published = "r.published_at"
        if portal is not None:
            query += " AND v.portal = ?"
        if since is not None:
            query += f" AND ({published} IS NULL OR substr({published}, 1, 10) >= ?)"
        query += " ORDER BY v.seq LIMIT ?"
        last = after_seq or 0
        while True:
            rows = self.db.execute(
                query,
                [*params, last, *([portal] if portal is not None else []), *([since] if since else []), batch_size],
            ).fetchall()
            if not rows:
                return
            yield [StoredRecord(seq, data) for seq, data in rows]
            last = rows[-1][0]

    def _register(
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
        # A date in the future (beyond the cleaning's tolerance) is kept on the record, but it is no
        # evidence of the portal's progress nor of the page's age (it would stay "young" for ever).
        published = watermark_date(data.get("published_at"), data.get("published_rule"))
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
                published,
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
        self.db.execute(
            "INSERT INTO portals (portal, newest_published) VALUES (?, ?) ON CONFLICT (portal) DO UPDATE SET "
            "newest_published = MAX(COALESCE(portals.newest_published, ''), COALESCE(excluded.newest_published, ''))",
            (portal, published),
        )

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

    # -- frontier (one run's schedule) --------------------------------------------------------

    @_writes
    def claim(self, scope: str, key: str, url: str | None = None) -> bool:
        """Schedule `key` once per run: True the first time, False after."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO frontier (scope, key, alternatives) VALUES (?, ?, ?)",
            (scope, key, json.dumps([url]) if url else None),
        )
        return cursor.rowcount == 1

    @_writes
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

    @_writes
    def next_alternative(self, scope: str, key: str) -> str | None:
        """The next untried URL of a failed article; None (and the key released) when there is none."""
        row = self.db.execute("SELECT alternatives FROM frontier WHERE scope = ? AND key = ?", (scope, key)).fetchone()
        urls = json.loads(row[0]) if row and row[0] else []
        if len(urls) < 2:
            # Nothing else to try yet: release the article so a URL of it seen later is fetched.
            self.db.execute("DELETE FROM frontier WHERE scope = ? AND key = ?", (scope, key))
            return None
        url = urls.pop(1)
        self.db.execute(
            "UPDATE frontier SET alternatives = ? WHERE scope = ? AND key = ?", (json.dumps(urls), scope, key)
        )
        return url

    @_writes
    def settle(self, scope: str, key: str) -> None:
        """The article gave its record: its alternative URLs are no longer needed."""
        self.db.execute("UPDATE frontier SET alternatives = NULL WHERE scope = ? AND key = ?", (scope, key))

    # -- dead pages ------------------------------------------------------------------------------

    def dead_page(self, key: str) -> DeadPage | None:
        row = self.db.execute(
            "SELECT key, url, reason, deaths, first_dead, last_dead, retry_at, last_run FROM dead_pages WHERE key = ?",
            (key,),
        ).fetchone()
        return DeadPage(*row) if row else None

    @_writes
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

    @_writes
    def forget_dead(self, key: str) -> None:
        """The page gave a record: it is alive."""
        self.db.execute("DELETE FROM dead_pages WHERE key = ?", (key,))

    def finish_reason(self, run_id: str) -> str | None:
        """How a run ended (`killed` when a later open recovered it), None while it runs or unknown."""
        row = self.db.execute("SELECT finish_reason FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return row[0] if row else None

    def has_run(self, run_id: str) -> bool:
        """A run, or a run of many portals (its group id), this state knows."""
        query = "SELECT 1 FROM runs WHERE run_id = ? OR run_group = ? LIMIT 1"
        return self.db.execute(query, (run_id, run_id)).fetchone() is not None

    def _is_run(self, run_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is not None

    def group_runs(self, group: str) -> list[str]:
        """The runs of one run of many portals."""
        return [
            row[0] for row in self.db.execute("SELECT run_id FROM runs WHERE run_group = ? ORDER BY run_id", (group,))
        ]

    def live_runs(self, portal: str) -> list[str]:
        """Unfinished runs of `portal` that still hold their lease (a crawl going on now)."""
        rows = self.db.execute(
            "SELECT run_id, host, pid, lease_until, holder FROM runs WHERE portal = ? AND finished_at IS NULL",
            (portal,),
        ).fetchall()
        return [run_id for run_id, host, pid, lease, holder in rows if not _run_is_dead(host, pid, lease, holder)]

    def portal_history(self, portal: str, *, before: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
        """The portal's finished runs, newest first (those started before run `before` when given),
        with the metrics each kept at its end (empty for runs made before runs kept them): what
        the checks compare a run with."""
        query = "SELECT run_id, started_at, finished_at, finish_reason, counts FROM runs WHERE portal = ? "
        params: list[Any] = [portal]
        query += "AND finished_at IS NOT NULL "
        if before is not None:
            query += (
                "AND started_at < COALESCE((SELECT started_at FROM runs WHERE run_id = ?), '9999') AND run_id != ? "
            )
            params += [before, before]
        query += "ORDER BY started_at DESC, run_id DESC LIMIT ?"
        history = []
        for run_id, started_at, finished_at, reason, counts in self.db.execute(query, (*params, limit)):
            try:
                metrics = (json.loads(counts) if counts else {}).get("metrics") or {}
            except (ValueError, AttributeError):
                metrics = {}
            history.append(
                {
                    "run_id": run_id,
                    "started_at": started_at,
                    "finished_at": finished_at,
                    "finish_reason": reason,
                    "metrics": metrics,
                }
            )
        return history

    def newest_record_at(self, portal: str) -> str | None:
        """When the portal's newest record was first stored (ISO, +07:00): a portal with none for days is stale."""
        row = self.db.execute(
            "SELECT MAX(first_seen) FROM pages WHERE portal = ? AND record_id IS NOT NULL", (portal,)
        ).fetchone()
        return row[0] if row else None

    def retired(self, portal: str) -> dict[str, str] | None:
        """Why and since when a portal is taken for retired (its host gone), and when to look again."""
        row = self.db.execute(
            "SELECT reason, since, last_checked, recheck_at FROM retired_portals WHERE portal = ?", (portal,)
        ).fetchone()
        if row is None:
            return None
        return dict(zip(("reason", "since", "last_checked", "recheck_at"), row, strict=True))

    def retire_portal(self, portal: str, reason: str, recheck_days: float) -> None:
        """Remember a portal whose host is gone (a retired post-merger domain): runs pass it over
        until `recheck_days` have gone by, then look once more."""
        now = now_iso()
        recheck = (datetime.now(ICT) + timedelta(days=recheck_days)).isoformat(timespec="seconds")
        self._write(
            lambda: self.db.execute(
                "INSERT INTO retired_portals VALUES (?, ?, ?, ?, ?) ON CONFLICT (portal) DO UPDATE SET "
                "reason = excluded.reason, last_checked = excluded.last_checked, recheck_at = excluded.recheck_at",
                (portal, reason, now, now, recheck),
            )
        )
        if self._batch_open:
            self.commit()

    def revive_portal(self, portal: str) -> None:
        """A retired portal answered again."""
        self._write(lambda: self.db.execute("DELETE FROM retired_portals WHERE portal = ?", (portal,)))
        if self._batch_open:
            self.commit()

    def drop_scope(self, scope: str) -> None:
        if self.failure is None:
            self._write(lambda: self.db.execute("DELETE FROM frontier WHERE scope = ?", (scope,)))

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

    @_writes
    def reset_portal(self, portal: str) -> dict[str, int]:
        """Forget everything about one portal: its pages, records, fingerprints, watermark, runs and
        dead pages."""
        removed = {}
        for rid, blob in self.db.execute(
            "SELECT rid, signature FROM fingerprints WHERE portal = ?", (portal,)
        ).fetchall():
            self._delete_fingerprint(rid, blob)
        self.db.execute("DELETE FROM content WHERE record_id IN (SELECT id FROM records WHERE portal = ?)", (portal,))
        self.db.execute(
            "DELETE FROM run_records WHERE seq IN (SELECT seq FROM record_versions WHERE portal = ?)", (portal,)
        )
        for table in ("records", "record_versions", "pages", "runs", "portals", "dead_pages"):
            removed[table] = self.db.execute(f"DELETE FROM {table} WHERE portal = ?", (portal,)).rowcount
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


def _utc_iso(seconds_from_now: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds_from_now)).isoformat(timespec="milliseconds")


def _is_busy(error: sqlite3.OperationalError) -> bool:
    return "locked" in str(error) or "busy" in str(error)


def _process_holder() -> str:
    """This machine boot and PID namespace: a PID means the same process only where both match
    (a host name does not tell containers or UTS namespaces apart)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        namespace = str(Path("/proc/self/ns/pid").readlink())
    except OSError:
        return ""
    return f"{boot}/{namespace}"


def _run_is_dead(host: str, pid: int, lease_until: str | None, holder: str | None) -> bool:
    """An unfinished run is dead once its lease expired; sooner when it ran in this boot and PID
    namespace and its process is gone or a zombie. Runs from before leases: by host and PID."""
    if lease_until is None:
        return not _still_running(host, pid)
    if holder and holder == _process_holder() and not _process_alive(pid):
        return True
    try:
        return datetime.fromisoformat(lease_until) <= datetime.now(UTC)
    except ValueError:
        return True


def _process_alive(pid: int) -> bool:
    """Whether a process of this PID namespace runs (a zombie, killed but not reaped, does not)."""
    if pid == os.getpid():
        return False  # this process opens the state afresh: a run it registered earlier is over
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


class _Heartbeat:
    """Renews the leases of a state's running runs every quarter lease from a thread of its own (its
    own connection), so a crawl waiting on slow pages without writing keeps its runs alive."""

    def __init__(self, state: CrawlState) -> None:
        self.state = state
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="state-lease", daemon=True)
        self.thread.start()

    def _beat(self) -> None:
        db = sqlite3.connect(self.state.path, timeout=_BUSY_TIMEOUT_SECONDS, isolation_level=None)
        try:
            while not self.stopped.wait(self.state.lease_seconds / 4):
                leased = sorted(self.state._leased)
                if not leased or self.state.failure is not None:
                    continue
                until = _utc_iso(self.state.lease_seconds)
                try:
                    db.executemany(
                        "UPDATE runs SET lease_until = ? WHERE run_id = ? AND finished_at IS NULL",
                        [(until, run_id) for run_id in leased],
                    )
                except sqlite3.Error:
                    continue  # locked for long or gone: the next beat tries again, commits renew too
        finally:
            db.close()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)


def _still_running(host: str, pid: int) -> bool:
    """Whether the process of an unfinished run is alive (a run on another machine is assumed alive)."""
    if host != socket.gethostname():
        return True
    return _process_alive(pid)


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


# States open in this process by file, shared by every crawler using the file: crawls of several
# portals in one process (crawler crawl --all) take turns in one reactor thread, and a second
# connection would wait on the first's open batch, which only that same thread can commit.
_OPEN_STATES: dict[Path, CrawlState] = {}
_STATE_USERS: dict[Path, list[Any]] = {}


def state_for(crawler: Any) -> CrawlState:
    """The crawl's state (STATE_PATH, default output/state/crawler.sqlite), opened once per file
    in the process and shared by its crawlers; `release_state` when the crawler is done with it.

    Opening it reconciles runs that were killed before they finished."""
    state = getattr(crawler, "_crawl_state", None)
    if state is None:
        path = crawler.settings.get("STATE_PATH") or Path(crawler.settings.get("OUTPUT_ROOT", "output")) / "state" / (
            DEFAULT_STATE_PATH.name
        )
        state = shared_state(path, crawler, crawler.settings.getfloat("STATE_LEASE_SECONDS", DEFAULT_LEASE_SECONDS))
        setattr(crawler, "_crawl_state", state)  # noqa: B010 — not a declared Crawler attribute
    return state


def shared_state(path: str | Path, user: Any, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> CrawlState:
    """The process's state object for `path`, opened (and reconciled) by its first user. Every
    crawler using it is ended if the file goes away (finish reason `state_error`)."""
    key = Path(path).resolve()
    state = _OPEN_STATES.get(key)
    if state is None or not state._open:
        state = CrawlState(path, lease_seconds=lease_seconds)
        users: list[Any] = []
        state.on_failure = lambda message: [_end_crawl_on_state_error(each, message) for each in list(users)]
        state.recover_unfinished()
        state.defer_commit = _next_reactor_turn
        _OPEN_STATES[key], _STATE_USERS[key] = state, users
    _STATE_USERS[key].append(user)
    return state


def release_state(user: Any, state: CrawlState | None = None) -> None:
    """`user` (a crawler) is done with its state: the last user closes the file."""
    state = state or getattr(user, "_crawl_state", None)
    if state is None:
        return
    key = next((key for key, open_state in _OPEN_STATES.items() if open_state is state), None)
    users = _STATE_USERS.get(key, []) if key is not None else []
    if user in users:
        users.remove(user)
    if not users:
        if key is not None:
            _OPEN_STATES.pop(key, None)
            _STATE_USERS.pop(key, None)
        state.close()


def _end_crawl_on_state_error(crawler: Any, message: str) -> None:
    """The state file went away under the crawl: stop it (finish reason `state_error`, the message
    in the stats as `state/error`), rather than crawl on with nothing remembered."""
    from scrapy.utils.defer import deferred_from_coro

    if getattr(crawler, "stats", None) is None:  # not a crawler (crawler.multirun's scheduler)
        return
    crawler.stats.set_value("state/error", message)
    engine = getattr(crawler, "engine", None)
    if engine is not None and engine.running:
        deferred_from_coro(engine.close_spider_async(reason="state_error"))


def _next_reactor_turn(call: Callable[[], None]) -> object:
    from twisted.internet import reactor

    return reactor.callLater(0, call)  # type: ignore[attr-defined]
