"""Parser fixtures: tests/fixtures/<platform>/<case>/{page.html, meta.json, expected.json}.

`meta.json` holds the page's original URL (and optional platform, and `"kind": "listing"` for a
listing page); `expected.json` the record fields a reviewer has checked, or for a listing its
article links and pagination. `crawler record-fixture DIR` rewrites expected.json from the current
parser output, for a person to review in the diff.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# Fields that depend on the moment of the run, not on the page.
VOLATILE_FIELDS = frozenset({"fetched_at", "http_status"})


def load_meta(fixture_dir: Path) -> dict[str, Any]:
    return json.loads((fixture_dir / "meta.json").read_text(encoding="utf-8"))


def fixture_record(fixture_dir: Path) -> dict[str, Any]:
    """The cleaned record the current code produces for a fixture page."""
    from crawler.decoding import decode_html
    from crawler.extract import extract_record

    meta = load_meta(fixture_dir)
    html = decode_html((fixture_dir / "page.html").read_bytes(), None)[0]
    if meta.get("kind") == "listing":
        return fixture_listing(html, meta)
    record = extract_record(html, meta["url"], meta.get("platform"))
    if record is None:
        raise ValueError(f"{fixture_dir}: no article found on the fixture page")
    return {k: v for k, v in record.items() if k not in VOLATILE_FIELDS}


def fixture_listing(html: str, meta: dict[str, Any]) -> dict[str, Any]:
    """What a listing page yields: its kind, article links (with listed dates) and pagination."""
    from crawler.platforms import parse_page

    page = parse_page(html, meta["url"], meta.get("platform"))
    return {
        "kind": page.kind,
        "platform": _platform_of(html, meta),
        "entries": [{"url": e.url, "date_raw": e.date_raw} for e in page.entries],
        "pagination": page.pagination,
        "postbacks": [list(postback) for postback in page.postbacks],
    }


def _platform_of(html: str, meta: dict[str, Any]) -> str:
    from crawler.platforms import detect

    return meta.get("platform") or detect(html, meta["url"]).platform


def record_fixture(fixture_dir: Path) -> Path:
    target = fixture_dir / "expected.json"
    record = fixture_record(fixture_dir)
    target.write_text(json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return target
