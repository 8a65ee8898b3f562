"""`crawler` command: crawl, check, report, demo, state, export, portals, extract, schema, record-fixture.

Every error a user can meet prints one line saying what to do and exits non-zero; no tracebacks.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sqlite3
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urljoin, urlsplit

from crawler.exits import (
    EXIT_ABNORMAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_STATE,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    NORMAL_FINISH_REASONS,
)

if TYPE_CHECKING:
    from scrapy.settings import Settings

    from crawler.checks import Thresholds
    from crawler.state import CrawlState


class UserError(Exception):
    """An error the user can fix; its message is the one line we print, `code` the exit status."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"crawler: {message}", file=sys.stderr)
    return code


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (no usage block), exit code EXIT_USAGE."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"crawler: {message} (see `{self.prog} --help`)\n")


def _finite_seconds(text: str, *, zero: bool) -> float:
    """A finite number of seconds from an option's text (never inf, nan or negative; 0 if `zero`)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        bound = "0 or more" if zero else "more than 0"
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number of seconds, {bound}")
    return value


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds, zero or more (refuses inf, nan, negative)."""
    return _finite_seconds(text, zero=True)


def positive_seconds(text: str) -> float:
    """An argparse type: a finite number of seconds, more than 0 (a wait that can end)."""
    return _finite_seconds(text, zero=False)


def positive_int(text: str) -> int:
    """An argparse type: a whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"not a portal slug or an http(s) URL: {url!r} (see `crawler portals`)")
    return url


def _check_since(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise UserError(f"--since must be a date like 2024-01-31, not {value!r}") from None


def writable_folder(path: Path, what: str) -> Path:
    """Create the folder `path` if needed and check that we can write in it: one line when not."""
    if path.exists() and not path.is_dir():
        raise UserError(f"{what} {path} is a file, not a folder; give a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise UserError(f"cannot write in {what} {path} ({error.strerror or error}); give a writable folder") from None
    return path


# Scrapy settings read with getfloat although their default is a whole number.
_FLOAT_SETTINGS = frozenset({"DNS_TIMEOUT", "DOWNLOAD_DELAY", "DOWNLOAD_TIMEOUT", "CLOSESPIDER_TIMEOUT"})
_BOOL_TEXTS = frozenset({"0", "1", "True", "False", "true", "false"})


def check_setting_value(name: str, value: str) -> None:
    """Refuse an `-s NAME=VALUE` that Scrapy would fail on while starting (a traceback in the log
    and no crawl): the type follows Scrapy's default for NAME; LOG_LEVEL must be a level name."""
    import logging

    from scrapy.settings import default_settings

    from crawler.middlewares import NUMERIC_SETTINGS

    if name in NUMERIC_SETTINGS:
        return  # checked with its range by check_numeric_settings
    if name == "LOG_FILE":
        writable_folder(Path(value).parent, "LOG_FILE folder")
        return
    if name == "LOG_LEVEL":
        if value.upper() not in logging.getLevelNamesMapping():
            raise UserError(f"-s LOG_LEVEL takes DEBUG, INFO, WARNING, ERROR or CRITICAL, not {value!r}")
        return
    from crawler import settings as project_settings

    default = getattr(default_settings, name, getattr(project_settings, name, None))
    if isinstance(default, bool) or (isinstance(default, int) and name.endswith("_ENABLED")):
        if value not in _BOOL_TEXTS:
            raise UserError(f"-s {name} takes True or False (or 1 or 0), not {value!r}")
    elif isinstance(default, float) or name in _FLOAT_SETTINGS:
        try:
            float(value)
        except ValueError:
            raise UserError(f"-s {name} takes a number, not {value!r}") from None
    elif isinstance(default, int):
        try:
            int(value)
        except ValueError:
            raise UserError(f"-s {name} takes a whole number, not {value!r}") from None
    elif isinstance(default, dict):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise UserError(f'-s {name} takes a JSON object like {{"key": "value"}}, not {value!r}')


def _crawl_settings(extra_settings: list[str] | None, feeds: list[str] | None = None) -> Any:
    """The project's settings with `-s NAME=VALUE` (checked) and `-o` feeds at the command line's
    priority; the registry takes PORTALS_FILE from them before any portal is looked up."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from scrapy.utils.project import get_project_settings

    from crawler.registry import RegistryError, load_registry, use_portals_files

    settings = get_project_settings()
    if feeds:
        from scrapy.exceptions import UsageError
        from scrapy.utils.conf import feed_process_params_from_cli

        try:
            settings.set("FEEDS", feed_process_params_from_cli(settings, feeds), priority="cmdline")
        except UsageError as error:  # Scrapy's own message: an unknown format
            raise UserError(f"-o {' '.join(feeds)}: {error}") from None
    for pair in extra_settings or []:
        name, sep, value = pair.partition("=")
        if not sep:
            raise UserError(f"-s takes NAME=VALUE, not {pair!r}")
        check_setting_value(name, value)
        settings.set(name, value, priority="cmdline")
    try:
        use_portals_files(settings.get("PORTALS_FILE"))
        load_registry()
    except RegistryError as error:
        raise UserError(str(error)) from None
    return settings


def _spider_options(
    since: str | None,
    max_items: int | None,
    delay: float | None,
    full: bool,
    drop_duplicates: bool,
    download_attachments: bool,
    exports: list[str] | None,
) -> dict[str, Any]:
    """The options as spider arguments, as `scrapy crawl portal -a …` and Scrapyd give them: the
    spider turns them into the settings the components read (SPIDER_ARGUMENT_SETTINGS). Only what
    the user gave: an option left out leaves its setting to `-s` and the defaults."""
    since = _check_since(since)
    if max_items is not None and max_items < 1:
        raise UserError("--max-items must be at least 1")
    given = {
        "since": since,
        "max_items": max_items,
        "delay": delay,
        "full": full or None,
        "drop_duplicates": drop_duplicates or None,
        "attachments": download_attachments or None,
        "export": list(exports) if exports else None,
    }
    return {name: value for name, value in given.items() if value is not None}


def _check_crawl_settings(settings: Any, download_attachments: bool, files_default: Path) -> None:
    """What the crawl's components would refuse once started, refused now in one line."""
    if download_attachments or settings.getbool("DOWNLOAD_ATTACHMENTS"):
        store = str(settings.get("FILES_STORE") or files_default)
        if "://" not in store:  # a local folder (s3:// and the like are Scrapy's FilesPipeline's business)
            writable_folder(Path(store), "FILES_STORE folder")
    from crawler.checks import Thresholds
    from crawler.frontier import FrontierSettings
    from crawler.middlewares import SettingsError, check_numeric_settings

    try:
        check_numeric_settings(settings)
        FrontierSettings.from_settings(settings)
        Thresholds.from_settings(settings)
    except (SettingsError, ValueError) as error:
        raise UserError(str(error)) from None


def _start_failure(failure: Any, run_dir: Path) -> UserError:
    """The one line for a crawl that could not start (the same checks in the spider and middlewares:
    registry settings, `scrapy crawl -s`)."""
    import sqlite3 as sqlite

    from crawler.middlewares import SettingsError
    from crawler.spiders.portal import SpiderArgumentError
    from crawler.state import StateError

    if isinstance(failure.value, SettingsError | SpiderArgumentError):
        return UserError(str(failure.value))
    if isinstance(failure.value, StateError | sqlite.Error):  # refused or failing when the crawl opened it
        return UserError(str(failure.value), EXIT_STATE)
    # Anything else that stopped the crawl from starting: its traceback to the log, one line here.
    log = run_dir / "crawl.log"
    with log.open("a", encoding="utf-8") as handle:
        handle.write(failure.getTraceback())
    return UserError(f"the crawl could not start ({type(failure.value).__name__}: {failure.value}); see {log}")


def run_crawl(
    target: str,
    out: str | None,
    since: str | None,
    max_items: int | None,
    delay: float | None = None,
    extra_settings: list[str] | None = None,
    download_attachments: bool = False,
    state: str | None = None,
    full: bool = False,
    job: str | None = None,
    drop_duplicates: bool = False,
    exports: list[str] | None = None,
    feeds: list[str] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Crawl a registry portal or a start URL into a run folder; returns (folder, manifest)."""
    from crawler.registry import load_registry
    from crawler.runs import RUN_FILES, RunFolderError, check_new_run_dir, default_run_dir, job_run_dir

    settings = _crawl_settings(extra_settings, feeds)
    spider_args: dict[str, Any] = {}
    if load_registry().get(target) is not None:
        spider_args["portal"] = target
    elif "://" in target:
        spider_args["url"] = _check_url(target)
    else:
        raise UserError(f"unknown portal '{target}': run `crawler portals` for the slugs, or give a URL")
    spider_args.update(_spider_options(since, max_items, delay, full, drop_duplicates, download_attachments, exports))
    resumed = False
    # Where runs and the state go unless given: OUTPUT_ROOT, which `-s OUTPUT_ROOT=DIR` may move.
    root = settings.get("OUTPUT_ROOT") or "output"
    try:
        if job:
            writable_folder(Path(job), "--job folder")
            run_dir, resumed = job_run_dir(Path(job), Path(out) if out else None, root=root, target=target)
        else:
            run_dir = Path(out) if out else default_run_dir(root)
            check_new_run_dir(run_dir)
    except RunFolderError as error:
        raise UserError(str(error)) from None
    state_path = _check_state(state or str(Path(root) / "state" / "crawler.sqlite"))
    made_here = not out and not resumed and not run_dir.exists()
    writable_folder(run_dir, "--out folder" if out else "run folder")
    from scrapy.crawler import CrawlerProcess

    run_dir.mkdir(parents=True, exist_ok=True)
    spider_args.update(state=str(state_path), log_file=str(run_dir / "crawl.log"))
    if out:
        spider_args["out"] = str(run_dir)
    else:
        settings.set("RUN_DIR", str(run_dir), priority="cmdline")
        if not resumed:  # a folder of our own making is named by its run's id
            settings.set("RUN_ID", run_dir.name, priority="cmdline")
    settings.set("LOG_FILE", str(run_dir / "crawl.log"), priority="cmdline")  # from the first line on
    settings.set("LOG_FILE_APPEND", resumed, priority="cmdline")  # a resumed job continues its log
    if job:
        settings.set("JOBDIR", job, priority="cmdline")
    _check_crawl_settings(
        settings, download_attachments, run_dir / "files" if out else Path(settings["OUTPUT_ROOT"]) / "files"
    )
    from crawler.middlewares import SettingsError
    from crawler.spiders.portal import SpiderArgumentError
    from crawler.state import StateError

    process = CrawlerProcess(settings)
    crawl_failures: list[Any] = []
    process.crawl("portal", **spider_args).addErrback(crawl_failures.append)
    process.start()
    for failure in crawl_failures:
        refused = isinstance(failure.value, SettingsError | SpiderArgumentError | StateError | sqlite3.Error)
        if refused and made_here and not any((run_dir / name).exists() for name in RUN_FILES):
            shutil.rmtree(run_dir, ignore_errors=True)  # a folder of ours for a run that never began
        raise _start_failure(failure, run_dir)
    manifest_path = run_dir / "manifest.json"
    if not manifest_path.exists():  # stopped hard (a second Ctrl-C) or broken before it could say how it ended
        raise UserError(f"the crawl stopped before writing its manifest; see {run_dir / 'crawl.log'}", EXIT_ABNORMAL)
    return run_dir, json.loads(manifest_path.read_text(encoding="utf-8"))


def run_many(
    slugs: list[str],
    all_portals: bool,
    statuses: list[str],
    out: str | None,
    options: dict[str, Any],
    extra_settings: list[str] | None = None,
    state: str | None = None,
    exports: list[str] | None = None,
    download_attachments: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """Crawl several registry portals in one process into one run folder (crawler.multirun);
    returns (folder, summary)."""
    from scrapy.crawler import CrawlerProcess

    from crawler.multirun import MultiRun, PortalRun, SelectionError, select_portals, write_summary
    from crawler.progress import PortalBoard
    from crawler.registry import load_registry
    from crawler.runs import RunFolderError, check_new_run_dir, default_run_dir, new_run_id

    settings = _crawl_settings(extra_settings)
    try:
        entries = select_portals(load_registry(), slugs, all_portals, statuses)
    except SelectionError as error:
        raise UserError(str(error)) from None
    root = settings.get("OUTPUT_ROOT") or "output"
    run_dir = Path(out) if out else default_run_dir(root)
    try:
        check_new_run_dir(run_dir)
        if (run_dir / "summary.json").exists():
            raise RunFolderError(f"{run_dir} already holds a run (summary.json); give a new --out folder")
    except RunFolderError as error:
        raise UserError(str(error)) from None
    state_path = _check_state(state or str(Path(root) / "state" / "crawler.sqlite"))
    writable_folder(run_dir, "--out folder" if out else "run folder")
    _check_exports(exports or [])
    run_dir.mkdir(parents=True, exist_ok=True)
    group = run_dir.name if not out else new_run_id()
    settings.set("LOG_FILE", str(run_dir / "crawl.log"), priority="cmdline")
    settings.set("LOG_FILE_APPEND", True, priority="cmdline")  # each portal's crawler re-opens the log
    _check_crawl_settings(settings, download_attachments, Path(settings["OUTPUT_ROOT"]) / "files")
    at_once = settings.getint("PORTALS_AT_ONCE", 8)
    if at_once < 1:
        raise UserError(f"PORTALS_AT_ONCE must be at least 1, not {settings.get('PORTALS_AT_ONCE')!r}")
    process = CrawlerProcess(settings)
    board = PortalBoard.for_settings(settings, len(entries))
    runs = [PortalRun(entry, f"{group}-{entry.slug}", run_dir / entry.slug) for entry in entries]
    multi = MultiRun(
        process,
        runs,
        group,
        run_dir,
        {**options, "state": str(state_path)},
        judge=lambda manifest, folder: run_outcome(manifest, folder),
        state_path=state_path,
        at_once=at_once,
        recheck_days=settings.getfloat("RETIRED_RECHECK_DAYS", 30.0),
        on_change=board.changed,
    )
    board.attach(multi)
    multi.start()
    process.start()
    board.close()
    summary = multi.finish()
    chosen = [entry.slug for entry in entries]
    summary["selection"] = {"all": all_portals, "status": statuses or None, "portals": chosen}
    summary["exports"] = _export_group(state_path, group, exports or [], settings.getbool("EXPORT_CSV_BOM"))
    if any("error" in export for export in summary["exports"]) and summary["exit_code"] == EXIT_OK:
        summary["exit_code"] = EXIT_ABNORMAL
    write_summary(run_dir, summary)
    return run_dir, summary


def _check_exports(destinations: list[str]) -> None:
    """Each --export destination opened and dropped before crawling (as the spider does for one portal)."""
    from crawler.spiders.portal import SpiderArgumentError, check_exports

    try:
        check_exports(destinations)
    except SpiderArgumentError as error:
        raise UserError(str(error)) from None


def _export_group(state_path: Path, group: str, destinations: list[str], bom: bool) -> list[dict[str, Any]]:
    """The records of every portal of the run to each --export destination, once the run ended."""
    from crawler.sinks import Selection, SinkError, export_state, shown_destination
    from crawler.state import CrawlState, StateError

    done: list[dict[str, Any]] = []
    if not destinations:
        return done
    try:
        with CrawlState(state_path) as crawl_state:
            for dest in destinations:
                shown = shown_destination(dest)
                try:
                    count = export_state(crawl_state, dest, Selection(crawl_state.state_id, run_id=group), csv_bom=bom)
                    done.append({"dest": shown, "records": count})
                except (SinkError, OSError) as error:
                    done.append({"dest": shown, "error": str(error)})
    except StateError as error:
        done.append({"dest": ", ".join(destinations), "error": str(error)})
    return done


def _check_state(state: str | None) -> Path:
    """The state file to use (default output/state/crawler.sqlite), checked before Scrapy starts."""
    from crawler.state import DEFAULT_STATE_PATH, CrawlState, StateError

    path = Path(state) if state else DEFAULT_STATE_PATH
    try:
        CrawlState(path).close()
    except StateError as error:
        raise UserError(str(error), EXIT_STATE) from None
    return path


def cmd_crawl(args: argparse.Namespace) -> int:
    targets = list(args.target or [])
    if len(targets) > 1 or args.all or args.status:
        return cmd_crawl_many(args, targets)
    if not targets:
        raise UserError("give a portal slug or a start URL, several slugs, --all or --status STATUS")
    run_dir, manifest = run_crawl(
        targets[0],
        args.out,
        args.since,
        args.max_items,
        args.delay,
        [*(args.set or []), *(["EXPORT_CSV_BOM=True"] if args.csv_bom else [])],
        args.download_attachments,
        state=args.state,
        full=args.full,
        job=args.job,
        drop_duplicates=args.drop_duplicates,
        exports=args.export,
        feeds=args.output,
    )
    code, why = run_outcome(manifest, run_dir, job=bool(args.job))
    if code == EXIT_UNREACHABLE:
        return _fail(why or "", code)
    records, incremental = manifest["records"], manifest["incremental"]
    print(
        f"{manifest['records_written']} records from {manifest['pages_fetched']} pages → {run_dir / 'records.jsonl'} "
        f"(rejects: {sum(manifest['rejects_by_reason'].values())}, manifest: {run_dir / 'manifest.json'})\n"
        f"  {incremental['mode']} crawl: {records['new']} new, {records['updated']} updated, "
        f"{records['exact_duplicates']} exact and {records['near_duplicates']} near duplicates; "
        f"{incremental['pages_skipped_as_seen']} known and {incremental['dead_pages_not_fetched']} dead pages "
        "not fetched, "
        f"{records['unchanged_not_written']} re-checked unchanged"
    )
    for failure in manifest.get("start_failures", []):
        print(f"  start URL failed: {failure['url']} ({failure['reason']})")
    for export in manifest.get("exports", []):
        if "records" in export:
            print(f"  exported {export['records']} records → {export['dest']}")
    return _fail(why, code) if why else code


def cmd_crawl_many(args: argparse.Namespace, slugs: list[str]) -> int:
    """Several portals in one process: one line per portal, then the run's totals."""
    if args.job:
        raise UserError("--job pauses one portal's crawl; crawl several portals without it")
    if args.output:
        raise UserError("-o writes one portal's feed; for several portals use --export DEST")
    if any("://" in slug for slug in slugs):
        raise UserError("several targets must be registry slugs (see `crawler portals`); crawl a URL on its own")
    options = _spider_options(
        args.since, args.max_items, args.delay, args.full, args.drop_duplicates, args.download_attachments, None
    )
    from crawler.multirun import row_line

    run_dir, summary = run_many(
        slugs,
        args.all,
        args.status or [],
        args.out,
        options,
        [*(args.set or []), *(["EXPORT_CSV_BOM=True"] if args.csv_bom else [])],
        state=args.state,
        exports=args.export,
        download_attachments=args.download_attachments,
    )
    for row in summary["portals"]:
        print(f"  {row_line(row)}")
    counts = summary["portals_by_outcome"]
    print(
        f"{len(summary['portals'])} portals ({', '.join(f'{n} {outcome}' for outcome, n in counts.items() if n)}): "
        f"{summary['records_written']} records from {summary['pages_fetched']} pages → {run_dir} "
        f"(summary: {run_dir / 'summary.json'})"
    )
    for export in summary.get("exports", []):
        if "records" in export:
            print(f"  exported {export['records']} records → {export['dest']}")
        else:
            print(f"  export to {export['dest']} failed: {export['error']}", file=sys.stderr)
    code = summary["exit_code"]
    if code not in (EXIT_OK,):
        worst = next((row for row in summary["portals"] if row["exit_code"] == code), None)
        why = f"{worst['portal']}: {worst['message']}" if worst and worst.get("message") else "see the summary"
        return _fail(f"{why} (summary: {run_dir / 'summary.json'})", code)
    return code


def run_outcome(manifest: dict[str, Any], run_dir: Path, job: bool = False) -> tuple[int, str | None]:
    """The exit status of a run from its manifest, and the one line saying why when it is not 0.

    The worst cause wins: the state failing (its records may be unknown to the state), an
    interruption, no start URL reached, an abnormal end, errors in the crawler's own code."""
    log = run_dir / "crawl.log"
    state_errors = [error for error in manifest.get("errors", []) if error["kind"] == "state"]
    if state_errors:
        count = sum(error["count"] for error in state_errors)
        return EXIT_STATE, (
            f"the state file {manifest.get('state', '')} failed during the run ({state_errors[0]['error']}"
            f"{f', and {count - 1} more' if count > 1 else ''}); records it could not take were not written "
            f"(the next run fetches them), those it took are in {run_dir / 'records.jsonl'}; see {log}"
        )
    reason = manifest["finish_reason"]
    if reason == "state_error":  # the state file was deleted or replaced under the run
        return EXIT_STATE, (
            f"the state file {manifest.get('state', '')} went away during the run "
            f"({manifest.get('state_error') or 'deleted or replaced'}); the records written are in "
            f"{run_dir / 'records.jsonl'}; see {log}"
        )
    if reason == "shutdown":
        if job:
            return EXIT_INTERRUPTED, "paused (Ctrl-C or SIGTERM): run the same command to resume the job"
        return EXIT_INTERRUPTED, (
            f"interrupted (Ctrl-C or SIGTERM) after {manifest['records_written']} records; "
            "run again to crawl the rest (use --job DIR to pause and resume one run)"
        )
    failed_start = start_failure_message(manifest)
    if failed_start:
        return EXIT_UNREACHABLE, failed_start
    errors = manifest["errors_by_kind"]
    if manifest["pages_fetched"] == 0 and errors:
        kinds = ", ".join(sorted(errors))
        return EXIT_UNREACHABLE, f"could not reach {manifest['start_urls'][0]} ({kinds}); check the URL and network"
    if reason not in NORMAL_FINISH_REASONS:
        return EXIT_ABNORMAL, f"the crawl ended abnormally ({reason}); see {log}"
    failed_exports = [export for export in manifest.get("exports", []) if "error" in export]
    if failed_exports:
        first = failed_exports[0]
        state = manifest.get("state", "")
        return EXIT_ABNORMAL, (
            f"export to {first['dest']} failed ({first['error']}); the run's records are in the state: "
            f"`crawler export '{first['dest']}' --state {state} --run {manifest['run_id']}` once it is fixed"
        )
    exceptions = {name: count for name, count in manifest.get("spider_exceptions", {}).items() if name != "count"}
    others = [error for error in manifest.get("errors", []) if error["kind"] == "exception"]
    if exceptions or others:
        named = exceptions or {error["error"].split(":")[0]: error["count"] for error in others}
        listed = ", ".join(f"{name} ×{count}" for name, count in sorted(named.items()))
        return EXIT_ABNORMAL, f"the crawl met errors in its own code ({listed}); see {log} and please report it"
    return checks_outcome(manifest, run_dir)


def checks_outcome(manifest: dict[str, Any], run_dir: Path) -> tuple[int, str | None]:
    """A run that ended normally exits as its checks say: 0 pass, 5 warn, 6 fail, with the first
    check that warned or failed as the line."""
    from crawler.checks import exit_code

    checks = manifest.get("checks") or {}
    status = checks.get("status") or "pass"
    if status == "pass":
        return EXIT_OK, None
    flagged = [result for result in checks.get("results", []) if result.get("status") == status]
    first = flagged[0]["message"] if flagged else checks.get("error", "")
    more = f" (and {len(flagged) - 1} more)" if len(flagged) > 1 else ""
    return exit_code(status), f"checks {status}: {first}{more}; `crawler check {run_dir}` lists them"


_NETWORK_FAILURES = frozenset({"dns", "connection_refused", "connection_reset", "timeout"})


def _start_failure_line(url: str, reason: str) -> str:
    if reason in ("http_429", "http_503", "retry_after_too_long"):
        return (
            f"start URL {url} kept answering {reason.removeprefix('http_')} (too busy or rate-limited) "
            "after its retries; try later or with a larger --delay"
        )
    if reason == "non_html_link":
        return f"start URL {url} names a file, not a page; give the portal's home or a listing page"
    if reason.startswith("http_"):
        return f"start URL {url} answered HTTP {reason.removeprefix('http_')}; check the URL"
    if reason in _NETWORK_FAILURES:
        return f"could not reach {url} ({reason}); check the URL and network"
    if reason == "url_too_long":
        return (
            f"start URL {url[:60]}… is {len(url)} characters, longer than URLLENGTH_LIMIT; "
            "shorten it or raise -s URLLENGTH_LIMIT=N"
        )
    if reason == "offsite_redirect":
        return (
            f"start URL {url} redirects to another site; crawl the URL it redirects to, or allow that "
            "host (registry `aliases`, or -s BOUNDARY_EXTRA_HOSTS=host)"
        )
    if reason == "robots_disallowed":
        return f"start URL {url} is disallowed by the site's robots.txt"
    return f"start URL {url} gave nothing to crawl ({reason}); check the URL"


def start_failure_message(manifest: dict[str, Any]) -> str | None:
    """The one line to exit with when every start URL failed; None when at least one gave a page."""
    failures = manifest.get("start_failures") or []
    failed = {failure["url"] for failure in failures}
    if not failures or not failed.issuperset(manifest["start_urls"]):
        return None
    if len(failures) == 1:
        return _start_failure_line(failures[0]["url"], failures[0]["reason"])
    listed = ", ".join(f"{failure['url']} ({failure['reason']})" for failure in failures)
    return f"no start URL gave a page to crawl: {listed}; check the URLs"


def cmd_demo(args: argparse.Namespace) -> int:
    from crawler.demo.site import serve
    from crawler.runs import default_run_dir

    server, base = serve()
    run_dir = Path(args.out) if args.out else default_run_dir()
    try:
        print(f"serving the bundled fixture portal at {base}/ (127.0.0.1 only)")
        # The demo keeps its state in its run folder: each demo is a first crawl of a new site.
        state = str(run_dir / "state.sqlite")
        run_dir, manifest = run_crawl(base + "/", str(run_dir), None, None, delay=0.0, state=state)
    finally:
        server.shutdown()
    print(
        f"demo crawl done: {manifest['records_written']} records from {manifest['pages_fetched']} pages\n"
        f"  records:  {run_dir / 'records.jsonl'}\n  rejects:  {run_dir / 'rejects.jsonl'}\n"
        f"  manifest: {run_dir / 'manifest.json'}"
    )
    code, why = run_outcome(manifest, run_dir)
    return _fail(why, code) if why else code


def _print_table(rows: list[tuple[str, ...]]) -> None:
    """Rows of text cells in left-aligned columns (the first row is the header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def cmd_state(args: argparse.Namespace) -> int:
    from crawler.state import DEFAULT_STATE_PATH, CrawlState, StateError

    path = Path(args.state) if args.state else DEFAULT_STATE_PATH
    if not path.exists():
        raise UserError(f"no state file at {path}: run a crawl first, or pass --state PATH")
    try:
        state = CrawlState(path)
    except StateError as error:
        raise UserError(str(error), EXIT_STATE) from None
    try:
        if args.action == "reset":
            if not args.portal:
                raise UserError("say which portal to forget: crawler state reset <portal>")
            from crawler.boundary import alias_site

            for name in dict.fromkeys((args.portal, alias_site(args.portal) if "." in args.portal else args.portal)):
                running = state.live_runs(name)
                if running:
                    raise UserError(
                        f"'{name}' is being crawled now (run {running[0]}): reset it once that crawl has ended"
                    )
            removed = state.reset_portal(args.portal)
            if not any(removed.values()) and not args.portal.isascii():
                # The state names hosts in their ASCII (IDNA) form: hà-nội.vn is xn--h-ni-0na4517b.vn.
                removed = state.reset_portal(alias_site(args.portal))
            if not any(removed.values()):
                raise UserError(f"the state holds nothing for '{args.portal}' (see `crawler state`)")
            print(f"forgot '{args.portal}': " + ", ".join(f"{count} {table}" for table, count in removed.items()))
            return 0
        rows = state.summary()
    finally:
        state.close()
    print(f"state: {path}")
    if not rows:
        print("no portal crawled yet")
        return 0
    header = ("portal", "records", "updated", "exact", "near", "newest published", "last run", "finish", "complete")
    table = [header] + [
        (
            row["portal"],
            str(row["records"]),
            str(row["updated"]),
            str(row["exact_duplicates"]),
            str(row["near_duplicates"]),
            row["newest_published"] or "-",
            row["last_run"] or "-",
            row["last_finish_reason"] or "-",
            "yes" if row["complete"] else "no",
        )
        for row in rows
    ]
    _print_table(table)
    dead = [f"{row['portal']} {row['dead_pages']}" for row in rows if row["dead_pages"]]
    if dead:
        print("dead pages remembered (not fetched again until their back-off passes): " + ", ".join(dead))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Judge a finished run again: each portal's manifest against the portal's runs before it, with
    the thresholds of now (a threshold changed since the run, or a state that learnt more, shows)."""
    from crawler.checks import check_portal_run, checks_block, exit_code, portal_of, worst
    from crawler.runs import RunFolderError, find_run, load_run, newest_run

    settings = _check_settings(args.set or [])
    thresholds = _check_thresholds(settings)
    root = settings.get("OUTPUT_ROOT") or "output"
    try:
        view = load_run(find_run(args.run, root) if args.run else newest_run(root))
    except RunFolderError as error:
        raise UserError(str(error)) from None
    if not view.manifests:
        raise UserError(f"run {view.run_id} in {view.folder} has no portal manifest to check (did every portal fail?)")
    state = _open_check_state(args.state, view.manifests, root)
    results = []
    try:
        for manifest in view.manifests:
            portal = portal_of(manifest) or ""
            history = state.portal_history(portal, before=manifest.get("run_id"), limit=thresholds.history_limit)
            results += check_portal_run(
                manifest,
                history,
                thresholds,
                newest_record_at=state.newest_record_at(portal),
                now=_run_end(manifest),
            )
    finally:
        state.close()
    status = worst(results)
    if args.json:
        print(json.dumps(checks_block(results), ensure_ascii=False, indent=2))
        return exit_code(status)
    shown = results if args.all else [result for result in results if result.status != "pass"]
    for result in shown:
        print(f"{result.status.upper():<4}  {result.portal or '-'}  {result.name}: {result.message}")
    counts = {name: sum(result.status == name for result in results) for name in ("pass", "warn", "fail")}
    if not args.all and counts["pass"]:
        print(f"({counts['pass']} passing checks not listed; --all lists them)")
    print(f"{counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail")
    return exit_code(status)


def _check_settings(pairs: list[str]) -> Settings:
    """The project settings with the `-s NAME=VALUE` of `crawler check` (CHECK_* thresholds, OUTPUT_ROOT)."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise UserError(f"-s takes NAME=VALUE, not {pair!r}")
        check_setting_value(name, value)
        settings.set(name, value, priority="cmdline")
    return settings


def _check_thresholds(settings: Settings) -> Thresholds:
    from crawler.checks import Thresholds
    from crawler.middlewares import SettingsError

    try:
        return Thresholds.from_settings(settings)
    except SettingsError as error:
        raise UserError(str(error)) from None


def _open_check_state(given: str | None, manifests: list[dict[str, Any]], root: str) -> CrawlState:
    """The state holding the run's history: --state, else the one the run used (its manifest says),
    else <OUTPUT_ROOT>/state/crawler.sqlite. Never created here: checks without history say nothing."""
    from crawler.state import CrawlState, StateError

    used = [Path(manifest["state"]) for manifest in manifests if manifest.get("state")]
    path = Path(given) if given else next((p for p in used if p.is_file()), Path(root) / "state" / "crawler.sqlite")
    if not path.is_file():
        raise UserError(f"no state file at {path}: pass --state PATH, the state the run used", EXIT_STATE)
    try:
        return CrawlState(path)
    except StateError as error:
        raise UserError(str(error), EXIT_STATE) from None


def _run_end(manifest: dict[str, Any]) -> datetime:
    """When the run ended: "stale" is judged as of then, so a run checked again later reads the same."""
    from crawler.dates import ICT

    try:
        return datetime.fromisoformat(str(manifest.get("finished_at")))
    except ValueError:
        return datetime.now(ICT)


def cmd_export(args: argparse.Namespace) -> int:
    import time

    from crawler.sinks import Selection, SinkError, export_state, shown_destination
    from crawler.state import DEFAULT_STATE_PATH, CrawlState, StateError

    since = _check_since(args.since)
    path = Path(args.state) if args.state else DEFAULT_STATE_PATH
    if not path.exists():
        raise UserError(f"no state file at {path}: run a crawl first, or pass --state PATH", EXIT_STATE)
    try:
        state = CrawlState(path)
    except StateError as error:
        raise UserError(str(error), EXIT_STATE) from None

    def progress(count: int) -> None:
        if sys.stderr.isatty():  # a running count on the terminal, nothing in a log
            print(f"\r{count} records…", end="", file=sys.stderr, flush=True)

    started = time.monotonic()
    try:
        state.adopt_run_files()  # runs made before the state kept records: their folders' lines
        if args.run is not None and not state.has_run(args.run):
            raise UserError(f"no run {args.run!r} in {path}: a run's id is `run_id` in its manifest.json")
        selection = Selection(state.state_id, portal=args.portal, since=since, run_id=args.run)
        written = export_state(
            state, args.dest, selection, csv_bom=args.bom, batch_size=args.batch_size, progress=progress
        )
        unknown_portal = args.portal is not None and not written and not state.portal_has_runs(args.portal)
    except SinkError as error:
        raise UserError(str(error)) from None
    except OSError as error:
        raise UserError(f"cannot write {args.dest} ({error.strerror or error}); give another DEST") from None
    finally:
        state.close()
    if sys.stderr.isatty():
        print("\r" + " " * 40 + "\r", end="", file=sys.stderr)
    print(f"{written} records → {shown_destination(args.dest)} in {time.monotonic() - started:.1f} s")
    if unknown_portal:  # 0 records is no error, but a misspelt slug should not pass unnoticed
        print(f"crawler: note: the state {path} has no portal {args.portal!r} (see `crawler state`)", file=sys.stderr)
    return 0


def cmd_portals(args: argparse.Namespace) -> int:
    from crawler.registry import load_registry, use_portals_files

    if args.portals_file:
        use_portals_files(args.portals_file)
    selected = [entry for entry in load_registry() if not args.status or entry.status == args.status]
    if args.slugs:  # one per line, nothing else: for shell loops (one Scrapyd job per portal)
        for entry in selected:
            print(entry.slug)
        return 0
    rows = [("slug", "name", "code", "legacy", "status", "platform", "domain")]
    for entry in selected:
        rows.append(
            (entry.slug, entry.name, entry.code, entry.legacy_code or "", entry.status, entry.platform, entry.domain)
        )
    _print_table(rows)
    print(f"{len(rows) - 1} portals")
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    from crawler.deploy import DeployError, deploy

    try:
        status = deploy(
            Path.cwd(),
            target=args.target,
            project=args.project,
            version=args.version,
            build_egg=Path(args.build_egg) if args.build_egg else None,
        )
    except DeployError as error:
        raise UserError(str(error)) from None
    if status != 0:
        raise UserError(f"scrapyd-deploy failed (exit status {status}): see its message above", 1)
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    source = args.source
    if "://" in source:
        html, url = _fetch(_check_url(source), args.timeout)
    else:
        path = Path(source)
        if not path.is_file():
            raise UserError(f"no such file: {source} (give a saved page or an http(s) URL)")
        from crawler.decoding import decode_html

        html = decode_html(path.read_bytes(), None)[0]
        url = args.url or path.resolve().as_uri()
    from crawler.extract import extract_with_reason

    record, reason = extract_with_reason(html, args.url or url, args.platform)
    if record is None:
        why = reason or "a listing or empty page?"
        return _fail(f"no article found on {source} ({why}); try `crawler detect`", 1)
    print(json.dumps(record, ensure_ascii=False, indent=2))
    return 0


def _fetch(url: str, timeout: float = 60.0) -> tuple[str, str]:
    """The page at `url`, decoded, and the URL it came from: redirects are followed only within
    the URL's own site (crawler.boundary), over http(s), at most REDIRECT_MAX_TIMES, never in a
    loop and never to a private address unless `url` is on one; anything else is one line.
    `timeout` bounds each connect and each read, in seconds."""
    import http.client
    import urllib.error
    import urllib.request

    from w3lib.url import safe_url_string

    from crawler.boundary import Boundary
    from crawler.decoding import decode_html
    from crawler.settings import REDIRECT_MAX_TIMES, USER_AGENT
    from crawler.urls import exact_url

    # Only http(s) handlers: urllib's default opener would also read ftp: and file: URLs, and
    # follows redirects by itself. Without HTTPErrorProcessor every status comes back as is.
    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.ProxyHandler(), urllib.request.HTTPHandler(), urllib.request.HTTPSHandler()):
        opener.add_handler(handler)
    boundary = Boundary([url])
    guard = _PrivateGuard(url)
    hops: list[str] = []
    current = url
    while True:
        if hops:
            guard.check(url, current)
        request = urllib.request.Request(current, headers={"User-Agent": USER_AGENT})
        try:
            with opener.open(request, timeout=timeout) as response:
                status = response.status
                location = response.headers.get("Location")
                body = response.read(20 * 1024 * 1024) if status < 300 else b""
                charset = response.headers.get_content_charset()
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise UserError(f"could not reach {current} ({reason}); check the URL and network") from None
        except (http.client.HTTPException, ValueError) as error:  # a bad status line, a broken body …
            raise UserError(f"could not read {current} ({_one_line(f'{type(error).__name__}: {error}')})") from None
        if status in (301, 302, 303, 307, 308) and location:
            hops.append(current)
            target, why = location.strip(), ""
            try:
                target = urljoin(current, target)
                kind = boundary.link_kind(target)
                if kind is not None:
                    why = _unfollowed_why(kind, target)
                else:  # percent-encoded as a browser sends it (`/tin tuc/a b`); a fragment never reaches a server
                    target = safe_url_string(target).split("#", 1)[0]
            except ValueError as error:  # "http://[::1/": no URL at all
                why = f"not a valid URL: {error}"
            if why:
                raise UserError(f"{url} redirects to {_one_line(target)} ({why}); not followed")
            if exact_url(target) in {exact_url(hop) for hop in hops}:
                raise UserError(f"{url} redirects in a loop ({' -> '.join([*hops, target])}); not followed")
            if len(hops) > REDIRECT_MAX_TIMES:
                raise UserError(f"{url} redirects more than {REDIRECT_MAX_TIMES} times; not followed")
            current = target
            continue
        if status >= 300:
            raise UserError(f"{current} answered HTTP {status}")
        return decode_html(body, charset)[0], current


def _one_line(text: str) -> str:
    """Text a server sent (a status line, a Location), printable and on one line."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _unfollowed_why(kind: str, target: str) -> str:
    """Why `crawler extract/detect` do not follow a redirect, from `Boundary.link_kind`."""
    if kind == "offsite":
        return "another host"
    if kind == "bad_url":
        try:
            urlsplit(target).port  # noqa: B018 — raises on "http://host:abc/" or a port past 65535
        except ValueError as error:
            return f"not a valid URL: {error}"
        return "not a valid URL"
    return "not http or https"


class _PrivateGuard:
    """`crawler extract/detect` keep off private addresses, unless the URL asked for is on one."""

    def __init__(self, url: str) -> None:
        self.off = self._private(url)

    @staticmethod
    def _private(url: str) -> bool:
        import socket

        from crawler.boundary import is_local_host, is_private_address
        from crawler.urls import ascii_host

        host = ascii_host(urlsplit(url).hostname or "")
        if is_local_host(host):
            return True
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return False  # the request itself says it cannot be reached
        return any(is_private_address(str(info[4][0])) for info in infos)

    def check(self, asked: str, url: str) -> None:
        if not self.off and self._private(url):
            raise UserError(f"{asked} leads to {url}, a private address; not fetched")


def cmd_detect(args: argparse.Namespace) -> int:
    from crawler.platforms import detect

    source = args.source
    if "://" in source:
        html, url = _fetch(_check_url(source), args.timeout)
    else:
        path = Path(source)
        if not path.is_file():
            raise UserError(f"no such file: {source}")
        from crawler.decoding import decode_html

        html, url = decode_html(path.read_bytes(), None)[0], args.url or path.resolve().as_uri()
    found = detect(html, url)
    print(found.platform)
    for line in found.evidence:
        print(f"  - {line}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from crawler.schema import SCHEMA_PATH, record_schema

    text = json.dumps(record_schema(), ensure_ascii=False, indent=2) + "\n"
    if args.write:
        SCHEMA_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {SCHEMA_PATH}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_add_portal(args: argparse.Namespace) -> int:
    from crawler.registry import REGISTRY_PATH, RegistryError, add_portal

    registry_path = Path(args.registry) if args.registry else REGISTRY_PATH
    if not registry_path.is_file():
        raise UserError(f"no registry file at {registry_path}: give an existing portals.toml with --registry")
    start = _check_url(args.url)
    fields: dict[str, Any] = {
        "slug": args.slug,
        "name": args.name,
        "kind": args.kind,
        "code": args.code,
        "domain": (urlsplit(start).hostname or "").removeprefix("www."),
        "platform": args.platform,
        "status": "unverified",
        "start_urls": [start],
        "legacy_code": args.legacy_code,
        "feeds": args.feed or [],
        "sitemaps": args.sitemap or [],
    }
    try:
        entry = add_portal(registry_path, fields)
    except RegistryError as error:
        raise UserError(str(error)) from None
    platform = entry.platform if entry.platform != "unknown" else "generic"
    fixture_dir = writable_folder(Path(args.fixtures) / platform / entry.slug.replace("-", "_"), "fixtures folder")
    meta = {"url": start, "platform": None, "note": f"{entry.name}: save an article page here as page.html"}
    (fixture_dir / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"added '{entry.slug}' ({entry.name}, {entry.platform}) to {registry_path}")
    print(f"fixture skeleton: {fixture_dir}/meta.json — save an article page as page.html there, set its URL in")
    print(f"meta.json, then run `crawler record-fixture {fixture_dir}` and review expected.json")
    return 0


def cmd_record_fixture(args: argparse.Namespace) -> int:
    from crawler.fixtures import record_fixture

    fixture_dir = Path(args.fixture_dir)
    if not fixture_dir.is_dir():
        raise UserError(f"no fixture folder {fixture_dir}: give tests/fixtures/<platform>/<case>")
    missing = [name for name in ("meta.json", "page.html") if not (fixture_dir / name).is_file()]
    if missing:
        raise UserError(
            f"{fixture_dir} lacks {' and '.join(missing)}: save the page as page.html and its URL in meta.json"
        )
    try:
        written = record_fixture(fixture_dir)
    except json.JSONDecodeError as error:
        raise UserError(f"{fixture_dir / 'meta.json'} is not valid JSON ({error})") from None
    except KeyError as error:
        raise UserError(f'{fixture_dir / "meta.json"} lacks {error}: give the page\'s original URL as "url"') from None
    except ValueError as error:
        raise UserError(str(error)) from None
    except OSError as error:
        raise UserError(f"cannot write {fixture_dir / 'expected.json'} ({error.strerror or error})") from None
    print(f"wrote {written}: review the diff before committing")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the HTML report of the given runs (default: the newest under OUTPUT_ROOT/runs)."""
    from crawler.report import report_history, write_report
    from crawler.runs import RunFolderError, find_run, load_run, newest_run
    from crawler.state import StateError

    root = _output_root()
    try:
        folders = [find_run(ref, root) for ref in args.runs] if args.runs else [newest_run(root)]
        runs = [load_run(folder) for folder in folders]
    except RunFolderError as error:
        raise UserError(str(error)) from None
    out = Path(args.out) if args.out else folders[-1] / "report.html"
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; give a file name such as {out / 'report.html'}")
    state = _report_state(args.state, runs)
    history = None
    if state is not None:
        portals = {str(manifest.get("portal") or "") for run in runs for manifest in run.manifests} - {""}
        portals |= {str(row.get("portal")) for run in runs for row in (run.summary or {}).get("portals", [])}
        try:
            history = report_history(state, sorted(portals))
        except StateError as error:
            raise UserError(str(error), EXIT_STATE) from None
    try:
        written = write_report(runs, out, history)
    except OSError as error:
        raise UserError(f"cannot write {out} ({error.strerror or error}); give another --out") from None
    print(written)
    return EXIT_OK


def _output_root() -> Path:
    """OUTPUT_ROOT of the project settings (where `crawler crawl` puts runs unless told otherwise)."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from scrapy.utils.project import get_project_settings

    return Path(get_project_settings().get("OUTPUT_ROOT") or "output")


def _report_state(given: str | None, runs: list[Any]) -> Path | None:
    """The state whose history gives the report its trend: --state, else the state the runs name
    in their manifests when it is still there; None when there is none (the report has no trend)."""
    if given:
        if not Path(given).is_file():
            raise UserError(f"no state file at {given}: give the --state the crawls used, or leave it out", EXIT_STATE)
        return Path(given)
    for run in runs:
        for manifest in run.manifests:
            named = manifest.get("state")
            if named and Path(named).is_file():
                return Path(named)
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="crawler", description="Harvest Vietnam's provincial government portals.")
    sub = parser.add_subparsers(dest="command", required=True)

    crawl = sub.add_parser("crawl", help="crawl a registry portal or a start URL into a run folder")
    crawl.add_argument(
        "target", nargs="*", help="portal slug (see `crawler portals`) or start URL; several slugs crawl together"
    )
    crawl.add_argument("--all", action="store_true", help="crawl every registry portal (with --status: of that status)")
    crawl.add_argument(
        "--status",
        action="append",
        choices=["active", "legacy", "unverified"],
        help="crawl every registry portal of this status (repeatable)",
    )
    crawl.add_argument("--out", help="run folder (default: output/runs/<run-id>); several portals get a subfolder each")
    crawl.add_argument("--since", help="skip articles published before this date (YYYY-MM-DD)")
    crawl.add_argument("--max-items", type=positive_int, help="stop after writing this many records")
    crawl.add_argument("--delay", type=seconds, help="seconds between requests to a host (default 1)")
    crawl.add_argument("-s", "--set", action="append", metavar="NAME=VALUE", help="override a Scrapy setting")
    crawl.add_argument(
        "--download-attachments",
        action="store_true",
        help="store attachment files (PDF, DOC, XLS, ZIP …) under output/files, each content once",
    )
    crawl.add_argument("--state", help="state file (default: output/state/crawler.sqlite)")
    crawl.add_argument(
        "--full", action="store_true", help="fetch and write every page as if the state were empty (state is updated)"
    )
    crawl.add_argument(
        "--job", metavar="DIR", help="pausable job folder (Scrapy JOBDIR): Ctrl-C pauses, the same command resumes"
    )
    crawl.add_argument(
        "--drop-duplicates", action="store_true", help="write duplicates to rejects.jsonl instead of records.jsonl"
    )
    crawl.add_argument(
        "--export",
        action="append",
        metavar="DEST",
        help="at the end, also export this run's records to DEST (x.jsonl, x.csv, x.parquet, x.sqlite, "
        "postgresql://…; repeatable)",
    )
    crawl.add_argument(
        "--csv-bom", action="store_true", help="CSV exports start with a UTF-8 byte order mark (for Excel)"
    )
    crawl.add_argument(
        "-o",
        "--output",
        action="append",
        metavar="FILE",
        help="a Scrapy feed of the records, as `scrapy crawl -o` (FILE:format to choose the format; repeatable)",
    )
    crawl.set_defaults(func=cmd_crawl)

    state = sub.add_parser("state", help="show per-portal watermarks and counts, or `reset <portal>`")
    state.add_argument("action", nargs="?", choices=["show", "reset"], default="show")
    state.add_argument("portal", nargs="?", help="with reset: the portal to forget (slug or host[:port])")
    state.add_argument("--state", help="state file (default: output/state/crawler.sqlite)")
    state.set_defaults(func=cmd_state)

    check = sub.add_parser("check", help="judge a finished run again: pass / warn / fail per check (exit 0, 5 or 6)")
    check.add_argument("run", nargs="?", help="run folder, or run id under output/runs (default: the newest run)")
    check.add_argument("--state", help="state file (default: the one the run used, else output/state/crawler.sqlite)")
    check.add_argument(
        "-s", "--set", action="append", metavar="NAME=VALUE", help="a threshold (CHECK_*, see README) or OUTPUT_ROOT"
    )
    check.add_argument("-v", "--all", action="store_true", help="also list the checks that passed")
    check.add_argument("--json", action="store_true", help="print the checks block (status and results) as JSON")
    check.set_defaults(func=cmd_check)

    demo = sub.add_parser("demo", help="serve the bundled fixture portal on 127.0.0.1 and crawl it")
    demo.add_argument("--out", help="run folder (default: output/runs/<run-id>)")
    demo.set_defaults(func=cmd_demo)

    export = sub.add_parser(
        "export", help="write the state's records to a JSONL, CSV, Parquet or SQLite file, or into PostgreSQL"
    )
    export.add_argument("dest", help="x.jsonl, x.csv, x.parquet, x.sqlite (updated in place) or a postgresql:// URL")
    export.add_argument("--state", help="state file (default: output/state/crawler.sqlite)")
    export.add_argument("--portal", help="only this portal's records")
    export.add_argument("--since", help="only records published on or after this date (YYYY-MM-DD), and undated ones")
    export.add_argument("--run", metavar="RUN_ID", help="only the record versions this run wrote")
    export.add_argument(
        "--bom", "--csv-bom", action="store_true", help="CSV: start with a UTF-8 byte order mark (for Excel)"
    )
    export.add_argument("--batch-size", type=positive_int, default=2000, help="records at a time (default 2000)")
    export.set_defaults(func=cmd_export)

    portals = sub.add_parser("portals", help="list the portal registry")
    portals.add_argument("--status", choices=["active", "legacy", "unverified"])
    portals.add_argument("--slugs", action="store_true", help="print only the slugs, one per line")
    portals.add_argument(
        "--portals-file", action="append", metavar="FILE", help="also the portals of this file (as PORTALS_FILE)"
    )
    portals.set_defaults(func=cmd_portals)

    deploy = sub.add_parser(
        "deploy", help="build the Scrapyd egg (scrapyd-deploy) from a temporary copy of this checkout and deploy it"
    )
    deploy.add_argument(
        "target", nargs="?", default="default", help="a [deploy:TARGET] of scrapy.cfg (default: [deploy])"
    )
    deploy.add_argument("-p", "--project", help="the Scrapyd project (default: the target's project, crawler)")
    deploy.add_argument("-v", "--version", help="the version to deploy (default: the current time)")
    deploy.add_argument("--build-egg", metavar="FILE", help="only write the egg to FILE, deploy nothing")
    deploy.set_defaults(func=cmd_deploy)

    extract = sub.add_parser("extract", help="one page → one cleaned record as JSON on stdout")
    extract.add_argument("source", help="saved HTML file or http(s) URL")
    extract.add_argument("--url", help="the page's original URL (for a saved file)")
    extract.add_argument("--platform", help="force a platform parser (default: detect)")
    extract.add_argument(
        "--timeout", type=positive_seconds, default=60.0, help="seconds to wait for a connection or a read (default 60)"
    )
    extract.set_defaults(func=cmd_extract)

    detect = sub.add_parser("detect", help="print the platform of a page and the evidence")
    detect.add_argument("source", help="saved HTML file or http(s) URL")
    detect.add_argument("--url", help="the page's original URL (for a saved file)")
    detect.add_argument(
        "--timeout", type=positive_seconds, default=60.0, help="seconds to wait for a connection or a read (default 60)"
    )
    detect.set_defaults(func=cmd_detect)

    schema = sub.add_parser("schema", help="print (or --write) the record JSON Schema")
    schema.add_argument("--write", action="store_true", help="rewrite crawler/record.schema.json")
    schema.set_defaults(func=cmd_schema)

    add = sub.add_parser("add-portal", help="add a portal to the registry and write a fixture skeleton")
    add.add_argument("slug", help="short unique name, e.g. sotttt-dak-lak")
    add.add_argument("--name", required=True, help="the portal's name, e.g. 'Sở Thông tin và Truyền thông Đắk Lắk'")
    add.add_argument("--url", required=True, help="start URL (home or a category page)")
    add.add_argument("--code", required=True, help="GSO code of the province it belongs to now (see `crawler portals`)")
    add.add_argument(
        "--kind", default="department", choices=["province", "department", "district", "party", "newspaper"]
    )
    add.add_argument("--platform", default="unknown", help="platform (default: unknown, detected per page)")
    add.add_argument("--legacy-code", help="GSO code of its pre-2025 province, when that was merged")
    add.add_argument("--feed", action="append", help="an RSS/Atom feed URL (repeatable)")
    add.add_argument("--sitemap", action="append", help="a sitemap URL (repeatable)")
    add.add_argument("--registry", help="registry file (default: the package's portals.toml)")
    add.add_argument("--fixtures", default="tests/fixtures", help="fixtures folder (default: tests/fixtures)")
    add.set_defaults(func=cmd_add_portal)

    report = sub.add_parser("report", help="write one self-contained HTML page about runs: charts, fill rates, checks")
    report.add_argument(
        "runs", nargs="*", metavar="RUN", help="run folder or run id (default: the newest run under output/runs)"
    )
    report.add_argument("--out", help="HTML file to write (default: <the last RUN's folder>/report.html)")
    report.add_argument("--state", help="state file whose run history draws the trend (default: the runs' own state)")
    report.set_defaults(func=cmd_report)

    record = sub.add_parser("record-fixture", help="(re)write a fixture's expected.json from current output")
    record.add_argument("fixture_dir", help="tests/fixtures/<platform>/<case>")
    record.set_defaults(func=cmd_record_fixture)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error already printed as one line
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    try:
        return args.func(args)
    except UserError as error:
        return _fail(str(error), error.code)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:  # `crawler state | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except ImportError as error:
        return _fail(f"a dependency is missing ({error}); reinstall with: pip install -e .", 1)
    except Exception as error:
        from crawler.registry import RegistryError

        if isinstance(error, RegistryError):
            return _fail(f"portal registry is invalid: {error}")
        return _fail(f"unexpected error: {type(error).__name__}: {error} (please report it)", 1)


if __name__ == "__main__":
    sys.exit(main())
