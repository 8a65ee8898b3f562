"""A full local crawl against a bare Scrapy spider on the same generated site, same run.

    python bench/bench_crawl.py [ARTICLES]

Serves a fixture portal with ARTICLES articles (default 2500; pages ≈ 2 × ARTICLES with listings)
on 127.0.0.1, crawls it with `crawler crawl` and with bench/bare_spider.py (same concurrency, no
delay), and prints pages per second for both, their ratio (target >= 0.8) and the crawler's peak
memory (target < 300 MB for 5,000 pages).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from crawler.demo.site import build_routes, load_articles, serve

HERE = Path(__file__).resolve().parent
SAME_SETTINGS = [
    "-s",
    "CONCURRENT_REQUESTS=16",
    "-s",
    "CONCURRENT_REQUESTS_PER_DOMAIN=16",
    "-s",
    "DOWNLOAD_DELAY=0",
    "-s",
    "LOG_LEVEL=WARNING",
]


def synthetic_articles(count: int) -> list[dict]:
    base = load_articles()
    articles = []
    for n in range(count):
        article = dict(base[n % len(base)])
        article["id"] = 100000 + n
        article["slug"] = f"{article['slug']}-{n}"
        article["title"] = f"{article['title']} (số {n})"
        # Plain articles only: the fixture portal's special cases (an unreadable date, a page in two
        # categories, a lying charset header) are the crawl tests' business, not the benchmark's.
        for special in ("also_in", "charset_lie", "invalid_date", "legacy"):
            article.pop(special, None)
        if not any(ch.isdigit() for ch in article["date"]):
            article["date"] = base[0]["date"]
        articles.append(article)
    return articles


def crawler_command(base: str, out: Path, state: Path, *settings: str) -> list[str]:
    """`crawler crawl` of a local site's home page, no delay, into `out` with its own state file."""
    return [
        sys.executable,
        "-m",
        "crawler.cli",
        "crawl",
        f"{base}/",
        "--out",
        str(out),
        "--state",
        str(state),
        "--delay",
        "0",
        *settings,
    ]


def run_measured(command: list[str], log: Path | None = None) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of a child process, RSS polled every 50 ms."""
    start = time.perf_counter()
    stderr = log.open("w") if log else subprocess.DEVNULL
    process = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, process.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    return time.perf_counter() - start, peak / 1024 / 1024


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2500
    routes = build_routes(synthetic_articles(count))
    server, base = serve(routes)
    pages = len(routes)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        ours_s, ours_mb = run_measured(crawler_command(base, out, Path(tmp) / "state.sqlite", *SAME_SETTINGS))
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        bare_log = Path(tmp) / "bare.log"
        bare_s, bare_mb = run_measured(
            [
                "scrapy",
                "runspider",
                str(HERE / "bare_spider.py"),
                "-a",
                f"url={base}/",
                *SAME_SETTINGS,
                "-s",
                "LOG_LEVEL=INFO",
            ],
            bare_log,
        )
        found = re.search(r"'downloader/response_count': (\d+)", bare_log.read_text(encoding="utf-8"))
        bare_pages = int(found.group(1)) if found else pages
    server.shutdown()
    fetched = manifest["pages_fetched"]
    ours_rate = fetched / ours_s
    bare_rate = bare_pages / bare_s
    print(
        f"site: {pages} routes, {count} articles; crawler fetched {fetched} pages, wrote "
        f"{manifest['records_written']} records"
    )
    print(f"crawler: {ours_s:6.1f} s  {ours_rate:7.1f} pages/s  peak {ours_mb:6.0f} MB")
    print(f"bare:    {bare_pages} pages fetched")
    print(f"bare:    {bare_s:6.1f} s  {bare_rate:7.1f} pages/s  peak {bare_mb:6.0f} MB")
    print(f"pages/s ratio crawler/bare: {ours_rate / bare_rate:.2f} (target >= 0.8)")


if __name__ == "__main__":
    main()
