"""One state file under real concurrency and real kills, with `crawler crawl` subprocesses over
generated Liferay sites on 127.0.0.1: side-by-side crawls of different sites, `crawler state reset`
during a crawl, kill -9 and re-run, and a crawl killed under another host name (UTS namespace)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from crawler.demo.site import generated_articles
from crawler.state import CrawlState

from .test_incremental import Mirror, _wait_for_lines, crawl_command, read_lines


def site(count: int, number: int, article_delay: float = 0.02) -> Mirror:
    """A generated portal of its own: ids, bodies and port differ from every other one's."""
    articles = generated_articles(count, first_id=300000 + 10000 * number, newest=date.today().isoformat(), seed=number)
    return Mirror(articles, article_delay=article_delay)


@pytest.fixture
def sites() -> Iterator[list[Mirror]]:
    made = [site(30, 1), site(24, 2), site(18, 3)]
    yield made
    for mirror in made:
        mirror.close()


def run_together(commands: list[list[str]], timeout: float = 300) -> list[subprocess.CompletedProcess[str]]:
    processes = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in commands]
    results = []
    for command, process in zip(commands, processes, strict=True):
        out, err = process.communicate(timeout=timeout)
        results.append(subprocess.CompletedProcess(command, process.returncode, out, err))
    return results


def assert_complete(out: Path, total: int) -> list[dict]:
    """The run wrote each of the site's `total` articles once, finished normally and says so."""
    records = read_lines(out / "records.jsonl")
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)) == total, out
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["finish_reason"] == "finished" and manifest["records_written"] == total
    crawl_log = (out / "crawl.log").read_text(encoding="utf-8") if (out / "crawl.log").exists() else ""
    assert "database is locked" not in crawl_log
    return records


def runs_in(state: Path) -> dict[str, str | None]:
    with CrawlState(state) as opened:
        assert opened.integrity() == "ok"
        return dict(opened.db.execute("SELECT run_dir, finish_reason FROM runs").fetchall())


@pytest.mark.parametrize("together", [2, 3])
def test_side_by_side_crawls_share_one_state(sites: list[Mirror], tmp_path: Path, together: int) -> None:
    state = tmp_path / "state.sqlite"
    chosen = sites[:together]
    outs = [tmp_path / f"run{n}" for n in range(together)]
    results = run_together([crawl_command(m, out, state) for m, out in zip(chosen, outs, strict=True)])
    for result in results:
        assert result.returncode == 0, result.stderr[-2000:]
        assert "database is locked" not in result.stderr
    for mirror, out in zip(chosen, outs, strict=True):
        assert_complete(out, len(mirror.articles))
    assert runs_in(state) == {str(out.resolve()): "finished" for out in outs}
    with CrawlState(state) as opened:
        total = opened.db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
        assert total == sum(len(m.articles) for m in chosen)
        assert opened.db.execute("SELECT COUNT(*) FROM frontier").fetchone()[0] == 0


def test_state_reset_during_side_by_side_crawls(sites: list[Mirror], tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    first, second, third = sites
    earlier = subprocess.run(crawl_command(third, tmp_path / "earlier", state), capture_output=True, text=True)
    assert earlier.returncode == 0, earlier.stderr[-2000:]
    portal = read_lines(tmp_path / "earlier" / "records.jsonl")[0]["portal"]

    commands = [crawl_command(first, tmp_path / "a", state), crawl_command(second, tmp_path / "b", state)]
    processes = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for c in commands]
    _wait_for_lines(tmp_path / "a" / "records.jsonl", 3, processes[0])
    reset = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "state", "reset", portal, "--state", str(state)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-2000:]
    assert reset.returncode == 0, reset.stderr
    assert f"forgot '{portal}'" in reset.stdout
    assert_complete(tmp_path / "a", len(first.articles))
    assert_complete(tmp_path / "b", len(second.articles))
    with CrawlState(state) as opened:
        assert portal not in {row["portal"] for row in opened.summary()}
        assert opened.db.execute("SELECT COUNT(*) FROM records WHERE portal = ?", (portal,)).fetchone()[0] == 0


def kill_mid_crawl(command: list[str], out: Path, total: int, **popen: object) -> int:
    """Start a crawl, SIGKILL it after a few records; the number of whole lines it left."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen)  # type: ignore[call-overload]
    _wait_for_lines(out / "records.jsonl", 6, process)
    os.killpg(process.pid, signal.SIGKILL) if popen.get("start_new_session") else process.kill()
    process.wait(timeout=30)
    assert not (out / "manifest.json").exists()  # it really died mid-crawl
    written = (out / "records.jsonl").read_bytes().count(b"\n")
    assert written < total
    return written


def assert_recovered(killed: Path, rerun: Path, state: Path, total: int) -> None:
    """Every article exactly once across the killed run's output and the re-run's."""
    killed_records = read_lines(killed / "records.jsonl")
    rerun_records = read_lines(rerun / "records.jsonl")
    ids = [r["id"] for r in killed_records + rerun_records]
    assert len(ids) == len(set(ids)) == total
    left_behind = json.loads((killed / "manifest.json").read_text(encoding="utf-8"))
    assert left_behind["finish_reason"] == "killed" and left_behind["records_written"] == len(killed_records)
    assert runs_in(state) == {str(killed.resolve()): "killed", str(rerun.resolve()): "finished"}


def test_kill_9_mid_crawl_then_rerun(tmp_path: Path) -> None:
    total = 40
    mirror = site(total, 4, article_delay=0.1)
    state = tmp_path / "state.sqlite"
    try:
        command = crawl_command(mirror, tmp_path / "killed", state, "-s", "LOOPBACK_CONCURRENCY=2")
        kill_mid_crawl(command, tmp_path / "killed", total)
        rerun = subprocess.run(crawl_command(mirror, tmp_path / "rerun", state), capture_output=True, text=True)
    finally:
        mirror.close()
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert_recovered(tmp_path / "killed", tmp_path / "rerun", state, total)


def test_crawl_killed_under_another_host_name_is_recovered_by_its_lease(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare (util-linux) is not installed")
    probe = subprocess.run([unshare, "--uts", "--pid", "--fork", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare --uts --pid is not permitted here: {probe.stderr.strip()}")
    total = 40
    lease = 3
    mirror = site(total, 5, article_delay=0.1)
    state = tmp_path / "state.sqlite"
    try:
        crawl = crawl_command(mirror, tmp_path / "killed", state, "-s", "LOOPBACK_CONCURRENCY=2")
        crawl += ["-s", f"STATE_LEASE_SECONDS={lease}"]
        # Another host name and another PID namespace: neither the name nor the PID can tell this
        # host whether the crawl is alive; only its lease can.
        script = 'hostname other-host && exec "$@"'
        command = [unshare, "--uts", "--pid", "--fork", "--kill-child", "sh", "-c", script, "sh", *crawl]
        kill_mid_crawl(command, tmp_path / "killed", total, start_new_session=True)
        with CrawlState(state) as opened:
            host, lease_until = opened.db.execute("SELECT host, lease_until FROM runs").fetchone()
            assert host == "other-host" and lease_until is not None
            # Its lease has not run out yet: to a crawl starting now, it may still be running elsewhere.
            assert opened.recover_unfinished() == []
        time.sleep(lease + 1)
        rerun = subprocess.run(crawl_command(mirror, tmp_path / "rerun", state), capture_output=True, text=True)
    finally:
        mirror.close()
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert_recovered(tmp_path / "killed", tmp_path / "rerun", state, total)


def test_state_file_deleted_during_a_crawl_ends_it_with_a_state_error(tmp_path: Path) -> None:
    total = 40
    mirror = site(total, 6, article_delay=0.1)
    state = tmp_path / "state.sqlite"
    out = tmp_path / "run"
    try:
        command = crawl_command(mirror, out, state, "-s", "LOOPBACK_CONCURRENCY=2")
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _wait_for_lines(out / "records.jsonl", 4, process)
        for leftover in tmp_path.glob("state.sqlite*"):
            leftover.unlink()
        _, stderr = process.communicate(timeout=120)
    finally:
        mirror.close()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["finish_reason"] == "state_error"
    assert process.returncode == 4 and "deleted or replaced" in stderr, stderr
    assert manifest["records_written"] < total
    assert not state.exists()  # nothing recreated a state that would miss this run's records


def test_three_crawls_one_killed_and_rerun_under_another_host_name(sites: list[Mirror], tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "--uts", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare --uts is not available or not permitted here")
    state = tmp_path / "state.sqlite"
    first, second, _ = sites
    victim = site(40, 7, article_delay=0.1)
    try:
        others = [
            subprocess.Popen(crawl_command(m, tmp_path / name, state), stderr=subprocess.PIPE, text=True)
            for m, name in ((first, "a"), (second, "b"))
        ]
        kill_mid_crawl(
            crawl_command(victim, tmp_path / "killed", state, "-s", "LOOPBACK_CONCURRENCY=2"),
            tmp_path / "killed",
            40,
        )
        # Re-run at once, on "another host": the kill is known from the lease holder's process.
        rerun = [unshare, "--uts", "sh", "-c", 'hostname other-host && exec "$@"', "sh"]
        rerun += crawl_command(victim, tmp_path / "rerun", state)
        result = subprocess.run(rerun, capture_output=True, text=True, timeout=300)
        for process in others:
            _, err = process.communicate(timeout=300)
            assert process.returncode == 0, err[-2000:]
    finally:
        victim.close()
    assert result.returncode == 0, result.stderr[-2000:]
    assert_complete(tmp_path / "a", len(first.articles))
    assert_complete(tmp_path / "b", len(second.articles))
    killed = read_lines(tmp_path / "killed" / "records.jsonl")
    ids = [r["id"] for r in killed + read_lines(tmp_path / "rerun" / "records.jsonl")]
    assert len(ids) == len(set(ids)) == 40
    runs = runs_in(state)
    assert runs[str((tmp_path / "killed").resolve())] == "killed"
    assert [runs[str((tmp_path / name).resolve())] for name in ("a", "b", "rerun")] == ["finished"] * 3


def test_a_job_killed_with_kill_9_resumes_to_every_article(tmp_path: Path) -> None:
    """Scrapy's on-disk queue of a killed job is not to be trusted: the resumed job decides every
    link again and, with what the state recorded, ends with every article exactly once."""
    total = 40
    mirror = site(total, 7, article_delay=0.1)
    state, out, job = tmp_path / "state.sqlite", tmp_path / "run", tmp_path / "job"
    try:
        command = crawl_command(mirror, out, state, "--job", str(job), "-s", "LOOPBACK_CONCURRENCY=2")
        kill_mid_crawl(command, out, total)
        resumed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    finally:
        mirror.close()
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    ids = [record["id"] for record in read_lines(out / "records.jsonl")]
    assert len(ids) == total and len(set(ids)) == total


def test_a_portal_being_crawled_is_not_reset(tmp_path: Path) -> None:
    mirror = site(40, 8, article_delay=0.5)
    state, out = tmp_path / "state.sqlite", tmp_path / "run"
    try:
        process = subprocess.Popen(
            # Two at a time (Scrapy ignores the per-host limit without a delay): a crawl of 10 s or so.
            crawl_command(mirror, out, state, "-s", "LOOPBACK_CONCURRENCY=2", "-s", "CONCURRENT_REQUESTS=2"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_lines(out / "records.jsonl", 3, process)
        portal = mirror.base.split("://", 1)[1].rstrip("/")
        reset = subprocess.run(
            [sys.executable, "-m", "crawler.cli", "state", "reset", portal, "--state", str(state)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        process.wait(timeout=300)
    finally:
        mirror.close()
    assert reset.returncode == 2 and "is being crawled now" in reset.stderr, reset.stderr
    assert process.returncode == 0
    with CrawlState(state) as opened:
        assert opened.finish_reason(json.loads((out / "manifest.json").read_text())["run_id"]) == "finished"
