"""The first acceptance test: the seed report, in page templates carrying its noise, gives exactly
what ../shared/seed/expected.json says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.extract import extract_record
from crawler.text import normalize_text, paragraphs

from .conftest import FIXTURES, need_shared

SEED_PAGES = [
    FIXTURES / "generic" / "kontum_seed",  # a custom CMS template: generic parser
    FIXTURES / "generic" / "seed_figure",  # figure/figcaption, date in an unlabelled span
    FIXTURES / "generic" / "seed_table",  # captions in table cells, time-first date line in the text
    FIXTURES / "generic" / "seed_plain",  # italic captions, unstyled byline, noise as paragraphs
    FIXTURES / "generic" / "seed_logo_h1",  # site logo in <h1>, image and caption in one <div>
    FIXTURES / "liferay" / "demo_seed_4898",  # the same report in Liferay 6.2 markup
]


def _record(fixture_dir: Path) -> dict:
    meta = json.loads((fixture_dir / "meta.json").read_text(encoding="utf-8"))
    record = extract_record((fixture_dir / "page.html").read_text(encoding="utf-8"), meta["url"])
    assert record is not None
    return record


@pytest.fixture(scope="module")
def seed() -> dict:
    return json.loads(need_shared("seed", "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("fixture_dir", SEED_PAGES, ids=lambda d: d.name)
def test_seed_record(fixture_dir: Path, seed: dict) -> None:
    record = _record(fixture_dir)
    assert record["title"] == seed["title"]
    # The seed text carries U+00A0 between some words; records normalise it to a plain space.
    assert paragraphs(record["body"]) == [normalize_text(p) for p in seed["body_paragraphs"]]
    assert [i["caption"] for i in record["images"] if i["caption"]] == seed["image_captions"]
    assert record["authors"] == seed["authors"]
    for noise in seed["must_not_appear_in_title_or_body"]:
        assert noise not in record["title"]
        assert noise not in record["body"]
    for counter in seed["page_counters_seen"]:
        assert counter not in paragraphs(record["body"])
    assert record["body"].endswith("./.")


def test_seed_province_keeps_legacy_and_current(seed: dict) -> None:
    record = _record(FIXTURES / "generic" / "kontum_seed")
    province = record["province"]
    assert province == {
        "current_code": seed["province"]["current_code"],
        "current_name": seed["province"]["current_name"],
        "legacy_code": seed["province"]["legacy_code"],
        "legacy_name": seed["province"]["legacy_name"],
    }
    assert record["published_at"] == "2018-07-16T10:25:00+07:00"
    assert record["published_raw"] == "Thứ Hai, 16/07/2018 - 10:25"
