"""Parser fixtures: tests/fixtures/<platform>/<case>/{page.html, meta.json, expected.json}.

`meta.json` holds the page's original URL (and optional platform); `expected.json` the record
fields a reviewer has checked. `crawler record-fixture DIR` rewrites expected.json from the current
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
    from crawler.cli import extract_record
    from crawler.decoding import decode_html

    meta = load_meta(fixture_dir)
    html = decode_html((fixture_dir / "page.html").read_bytes(), None)[0]
    record = extract_record(html, meta["url"], meta.get("platform"))
    if record is None:
        raise ValueError(f"{fixture_dir}: no article found on the fixture page")
    return {k: v for k, v in record.items() if k not in VOLATILE_FIELDS}


def record_fixture(fixture_dir: Path) -> Path:
    target = fixture_dir / "expected.json"
    record = fixture_record(fixture_dir)
    target.write_text(json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return target
