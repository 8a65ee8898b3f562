"""What a second run of the same crawl fetches, as a share of the first run's pages.

    python bench/bench_rerun.py [ARTICLES]      # default 2000

Serves a generated portal (ARTICLES articles, newest published today, paginated category listings,
sitemaps and feeds) on 127.0.0.1 and crawls it three times into one state file: a first run, a
re-run with nothing changed (target: under 5% of the first run's pages), and a run after 1% new
articles were published. Prints pages fetched, records written and the shares.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from bench_crawl import crawler_command  # the same command line as the crawl benchmark

from crawler.demo.site import build_routes, generated_articles, serve


def crawl(base: str, out: Path, state: Path) -> dict:
    command = crawler_command(base, out, state, "-s", "LOG_LEVEL=WARNING")
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    articles = generated_articles(count, newest=date.today().isoformat())
    routes = build_routes(articles)
    server, base = serve(routes)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            state = Path(tmp) / "state.sqlite"
            first = crawl(base, Path(tmp) / "first", state)
            unchanged = crawl(base, Path(tmp) / "unchanged", state)
            fresh = generated_articles(max(1, count // 100), first_id=900000, newest=date.today().isoformat(), seed=3)
            routes.update(build_routes(fresh + articles))
            grown = crawl(base, Path(tmp) / "grown", state)
    finally:
        server.shutdown()
    base_pages = first["pages_fetched"]
    print(f"site: {count} articles, {len(routes)} routes")
    for name, manifest in (("first run", first), ("nothing changed", unchanged), ("1% new articles", grown)):
        pages = manifest["pages_fetched"]
        print(
            f"{name:>16}: {pages:6} pages ({pages / base_pages:6.1%} of the first run), "
            f"{manifest['records_written']:5} records, mode {manifest['incremental']['mode']}, "
            f"{manifest['incremental']['pages_skipped_as_seen']} known pages not fetched"
        )
    print(f"re-run share when nothing changed: {unchanged['pages_fetched'] / base_pages:.1%} (target < 5%)")


if __name__ == "__main__":
    main()
