"""Conformance over the platform set and the registry: fixtures per platform, schema-valid output."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from crawler.cli import extract_record
from crawler.decoding import decode_html
from crawler.platforms import KNOWN_PLATFORMS, PARSERS
from crawler.registry import load_registry
from crawler.schema import shipped_schema

from .conftest import FIXTURES

# Platforms whose pages are never listings (none at present).
ARTICLE_ONLY: dict[str, str] = {}


def _fixtures(platform: str) -> list[tuple[Path, dict]]:
    found = []
    for meta_path in sorted((FIXTURES / platform).glob("*/meta.json")):
        found.append((meta_path.parent, json.loads(meta_path.read_text(encoding="utf-8"))))
    return found


@pytest.mark.parametrize("platform", sorted(PARSERS))
def test_platform_module_interface(platform: str) -> None:
    module = PARSERS[platform]
    assert platform == module.NAME
    assert module.VERSION
    for function in ("detect", "parse_tree", "article_key"):
        assert callable(getattr(module, function)), f"{platform}.{function}"


@pytest.mark.parametrize("platform", sorted(PARSERS))
def test_platform_has_article_and_listing_fixtures(platform: str) -> None:
    fixtures = _fixtures(platform)
    assert any(meta.get("kind") != "listing" for _, meta in fixtures), f"{platform}: no article fixture"
    if platform not in ARTICLE_ONLY:
        assert any(meta.get("kind") == "listing" for _, meta in fixtures), f"{platform}: no listing fixture"


ARTICLE_FIXTURES = [
    pytest.param(d, meta, id=f"{d.parent.name}/{d.name}")
    for platform in sorted(PARSERS)
    for d, meta in _fixtures(platform)
    if meta.get("kind") != "listing"
]


@pytest.mark.parametrize(("fixture_dir", "meta"), ARTICLE_FIXTURES)
def test_parser_output_validates_against_the_schema(fixture_dir: Path, meta: dict) -> None:
    html = decode_html((fixture_dir / "page.html").read_bytes(), None)[0]
    record = extract_record(html, meta["url"], meta.get("platform"))
    assert record is not None
    jsonschema.Draft202012Validator(shipped_schema()).validate(record)
    assert record["platform"] == fixture_dir.parent.name


def test_every_registry_entry_names_a_known_platform() -> None:
    for entry in load_registry():
        assert entry.platform in KNOWN_PLATFORMS, entry.slug
