"""`crawler check RUN` end to end: real `crawler crawl` subprocesses over a generated Liferay mirror
on 127.0.0.1, twice as usual, then once with a template that lost its dates; and the command's
one-line errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from datetime import date
from pathlib import Path
from typing import NamedTuple

import pytest

from crawler.cli import EXIT_STATE, EXIT_USAGE, main
from crawler.demo.site import build_routes, generated_articles, serve

ARTICLES = 12


class Mirror:
    """A generated portal whose templates a test can change between runs."""

    def __init__(self) -> None:
        self.articles = generated_articles(ARTICLES, newest=date.today().isoformat())
        self.routes = build_routes(self.articles)
        self.server, self.base = serve(self.routes)

    def lose_dates(self) -> None:
        """The template change: article pages, listings and sitemaps no longer show a date."""
        for article in self.articles:
            article["date"] = ""
        self.routes.clear()
        self.routes.update(build_routes(self.articles))

    def empty_listings(self) -> None:
        """The other planted condition: listings, sitemaps and feeds that no longer list any article."""
        self.routes.clear()
        self.routes.update(build_routes([]))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Runs(NamedTuple):
    work: Path  # OUTPUT_ROOT: the runs are under work/runs
    state: Path
    folders: list[Path]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """Four full crawls of one mirror into one state: two normal, the third without dates, the
    fourth with empty listings."""
    work = tmp_path_factory.mktemp("checks")
    state = work / "state.sqlite"
    mirror = Mirror()
    folders = []
    try:
        for number in range(4):
            if number == 2:
                mirror.lose_dates()
            if number == 3:
                mirror.empty_listings()
            out = work / "runs" / f"run-{number}"
            crawl = [sys.executable, "-m", "crawler.cli", "crawl", f"{mirror.base}/", "--out", str(out)]
            crawl += ["--state", str(state), "--delay", "0", "--full"]
            result = subprocess.run(crawl, capture_output=True, text=True, timeout=300, check=False)
            assert (out / "manifest.json").is_file(), result.stderr
            folders.append(out)
    finally:
        mirror.close()
    yield Runs(work, state, folders)


def check(*argv: str) -> tuple[int, list[str], str]:
    """`crawler check` in this process (it starts no crawl): (exit status, stdout lines, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["check", *argv])
    return code, out.getvalue().splitlines(), err.getvalue()


def test_a_run_whose_template_lost_its_dates_exits_6_from_the_command_line(runs: Runs) -> None:
    """As a user runs it: the exit status of the process, the failing check on stdout."""
    command = [sys.executable, "-m", "crawler.cli", "check", str(runs.folders[2]), "--state", str(runs.state)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 6, result.stderr
    assert "FAIL" in result.stdout and "published_at" in result.stdout and result.stderr == ""


def test_a_run_whose_template_lost_its_dates_names_published_at(runs: Runs) -> None:
    code, lines, stderr = check(str(runs.folders[2]), "--state", str(runs.state))
    assert code == 6, stderr
    drift = [line for line in lines if line.startswith("FAIL") and "layout_drift" in line]
    assert len(drift) == 1, lines
    assert "published_at filled in 0% of" in drift[0] and "usually 100% (last 2 runs)" in drift[0]
    assert lines[-2:] == ["(6 passing checks not listed; --all lists them)", "6 pass, 0 warn, 1 fail"]


def test_a_run_whose_listings_went_empty_warns_on_articles_seen(runs: Runs) -> None:
    code, lines, stderr = check(str(runs.folders[3]), "--state", str(runs.state))
    assert code == 5, stderr
    warned = [line for line in lines if line.startswith("WARN")]
    assert [line.split()[2] for line in warned] == ["records:", "records:"], lines
    assert "dropped to zero: articles seen: 0 this full run, usually 12 (median of the last 3 full runs)" in warned[0]
    assert "records written: 0 this full run, usually 12" in warned[1]


def test_a_run_of_many_portals_is_checked_portal_by_portal(tmp_path: Path) -> None:
    """`crawler crawl a b` twice (summary.json and a folder per portal), the second time with one
    portal's dates gone: only that portal fails. One earlier run is history enough with -s."""
    dated, undated = Mirror(), Mirror()
    portals = "".join(
        f'[[portal]]\nslug = "{slug}"\nname = "Cổng thử {slug}"\nkind = "province"\ncode = "66"\n'
        f'domain = "{domain}"\nplatform = "unknown"\nstatus = "active"\nstart_urls = ["{start}/"]\n'
        for slug, domain, start in (
            ("local-a", "127.0.0.1", dated.base),
            ("local-b", "localhost", undated.base.replace("127.0.0.1", "localhost")),
        )
    )
    (tmp_path / "portals.toml").write_text(portals, encoding="utf-8")
    crawl = [sys.executable, "-m", "crawler.cli", "crawl", "local-a", "local-b", "--full", "--delay", "0"]
    crawl += ["-s", f"PORTALS_FILE={tmp_path / 'portals.toml'}", "-s", f"OUTPUT_ROOT={tmp_path}"]
    try:
        for number in range(2):
            if number == 1:
                undated.lose_dates()
            result = subprocess.run(crawl, capture_output=True, text=True, timeout=300, check=False)
            assert "2 portals" in result.stdout, result.stderr
    finally:
        dated.close()
        undated.close()
    code, lines, stderr = check("-s", f"OUTPUT_ROOT={tmp_path}", "-s", "CHECK_MIN_HISTORY=1")
    assert code == 6, stderr
    failing = [line.split()[:3] for line in lines if line.startswith(("WARN", "FAIL"))]
    assert failing == [["FAIL", "local-b", "layout_drift:"]], lines
    assert lines[-1] == "13 pass, 0 warn, 1 fail"


def test_the_normal_runs_pass_and_passes_are_collapsed(runs: Runs) -> None:
    code, lines, _ = check(str(runs.folders[1]), "--state", str(runs.state))
    assert code == 0
    assert lines[0].startswith("(") and "passing checks not listed" in lines[0]
    assert lines[-1].endswith("0 warn, 0 fail")
    code, lines, _ = check(str(runs.folders[1]), "--state", str(runs.state), "--all")
    assert code == 0 and all(line.startswith("PASS") for line in lines[:-1])
    assert {line.split()[2].rstrip(":") for line in lines[:-1]} >= {"finished", "records", "layout_drift"}


def test_the_run_id_and_the_state_the_run_used_are_enough(runs: Runs) -> None:
    """A run id is looked up under OUTPUT_ROOT/runs; the state is the one the manifest names."""
    code, lines, stderr = check(runs.folders[2].name, "-s", f"OUTPUT_ROOT={runs.work}", "--json")
    assert code == 6, stderr
    block = json.loads("\n".join(lines))
    assert block["status"] == "fail"
    failing = [result for result in block["results"] if result["status"] == "fail"]
    assert [(result["name"], result["field"]) for result in failing] == [("layout_drift", "published_at")]


def test_without_a_run_the_newest_is_checked(runs: Runs) -> None:
    code, lines, _ = check("-s", f"OUTPUT_ROOT={runs.work}", "--state", str(runs.state))
    assert code == 5 and lines[-1] == "6 pass, 2 warn, 0 fail"


def test_current_thresholds_apply(runs: Runs) -> None:
    """Published_at made a warning field only: the same run now warns (exit 5)."""
    code, lines, _ = check(str(runs.folders[2]), "--state", str(runs.state), "-s", "CHECK_DRIFT_FAIL_FIELDS=title")
    assert code == 5
    assert any(line.startswith("WARN") and "published_at" in line for line in lines)


def test_unknown_run_bad_threshold_and_missing_state_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["check", "no-such-run", "-s", f"OUTPUT_ROOT={tmp_path}"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("crawler: no run 'no-such-run'")
    assert main(["check", "-s", f"OUTPUT_ROOT={tmp_path}"]) == EXIT_USAGE
    assert capsys.readouterr().err.startswith(f"crawler: no run under {tmp_path / 'runs'}")

    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"run_id": "r1", "portal": "x", "finish_reason": "finished"}))
    assert main(["check", str(run), "-s", "CHECK_STALE_DAYS=soon"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err == "crawler: -s CHECK_STALE_DAYS takes a whole number, not 'soon'\n"
    assert main(["check", str(run), "-s", "CHECK_DRIFT_DROP=2"]) == EXIT_USAGE
    assert capsys.readouterr().err.startswith("crawler: setting CHECK_DRIFT_DROP must be a number from 0 to 1")
    assert main(["check", str(run), "--state", str(tmp_path / "none.sqlite")]) == EXIT_STATE
    assert capsys.readouterr().err.startswith("crawler: no state file at")
