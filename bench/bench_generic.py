"""Article bodies on pages of any site and language: our extraction path against trafilatura, one run.

    python bench/bench_generic.py [--rounds N] [--case SUBSTR] [--json OUT] [--dump DIR]

Pages: every case of tests/evalset (public test pages of newspaper4k, Readability and trafilatura,
many templates and languages, with reviewed expected bodies; see tests/evalset/README.md) and every
article fixture in tests/fixtures (our Vietnamese portal templates; expected body from
expected.json). Each page's bytes are decoded once with `crawler.decoding.decode_html(raw, None)`
and the same text goes to both contenders:

- ours: `crawler.extract.extract_record(html, url)["body"]`, parse and cleaning exactly as a crawl or
  `crawler extract` runs them; no record, an empty body or an exception is an empty output;
- trafilatura: `trafilatura.extract(html, url=url)` with its default options (plain text, comments
  and tables included, precision/recall balanced); None, "" or an exception is an empty output.

Scores per page (bench/scoring.py says how text is tokenised, CJK and Thai included): token F1 and
token 4-gram F1 against the expected body. Reported: macro means overall and per source group,
empty outputs, pages/s (all pages timed per round after a warm-up pass, the two contenders
alternating which goes first, median over rounds) and the ratios ours/trafilatura; then one row
per page sorted by token-F1 delta (ours - trafilatura), worst first. `--json OUT` writes every
number, `--dump DIR` writes each page's three texts (expected, ours, trafilatura) for diffing.
Target (the generic-extractor issue): ours >= trafilatura on both F1s with zero empty outputs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import trafilatura

from crawler.decoding import decode_html
from crawler.extract import extract_record

_spec = importlib.util.spec_from_file_location("scoring", Path(__file__).with_name("scoring.py"))
assert _spec and _spec.loader
scoring = importlib.util.module_from_spec(_spec)
sys.modules["scoring"] = scoring
_spec.loader.exec_module(scoring)

Extractor = Callable[[str, str], str | None]


def ours(html: str, url: str) -> str | None:
    record = extract_record(html, url)
    return record["body"] if record else None


def theirs(html: str, url: str) -> str | None:
    return trafilatura.extract(html, url=url)


CONTENDERS: dict[str, Extractor] = {"ours": ours, "trafilatura": theirs}


@dataclass
class Result:
    token_f1: float
    ngram_f1: float
    empty: bool
    chars: int
    error: str = ""


@dataclass
class PageResult:
    case: scoring.EvalCase
    html: str
    results: dict[str, Result] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)


def run_once(extractor: Extractor, html: str, url: str) -> tuple[str, str]:
    """(text, error): an exception is reported and counted as an empty output, never fatal."""
    try:
        return extractor(html, url) or "", ""
    except Exception as error:  # the bench scores failures, it does not stop at them
        return "", f"{type(error).__name__}: {error}"


def score(pages: list[PageResult]) -> None:
    """The warm-up pass: every contender once over every page, scored."""
    for page in pages:
        for name, extractor in CONTENDERS.items():
            text, error = run_once(extractor, page.html, page.case.url)
            page.texts[name] = text
            page.results[name] = Result(
                token_f1=scoring.token_f1(text, page.case.expected),
                ngram_f1=scoring.ngram_f1(text, page.case.expected),
                empty=not text.strip(),
                chars=len(text),
                error=error,
            )


def timed_rounds(pages: list[PageResult], rounds: int) -> dict[str, float]:
    """Median seconds for one pass over all pages, per contender; the order alternates per round so
    a drift in machine load touches both alike."""
    seconds: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    names = list(CONTENDERS)
    for index in range(rounds):
        for name in names if index % 2 == 0 else reversed(names):
            extractor = CONTENDERS[name]
            start = time.perf_counter()
            for page in pages:
                run_once(extractor, page.html, page.case.url)
            seconds[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in seconds.items()}


def summary(pages: list[PageResult]) -> dict[str, dict[str, float]]:
    return {
        name: {
            "token_f1": statistics.fmean(p.results[name].token_f1 for p in pages),
            "ngram_f1": statistics.fmean(p.results[name].ngram_f1 for p in pages),
            "empty": sum(p.results[name].empty for p in pages),
        }
        for name in CONTENDERS
    }


def ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


def print_report(pages: list[PageResult], seconds: dict[str, float], rounds: int) -> dict:
    groups = sorted({p.case.group for p in pages})
    languages = sorted({p.case.language for p in pages})
    total = summary(pages)
    speed = {name: len(pages) / seconds[name] for name in CONTENDERS}
    print(f"pages: {len(pages)} ({', '.join(f'{g} {sum(p.case.group == g for p in pages)}' for g in groups)})")
    print(f"languages: {len(languages)} ({' '.join(languages)}); timing: median of {rounds} rounds after a warm-up")
    print()
    print(f"{'':24} {'token F1':>9} {'4-gram F1':>10} {'empty':>6} {'pages/s':>8}")
    for name in CONTENDERS:
        row = total[name]
        print(f"{name:24} {row['token_f1']:9.3f} {row['ngram_f1']:10.3f} {row['empty']:6d} {speed[name]:8.1f}")
    ratios = {
        "token_f1": ratio(total["ours"]["token_f1"], total["trafilatura"]["token_f1"]),
        "ngram_f1": ratio(total["ours"]["ngram_f1"], total["trafilatura"]["ngram_f1"]),
        "speed": ratio(speed["ours"], speed["trafilatura"]),
    }
    print(
        f"{'ratio ours/trafilatura':24} {ratios['token_f1']:9.3f} {ratios['ngram_f1']:10.3f}"
        f" {'':6} {ratios['speed']:7.2f}x"
    )
    print("target: ours >= trafilatura on token and 4-gram F1, 0 empty outputs")
    print()
    print(f"{'group':12} {'pages':>5} {'ours tok':>9} {'traf tok':>9} {'ours 4g':>8} {'traf 4g':>8} {'empty o/t':>10}")
    by_group = {}
    for group in groups:
        members = [p for p in pages if p.case.group == group]
        row = by_group[group] = summary(members)
        print(
            f"{group:12} {len(members):5d} {row['ours']['token_f1']:9.3f} {row['trafilatura']['token_f1']:9.3f}"
            f" {row['ours']['ngram_f1']:8.3f} {row['trafilatura']['ngram_f1']:8.3f}"
            f" {row['ours']['empty']:>5d}/{row['trafilatura']['empty']:<4d}"
        )
    print()
    print("per page, worst first (delta = ours - trafilatura token F1; 4g = 4-gram F1; chars = output length)")
    print(
        f"{'case':48} {'lang':4} {'ours':>5} {'traf':>5} {'delta':>6} {'ours4g':>6} {'traf4g':>6}"
        f" {'ours chars':>10} {'traf chars':>10} {'expected':>8}"
    )

    def delta(page: PageResult) -> tuple[float, float]:
        o, t = page.results["ours"], page.results["trafilatura"]
        return o.token_f1 - t.token_f1, o.ngram_f1 - t.ngram_f1

    for page in sorted(pages, key=delta):
        o, t = page.results["ours"], page.results["trafilatura"]
        print(
            f"{page.case.name[:48]:48} {page.case.language:4} {o.token_f1:5.2f} {t.token_f1:5.2f}"
            f" {delta(page)[0]:+6.2f} {o.ngram_f1:6.2f} {t.ngram_f1:6.2f}"
            f" {o.chars:10d} {t.chars:10d} {len(page.case.expected):8d}"
        )
    for page in pages:
        for name, result in page.results.items():
            if result.error:
                print(f"error: {name} on {page.case.name}: {result.error}")
    return {
        "pages": len(pages),
        "languages": languages,
        "rounds": rounds,
        "summary": total,
        "pages_per_second": speed,
        "ratios_ours_over_trafilatura": ratios,
        "groups": by_group,
        "cases": [
            {
                "case": p.case.name,
                "group": p.case.group,
                "language": p.case.language,
                "url": p.case.url,
                "expected_chars": len(p.case.expected),
                **{name: vars(result) for name, result in p.results.items()},
            }
            for p in pages
        ],
    }


def dump(pages: list[PageResult], folder: Path) -> None:
    for page in pages:
        target = folder / page.case.name.replace("/", "__")
        target.mkdir(parents=True, exist_ok=True)
        (target / "expected.txt").write_text(page.case.expected, encoding="utf-8")
        for name, text in page.texts.items():
            (target / f"{name}.txt").write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds after the warm-up (default 3)")
    parser.add_argument("--case", default="", help="only cases whose name contains this")
    parser.add_argument("--json", type=Path, help="write all numbers to this file")
    parser.add_argument("--dump", type=Path, help="write expected/ours/trafilatura texts per page here")
    args = parser.parse_args()
    cases = [c for c in scoring.all_cases() if args.case in c.name]
    if not cases:
        print(f"no case matches {args.case!r}", file=sys.stderr)
        return 1
    pages = [PageResult(case, decode_html(case.page_bytes(), None)[0]) for case in cases]
    score(pages)
    seconds = timed_rounds(pages, max(args.rounds, 1))
    report = print_report(pages, seconds, max(args.rounds, 1))
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if args.dump:
        dump(pages, args.dump)
    return 0


if __name__ == "__main__":
    sys.exit(main())
