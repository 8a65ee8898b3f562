"""Outputs fed from the state (`crawler export DEST`, `crawler crawl --export DEST`).

The state holds every accepted record as the JSON line the run wrote (`crawler.state`); a sink is
one view of those lines in another format or system. The exporter reads the state
(`CrawlState.iter_records`, identified by `CrawlState.state_id`) in batches of
`StoredRecord`s in acceptance order (`seq` only grows) and hands each batch to the sink, so memory
stays flat whatever the number of records. DEST chooses the sink: `x.jsonl`, `x.csv`, `x.parquet`,
`x.sqlite` or a `postgresql://` URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One record as the state committed it: its change sequence and its JSON line (no newline)."""

    seq: int
    data: str


@dataclass(frozen=True, slots=True)
class Selection:
    """Which records of which state an export covers; `key` names it for resumable sinks."""

    state_id: str
    portal: str | None = None
    since: str | None = None
    run_id: str | None = None

    @property
    def key(self) -> str:
        return f"{self.state_id}|portal={self.portal or '*'}|since={self.since or '*'}|run={self.run_id or '*'}"


class SinkError(Exception):
    """A destination that cannot be used; the message is the one line shown to the user."""


class Sink(Protocol):
    """Where an export's records go, batch by batch."""

    def resume_after(self, selection: Selection) -> int | None:
        """The last `seq` this destination already holds for `selection` (resumable sinks), else None."""
        ...

    def write_batch(self, records: list[StoredRecord], selection: Selection) -> None:
        """Write one batch (in `seq` order); a resumable sink commits it with its progress."""
        ...

    def close(self, ok: bool) -> None:
        """Finish the output (a file sink renames its temporary file into place only when `ok`)."""
        ...


class RecordSource(Protocol):
    """What an export reads: the state (`crawler.state.CrawlState`) or anything that hands out records alike."""

    @property
    def state_id(self) -> str: ...

    def iter_records(
        self,
        *,
        portal: str | None = None,
        since: str | None = None,
        run_id: str | None = None,
        after_seq: int | None = None,
        batch_size: int = 2000,
    ) -> Iterator[list[StoredRecord]]: ...


FORMATS_HELP = "a .jsonl (.ndjson), .csv, .parquet or .sqlite (.db) file, or a postgresql:// URL"


def shown_destination(dest: str) -> str:
    """DEST as it may be shown or logged: a URL's password masked."""
    parts = urlsplit(dest)
    if parts.password is None:
        return dest
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def open_sink(dest: str, *, csv_bom: bool = False) -> Sink:
    """The sink DEST names: by its suffix for a file, by its scheme for PostgreSQL."""
    if dest.startswith(("postgresql://", "postgres://")):
        try:
            from crawler.sinks.postgres import PostgresSink
        except ModuleNotFoundError as error:
            if error.name != "crawler.sinks.postgres":
                raise
            raise SinkError("PostgreSQL exports are not part of this install; give a file instead") from None
        return PostgresSink(dest)
    suffix = Path(dest).suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        from crawler.sinks.jsonl import JsonlSink

        return JsonlSink(dest)
    if suffix == ".csv":
        from crawler.sinks.csvfile import CsvSink

        return CsvSink(dest, bom=csv_bom)
    if suffix == ".parquet":
        from crawler.sinks.parquet import ParquetSink

        return ParquetSink(dest)
    if suffix in (".sqlite", ".db"):
        from crawler.sinks.sqlite import SqliteSink

        return SqliteSink(dest)
    raise SinkError(f"cannot tell which format to write to {dest!r}: give {FORMATS_HELP}")


def export_state(
    state: RecordSource,
    dest: str,
    selection: Selection,
    *,
    csv_bom: bool = False,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Stream the selected records of `state` into DEST batch by batch; the number written.

    A resumable destination that already holds part of this selection gets only what follows it.
    The sink is closed as failed (a file sink leaves DEST as it was) when anything interrupts the
    export, Ctrl-C included. `progress` is called with the running count after each batch."""
    sink = open_sink(dest, csv_bom=csv_bom)
    written = 0
    try:
        after_seq = sink.resume_after(selection)
        batches = state.iter_records(
            portal=selection.portal,
            since=selection.since,
            run_id=selection.run_id,
            after_seq=after_seq,
            batch_size=batch_size,
        )
        for batch in batches:
            if not batch:
                continue
            sink.write_batch(batch, selection)
            written += len(batch)
            if progress is not None:
                progress(written)
    except BaseException:
        sink.close(ok=False)
        raise
    sink.close(ok=True)
    return written
