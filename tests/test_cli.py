"""The other `crawler` commands: portals, extract, detect, schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from crawler.registry import load_registry
from crawler.schema import record_schema, shipped_schema

from .conftest import FIXTURES


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_portals_table() -> None:
    result = run("portals")
    assert result.returncode == 0
    assert "kon-tum" in result.stdout and "legacy" in result.stdout
    assert result.stdout.strip().endswith(f"{len(load_registry())} portals")


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
    assert "Traceback" not in missing.stderr + nothing.stderr


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
