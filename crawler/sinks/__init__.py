"""Outputs fed from the state (`crawler export DEST`, `crawler crawl --export DEST`).

The state holds every accepted record as the JSON line the run wrote (`crawler.state`); a sink is
one view of those lines in another format or system. The exporter reads the state
(`CrawlState.iter_records`, identified by `CrawlState.state_id`) in batches of
`StoredRecord`s in acceptance order (`seq` only grows) and hands each batch to the sink, so memory
stays flat whatever the number of records. DEST chooses the sink: `x.jsonl`, `x.csv`, `x.parquet`,
`x.sqlite` or a `postgresql://` URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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
