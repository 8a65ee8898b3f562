"""The generic-extraction evaluation set is well formed, and the bench scores text as documented.

The set (tests/evalset, built by tools/build_evalset.py) and the article fixtures are what
bench/bench_generic.py scores; the metric functions live in bench/scoring.py. No timing and no
F1 target is asserted here: those are the bench's business.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
import tomllib
import unicodedata
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVALSET = ROOT / "tests" / "evalset"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


scoring = _load("scoring", ROOT / "bench" / "scoring.py")
build_evalset = _load("build_evalset", ROOT / "tools" / "build_evalset.py")

CASE_DIRS = sorted(p.parent for p in EVALSET.glob("*/*/meta.json"))


def test_enough_cases_and_languages() -> None:
    cases = scoring.all_cases()
    assert len(cases) >= 60
    assert len({c.language for c in cases}) >= 8
    assert len(scoring.evalset_cases()) >= 45
    assert len({c.name for c in cases}) == len(cases)


def test_every_folder_is_a_listed_case() -> None:
    with (EVALSET / "cases.toml").open("rb") as handle:
        table = tomllib.load(handle)
    listed = {f"{source}/{entry['name']}" for source, entries in table.items() for entry in entries}
    assert {f"{d.parent.name}/{d.name}" for d in CASE_DIRS} == listed


def test_set_stays_small() -> None:
    assert sum(p.stat().st_size for p in EVALSET.rglob("*") if p.is_file()) < 8_000_000


@pytest.mark.parametrize("folder", CASE_DIRS, ids=lambda d: f"{d.parent.name}/{d.name}")
def test_case_is_well_formed(folder: Path) -> None:
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta["url"].startswith(("http://", "https://"))
    assert len(meta["language"]) == 2 and meta["language"].islower()
    assert meta["source"] and meta["licence"] and meta["expected_from"]
    packed = (folder / "page.html.gz").read_bytes()
    assert len(packed) < 1_000_000
    assert b"<" in gzip.decompress(packed)[:5000]
    expected = (folder / "expected.txt").read_text(encoding="utf-8")
    assert expected.strip()
    assert unicodedata.is_normalized("NFC", expected)
    assert expected.endswith("\n") and not expected.endswith("\n\n")
    paragraphs = expected[:-1].split("\n\n")
    assert all(p and p == p.strip() and "\n" not in p for p in paragraphs)


def test_fixture_cases_are_the_article_fixtures() -> None:
    names = {c.name for c in scoring.fixture_cases()}
    assert "fixtures/generic/kontum_seed" in names
    assert not any("listing" in name for name in names)
    assert all(c.language == "vi" and c.expected for c in scoring.fixture_cases())


def test_rebuild_from_sources_changes_nothing() -> None:
    """With the downloaded sources at hand, every generated file is what the script would write now."""
    if not (build_evalset.DEFAULT_SOURCES / "newspaper4k-testdata").is_dir():
        pytest.skip(f"{build_evalset.DEFAULT_SOURCES} is absent: the evaluation set's sources are not downloaded")
    planned = build_evalset.all_planned_files(build_evalset.load_cases(), build_evalset.DEFAULT_SOURCES)
    assert build_evalset.out_of_date(planned) == []


# The scoring functions of the bench.


def test_identical_texts_score_one() -> None:
    text = "The storm passed.\n\nTravel resumed on Thursday."
    assert scoring.token_f1(text, text) == 1.0
    assert scoring.ngram_f1(text, text) == 1.0


def test_disjoint_texts_score_zero() -> None:
    assert scoring.token_f1("alpha beta gamma delta", "one two three four") == 0.0
    assert scoring.ngram_f1("alpha beta gamma delta", "one two three four") == 0.0


def test_empty_output_scores_zero() -> None:
    assert scoring.token_f1(None, "some text") == 0.0
    assert scoring.token_f1("", "some text") == 0.0
    assert scoring.ngram_f1(None, "a b c d e") == 0.0


def test_partial_overlap_token_f1() -> None:
    # 3 of 4 output tokens are expected (precision 3/4), 3 of 6 expected tokens found (recall 1/2).
    assert scoring.token_f1("a b c x", "a b c d e f") == pytest.approx(2 * 0.75 * 0.5 / 1.25)


def test_overlap_counts_repeated_tokens_once_each() -> None:
    # Output "a a a b" against "a b b": overlap min(3,1) + min(1,2) = 2; P = 2/4, R = 2/3.
    assert scoring.token_f1("a a a b", "a b b") == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))


def test_partial_overlap_ngram_f1() -> None:
    # Output 4-grams: (a b c d), (b c d x); expected: (a b c d), (b c d e): overlap 1, P = R = 1/2.
    assert scoring.ngram_f1("a b c d x", "a b c d e") == pytest.approx(0.5)
    assert scoring.token_f1("a b c d x", "a b c d e") == pytest.approx(0.8)


def test_ngram_f1_rewards_order() -> None:
    assert scoring.token_f1("d c b a", "a b c d") == 1.0
    assert scoring.ngram_f1("d c b a", "a b c d") == 0.0


def test_tokens_are_casefolded_nfc_words() -> None:
    decomposed = unicodedata.normalize("NFD", "Hòa Bình ĐÀ NẴNG")
    assert scoring.tokens(decomposed) == ["hòa", "bình", "đà", "nẵng"]
    assert scoring.tokens("It's 12/3, e-mail!") == ["it", "s", "12", "3", "e", "mail"]


def test_soft_hyphens_are_ignored() -> None:
    assert scoring.tokens("Netan\u00adyahu") == ["netanyahu"]


def test_cjk_is_one_token_per_character() -> None:
    assert scoring.tokens("香港行政长官") == ["香", "港", "行", "政", "长", "官"]
    assert scoring.tokens("東京タワーは") == ["東", "京", "タ", "ワ", "ー", "は"]
    assert scoring.tokens("한국어 뉴스") == ["한", "국", "어", "뉴", "스"]
    assert scoring.tokens("Trump在旧金山") == ["trump", "在", "旧", "金", "山"]


def test_thai_and_myanmar_keep_marks_with_their_letter() -> None:
    # ที่ = ท + sara ii + mai ek: one token; the marks never stand alone.
    assert scoring.tokens("ที่นี่") == ["ที่", "นี่"]
    assert scoring.tokens("မြန်မာ") == ["မြ", "န်", "မာ"]


def test_word_with_combining_marks_stays_whole() -> None:
    assert scoring.tokens("मिटरब्याजपीडितले गरे") == ["मिटरब्याजपीडितले", "गरे"]


def test_cjk_partial_overlap() -> None:
    # 4 characters out, 3 of them among the 6 expected: P = 3/4, R = 1/2.
    assert scoring.token_f1("香港政府", "香港行政长官") == pytest.approx(0.6)


# The reference-text conversion of tools/build_evalset.py.


def test_html_blocks_become_paragraphs() -> None:
    markup = (
        "<div><h2>Title</h2><p>One <em>two</em>\n three.</p><figure><img src=x>"
        "<figcaption>Caption</figcaption></figure><p>Line<br>break</p><p>A<br><br>B</p>"
        "<table><tr><td>x</td><td>1</td></tr></table><p style='display: inline;'>in</p>line</div>"
    )
    expected = ["Title", "One two three.", "Line break", "A", "B", "x 1", "inline"]
    assert build_evalset.paragraphs_from_html(markup) == expected


def test_text_reference_is_one_paragraph_per_line() -> None:
    assert build_evalset.paragraphs_from_text("First  line\n\n\nSecond\n") == ["First line", "Second"]


def _case(**edits: object) -> object:
    return build_evalset.Case(
        source="newspaper4k", name="t", page="p", url="http://x/", language="en", reference="r", **edits
    )


def test_edits_apply_in_order() -> None:
    case = _case(
        drop=["Ad"],
        drop_from="Related",
        replace=[["teh", "the"]],
        insert_before=[["Second", "Inserted"]],
        prepend=["Lead"],
        append=["End"],
    )
    paragraphs = ["First teh", "Ad", "Second", "Related", "Link"]
    assert build_evalset.apply_edits(case, paragraphs) == ["Lead", "First the", "Inserted", "Second", "End"]


def test_edit_that_no_longer_matches_stops_the_build() -> None:
    with pytest.raises(build_evalset.EditError):
        build_evalset.apply_edits(_case(drop=["Gone"]), ["Here"])
    with pytest.raises(build_evalset.EditError):
        build_evalset.apply_edits(_case(replace=[["x", "y"]]), ["x", "x again"])
