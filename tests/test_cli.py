"""The other `crawler` commands: portals, extract, detect, schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from crawler.registry import load_registry
from crawler.schema import record_schema, shipped_schema

from .conftest import FIXTURES, MINIMAL_PORTAL


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_portals_table() -> None:
    result = run("portals")
    assert result.returncode == 0
    assert "kon-tum" in result.stdout and "legacy" in result.stdout
    assert result.stdout.strip().endswith(f"{len(load_registry())} portals")


def test_portals_slugs_one_per_line_for_shell_loops(tmp_path: Path) -> None:
    result = run("portals", "--status", "active", "--slugs")
    assert result.returncode == 0, result.stderr
    active = [entry.slug for entry in load_registry() if entry.status == "active"]
    assert active and result.stdout.splitlines() == active
    # A deployment's own portals (PORTALS_FILE) are listed with the packaged ones.
    extra = tmp_path / "portals.toml"
    local = MINIMAL_PORTAL.replace('"quang-ngai"', '"local-test"').replace("quangngai.gov.vn", "127.0.0.1")
    extra.write_text(local, encoding="utf-8")
    listed = run("portals", "--slugs", "--portals-file", str(extra))
    assert listed.returncode == 0, listed.stderr
    assert "local-test" in listed.stdout.splitlines() and "kon-tum" in listed.stdout.splitlines()


def test_extract_a_saved_page() -> None:
    fixture = FIXTURES / "generic" / "kontum_seed"
    url = json.loads((fixture / "meta.json").read_text(encoding="utf-8"))["url"]
    result = run("extract", str(fixture / "page.html"), "--url", url)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["authors"] == ["Lê Hằng"]
    assert record["portal"] == "kon-tum"


def test_extract_errors(tmp_path: Path) -> None:
    missing = run("extract", str(tmp_path / "nope.html"))
    assert missing.returncode != 0 and "no such file" in missing.stderr
    empty = tmp_path / "empty.html"
    empty.write_text("<html><body></body></html>", encoding="utf-8")
    nothing = run("extract", str(empty))
    assert nothing.returncode != 0 and "no article found" in nothing.stderr
    huge = tmp_path / "huge.html"
    paragraphs = "<p>Một đoạn văn rất dài.</p>" * 400_000
    huge.write_text(f"<html><body><h1>Báo cáo</h1>{paragraphs}</body></html>", encoding="utf-8")
    refused = run("extract", str(huge), "--url", "https://x.gov.vn/tin/bao-cao-123.html")
    assert refused.returncode != 0 and "page too large" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "Traceback" not in missing.stderr + nothing.stderr + refused.stderr


def test_detect_prints_platform_and_evidence() -> None:
    result = run("detect", str(FIXTURES / "liferay" / "demo_seed_4898" / "page.html"))
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "liferay"
    assert len(lines) > 1


def test_shipped_schema_matches_item_definition() -> None:
    assert shipped_schema() == record_schema(), "run `crawler schema --write` after changing crawler/items.py"


def test_add_portal_writes_entry_and_fixture_skeleton(tmp_path: Path) -> None:
    from crawler.registry import REGISTRY_PATH, parse_registry

    registry = tmp_path / "portals.toml"
    registry.write_text(REGISTRY_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    args = [
        "add-portal",
        "sotttt-dak-lak",
        "--name",
        "Sở Thông tin và Truyền thông Đắk Lắk",
        "--url",
        "https://stttt.daklak.gov.vn/tin-tuc",
        "--code",
        "66",
        "--platform",
        "liferay",
        "--feed",
        "https://stttt.daklak.gov.vn/rss",
        "--registry",
        str(registry),
        "--fixtures",
        str(tmp_path / "fx"),
    ]
    result = run(*args)
    assert result.returncode == 0, result.stderr
    entry = parse_registry(registry.read_text(encoding="utf-8")).get("sotttt-dak-lak")
    assert entry is not None
    assert (entry.domain, entry.platform, entry.code, entry.feeds) == (
        "stttt.daklak.gov.vn",
        "liferay",
        "66",
        ("https://stttt.daklak.gov.vn/rss",),
    )
    assert entry.province().current_name == "Đắk Lắk"
    meta = json.loads((tmp_path / "fx" / "liferay" / "sotttt_dak_lak" / "meta.json").read_text(encoding="utf-8"))
    assert meta["url"] == "https://stttt.daklak.gov.vn/tin-tuc"
    again = run(*args)
    assert again.returncode != 0
    assert "duplicate portal slug 'sotttt-dak-lak'" in again.stderr
    bad = run(
        "add-portal", "x", "--name", "X", "--url", "https://x.gov.vn/", "--code", "99", "--registry", str(registry)
    )
    assert bad.returncode != 0 and "no current unit" in bad.stderr


def test_state_shows_watermarks_and_reset_forgets_one_portal(tmp_path: Path) -> None:
    from crawler.state import CrawlState

    path = tmp_path / "state.sqlite"
    with CrawlState(path) as state:
        for portal, published in (("kon-tum", "2024-06-02T16:20:00+07:00"), ("quang-ngai", None)):
            state.start_run(f"run-{portal}", portal, tmp_path / portal, full=False, bounded=False)
            state.store_record(
                {
                    "id": f"id-{portal}",
                    "url": f"https://{portal}.gov.vn/a",
                    "content_hash": "0" * 64,
                    "published_at": published,
                },
                portal=portal,
                page_key=f"{portal}/a",
                run_id=f"run-{portal}",
                headers={},
            )
            state.finish_run(f"run-{portal}", "finished", {})
    shown = run("state", "--state", str(path))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[1].split() == [
        "portal",
        "records",
        "updated",
        "exact",
        "near",
        "newest",
        "published",
        "last",
        "run",
        "finish",
        "complete",
    ]
    assert lines[2].split() == [
        "kon-tum",
        "1",
        "0",
        "0",
        "0",
        "2024-06-02T16:20:00+07:00",
        "run-kon-tum",
        "finished",
        "yes",
    ]
    reset = run("state", "reset", "kon-tum", "--state", str(path))
    assert reset.returncode == 0 and "forgot 'kon-tum'" in reset.stdout
    assert "kon-tum" not in run("state", "--state", str(path)).stdout
    again = run("state", "reset", "kon-tum", "--state", str(path))
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "holds nothing" in again.stderr


def test_state_errors_are_one_line(tmp_path: Path) -> None:
    missing = run("state", "--state", str(tmp_path / "none.sqlite"))
    assert missing.returncode == 2 and "no state file" in missing.stderr and "Traceback" not in missing.stderr
    bogus = tmp_path / "bogus.sqlite"
    bogus.write_text("not a database " * 100, encoding="utf-8")
    for args in (("state", "--state", str(bogus)), ("crawl", "http://127.0.0.1:9/", "--state", str(bogus))):
        result = run(*args)
        assert result.returncode == 4, result.stderr  # a state error (README: exit statuses)
        assert result.stderr.count("\n") == 1 and "pass another --state PATH" in result.stderr
