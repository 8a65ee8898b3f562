"""The PostgreSQL sink: records upserted into one table people can query and search.

`crawler export postgresql://user@host/db[?table=NAME]` feeds it. On first use it creates (IF NOT
EXISTS, in one transaction) the records table and `crawler_export_progress`; a table of that name
with other columns belongs to someone else and is refused, never altered.

One row per record id. A batch goes in as one pipelined executemany of INSERT … ON CONFLICT (id) DO
UPDATE … WHERE excluded.version >= version, so a re-run never duplicates a row and an older version
never overwrites a newer one (COPY into a temporary table then one INSERT … SELECT measured no
faster, bench/bench_export_pg.py: the server's text-search parsing dominates either way). The same
transaction stores the last `seq` of the batch for the export's selection: a killed export resumes
after the last committed batch.

Typed columns are read out of the record's JSONB by the server (`data` keeps the whole record, raw
values included). `search` covers title, summary and body twice: as written and folded (no tone
marks, đ → d, lower case; folded here in Python so the unaccent extension is not needed), so
`search @@ plainto_tsquery('simple', 'hoi nghi')` and `… 'Hội nghị'` both find "Hội nghị".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from crawler.sinks import Selection, SinkError, StoredRecord, shown_destination
from crawler.text import fold_vietnamese

PROGRESS_TABLE = "crawler_export_progress"
# Short enough that `<table>_search_idx` stays within PostgreSQL's 63-byte identifiers.
_TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,47}")
CONNECT_TIMEOUT_SECONDS = 10

# name → type as `format_type` spells it; the order is the table's column order.
RECORD_COLUMNS: dict[str, str] = {
    "id": "text",
    "portal": "text",
    "province_code": "text",
    "province_name": "text",
    "legacy_province_code": "text",
    "legacy_province_name": "text",
    "platform": "text",
    "page_type": "text",
    "url": "text",
    "canonical_url": "text",
    "title": "text",
    "summary": "text",
    "body": "text",
    "published_at": "timestamp with time zone",
    "published_raw": "text",
    "updated_at": "timestamp with time zone",
    "fetched_at": "timestamp with time zone",
    "version": "integer",
    "content_hash": "text",
    "dup_of": "text",
    "dup_kind": "text",
    "dup_similarity": "real",
    "language": "text",
    "source": "text",
    "category": "text",
    "editor": "text",
    "document_number": "text",
    "document_type": "text",
    "authors": "text[]",
    "tags": "text[]",
    "images": "jsonb",
    "attachments": "jsonb",
    "document": "jsonb",
    "parser": "jsonb",
    "province": "jsonb",
    "data": "jsonb",
    "exported_at": "timestamp with time zone",
    "search": "tsvector",
}
PROGRESS_COLUMNS: dict[str, str] = {
    "target_table": "text",
    "selection": "text",
    "last_seq": "bigint",
    "updated_at": "timestamp with time zone",
}

# The record fields the server reads out of `data` in one pass (jsonb_to_record, so the JSONB is
# decompressed once per row, not once per column): field → type.
RECORD_FIELDS: dict[str, str] = {
    "portal": "text",
    "platform": "text",
    "page_type": "text",
    "url": "text",
    "canonical_url": "text",
    "title": "text",
    "summary": "text",
    "body": "text",
    "published_raw": "text",
    "content_hash": "text",
    "dup_of": "text",
    "dup_kind": "text",
    "dup_similarity": "real",
    "language": "text",
    "source": "text",
    "category": "text",
    "editor": "text",
    "authors": "text[]",
    "tags": "text[]",
    "images": "jsonb",
    "attachments": "jsonb",
    "document": "jsonb",
    "parser": "jsonb",
    "province": "jsonb",
}
# How the server fills each column from a row `s` sent by Python (ROW_COLUMNS) and the record's
# fields `r`; the timestamps and the folded texts come checked and computed from Python.
COLUMN_VALUES: dict[str, str] = {
    **{column: f"r.{column}" for column in RECORD_COLUMNS if column in RECORD_FIELDS},
    "id": "s.id",
    "province_code": "r.province->>'current_code'",
    "province_name": "r.province->>'current_name'",
    "legacy_province_code": "r.province->>'legacy_code'",
    "legacy_province_name": "r.province->>'legacy_name'",
    "published_at": "s.published_at",
    "updated_at": "s.updated_at",
    "fetched_at": "s.fetched_at",
    "version": "s.version",
    "document_number": "r.document->>'number'",
    "document_type": "r.document->>'doc_type'",
    "authors": "COALESCE(r.authors, '{}')",
    "tags": "COALESCE(r.tags, '{}')",
    "images": "COALESCE(r.images, '[]')",
    "attachments": "COALESCE(r.attachments, '[]')",
    "data": "s.data",
    "exported_at": "now()",
    "search": (
        "setweight(to_tsvector('simple', COALESCE(r.title, '') || ' ' || s.title_folded), 'A')"
        " || setweight(to_tsvector('simple', COALESCE(r.summary, '') || ' ' || s.summary_folded), 'B')"
        " || setweight(to_tsvector('simple', COALESCE(r.body, '') || ' ' || s.body_folded), 'C')"
    ),
}
assert set(COLUMN_VALUES) == set(RECORD_COLUMNS), "every column needs a value"
# What Python sends for each record (the rest is read out of `data` by the server): name → type.
ROW_COLUMNS: dict[str, str] = {
    "id": "text",
    "version": "integer",
    "published_at": "timestamptz",
    "updated_at": "timestamptz",
    "fetched_at": "timestamptz",
    "title_folded": "text",
    "summary_folded": "text",
    "body_folded": "text",
    "data": "jsonb",
}


@dataclass(frozen=True, slots=True)
class Destination:
    """Where the sink writes: the libpq URL (without our `table` parameter) and the table name."""

    conninfo: str
    table: str
    host: str
    port: str
    user: str
    dbname: str


def parse_destination(url: str, table: str = "records") -> Destination:
    """Split `?table=NAME` off the URL (libpq would reject it) and check every part we can offline."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise SinkError(f"{shown_destination(url)} is no PostgreSQL URL; write postgresql://user@host/database")
    query = parse_qsl(parts.query, keep_blank_values=True)
    tables = [value for key, value in query if key == "table"]
    if tables:
        table = tables[-1]
    if not _TABLE_NAME.fullmatch(table):
        raise SinkError(
            f"table name {table!r} is not a plain identifier; use lower-case letters, digits and _ "
            "(at most 48, not starting with a digit), e.g. ?table=portal_records"
        )
    conninfo = urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in query if k != "table"])))
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as error:
        raise SinkError(f"{shown_destination(url)} is no usable PostgreSQL URL ({_first_line(error)})") from None
    host = str(params.get("host") or params.get("hostaddr") or "localhost")
    return Destination(
        conninfo=conninfo,
        table=table,
        host=host,
        port=str(params.get("port") or "5432"),
        user=str(params.get("user") or "(your login name)"),
        dbname=str(params.get("dbname") or params.get("user") or "(your login name)"),
    )


class PostgresSink:
    """Upserts records into PostgreSQL, one transaction per batch with the export's progress."""

    def __init__(self, url: str, *, table: str = "records") -> None:
        self.destination = parse_destination(url, table)
        self._connection: psycopg.Connection | None = None
        self._upsert_sql = upsert_statement(self.destination.table)

    @property
    def table(self) -> str:
        return self.destination.table

    def resume_after(self, selection: Selection) -> int | None:
        connection = self._connect()
        row = self._run(
            connection,
            lambda: connection.execute(
                sql.SQL("SELECT last_seq FROM {} WHERE target_table = %s AND selection = %s").format(
                    sql.Identifier(PROGRESS_TABLE)
                ),
                (self.table, selection.key),
            ).fetchone(),
        )
        return None if row is None else int(row[0])

    def write_batch(self, records: list[StoredRecord], selection: Selection) -> None:
        if not records:
            return
        rows = record_rows(records)
        connection = self._connect()
        self._run(connection, lambda: self._write(connection, rows, records[-1].seq, selection), records)

    def close(self, ok: bool) -> None:
        """Every batch is committed when written: closing only ends the session."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _write(
        self, connection: psycopg.Connection, rows: list[tuple[Any, ...]], last_seq: int, selection: Selection
    ) -> None:
        with connection.transaction(), connection.cursor() as cursor:
            self._upsert(cursor, rows)
            cursor.execute(
                sql.SQL(
                    "INSERT INTO {} (target_table, selection, last_seq, updated_at) VALUES (%s, %s, %s, now())"
                    " ON CONFLICT (target_table, selection) DO UPDATE"
                    " SET last_seq = excluded.last_seq, updated_at = excluded.updated_at"
                ).format(sql.Identifier(PROGRESS_TABLE)),
                (self.table, selection.key, last_seq),
            )

    def _upsert(self, cursor: psycopg.Cursor, rows: list[tuple[Any, ...]]) -> None:
        """One INSERT … ON CONFLICT per row, pipelined (psycopg's executemany): no round trip per row."""
        cursor.executemany(self._upsert_sql, rows)

    def _connect(self) -> psycopg.Connection:
        """The session, opened and set up (tables checked or created) on first use."""
        if self._connection is not None:
            return self._connection
        destination = self.destination
        try:
            # A connect_timeout the URL gives is the user's; else ours, so a silent server cannot hang.
            timeout = (
                {}
                if "connect_timeout" in conninfo_to_dict(destination.conninfo)
                else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
            )
            connection = psycopg.connect(destination.conninfo, autocommit=True, **timeout)
        except psycopg.Error as error:
            raise SinkError(connect_error_message(destination, error)) from None
        try:
            self._run(connection, lambda: set_up_session(connection, destination))
        except SinkError:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _run(self, connection: psycopg.Connection, work: Any, records: list[StoredRecord] | None = None) -> Any:
        """`work()`, with any database error turned into one line saying what failed and what to do."""
        try:
            return work()
        except psycopg.Error as error:
            where = f"PostgreSQL at {self.destination.host}:{self.destination.port}"
            if connection.closed or connection.broken:
                self._connection = None
                raise SinkError(
                    f"lost the connection to {where} ({_first_line(error)}); run the export again: "
                    "it resumes after the last batch written"
                ) from None
            if records:
                raise SinkError(
                    f"{where} refused the batch of records seq {records[0].seq}–{records[-1].seq} "
                    f"for table {self.table} ({_first_line(error)})"
                ) from None
            raise SinkError(f"{where}, database {self.destination.dbname}: {_first_line(error)}") from None


def prefer_lz4(connection: psycopg.Connection) -> None:
    """Compress this session's large values (data, body, search) with lz4 where the server has it:
    they are written faster than with the default pglz and read back faster too."""
    try:
        connection.execute("SET default_toast_compression = 'lz4'")
    except psycopg.errors.InvalidParameterValue:
        return


def set_up_session(connection: psycopg.Connection, destination: Destination) -> None:
    """Everything a new session needs before its first batch."""
    prefer_lz4(connection)
    ensure_tables(connection, destination)


def ensure_tables(connection: psycopg.Connection, destination: Destination) -> None:
    """Create the records and progress tables if absent; refuse tables of that name that are not ours."""
    with connection.transaction():
        # Two exports starting together must not both find the table absent and race to create it.
        connection.execute("SELECT pg_advisory_xact_lock(hashtext('crawler_export_setup'))")
        _check_or_create(connection, destination, PROGRESS_TABLE, PROGRESS_COLUMNS, _create_progress())
        table = destination.table
        _check_or_create(connection, destination, table, RECORD_COLUMNS, _create_records(table))
        if connection.execute(sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table))).fetchone()[
            0
        ]:
            # A table made anew, or emptied (dropped, truncated): whatever progress was noted for it
            # is not in it, and the next export starts from the first record.
            connection.execute(
                sql.SQL("DELETE FROM {} WHERE target_table = %s").format(sql.Identifier(PROGRESS_TABLE)), (table,)
            )


def _check_or_create(
    connection: psycopg.Connection,
    destination: Destination,
    table: str,
    expected: dict[str, str],
    create: list[sql.Composed],
) -> None:
    found = connection.execute(
        "SELECT c.relkind, a.attname, format_type(a.atttypid, a.atttypmod)"
        " FROM pg_class c LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " WHERE c.oid = to_regclass(%s) ORDER BY a.attnum",
        (sql.Identifier(table).as_string(connection),),
    ).fetchall()
    if not found:
        for statement in create:
            connection.execute(statement)
        return
    columns = {name: kind for _, name, kind in found if name is not None}
    if found[0][0] not in ("r", "p") or columns != expected:
        foreign = [f"{name} {kind}" for name, kind in columns.items() if expected.get(name) != kind]
        missing = [name for name in expected if name not in columns]
        if found[0][0] not in ("r", "p"):
            what = "is no plain table"
        elif foreign:
            what = f"has other columns ({', '.join(foreign[:4])}{' …' if len(foreign) > 4 else ''})"
        else:
            what = f"lacks columns ({', '.join(missing[:4])}{' …' if len(missing) > 4 else ''})"
        raise SinkError(
            f"{table} in database {destination.dbname} {what}, so it is no table of this exporter and is left "
            "untouched; choose another table with ?table=NAME in the URL, or another database"
        )


def _create_records(table: str) -> list[sql.Composed]:
    name = sql.Identifier(table)
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}{}").format(
            sql.Identifier(column),
            sql.SQL(kind),
            sql.SQL(" PRIMARY KEY" if column == "id" else " NOT NULL" if column in _NOT_NULL else ""),
        )
        for column, kind in RECORD_COLUMNS.items()
    )
    return [
        sql.SQL("CREATE TABLE {} ({})").format(name, columns),
        sql.SQL("CREATE INDEX {} ON {} USING gin (search)").format(sql.Identifier(f"{table}_search_idx"), name),
        sql.SQL("CREATE INDEX {} ON {} (portal, published_at DESC)").format(
            sql.Identifier(f"{table}_portal_published_idx"), name
        ),
    ]


_NOT_NULL = frozenset({"portal", "url", "title", "version", "data", "exported_at", "search"})


def _create_progress() -> list[sql.Composed]:
    return [
        sql.SQL(
            "CREATE TABLE {} (target_table text NOT NULL, selection text NOT NULL, last_seq bigint NOT NULL,"
            " updated_at timestamp with time zone NOT NULL, PRIMARY KEY (target_table, selection))"
        ).format(sql.Identifier(PROGRESS_TABLE))
    ]


def row_parameters() -> sql.Composed:
    """The row `s` of one record as query parameters, typed (ROW_COLUMNS)."""
    return sql.SQL("(VALUES ({})) AS s ({})").format(
        sql.SQL(", ").join(sql.SQL("%s::{}").format(sql.SQL(kind)) for kind in ROW_COLUMNS.values()),
        sql.SQL(", ").join(sql.Identifier(column) for column in ROW_COLUMNS),
    )


def upsert_statement(
    table: str, source: sql.Composable | None = None, values: dict[str, str] | None = None
) -> sql.Composed:
    """Rows of `source` (aliased `s`, with ROW_COLUMNS; one row of parameters by default) into `table`:
    new ids inserted, known ids replaced unless the row holds a newer version. `values` replaces
    COLUMN_VALUES (the benchmark measures the search vector's cost that way)."""
    name = sql.Identifier(table)
    columns = list(RECORD_COLUMNS)
    return sql.SQL(
        "INSERT INTO {} ({}) SELECT {} FROM {} CROSS JOIN LATERAL jsonb_to_record(s.data) AS r ({})"
        " ON CONFLICT (id) DO UPDATE SET {} WHERE {}"
    ).format(
        name,
        sql.SQL(", ").join(sql.Identifier(column) for column in columns),
        sql.SQL(", ").join(sql.SQL((values or COLUMN_VALUES)[column]) for column in columns),
        source or row_parameters(),
        sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(f), sql.SQL(kind)) for f, kind in RECORD_FIELDS.items()
        ),
        sql.SQL(", ").join(
            sql.SQL("{} = excluded.{}").format(sql.Identifier(column), sql.Identifier(column))
            for column in columns
            if column != "id"
        ),
        sql.SQL("excluded.version >= {}.version").format(name),
    )


def record_rows(records: list[StoredRecord]) -> list[tuple[Any, ...]]:
    """One row (ROW_COLUMNS) per record id of the batch: the highest version, the latest seq among
    equals (an INSERT … SELECT … ON CONFLICT may not touch a row twice, and the older would only be
    skipped). In id order, so two exports into one table lock shared rows in the same order instead
    of deadlocking."""
    chosen: dict[str, tuple[int, tuple[Any, ...]]] = {}
    for record in records:
        line = record.data
        try:
            fields = json.loads(line)
            version = int(fields.get("version") or 1)
            record_id = str(fields["id"])
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise SinkError(
                f"record seq {record.seq} of the state is no record of this crawler ({type(error).__name__}: {error})"
            ) from None
        if "\\u0000" in line:
            # PostgreSQL text and JSONB cannot hold U+0000; it carries nothing readable.
            fields = _without_nul(fields)
            line = json.dumps(fields, ensure_ascii=False)
        kept = chosen.get(record_id)
        if kept is not None and kept[0] > version:
            continue
        chosen[record_id] = (
            version,
            (
                record_id,
                version,
                _timestamp(fields.get("published_at")),
                _timestamp(fields.get("updated_at")),
                _timestamp(fields.get("fetched_at")),
                fold_vietnamese(fields.get("title") or ""),
                fold_vietnamese(fields.get("summary") or ""),
                fold_vietnamese(fields.get("body") or ""),
                line,
            ),
        )
    return [row for _, (_, row) in sorted(chosen.items())]


def _timestamp(value: Any) -> str | None:
    """An ISO date-time PostgreSQL will take, else None (the raw value stays in `data`)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return None
    return value


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {key.replace("\x00", ""): _without_nul(item) for key, item in value.items()}
    return value


def connect_error_message(destination: Destination, error: psycopg.Error) -> str:
    """One line for a failed connection: which of server, login or database is wrong, and what to do."""
    reason = _first_line(error)
    where = f"PostgreSQL at {destination.host}:{destination.port}"
    if "does not exist" in reason and "database" in reason:
        return (
            f"{where} has no database {destination.dbname}; create it (createdb {destination.dbname}) "
            "or name another one in the URL"
        )
    if any(
        sign in reason
        for sign in ("authentication failed", "role", "no pg_hba.conf entry", "no password supplied", "password")
    ):
        return (
            f"{where} refused user {destination.user} ({reason}); check the user and password in the URL "
            "(or ~/.pgpass) and the server's pg_hba.conf"
        )
    return f"cannot connect to {where} ({reason}); check the URL and that the server runs"


def _first_line(error: BaseException) -> str:
    """The cause in a few words: libpq's first line without its 'connection to server … failed:' prefix."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    text = text.rsplit(" failed: ", 1)[-1]
    return re.sub(r"^(FATAL|ERROR):\s+", "", text).strip()
