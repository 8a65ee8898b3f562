"""The project on a real Scrapyd: `crawler deploy` builds the egg with scrapyd-deploy (leaving the
checkout as it was) and sends it to a Scrapyd started here on 127.0.0.1; a job scheduled with
portal=… crawls a local site from the egg (registry and schema read from the zip) into the run
folder and the state it is given, and finds the same records as `crawler crawl`."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.error import URLError
from urllib.parse import urlencode
from urllib.request import urlopen

import pytest

from crawler.state import CrawlState

from .conftest import ROOT, STRICT, free_port, run_cli

PROJECT = "crawler"
PORTAL = "local-demo"
START_SECONDS = 30  # scrapyd answering daemonstatus.json
JOB_SECONDS = 90  # one job of the demo site, on a busy machine
PACKAGE_DATA = ("crawler/registry/portals.toml", "crawler/record.schema.json", "crawler/demo/articles.json")


def _skip_or_fail(message: str) -> NoReturn:
    if STRICT:
        pytest.fail(message)
    pytest.skip(message)


@dataclass(frozen=True)
class Scrapyd:
    url: str
    folder: Path

    def call(self, endpoint: str, **data: str | list[str]) -> dict[str, Any]:
        """A Scrapyd API call: POST with `data`, GET without."""
        body = urlencode(data, doseq=True).encode() if data else None
        with urlopen(f"{self.url}{endpoint}", data=body, timeout=10) as response:
            return json.loads(response.read())

    def job_log(self, job: str) -> str:
        log = self.folder / "logs" / PROJECT / "portal" / f"{job}.log"
        return log.read_text(encoding="utf-8", errors="replace") if log.exists() else "(no job log)"


@pytest.fixture(scope="module")
def scrapyd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scrapyd]:
    """Scrapyd on a free 127.0.0.1 port, its folders and config in a temporary folder (also its
    working folder: a job must not import the checkout's `crawler` through its cwd)."""
    if importlib.util.find_spec("scrapyd") is None:
        _skip_or_fail("scrapyd is not installed: pip install -e '.[test]'")
    folder = tmp_path_factory.mktemp("scrapyd")
    port = free_port()
    (folder / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        "bind_address = 127.0.0.1\n"
        f"http_port = {port}\n"
        f"eggs_dir = {folder / 'eggs'}\n"
        f"logs_dir = {folder / 'logs'}\n"
        f"dbs_dir = {folder / 'dbs'}\n"
        "items_dir =\n"
        "max_proc = 2\n"
        "poll_interval = 0.2\n",
        encoding="utf-8",
    )
    output = (folder / "scrapyd.out").open("w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "scrapyd"],
        cwd=folder,
        stdout=output,
        stderr=subprocess.STDOUT,
        env={**os.environ, "HOME": str(folder)},  # no ~/.scrapyd.conf of the user's
        start_new_session=True,
    )
    server = Scrapyd(f"http://127.0.0.1:{port}/", folder)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if server.call("daemonstatus.json")["status"] == "ok":
                    break
            except (URLError, OSError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (folder / "scrapyd.out").read_text(encoding="utf-8", errors="replace")[-1500:]
                _skip_or_fail(f"scrapyd did not start on 127.0.0.1:{port}: {tail}")
            time.sleep(0.2)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        output.close()


def _checkout_leftovers() -> set[str]:
    """What building an egg in the checkout would leave: setup.py, build/, *.egg-info, untracked files."""
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], capture_output=True, text=True, cwd=ROOT, check=True
    )
    found = {line for line in status.stdout.splitlines() if line.startswith("??")}
    found |= {path.name for path in (ROOT / "setup.py", ROOT / "build") if path.exists()}
    return found | {path.name for path in ROOT.glob("*.egg-info")}


def test_the_egg_holds_the_package_data_and_runs_from_the_zip(tmp_path: Path) -> None:
    before = _checkout_leftovers()
    egg = tmp_path / "crawler.egg"
    built = run_cli("deploy", "--build-egg", str(egg))
    assert built.returncode == 0, built.stderr
    assert _checkout_leftovers() == before
    with zipfile.ZipFile(egg) as archive:
        names = set(archive.namelist())
        entry_points = archive.read("EGG-INFO/entry_points.txt").decode()
    assert set(PACKAGE_DATA) <= names and "crawler/spiders/portal.py" in names
    assert not any(name.startswith(("tests/", "tools/", "bench/")) for name in names)
    assert "[scrapy]\nsettings = crawler.settings" in entry_points
    # Imported from the zip (the egg first on sys.path, as Scrapyd activates it), every piece of
    # package data is found.
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import crawler, crawler.registry, crawler.schema, crawler.demo.site as demo;"
        "print(crawler.__file__);"
        "print(len(crawler.registry.load_registry()), len(crawler.schema.record_schema()), len(demo.load_articles()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(egg)], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert result.returncode == 0, result.stderr
    location, counts = result.stdout.splitlines()
    assert location == str(egg / "crawler" / "__init__.py")
    assert all(int(count) > 0 for count in counts.split())


def test_a_scheduled_job_runs_the_same_crawl_as_crawler_crawl(scrapyd: Scrapyd, site: str, tmp_path: Path) -> None:
    portals = tmp_path / "portals.toml"
    portals.write_text(
        "[[portal]]\n"
        f'slug = "{PORTAL}"\n'
        'name = "Cổng thông tin thử"\n'
        'kind = "province"\n'
        'code = "66"\n'
        'domain = "127.0.0.1"\n'
        'platform = "unknown"\n'
        'status = "active"\n'
        f'start_urls = ["{site}/vi/tin-tuc-su-kien"]\n',
        encoding="utf-8",
    )
    # Deployed as a data team would: `crawler deploy TARGET`, the target in the user's scrapy.cfg.
    config = tmp_path / "config"
    config.mkdir()
    (config / "scrapy.cfg").write_text(f"[deploy:here]\nurl = {scrapyd.url}\nproject = {PROJECT}\n", encoding="utf-8")
    deployed = run_cli("deploy", "here", env={**os.environ, "XDG_CONFIG_HOME": str(config), "HOME": str(tmp_path)})
    assert deployed.returncode == 0, deployed.stderr
    assert scrapyd.call(f"listspiders.json?project={PROJECT}")["spiders"] == ["portal"]

    state_path, run_dir = tmp_path / "state.sqlite", tmp_path / "job-run"
    scheduled = scrapyd.call(
        "schedule.json",
        project=PROJECT,
        spider="portal",
        portal=PORTAL,
        state=str(state_path),
        out=str(run_dir),
        delay="0",
        setting=f"PORTALS_FILE={portals}",
    )
    assert scheduled["status"] == "ok", scheduled
    job = scheduled["jobid"]
    deadline = time.monotonic() + JOB_SECONDS
    while not any(finished["id"] == job for finished in scrapyd.call(f"listjobs.json?project={PROJECT}")["finished"]):
        if time.monotonic() > deadline:
            pytest.fail(f"job {job} not finished after {JOB_SECONDS} s; its log ends:\n{scrapyd.job_log(job)[-3000:]}")
        time.sleep(0.3)

    log = scrapyd.job_log(job)
    assert (run_dir / "manifest.json").exists(), f"job {job} wrote no run folder; its log ends:\n{log[-3000:]}"
    # The job ran the deployed egg's code, not the test's editable checkout.
    assert f"crawler code: {scrapyd.folder / 'eggs' / PROJECT}" in log and ".egg/crawler" in log, log[-3000:]
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["finish_reason"] == "finished", log[-3000:]
    records = [json.loads(line) for line in (run_dir / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    assert records and manifest["records_written"] == len(records)
    assert {record["portal"] for record in records} == {PORTAL}
    with CrawlState(state_path) as state:
        assert state.finish_reason(manifest["run_id"]) == "finished"
        stored = {json.loads(item.data)["id"] for batch in state.iter_records(portal=PORTAL) for item in batch}
    assert stored == {record["id"] for record in records}

    ours = run_cli(
        "crawl", PORTAL, "--out", str(tmp_path / "cli-run"), "--state", str(tmp_path / "cli.sqlite"),
        "--delay", "0", "-s", f"PORTALS_FILE={portals}",
    )  # fmt: skip
    assert ours.returncode == 0, ours.stderr
    cli_records = (tmp_path / "cli-run" / "records.jsonl").read_text(encoding="utf-8").splitlines()
    assert {json.loads(line)["id"] for line in cli_records} == stored


def test_deploy_outside_a_source_checkout_is_one_line(tmp_path: Path) -> None:
    result = run_cli("deploy", "--build-egg", str(tmp_path / "x.egg"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "crawler: no scrapy.cfg here or above: run `crawler deploy` in the project's source checkout\n"
    )
    assert not (tmp_path / "x.egg").exists()
