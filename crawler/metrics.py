"""What a run measures for its manifest beyond Scrapy's stats: field fill rates by platform, records
by publication day, fetch failures and latency, articles seen. The checks compare these with the
portal's earlier runs (kept in the state with each finished run) and the report charts them."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

# Fields whose fill rate shows a template change: an article page that loses its date, byline,
# captions or attachment links still gives a record, only a poorer one.
FILL_FIELDS = ("published_at", "authors", "captions", "attachments")

# Links to pages that are gone: every portal has some (moved articles, old menus); the state
# remembers them as dead. Counted apart from failures, which say the host is failing.
DEAD_KINDS = frozenset({"http_404", "http_410"})
# Reasons a URL was not fetched by the crawl's own rules, not because the host failed.
POLICY_KINDS = frozenset(
    {"offsite_redirect", "offsite_form", "url_too_long", "robots_disallowed", "non_html_link", "dead_backoff"}
)


def field_filled(data: Mapping[str, Any], name: str) -> bool:
    """Whether a record (a dict, or an item through ItemAdapter) has the field: for captions, at
    least one image with one."""
    if name == "captions":
        return any(
            image.get("caption") if isinstance(image, Mapping) else getattr(image, "caption", None)
            for image in data.get("images") or []
        )
    return bool(data.get(name))


class RunMetrics:
    """Counts kept while the run writes records and receives responses."""

    def __init__(self) -> None:
        self.fill: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.by_day: Counter[str] = Counter()
        self.latencies: list[float] = []

    def add_record(self, data: Mapping[str, Any]) -> None:
        counts = self.fill[str(data.get("platform") or "unknown")]
        counts["records"] += 1
        for name in FILL_FIELDS:
            if field_filled(data, name):
                counts[name] += 1
        published = data.get("published_at")
        self.by_day[published[:10] if isinstance(published, str) and len(published) >= 10 else "undated"] += 1

    def add_latency(self, seconds: float | None) -> None:
        if isinstance(seconds, int | float):
            self.latencies.append(float(seconds))

    def fill_block(self) -> dict[str, dict[str, int]]:
        return {
            platform: {"records": counts["records"], **{name: counts[name] for name in FILL_FIELDS}}
            for platform, counts in sorted(self.fill.items())
        }

    def latency_block(self) -> dict[str, float | int]:
        values = sorted(self.latencies)
        if not values:
            return {"count": 0}
        deciles = statistics.quantiles(values, n=10, method="inclusive") if len(values) > 1 else [values[0]] * 9
        return {
            "count": len(values),
            "mean": round(statistics.fmean(values), 3),
            "p50": round(statistics.median(values), 3),
            "p90": round(deciles[8], 3),
            "max": round(values[-1], 3),
        }

    def fetch_block(self, responses: int, errors_by_kind: dict[str, int]) -> dict[str, Any]:
        """Fetches that ended in a failure (an HTTP error other than a gone page, or the host
        failing), against all fetches that ended: responses received plus failures that got none."""
        failed_by_kind = {
            kind: count for kind, count in errors_by_kind.items() if kind not in POLICY_KINDS | DEAD_KINDS
        }
        failed = sum(failed_by_kind.values())
        without_response = sum(count for kind, count in failed_by_kind.items() if not kind.startswith("http_"))
        attempted = responses + without_response
        return {
            "attempted": attempted,
            "failed": failed,
            "failed_share": round(failed / attempted, 4) if attempted else 0.0,
            "failed_by_kind": dict(sorted(failed_by_kind.items())),
            "dead_links": sum(count for kind, count in errors_by_kind.items() if kind in DEAD_KINDS),
            "latency": self.latency_block(),
        }


def articles_seen(manifest: dict[str, Any]) -> int:
    """Article pages the run found, fetched or passed over as known: a listing gone empty drives it
    to 0, where an incremental run's records can be 0 on a quiet day."""
    records, incremental = manifest.get("records", {}), manifest.get("incremental", {})
    return int(
        manifest.get("records_written", 0)
        + records.get("unchanged_not_written", 0)
        + records.get("duplicates_dropped", 0)
        + records.get("over_max_items_not_written", 0)
        + incremental.get("pages_skipped_as_seen", 0)
        + incremental.get("not_modified", 0)
    )


def history_metrics(manifest: dict[str, Any]) -> dict[str, Any]:
    """The part of a manifest the state keeps with the run, for later runs' checks."""
    records, fetch = manifest.get("records", {}), manifest.get("fetch", {})
    return {
        "records_written": manifest.get("records_written", 0),
        "new": records.get("new", 0),
        "updated": records.get("updated", 0),
        "articles_seen": manifest.get("articles_seen", 0),
        "pages_fetched": manifest.get("pages_fetched", 0),
        "fetch_attempted": fetch.get("attempted", 0),
        "fetch_failed": fetch.get("failed", 0),
        "fill": manifest.get("fill", {}),
        "exact_duplicates": records.get("exact_duplicates", 0),
        "near_duplicates": records.get("near_duplicates", 0),
        "rejects_by_reason": manifest.get("rejects_by_reason", {}),
        "mode": manifest.get("incremental", {}).get("mode"),
    }
