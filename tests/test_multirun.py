"""Several portals in one process (`crawler crawl a b c`): local sites on 127.0.0.1, one that is
never up, one that dies mid-run, one retired post-merger domain whose host does not resolve (a
test resolver: no DNS query leaves the machine); run twice, as a schedule would."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.demo.site import build_routes, generated_articles, serve
from crawler.multirun import PortalRun, SelectionError, select_portals
from crawler.progress import PortalBoard
from crawler.registry import load_registry, parse_registry
from crawler.state import CrawlState

from .conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
RESOLVER = "DNS_RESOLVER=tests.loopback_dns.LoopbackOnlyResolver"


def _portal(slug: str, start: str, domain: str, *, status: str = "active", extra: str = "") -> str:
    return (
        f'\n[[portal]]\nslug = "{slug}"\nname = "Cổng thử {slug}"\nkind = "province"\ncode = "66"\n'
        f'domain = "{domain}"\nplatform = "unknown"\nstatus = "{status}"\nstart_urls = ["{start}/"]\n{extra}'
    )


def _die_after(server: Any, requests: int) -> None:
    """Shut the site down once it has answered `requests` requests (its socket closed: refused)."""

    def watch() -> None:
        while len(server.RequestHandlerClass.served) < requests:
            time.sleep(0.01)
        server.shutdown()
        server.server_close()

    threading.Thread(target=watch, daemon=True).start()


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Four registry portals: two healthy sites, one that dies mid-run, one never up; plus a
    retired legacy portal whose host does not resolve."""
    healthy, healthy_url = serve()
    other, other_url = serve(build_routes(generated_articles(12)))
    dying, dying_url = serve(build_routes(generated_articles(40, first_id=300000)), article_delay=0.05)
    _die_after(dying, 12)
    never = free_port()
    portals = tmp_path / "portals.toml"
    portals.write_text(
        _portal("site-a", healthy_url, "127.0.0.1")
        + _portal("site-b", other_url.replace("127.0.0.1", "localhost"), "localhost")
        + _portal(
            "site-dying",
            dying_url,
            "dying.example.gov.vn",
            extra=f'aliases = ["127.0.0.1:{dying_url.rsplit(":", 1)[1]}"]\n',
        )
        + _portal(
            "site-down", f"http://127.0.0.1:{never}", "down.example.gov.vn", extra=f'aliases = ["127.0.0.1:{never}"]\n'
        )
        + _portal(
            "site-retired",
            "http://old.tinh-cu.gov.vn",
            "old.tinh-cu.gov.vn",
            status="legacy",
            extra='legacy_code = "54"\nmerged_into = "66"\n',
        ),
        encoding="utf-8",
    )
    yield {"portals": portals, "healthy": healthy, "other": other, "dying": dying}
    for server in (healthy, other):
        server.shutdown()
        server.server_close()


def crawl_many(out: Path, state: Path, portals: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "crawler.cli", "crawl", *targets, "--out", str(out), "--state", str(state),
        "-s", f"PORTALS_FILE={portals}", "-s", RESOLVER, "-s", "PORTALS_AT_ONCE=3",
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=ROOT, check=False)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_many_portals_in_one_process_each_ends_on_its_own(sites: dict[str, Any], tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    targets = ("site-a", "site-b", "site-dying", "site-down", "site-retired")
    result = crawl_many(tmp_path / "first", state, sites["portals"], *targets)
    summary = json.loads((tmp_path / "first" / "summary.json").read_text(encoding="utf-8"))
    rows = {row["portal"]: row for row in summary["portals"]}
    assert set(rows) == set(targets)
    # The healthy sites are crawled whole, whatever happened to the others.
    assert rows["site-a"]["outcome"] == "ok" and rows["site-a"]["records_written"] == 7
    assert rows["site-b"]["outcome"] == "ok" and rows["site-b"]["records_written"] == 12
    assert len(lines(tmp_path / "first" / "site-b" / "records.jsonl")) == 12
    assert {record["portal"] for record in lines(tmp_path / "first" / "site-a" / "records.jsonl")} == {"site-a"}
    # The site never up is reported, with the one-line reason, and sets the exit status.
    assert rows["site-down"]["outcome"] == "failed" and "connection_refused" in rows["site-down"]["message"]
    assert result.returncode == 3, result.stderr
    assert "site-down: could not reach" in result.stderr
    # The site that died mid-run: what it gave before is kept; its failures are counted.
    dying = json.loads((tmp_path / "first" / "site-dying" / "manifest.json").read_text(encoding="utf-8"))
    assert 0 < dying["records_written"] < 40
    assert dying["fetch"]["failed"] > 0 and "connection_refused" in dying["fetch"]["failed_by_kind"]
    # The retired post-merger domain is recognised as such: not a failure, remembered.
    assert rows["site-retired"]["outcome"] == "retired" and rows["site-retired"]["exit_code"] == 0
    assert "merged into unit 66" in rows["site-retired"]["message"]
    with CrawlState(state) as crawl_state:
        assert crawl_state.retired("site-retired") is not None
        assert crawl_state.retired("site-down") is None  # an active portal's outage is news, not retirement
        # Every portal crawled is a run of its own in the state, grouped under the run's id.
        assert sorted(crawl_state.group_runs(summary["run_id"])) == sorted(row["run_id"] for row in rows.values())
    # Each portal's own crawl.log holds its own spider's lines only.
    own_log = (tmp_path / "first" / "site-b" / "crawl.log").read_text(encoding="utf-8")
    assert "'validate/ok': 12" in own_log and "Gave up retrying" not in own_log
    assert "Gave up retrying <GET http://old.tinh-cu.gov.vn/" in (
        tmp_path / "first" / "site-retired" / "crawl.log"
    ).read_text(encoding="utf-8")

    # The next scheduled run: incremental for the healthy sites, the retired one passed over.
    second = crawl_many(tmp_path / "second", state, sites["portals"], "site-a", "site-b", "site-retired")
    assert second.returncode == 0, second.stderr
    summary = json.loads((tmp_path / "second" / "summary.json").read_text(encoding="utf-8"))
    rows = {row["portal"]: row for row in summary["portals"]}
    assert rows["site-retired"]["outcome"] == "retired" and rows["site-retired"]["message"].startswith("retired since")
    assert not (tmp_path / "second" / "site-retired").exists()  # not crawled at all
    assert rows["site-a"]["records_written"] == 0 and rows["site-b"]["records_written"] == 0
    manifest = json.loads((tmp_path / "second" / "site-a" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["incremental"]["mode"] == "incremental"
    assert "– site-retired: retired since" in second.stdout


def test_a_run_of_many_exports_every_portal_once(sites: dict[str, Any], tmp_path: Path) -> None:
    export = tmp_path / "all.jsonl"
    state = tmp_path / "state.sqlite"
    result = crawl_many(tmp_path / "run", state, sites["portals"], "site-a", "site-b", "--export", str(export))
    assert result.returncode == 0, result.stderr
    exported = lines(export)
    assert len(exported) == 19 and {record["portal"] for record in exported} == {"site-a", "site-b"}
    summary = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    assert summary["exports"] == [{"dest": str(export), "records": 19}]
    # `crawler export --run <the run's id>` selects the same records.
    again = tmp_path / "again.jsonl"
    command = [
        sys.executable,
        "-m",
        "crawler.cli",
        "export",
        str(again),
        "--state",
        str(state),
        "--run",
        summary["run_id"],
    ]
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT, timeout=60)
    assert again.read_bytes() == export.read_bytes()


def test_refusals_are_one_line(tmp_path: Path) -> None:
    def refused(*arguments: str) -> str:
        command = [sys.executable, "-m", "crawler.cli", "crawl", *arguments, "--state", str(tmp_path / "s.sqlite")]
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        return result.stderr

    assert "unknown portal no-such-portal" in refused("kon-tum", "no-such-portal")
    assert "not both" in refused("kon-tum", "--all")
    assert "--job" in refused("kon-tum", "dak-lak", "--job", str(tmp_path / "job"))
    assert "registry slugs" in refused("kon-tum", "http://127.0.0.1:1/")
    assert "give a portal slug" in refused()


def test_selection_by_status_and_all() -> None:
    registry = load_registry()
    active = select_portals(registry, [], False, ["active"])
    assert active and {entry.status for entry in active} == {"active"}
    assert len(select_portals(registry, [], True, [])) == len(registry)
    assert [entry.slug for entry in select_portals(registry, ["kon-tum", "dak-lak", "kon-tum"], False, [])] == [
        "kon-tum",
        "dak-lak",
    ]
    with pytest.raises(SelectionError, match="crawler portals"):
        select_portals(registry, ["nowhere"], False, [])


def test_the_board_shows_each_running_portal_and_each_ended_one(tmp_path: Path) -> None:
    registry = parse_registry(
        _portal("site-a", "http://127.0.0.1:1", "127.0.0.1") + _portal("site-b", "http://localhost:1", "localhost")
    )
    runs = [PortalRun(entry, f"r-{entry.slug}", tmp_path / entry.slug) for entry in registry]

    class Stats:
        def __init__(self, values: dict[str, int]) -> None:
            self.values = values

        def get_value(self, name: str, default: int = 0) -> int:
            return self.values.get(name, default)

    class FakeCrawler:
        stats = Stats({"downloader/response_count": 12, "export/new": 3})
        engine = None

    class Multi:
        pass

    multi = Multi()
    multi.runs = runs  # type: ignore[attr-defined]
    stream = io.StringIO()
    board = PortalBoard(stream, live=True, total=2)
    board.multi = multi
    runs[0].outcome, runs[0].crawler, runs[0].rejects = "running", FakeCrawler(), 2  # type: ignore[assignment]
    board.redraw()
    drawn = stream.getvalue()
    assert "portals: 1 running, 1 waiting, 0 of 2 done" in drawn
    assert "site-a  pages 12 | records 3 | rejects 2" in drawn
    runs[0].outcome, runs[0].manifest = "ok", {"records_written": 3, "pages_fetched": 12}
    board.changed(runs[0])
    assert "\x1b[2F\x1b[J✓ site-a: 3 records from 12 pages\n" in stream.getvalue()
    quiet = io.StringIO()
    PortalBoard(quiet, live=False, total=2).changed(runs[0])
    assert quiet.getvalue() == ""
