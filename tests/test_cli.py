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
