"""What a second run of the same crawl fetches, as a share of the first run's pages.

    python bench/bench_rerun.py [ARTICLES]      # default 2000

Serves a generated portal (ARTICLES articles, newest published today, paginated category listings,
sitemaps and feeds) on 127.0.0.1 where a quarter of the linked URLs are dead (ARTICLES / 3 links on
the home page: 404, 410, a document behind a page URL, a page without an article), and crawls it
three times into one state file: a first run, a re-run with nothing changed (target: under 3% of
the first run's pages, no record, none of the dead pages), and a run after 1% new articles were
published. Prints pages fetched, records written, dead pages fetched and the shares.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from bench_crawl import crawler_command  # the same command line as the crawl benchmark

from crawler.demo.site import add_dead_links, build_routes, generated_articles, serve


def crawl(base: str, out: Path, state: Path, served: list[str], dead: dict[str, str]) -> dict:
    """One crawl; its manifest, plus how many dead pages it fetched (counted by the server)."""
    served.clear()
    command = crawler_command(base, out, state, "-s", "LOG_LEVEL=WARNING")
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["dead_fetched"] = sum(1 for path in served if path in dead)
    return manifest


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    articles = generated_articles(count, newest=date.today().isoformat())
    routes = build_routes(articles)
    dead = add_dead_links(routes, count // 3)  # a quarter of the linked pages
    server, base = serve(routes)
    served = server.RequestHandlerClass.served
    try:
        with tempfile.TemporaryDirectory() as tmp:
            state = Path(tmp) / "state.sqlite"
            first = crawl(base, Path(tmp) / "first", state, served, dead)
            unchanged = crawl(base, Path(tmp) / "unchanged", state, served, dead)
            fresh = generated_articles(max(1, count // 100), first_id=900000, newest=date.today().isoformat(), seed=3)
            routes.update(build_routes(fresh + articles))
            add_dead_links(routes, count // 3)  # the new home page links them too
            grown = crawl(base, Path(tmp) / "grown", state, served, dead)
    finally:
        server.shutdown()
    base_pages = first["pages_fetched"]
    print(f"site: {count} articles, {len(dead)} dead links, {len(routes)} routes")
    for name, manifest in (("first run", first), ("nothing changed", unchanged), ("1% new articles", grown)):
        pages = manifest["pages_fetched"]
        incremental = manifest["incremental"]
        print(
            f"{name:>16}: {pages:6} pages ({pages / base_pages:6.1%} of the first run), "
            f"{manifest['records_written']:5} records, mode {incremental['mode']}, "
            f"{incremental['pages_skipped_as_seen']} known and {incremental['dead_pages_not_fetched']} dead pages "
            f"not fetched, {manifest['dead_fetched']} dead pages fetched"
        )
    share = unchanged["pages_fetched"] / base_pages
    print(
        f"re-run share when nothing changed: {share:.1%} (target < 3%), "
        f"{unchanged['records_written']} records, {unchanged['dead_fetched']} dead pages fetched"
    )


if __name__ == "__main__":
    main()
