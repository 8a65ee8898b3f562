"""JSON Lines: the state's lines exactly as the run wrote them, one record a line."""

from __future__ import annotations

from pathlib import Path

from crawler.sinks import Selection, StoredRecord
from crawler.sinks.files import TemporaryTarget


class JsonlSink:
    """Writes each stored line byte for byte (UTF-8, `\\n` after each), so the export of a run's
    records is the same file as the run's own records.jsonl."""

    def __init__(self, dest: str | Path) -> None:
        self.target = TemporaryTarget(dest)
        self.handle = self.target.open()

    def resume_after(self, selection: Selection) -> int | None:
        return None  # a new file each time: nothing to resume

    def write_batch(self, records: list[StoredRecord], selection: Selection) -> None:
        self.handle.write("".join(f"{record.data}\n" for record in records).encode("utf-8"))

    def close(self, ok: bool) -> None:
        self.target.finish(ok, self.handle.flush)
