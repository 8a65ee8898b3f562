"""What the file sinks share: the record's top-level fields, and a temporary file renamed into place.

An export that fails half-way must not leave a truncated file under DEST that looks complete (nor
destroy the previous export), so each file sink writes `.DEST.<random>.part` beside DEST and renames
it over DEST only when the export finished.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import typing
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import IO, Any

from crawler.items import PortalRecord
from crawler.sinks import FORMATS_HELP, SinkError


@cache
def record_fields() -> dict[str, Any]:
    """The top-level fields of a record, in `PortalRecord` order, with their type hints."""
    hints = typing.get_type_hints(PortalRecord)
    return {field.name: hints[field.name] for field in dataclasses.fields(PortalRecord)}


def is_string_list(hint: Any) -> bool:
    return typing.get_origin(hint) is list and typing.get_args(hint) == (str,)


def checked_file_dest(dest: str | Path) -> Path:
    """DEST as a path whose folder exists (created if need be) and can be written in; SinkError if not."""
    path = Path(dest)
    if path.is_dir():
        raise SinkError(f"{path} is a folder: give {FORMATS_HELP}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SinkError(f"cannot create the folder of {path} ({error.strerror or error}); give another file") from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise SinkError(f"cannot write in {path.parent}: give a file in a folder you can write to")
    return path


class TemporaryTarget:
    """A new file beside DEST that becomes DEST on `commit()`, or disappears on `discard()`."""

    def __init__(self, dest: str | Path) -> None:
        self.dest = checked_file_dest(dest)
        self.path = self.dest.with_name(f".{self.dest.name}.{secrets.token_hex(4)}.part")
        self._handle: IO[bytes] | None = None

    def open(self) -> IO[bytes]:
        """The temporary file, opened for binary writing (created with the usual permissions)."""
        try:
            self._handle = self.path.open("xb")
        except OSError as error:
            raise SinkError(f"cannot write {self.dest} ({error.strerror or error}); give another file") from None
        return self._handle

    def commit(self) -> None:
        try:
            if self._handle is not None:
                self._handle.close()  # flushes: a full disk shows here
            self.path.replace(self.dest)
        except OSError as error:
            self.path.unlink(missing_ok=True)
            raise SinkError(f"cannot write {self.dest} ({error.strerror or error}); give another file") from None

    def finish(self, ok: bool, last_writes: Callable[[], None]) -> None:
        """Run the format's `last_writes` (footer, buffers), then commit when `ok`; discard on failure."""
        try:
            last_writes()
        except BaseException:
            self.discard()
            raise
        if ok:
            self.commit()
        else:
            self.discard()

    def discard(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):  # what it could not write is thrown away anyway
                self._handle.close()
        self.path.unlink(missing_ok=True)
