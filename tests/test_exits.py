"""Exit statuses, run folders and user errors of `crawler crawl` (real subprocesses, local servers)."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.demo.site import build_routes, generated_articles, serve
from crawler.registry import REGISTRY_PATH, parse_registry

from .conftest import run_cli


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd)


def one_line_error(result: subprocess.CompletedProcess[str], code: int, message: str) -> None:
    """The command failed with `code` and said `message` on exactly one line, with no traceback."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, result.stderr
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr
    if code == 2:  # the user's to fix, not a bug to report
        assert "please report it" not in result.stderr and "unexpected error" not in result.stderr


def crawl_args(base: str, out: Path, *extra: str) -> list[str]:
    return ["crawl", f"{base}/vi/tin-tuc-su-kien", "--out", str(out), "--delay", "0", *extra]


def patched_cli(patch: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`crawler` in a subprocess after `patch` (Python) ran there: a fault injected into a real crawl."""
    code = f"import sys\n{patch}\nfrom crawler.cli import main\nsys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300, check=False)


def manifest_of(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


# -- item 2: the exit status tells the truth --------------------------------------------------------


def test_a_normal_run_exits_0_with_no_errors(site: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = cli(*crawl_args(site, out, "--state", str(tmp_path / "state.sqlite")))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    manifest = manifest_of(out)
    assert manifest["finish_reason"] == "finished"
    assert manifest["errors"] == [] and manifest["spider_exceptions"] == {}
    limited = cli(*crawl_args(site, tmp_path / "max", "--state", str(tmp_path / "s2.sqlite"), "--max-items", "1"))
    assert limited.returncode == 0, limited.stderr
    assert manifest_of(tmp_path / "max")["finish_reason"] == "max_items"


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_mid_crawl_exits_130_with_manifest_shutdown(sent: signal.Signals, tmp_path: Path) -> None:
    server, base = serve(build_routes(generated_articles(40)), article_delay=0.15)
    out = tmp_path / "run"
    state = ["--state", str(tmp_path / "s.sqlite"), "-s", "LOOPBACK_CONCURRENCY=2"]
    command = [sys.executable, "-m", "crawler.cli", *crawl_args(base, out, *state)]
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        records = out / "records.jsonl"
        while not (records.exists() and records.read_text(encoding="utf-8").count("\n") >= 1):
            assert process.poll() is None, "the crawl ended before it wrote a record"
            assert time.monotonic() < deadline, "no record within 120 s"
            time.sleep(0.05)
        process.send_signal(sent)
        _, stderr = process.communicate(timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    assert process.returncode == 130, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("crawler: interrupted"), stderr
    manifest = manifest_of(out)
    assert manifest["finish_reason"] == "shutdown" and 1 <= manifest["records_written"] < 40


_BROKEN_STATE = """
import sqlite3
from crawler.state import CrawlState
def broken(self, *args, **kwargs):
    raise sqlite3.DatabaseError("database disk image is malformed")
CrawlState.store_record = broken
"""


def test_a_state_that_fails_mid_crawl_reaches_manifest_and_exit_4(site: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = patched_cli(_BROKEN_STATE, *crawl_args(site, out, "--state", str(tmp_path / "state.sqlite")))
    one_line_error(result, 4, "failed during the run (DatabaseError: database disk image is malformed")
    errors = manifest_of(out)["errors"]
    assert [error["kind"] for error in errors] == ["state"]
    assert errors[0]["count"] >= 1


def test_a_state_missing_a_column_exits_4(site: str, tmp_path: Path) -> None:
    from crawler.state import CrawlState

    state = tmp_path / "state.sqlite"
    CrawlState(state).close()
    with sqlite3.connect(state) as db:
        db.execute("ALTER TABLE runs DROP COLUMN counts")
    result = cli(*crawl_args(site, tmp_path / "run", "--state", str(state)))
    # Refused when opened, or failing when the run ends: either way one line and status 4.
    one_line_error(result, 4, "state")


def test_errors_in_the_crawlers_own_code_exit_1(site: str, tmp_path: Path) -> None:
    patch = """
from crawler.spiders.portal import PortalSpider
def broken(self, page):
    raise TypeError("a bug in the extraction counters")
PortalSpider._count_extraction = broken
"""
    out = tmp_path / "run"
    result = patched_cli(patch, *crawl_args(site, out, "--state", str(tmp_path / "state.sqlite")))
    one_line_error(result, 1, "errors in its own code (TypeError ×")
    manifest = manifest_of(out)
    assert manifest["finish_reason"] == "finished" and manifest["spider_exceptions"]["TypeError"] >= 1


def test_a_bug_in_a_pipeline_reaches_manifest_errors_and_exit_1(site: str, tmp_path: Path) -> None:
    patch = """
import __main__
import crawler.settings
class BrokenPipeline:
    def process_item(self, item):
        raise KeyError("a bug in a pipeline")
__main__.BrokenPipeline = BrokenPipeline
crawler.settings.ITEM_PIPELINES = {**crawler.settings.ITEM_PIPELINES, "__main__.BrokenPipeline": 50}
"""
    out = tmp_path / "run"
    result = patched_cli(patch, *crawl_args(site, out, "--state", str(tmp_path / "state.sqlite")))
    one_line_error(result, 1, "errors in its own code (KeyError ×")
    manifest = manifest_of(out)
    assert manifest["finish_reason"] == "finished" and manifest["records_written"] == 0
    assert [(e["kind"], e["error"]) for e in manifest["errors"]] == [("exception", "KeyError: 'a bug in a pipeline'")]


def test_a_start_error_exits_1(site: str, tmp_path: Path) -> None:
    patch = """
from crawler.spiders.portal import PortalSpider
async def broken(self):
    raise RuntimeError("cannot read the start URLs")
    yield
PortalSpider.start = broken
"""
    out = tmp_path / "run"
    result = patched_cli(patch, *crawl_args(site, out, "--state", str(tmp_path / "state.sqlite")))
    one_line_error(result, 1, "the crawl ended abnormally (start_error)")
    assert manifest_of(out)["finish_reason"] == "start_error"


def test_an_unreachable_start_exits_3(tmp_path: Path) -> None:
    result = cli("crawl", "http://127.0.0.1:9/", "--out", str(tmp_path / "run"), "--state", str(tmp_path / "s"))
    one_line_error(result, 3, "could not reach http://127.0.0.1:9/")
    assert manifest_of(tmp_path / "run")["finish_reason"] == "start_failed"


def test_exit_statuses_from_manifests(tmp_path: Path) -> None:
    from crawler.cli import run_outcome

    base = {
        "finish_reason": "finished",
        "records_written": 3,
        "pages_fetched": 5,
        "errors_by_kind": {},
        "start_urls": ["http://x.vn/"],
        "start_failures": [],
        "spider_exceptions": {},
        "errors": [],
        "state": "s.sqlite",
    }
    assert run_outcome(base, tmp_path) == (0, None)
    assert run_outcome({**base, "finish_reason": "closespider_timeout"}, tmp_path)[0] == 0
    assert run_outcome({**base, "finish_reason": "closespider_errorcount"}, tmp_path)[0] == 1
    assert run_outcome({**base, "finish_reason": "shutdown"}, tmp_path, job=True) == (
        130,
        "paused (Ctrl-C or SIGTERM): run the same command to resume the job",
    )
    state_error = {"kind": "state", "error": "OperationalError: no such column: x", "count": 2}
    code, why = run_outcome({**base, "finish_reason": "shutdown", "errors": [state_error]}, tmp_path)
    assert code == 4 and why is not None and "and 1 more" in why
    other = {"kind": "exception", "error": "KeyError: 'x'", "count": 1}
    assert run_outcome({**base, "errors": [other]}, tmp_path) == (
        1,
        f"the crawl met errors in its own code (KeyError ×1); see {tmp_path / 'crawl.log'} and please report it",
    )


# -- item 6: run folders are not mixed ----------------------------------------------------------------


def test_reusing_out_for_a_new_run_is_refused(site: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    state = ["--state", str(tmp_path / "state.sqlite")]
    first = cli(*crawl_args(site, out, *state, "--max-items", "2"))
    assert first.returncode == 0, first.stderr
    before = {name: (out / name).read_bytes() for name in ("records.jsonl", "rejects.jsonl", "manifest.json")}
    again = cli(*crawl_args(site, out, *state, "--max-items", "2", "--full"))
    one_line_error(again, 2, f"{out} already holds a run (manifest.json, records.jsonl, rejects.jsonl)")
    assert {name: (out / name).read_bytes() for name in before} == before


def test_scrapy_crawl_into_a_folder_of_another_run_is_refused(site: str, tmp_path: Path) -> None:
    """`scrapy crawl portal -s RUN_DIR=…` keeps the same rule as `crawler crawl --out`."""
    out = tmp_path / "run"
    (out).mkdir()
    (out / "records.jsonl").write_text('{"id": "old"}\n', encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable, "-m", "scrapy", "crawl", "portal", "-a", f"url={site}/vi/tin-tuc-su-kien",
            "-s", f"RUN_DIR={out}", "-s", f"STATE_PATH={tmp_path / 'state.sqlite'}", "-s", "DOWNLOAD_DELAY=0",
        ],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "already holds a run (records.jsonl)" in result.stderr
    assert (out / "records.jsonl").read_text(encoding="utf-8") == '{"id": "old"}\n'
    assert not (out / "manifest.json").exists()


def test_a_job_folder_is_one_crawl(site: str, tmp_path: Path) -> None:
    job, out = tmp_path / "job", tmp_path / "run"
    state = ["--state", str(tmp_path / "state.sqlite"), "--job", str(job)]
    first = cli(*crawl_args(site, out, *state))
    assert first.returncode == 0, first.stderr
    records = (out / "records.jsonl").read_bytes()
    other_site = cli("crawl", f"{site}/", "--delay", "0", *state)
    one_line_error(other_site, 2, f"is a crawl of {site}/vi/tin-tuc-su-kien, not of {site}/; give another --job")
    again = cli(*crawl_args(site, out, *state))
    one_line_error(again, 2, "already ended (finished); give a new --job folder")
    assert (out / "records.jsonl").read_bytes() == records
    elsewhere = cli(*crawl_args(site, tmp_path / "other", "--state", str(tmp_path / "s2"), "--job", str(job)))
    one_line_error(elsewhere, 2, f"writes its run into {out.resolve()}")
    assert not (tmp_path / "other").exists()


def test_job_run_dir_rules(tmp_path: Path) -> None:
    from crawler.runs import RunFolderError, job_run_dir

    job = tmp_path / "job"
    first, resumed = job_run_dir(job, tmp_path / "run", target="https://a.vn/")
    assert (first, resumed) == (tmp_path / "run", False)
    assert job_run_dir(job, None, target="https://a.vn/") == ((tmp_path / "run").resolve(), True)
    assert job_run_dir(job, tmp_path / "run", target="https://a.vn/")[1] is True
    with pytest.raises(RunFolderError, match=re.escape("is a crawl of https://a.vn/, not of https://b.vn/")):
        job_run_dir(job, None, target="https://b.vn/")
    with pytest.raises(RunFolderError, match="writes its run into"):
        job_run_dir(job, tmp_path / "elsewhere", target="https://a.vn/")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "manifest.json").write_text('{"finish_reason": "shutdown"}', encoding="utf-8")
    assert job_run_dir(job, None, target="https://a.vn/")[1] is True  # a paused job resumes
    (tmp_path / "run" / "manifest.json").write_text('{"finish_reason": "max_items"}', encoding="utf-8")
    with pytest.raises(RunFolderError, match=r"already ended \(max_items\)"):
        job_run_dir(job, None, target="https://a.vn/")
    with pytest.raises(RunFolderError, match="already holds a run"):
        job_run_dir(tmp_path / "job2", tmp_path / "run", target="https://a.vn/")


# -- item 8: user errors are user errors ------------------------------------------------------------


def test_out_and_job_on_a_file_or_where_nothing_can_be_written(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder\n", encoding="utf-8")
    state = ["--state", str(tmp_path / "state.sqlite")]
    one_line_error(cli("crawl", "http://127.0.0.1:9/", "--out", str(a_file), *state), 2, "is a file, not a folder")
    one_line_error(
        cli("crawl", "http://127.0.0.1:9/", "--out", str(a_file / "run"), *state), 2, "cannot write in --out folder"
    )
    one_line_error(
        cli("crawl", "http://127.0.0.1:9/", "--out", str(tmp_path / "run"), "--job", str(a_file), *state),
        2,
        "--job folder",
    )
    assert a_file.read_text(encoding="utf-8") == "not a folder\n"
    if os.geteuid() != 0:  # root writes into a read-only folder all the same
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        one_line_error(cli("crawl", "http://127.0.0.1:9/", "--out", str(locked / "run"), *state), 2, "cannot write in")


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("CONCURRENT_REQUESTS=x", "CONCURRENT_REQUESTS must be a whole number"),
        ("LOG_LEVEL=LOUD", "-s LOG_LEVEL takes DEBUG"),
        ("DEPTH_LIMIT=1.5", "-s DEPTH_LIMIT takes a whole number"),
        ("DNS_TIMEOUT=soon", "-s DNS_TIMEOUT takes a number"),
        ("ROBOTSTXT_OBEY=maybe", "-s ROBOTSTXT_OBEY takes True or False"),
        ("DROP_DUPLICATES=yes", "-s DROP_DUPLICATES takes True or False"),
        ("DEFAULT_REQUEST_HEADERS=Accept", "-s DEFAULT_REQUEST_HEADERS takes a JSON object"),
        ("ITEM_PIPELINES=[1]", "-s ITEM_PIPELINES takes a JSON object"),
        ("FILES_STORE={tmp}/a-file/files", "FILES_STORE folder"),
        ("LOG_FILE={tmp}/a-file/crawl.log", "LOG_FILE folder"),
    ],
)
def test_bad_values_of_scrapy_settings_are_one_line(setting: str, message: str, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    result = cli(
        "crawl",
        "http://127.0.0.1:9/",
        "--out",
        str(tmp_path / "run"),
        "--state",
        str(tmp_path / "state.sqlite"),
        "--download-attachments",
        "-s",
        setting.format(tmp=tmp_path),
    )
    one_line_error(result, 2, message)


def test_good_values_of_scrapy_settings_pass_the_check() -> None:
    from crawler.cli import check_setting_value

    for name, value in [
        ("LOG_LEVEL", "debug"),
        ("DEPTH_LIMIT", "3"),
        ("DOWNLOAD_TIMEOUT", "2.5"),
        ("ROBOTSTXT_OBEY", "False"),
        ("TELNETCONSOLE_ENABLED", "0"),
        ("DEFAULT_REQUEST_HEADERS", '{"Accept-Language": "vi"}'),
        ("USER_AGENT", "anything at all"),
        ("SOME_SETTING_OF_OURS", "x"),
    ]:
        check_setting_value(name, value)


def test_record_fixture_without_its_files(tmp_path: Path) -> None:
    one_line_error(cli("record-fixture", str(tmp_path / "absent")), 2, "no fixture folder")
    case = tmp_path / "case"
    case.mkdir()
    one_line_error(cli("record-fixture", str(case)), 2, "lacks meta.json and page.html")
    (case / "page.html").write_text("<html><body><p>x</p></body></html>", encoding="utf-8")
    (case / "meta.json").write_text("{not json", encoding="utf-8")
    one_line_error(cli("record-fixture", str(case)), 2, "is not valid JSON")
    (case / "meta.json").write_text("{}", encoding="utf-8")
    one_line_error(cli("record-fixture", str(case)), 2, "lacks 'url'")
    assert not (case / "expected.json").exists()


def _add_portal(registry: Path, fixtures: Path, slug: str, *extra: str) -> subprocess.CompletedProcess[str]:
    args = {"--name": "Sở Thông tin và Truyền thông Đắk Lắk", "--url": "https://stttt.daklak.gov.vn/", "--code": "66"}
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        args[flag] = value
    flat = [part for pair in args.items() for part in pair]
    return cli("add-portal", slug, *flat, "--registry", str(registry), "--fixtures", str(fixtures))


@pytest.mark.parametrize(
    ("slug", "extra", "message"),
    [
        ("../evil", (), "slug '../evil' must be lower-case ASCII"),
        ("a/b", (), "slug 'a/b' must be lower-case"),
        ("Dak-Lak", (), "slug 'Dak-Lak' must be lower-case"),
        ("đắk-lắk", (), "must be lower-case ASCII"),
        ("dak--lak", (), "must be lower-case"),
        ("dak-", (), "must be lower-case"),
        ("dak-lak", ("--code", "6"), "code '6' must be a two-digit GSO province code"),
        ("dak-lak", ("--code", "../66"), "must be a two-digit"),
        ("dak-lak", ("--legacy-code", "xx"), "legacy code 'xx' must be"),
        ("dak-lak", ("--legacy-code", "99"), "legacy code '99' must be"),
        ("dak-lak", ("--name", "Sở\nTTTT"), "must be non-empty text without control characters"),
        ("dak-lak", ("--name", "Sở\x1b[31mTTTT"), "without control characters"),
        ("dak-lak", ("--name", "  "), "must be non-empty"),
        ("dak-lak", ("--feed", "https://stttt.daklak.gov.vn/rss\n"), "has spaces or control characters"),
    ],
)
def test_add_portal_refuses_bad_slugs_codes_and_names(
    slug: str, extra: tuple[str, ...], message: str, tmp_path: Path
) -> None:
    registry = tmp_path / "portals.toml"
    original = REGISTRY_PATH.read_text(encoding="utf-8")
    registry.write_text(original, encoding="utf-8")
    result = _add_portal(registry, tmp_path / "fx", slug, *extra)
    one_line_error(result, 2, message)
    assert registry.read_text(encoding="utf-8") == original
    assert not (tmp_path / "fx").exists() and not (tmp_path / "evil").exists()


def test_add_portal_writes_quotes_and_backslashes_as_toml(tmp_path: Path) -> None:
    registry = tmp_path / "portals.toml"
    registry.write_text(REGISTRY_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    name = 'Báo "Đắk Lắk" \\ điện tử'
    result = _add_portal(registry, tmp_path / "fx", "bao-dak-lak", "--name", name, "--legacy-code", "66")
    assert result.returncode == 0, result.stderr
    entry = parse_registry(registry.read_text(encoding="utf-8")).get("bao-dak-lak")
    assert entry is not None and entry.name == name and entry.legacy_code == "66"
    one_line_error(
        cli("add-portal", "x-y", "--name", "X", "--url", "https://x.vn/", "--code", "66", "--registry", str(tmp_path)),
        2,
        "no registry file",
    )
