"""CSV: one row a record, one column a top-level field, for spreadsheets and quick looks.

Lists of strings (authors, tags, document_refs, embeds) are joined with "; "; objects and lists of
objects (parser, province, document, images, attachments) are compact JSON; missing values and
empty lists are empty cells. With `bom`, the file starts with a UTF-8 byte order mark: without it,
Excel reads the file in the machine's legacy code page and garbles Vietnamese.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from crawler.sinks import Selection, StoredRecord
from crawler.sinks.files import TemporaryTarget, is_string_list, record_fields

LIST_SEPARATOR = "; "


def csv_cell(value: Any, string_list: bool) -> str | int | float:
    """One field's value as a CSV cell (see the module's docstring)."""
    if value is None or value == []:
        return ""
    if string_list and isinstance(value, list) and all(isinstance(item, str) for item in value):
        return LIST_SEPARATOR.join(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


class CsvSink:
    """Writes a header of the record's fields (PortalRecord order), then a row per record."""

    def __init__(self, dest: str | Path, *, bom: bool = False) -> None:
        self.target = TemporaryTarget(dest)
        self.columns = list(record_fields())
        self.string_lists = {name for name, hint in record_fields().items() if is_string_list(hint)}
        # The csv module writes text; the text wrapper turns it into UTF-8 (with a BOM: utf-8-sig).
        self.text = io.TextIOWrapper(self.target.open(), encoding="utf-8-sig" if bom else "utf-8", newline="")
        self.writer = csv.writer(self.text)
        self.writer.writerow(self.columns)

    def resume_after(self, selection: Selection) -> int | None:
        return None  # a new file each time: nothing to resume

    def write_batch(self, records: list[StoredRecord], selection: Selection) -> None:
        rows = []
        for record in records:
            data = json.loads(record.data)
            rows.append([csv_cell(data.get(name), name in self.string_lists) for name in self.columns])
        self.writer.writerows(rows)

    def close(self, ok: bool) -> None:
        self.target.finish(ok, self.text.close)  # flushes, and closes the temporary file under it
