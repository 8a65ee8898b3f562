"""A run's identity and folder: its id in the state, its run folder, its job (JOBDIR) markers, and
the signal pages that yield no record are reported with. Shared by the spider, the pipelines and
the run-folder writer, so none of them imports another."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler

from crawler.dates import ICT

# Sent by the spider for every page that yields no record: url, kind, reason.
page_rejected = object()


def new_run_id() -> str:
    return datetime.now(ICT).strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"


def default_run_dir(root: str | Path = "output") -> Path:
    return Path(root) / "runs" / new_run_id()


RUN_FILES = ("manifest.json", "records.jsonl", "rejects.jsonl")


class RunFolderError(ValueError):
    """A run folder or job folder that belongs to another run; the message says what to give instead."""


def check_new_run_dir(run_dir: Path) -> None:
    """Refuse a folder that already holds another run's files: a new run there would count the old
    lines against --max-items and report records it did not write. Refused rather than emptied:
    the old run's records are nobody's to delete but the user's."""
    found = [name for name in RUN_FILES if (run_dir / name).exists()]
    if found:
        raise RunFolderError(
            f"{run_dir} already holds a run ({', '.join(found)}); give a new --out folder, or remove that one"
        )


def job_run_dir(
    job_dir: Path, out: Path | None, root: str | Path = "output", target: str | None = None
) -> tuple[Path, bool]:
    """A job (JOBDIR) keeps one run folder across pauses: the first start picks it (`out`, or a new
    one under `root`) and notes the crawl's `target`, resumes reuse it. Returns (folder, whether this
    is a resume). A job folder is one crawl: another target, another --out, or a job that already
    finished is refused (RunFolderError)."""
    marker = job_dir / "run_dir.txt"
    target_marker = job_dir / "target.txt"
    if marker.exists():
        stored = Path(marker.read_text(encoding="utf-8").strip())
        stored_target = target_marker.read_text(encoding="utf-8").strip() if target_marker.exists() else None
        if target is not None and stored_target is not None and stored_target != target:
            raise RunFolderError(
                f"--job {job_dir} is a crawl of {stored_target}, not of {target}; give another --job folder"
            )
        if out is not None and out.resolve() != stored:
            raise RunFolderError(
                f"--job {job_dir} writes its run into {stored}; leave out --out (or give that folder) to resume it"
            )
        finished = _finish_reason(stored)
        if finished in ("finished", "max_items"):
            raise RunFolderError(f"--job {job_dir} already ended ({finished}); give a new --job folder for a new run")
        return stored, True
    run_dir = out or default_run_dir(root)
    check_new_run_dir(run_dir)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(str(run_dir.resolve()) + "\n", encoding="utf-8")
    if target is not None:
        target_marker.write_text(target + "\n", encoding="utf-8")
    return run_dir, False


def _finish_reason(run_dir: Path) -> str | None:
    """How the run in `run_dir` ended, from its manifest (None without a readable one)."""
    try:
        return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8")).get("finish_reason")
    except (OSError, ValueError, AttributeError):
        return None


def run_dir_for(crawler: Crawler) -> Path:
    """The crawl's run folder: RUN_DIR when set (by `crawler crawl`), else the job's folder under
    JOBDIR, else output/runs/<new run id>; decided once per crawler so every component agrees.
    A RUN_DIR that holds another run is refused (RunFolderError), unless this is its job resuming."""
    run_dir = getattr(crawler, "_run_dir", None)
    if run_dir is None:
        configured = crawler.settings.get("RUN_DIR")
        job_dir = crawler.settings.get("JOBDIR")
        root = crawler.settings.get("OUTPUT_ROOT", "output")
        if configured:
            run_dir = Path(configured)
            if not job_dir:  # a job's folder is its own to continue; any other run starts a folder
                check_new_run_dir(run_dir)
        elif job_dir:
            run_dir = job_run_dir(Path(job_dir), None, root)[0]
        else:
            run_dir = default_run_dir(root)
        setattr(crawler, "_run_dir", run_dir)  # noqa: B010 — not a declared Crawler attribute
    return run_dir


def run_id_for(crawler: Crawler) -> str:
    """The run's id in the state: new for every run (two runs into one --out folder are two runs),
    kept across pause and resume of a job (JOBDIR)."""
    run_id = getattr(crawler, "_run_id", None)
    if run_id is None:
        job_dir = crawler.settings.get("JOBDIR")
        marker = Path(job_dir) / "run_id.txt" if job_dir else None
        if marker is not None and marker.exists():
            run_id = marker.read_text(encoding="utf-8").strip()
        else:
            run_id = crawler.settings.get("RUN_ID") or (
                new_run_id() if crawler.settings.get("RUN_DIR") else run_dir_for(crawler).name
            )
            if marker is not None:
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.write_text(run_id + "\n", encoding="utf-8")
        setattr(crawler, "_run_id", run_id)  # noqa: B010 — not a declared Crawler attribute
    return run_id


def frontier_scope(crawler: Crawler) -> str:
    """Whose schedule the state's frontier rows belong to: the job (JOBDIR, kept across a pause) or
    this run alone."""
    job_dir = crawler.settings.get("JOBDIR")
    return f"job:{Path(job_dir).resolve()}" if job_dir else run_id_for(crawler)


def response_validators(response: Any) -> dict[str, str]:
    """ETag and Last-Modified of a response, for the next run's conditional GET."""
    if response is None:
        return {}
    found = {}
    for header, name in ((b"ETag", "etag"), (b"Last-Modified", "last_modified")):
        value = response.headers.get(header)
        if value:
            found[name] = value.decode("latin-1")
    return found


@dataclass(frozen=True)
class RunView:
    """A finished (or killed) run folder as the checks and the report read it: a single-portal run
    (manifest.json) or a multi-portal one (summary.json and a folder per portal)."""

    folder: Path
    run_id: str
    summary: dict[str, Any] | None
    manifests: list[dict[str, Any]] = field(default_factory=list)

    def portal_folder(self, portal: str) -> Path:
        if self.summary is None:
            return self.folder
        for row in self.summary.get("portals", []):
            if row.get("portal") == portal:
                return self.folder / str(row.get("folder") or portal)
        return self.folder / portal


def find_run(ref: str, root: str | Path = "output") -> Path:
    """A run folder from what a user typed: its path, or a run id under <root>/runs."""
    for candidate in (Path(ref), Path(root) / "runs" / ref):
        if (candidate / "manifest.json").is_file() or (candidate / "summary.json").is_file():
            return candidate
    raise RunFolderError(
        f"no run {ref!r}: give a run folder (with manifest.json or summary.json) or a run id in {Path(root) / 'runs'}"
    )


def newest_run(root: str | Path = "output") -> Path:
    """The run folder under <root>/runs started last (run ids sort by their start time)."""
    runs = sorted(
        (
            path
            for path in (Path(root) / "runs").glob("*")
            if (path / "manifest.json").is_file() or (path / "summary.json").is_file()
        ),
        key=lambda path: path.name,
    )
    if not runs:
        raise RunFolderError(f"no run under {Path(root) / 'runs'}: crawl first, or give a run folder")
    return runs[-1]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RunFolderError(f"{path} cannot be read ({error}); is the run still going, or was it killed?") from None
    if not isinstance(data, dict):
        raise RunFolderError(f"{path} is not a run manifest")
    return data


def load_run(folder: Path) -> RunView:
    """Read a run folder's summary (multi-portal) and manifests; a portal of a multi-portal run that
    wrote no manifest (killed, or never started) is left out."""
    summary_path = folder / "summary.json"
    if summary_path.is_file():
        summary = _read_json(summary_path)
        manifests = []
        for row in summary.get("portals", []):
            path = folder / str(row.get("folder") or row.get("portal")) / "manifest.json"
            if path.is_file():
                manifests.append(_read_json(path))
        return RunView(folder, str(summary.get("run_id") or folder.name), summary, manifests)
    manifest = _read_json(folder / "manifest.json")
    return RunView(folder, str(manifest.get("run_id") or folder.name), None, [manifest])
