"""The generic-extraction evaluation set and its scores: cases, tokens, token F1 and 4-gram F1.

Kept apart from bench/bench_generic.py so tests/test_evalset.py can import it (by path: bench/ is
not a package) and check the metrics on tiny strings.

Tokens are casefolded NFC words (`\\w+`, with Unicode's definition of a word character, so
combining marks stay inside their word: Vietnamese, Arabic, Devanagari). Scripts written without
spaces between words cannot use that rule: a whole Chinese sentence would be one "word" and a single
differing character would zero its overlap. So every Han ideograph, kana and Hangul syllable is a
token of its own, and so is every Thai, Lao, Khmer and Myanmar character together with the
combining marks that follow it (a vowel sign or tone mark is part of its letter, never a token).
Per-character tokens are the usual word-segmentation-free measure for these languages and treat
both extractors alike. Korean writes spaces between words, but per-syllable tokens score it just as
fairly and keep the rule simple. Soft hyphens (U+00AD, invisible break hints inside words, kept
by some pages and some extractors) are ignored. The `regex` module (installed with dateparser) is
used for its Unicode script properties, which the standard `re` lacks.

Scores compare multisets: overlap = how many tokens (or token 4-grams) the output and the expected
body share, counted with repetition; precision = overlap / output size, recall = overlap / expected
size, F1 their harmonic mean. An empty output scores 0; two texts with nothing to count (say, both
shorter than four tokens for 4-grams) score 1 when their tokens are equal.
"""

from __future__ import annotations

import gzip
import json
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import regex

ROOT = Path(__file__).resolve().parent.parent
EVALSET = ROOT / "tests" / "evalset"
FIXTURES = ROOT / "tests" / "fixtures"

SOFT_HYPHEN = "\u00ad"
_PER_CHARACTER_SCRIPTS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}"
_TOKEN = regex.compile(rf"[{_PER_CHARACTER_SCRIPTS}]\p{{M}}*|[^\W{_PER_CHARACTER_SCRIPTS}]+")


@dataclass(frozen=True)
class EvalCase:
    """One page of the evaluation set: `name` is `<group>/<case>` (group: evalset source or `fixtures`)."""

    name: str
    group: str
    url: str
    language: str
    expected: str
    folder: Path

    def page_bytes(self) -> bytes:
        gz = self.folder / "page.html.gz"
        return gzip.decompress(gz.read_bytes()) if gz.exists() else (self.folder / "page.html").read_bytes()


def tokens(text: str | None) -> list[str]:
    """Casefolded NFC word tokens; one token per character in scripts written without spaces."""
    if not text:
        return []
    return _TOKEN.findall(unicodedata.normalize("NFC", text).replace(SOFT_HYPHEN, "").casefold())


def ngrams(items: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(items[i : i + n]) for i in range(len(items) - n + 1)]


def multiset_f1(predicted: Sequence[object], expected: Sequence[object]) -> float:
    if not predicted or not expected:
        return 1.0 if not predicted and not expected else 0.0
    overlap = sum((Counter(predicted) & Counter(expected)).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / len(predicted), overlap / len(expected)
    return 2 * precision * recall / (precision + recall)


def token_f1(predicted: str | None, expected: str) -> float:
    return multiset_f1(tokens(predicted), tokens(expected))


def ngram_f1(predicted: str | None, expected: str, n: int = 4) -> float:
    """F1 over token n-grams, which also rewards keeping the text in order and in one piece."""
    found, wanted = tokens(predicted), tokens(expected)
    if not found:
        return 0.0
    if len(found) < n and len(wanted) < n:
        return 1.0 if found == wanted else 0.0
    return multiset_f1(ngrams(found, n), ngrams(wanted, n))


def evalset_cases(root: Path = EVALSET) -> list[EvalCase]:
    """tests/evalset/<source>/<case>/ with page.html.gz, meta.json and expected.txt."""
    cases = []
    for meta_path in sorted(root.glob("*/*/meta.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        folder = meta_path.parent
        cases.append(
            EvalCase(
                name=f"{folder.parent.name}/{folder.name}",
                group=folder.parent.name,
                url=meta["url"],
                language=meta["language"],
                expected=(folder / "expected.txt").read_text(encoding="utf-8"),
                folder=folder,
            )
        )
    return cases


def fixture_cases(root: Path = FIXTURES) -> list[EvalCase]:
    """Our article fixtures (every one not marked `"kind": "listing"`), Vietnamese portal templates,
    with their reviewed expected body."""
    cases = []
    for meta_path in sorted(root.glob("*/*/meta.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        folder = meta_path.parent
        expected_path = folder / "expected.json"
        if meta.get("kind") == "listing" or not expected_path.exists():
            continue
        expected = json.loads(expected_path.read_text(encoding="utf-8"))
        body = expected.get("body")
        if not body:
            continue
        cases.append(
            EvalCase(
                name=f"fixtures/{folder.parent.name}/{folder.name}",
                group="fixtures",
                url=meta["url"],
                language=expected.get("language") or "und",
                expected=body,
                folder=folder,
            )
        )
    return cases


def all_cases() -> list[EvalCase]:
    return evalset_cases() + fixture_cases()
