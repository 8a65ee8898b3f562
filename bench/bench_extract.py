"""Per-page cost of our parser + cleaning pipelines against trafilatura's extraction, same pages, same run.

    python bench/bench_extract.py [ROUNDS]

Pages: the real Liferay article pages in ../shared/realpages (or, without ../shared, the Liferay
fixtures in tests/fixtures). Prints milliseconds per page and the speed ratio (target: >= 10x).
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
import time
from pathlib import Path

import lxml.html
import trafilatura

from crawler.cleaning import clean_record
from crawler.platforms import parse_page

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "realpages"


def pages() -> list[tuple[str, str]]:
    if (SHARED / "MANIFEST.tsv").exists():
        with (SHARED / "MANIFEST.tsv").open(encoding="utf-8") as handle:
            rows = [r for r in csv.DictReader(handle, delimiter="\t") if r["local_file"].startswith("liferay/")]
        return [
            ((SHARED / r["local_file"]).read_text(encoding="utf-8"), r["source_url_if_known"])
            for r in rows
            if r["page_type"].startswith(("article_detail", "document (van ban du thao) detail"))
        ]
    found = []
    for meta in sorted((ROOT / "tests" / "fixtures" / "liferay").glob("*/meta.json")):
        url = json.loads(meta.read_text(encoding="utf-8"))["url"]
        found.append(((meta.parent / "page.html").read_text(encoding="utf-8"), url))
    return found


def per_page(func, docs: list[tuple[str, str]], rounds: int) -> list[float]:
    """Seconds per page for each round (the first call is a warm-up: imports, compiled selectors)."""
    func(*docs[0])
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for html, url in docs:
            func(html, url)
        times.append((time.perf_counter() - start) / len(docs))
    return times


def ours(html: str, url: str) -> None:
    page = parse_page(html, url)
    if page.record is not None:
        clean_record(page.record)


def trafilatura_extract(html: str, url: str) -> None:
    trafilatura.bare_extraction(html, url=url, include_images=True, with_metadata=True)


def lxml_parse(html: str, url: str) -> None:
    lxml.html.document_fromstring(html)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    docs = pages()
    size = sum(len(h.encode()) for h, _ in docs) / len(docs) / 1024
    # Interleave the contenders round by round so machine load drifts affect both alike.
    ours_t: list[float] = []
    theirs_t: list[float] = []
    for _ in range(rounds):
        ours_t += per_page(ours, docs, 1)
        theirs_t += per_page(trafilatura_extract, docs, 1)
    lxml_s = statistics.median(per_page(lxml_parse, docs, rounds))
    ours_s, theirs_s = statistics.median(ours_t), statistics.median(theirs_t)
    print(f"pages: {len(docs)} (mean {size:.0f} KB), rounds: {rounds}, medians per page")
    print(f"lxml parse only:             {lxml_s * 1000:7.2f} ms/page")
    print(f"ours (parse + cleaning):     {ours_s * 1000:7.2f} ms/page")
    print(f"trafilatura bare_extraction: {theirs_s * 1000:7.2f} ms/page")
    print(f"speed ratio ours/trafilatura: {theirs_s / ours_s:.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
