"""Per-field fixture tests, generated: one test per (fixture, field), plus "no extra fields".

Adding a fixture (page.html + meta.json + expected.json reviewed from `crawler record-fixture`)
adds tests without code.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from crawler.fixtures import VOLATILE_FIELDS, fixture_record

FIXTURE_ROOT = Path(__file__).parent / "fixtures"
FIXTURE_DIRS = sorted(p.parent for p in FIXTURE_ROOT.glob("*/*/expected.json"))


@cache
def _actual(fixture_dir: Path) -> dict:
    return fixture_record(fixture_dir)


def _expected(fixture_dir: Path) -> dict:
    return json.loads((fixture_dir / "expected.json").read_text(encoding="utf-8"))


CASES = [pytest.param(d, field, id=f"{d.parent.name}/{d.name}:{field}") for d in FIXTURE_DIRS for field in _expected(d)]


def test_fixtures_exist() -> None:
    assert {d.parent.name for d in FIXTURE_DIRS} >= {"liferay", "generic"}


@pytest.mark.parametrize(("fixture_dir", "field"), CASES)
def test_field(fixture_dir: Path, field: str) -> None:
    assert _actual(fixture_dir)[field] == _expected(fixture_dir)[field]


@pytest.mark.parametrize("fixture_dir", FIXTURE_DIRS, ids=lambda d: f"{d.parent.name}/{d.name}")
def test_no_extra_or_missing_fields(fixture_dir: Path) -> None:
    assert set(_actual(fixture_dir)) == set(_expected(fixture_dir))
    assert not VOLATILE_FIELDS & set(_expected(fixture_dir))
