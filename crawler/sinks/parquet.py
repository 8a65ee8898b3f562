"""Parquet: typed, nested columns for DuckDB, pandas, Spark and friends.

The schema is explicit and follows `PortalRecord`: strings, whole numbers (version, view_count,
http_status), a float (dup_similarity), lists of strings (authors, tags …) and structs for the nested
objects (parser, province, document with number_parts/signer/co_signers, images, attachments). The
three moments (published_at, updated_at, fetched_at) are instants (timestamp with time zone, UTC) so
they compare and filter as such; `<name>_text` beside each keeps the record's string as written,
with its +07:00 offset. Lines are parsed by Arrow's own JSON reader, a batch at a time, and written
in row groups of about ROW_GROUP_BYTES, so memory stays flat whatever the number of records.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from crawler.dates import ICT
from crawler.sinks import Selection, SinkError, StoredRecord
from crawler.sinks.files import TemporaryTarget, record_fields

TIMESTAMP_FIELDS = ("published_at", "updated_at", "fetched_at")
TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")
TEXT_SUFFIX = "_text"
ROW_GROUP_BYTES = 32 * 1024 * 1024  # of Arrow data before compression: several thousand records
ROW_GROUP_MAX_ROWS = 100_000
_SCALARS: dict[Any, pa.DataType] = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}


def arrow_type(hint: Any) -> pa.DataType:
    """The Arrow type of a field of the record's dataclasses (Optional is nullability, not a type)."""
    if hint in _SCALARS:
        return _SCALARS[hint]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        present = [arg for arg in args if arg is not type(None)]
        if len(present) == 1:
            return arrow_type(present[0])
    if origin is list and len(args) == 1:
        return pa.list_(arrow_type(args[0]))
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        hints = typing.get_type_hints(hint)
        return pa.struct([pa.field(field.name, arrow_type(hints[field.name])) for field in dataclasses.fields(hint)])
    raise TypeError(f"no Parquet type for record field type {hint!r}")


@cache
def parquet_schema() -> pa.Schema:
    """The columns of the Parquet file, in record order, each moment followed by its `_text`."""
    columns = []
    for name, hint in record_fields().items():
        if name in TIMESTAMP_FIELDS:
            columns += [pa.field(name, TIMESTAMP_TYPE), pa.field(name + TEXT_SUFFIX, pa.string())]
        else:
            columns.append(pa.field(name, arrow_type(hint)))
    return pa.schema(columns)


@cache
def _line_schema() -> pa.Schema:
    """How the JSON lines are read: as the Parquet schema, with the moments still strings."""
    columns = parquet_schema()
    return pa.schema(
        [pa.field(name, pa.string()) if name in TIMESTAMP_FIELDS else columns.field(name) for name in record_fields()]
    )


def _instant(text: str | None) -> datetime | None:
    """A record's moment as an aware datetime (a string without offset is Vietnam time); None if not one."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=ICT)


def instants(texts: pa.ChunkedArray) -> pa.ChunkedArray:
    """The moments of a column of ISO 8601 strings; Arrow parses them, Python only when some are odd."""
    present = pc.if_else(pc.equal(texts, ""), pa.scalar(None, pa.string()), texts)
    try:
        return pc.cast(present, TIMESTAMP_TYPE)
    except pa.ArrowInvalid:
        return pa.chunked_array([pa.array([_instant(text) for text in texts.to_pylist()], TIMESTAMP_TYPE)])


def records_table(records: list[StoredRecord]) -> pa.Table:
    """One batch of stored lines as a table of the Parquet schema."""
    lines = [record.data.encode("utf-8") for record in records]
    # Arrow's reader cuts its input into blocks and refuses a line longer than a block.
    block_size = max(1 << 20, max(len(line) for line in lines) + 2)
    try:
        read = pa_json.read_json(
            pa.py_buffer(b"\n".join(lines) + b"\n"),
            read_options=pa_json.ReadOptions(block_size=block_size),
            parse_options=pa_json.ParseOptions(explicit_schema=_line_schema(), unexpected_field_behavior="ignore"),
        )
    except pa.ArrowInvalid as error:
        first, last = records[0].seq, records[-1].seq
        raise SinkError(f"a record between seq {first} and {last} does not fit the record schema ({error})") from None
    columns = []
    for name in record_fields():
        if name in TIMESTAMP_FIELDS:
            columns += [instants(read[name]), read[name]]
        else:
            columns.append(read[name])
    return pa.Table.from_arrays(columns, schema=parquet_schema())


class ParquetSink:
    """Converts each batch to Arrow at once and writes a row group when ROW_GROUP_BYTES have gathered."""

    def __init__(self, dest: str | Path) -> None:
        self.target = TemporaryTarget(dest)
        self.writer = pq.ParquetWriter(self.target.open(), parquet_schema(), compression="zstd")
        self.pending: list[pa.Table] = []
        self.pending_bytes = 0
        self.pending_rows = 0

    def resume_after(self, selection: Selection) -> int | None:
        return None  # a new file each time: nothing to resume

    def write_batch(self, records: list[StoredRecord], selection: Selection) -> None:
        if not records:
            return
        table = records_table(records)
        self.pending.append(table)
        self.pending_bytes += table.nbytes
        self.pending_rows += table.num_rows
        if self.pending_bytes >= ROW_GROUP_BYTES or self.pending_rows >= ROW_GROUP_MAX_ROWS:
            self._write_row_group()

    def _write_row_group(self) -> None:
        if self.pending:
            table = pa.concat_tables(self.pending)  # no copy: the batches' chunks make up the row group
            self.writer.write_table(table, row_group_size=table.num_rows)
        self.pending, self.pending_bytes, self.pending_rows = [], 0, 0

    def close(self, ok: bool) -> None:
        def last_writes() -> None:
            try:
                if ok:
                    self._write_row_group()
            finally:
                self.writer.close()  # the footer

        self.target.finish(ok, last_writes)
