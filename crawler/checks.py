"""Monitors that turn a finished portal run into pass / warn / fail, each with one line saying what
it saw and what it expected.

Small pure functions over the run's manifest and the portal's recent runs (as
`CrawlState.portal_history` returns them, newest first), not a monitoring suite inside the crawl:
`crawler check RUN` re-evaluates a finished run later, with today's thresholds, against the
history that came before it. No Scrapy engine and no I/O here.

The checks, and the settings (CHECK_*, defaults in crawler/settings.py) that tune them:
- finished: the run ended normally (finished, or a limit the user set); anything else fails.
- failed_pages: the share of fetches that failed (warn / fail above CHECK_FAILED_PAGES_WARN /
  _FAIL, once CHECK_MIN_FETCHES were attempted); every start URL failing fails.
- records: articles seen and records written against the median of the portal's recent runs of
  the same mode (incremental with incremental, full with full): zero, or below CHECK_RECORDS_DROP
  of the usual count, warns (when the usual count is at least CHECK_RECORDS_MIN_USUAL).
- stale: an active portal whose newest new record is older than CHECK_STALE_DAYS warns.
- layout_drift: per platform and field, this run's fill rate against the portal's pooled rate of
  its recent runs; a fall of CHECK_DRIFT_DROP or more warns, or fails for the fields in
  CHECK_DRIFT_FAIL_FIELDS (published_at: without dates, incremental crawls, --since and the
  by-day counts all go blind).
- duplicates: the share of records that are exact or near duplicates, CHECK_DUPLICATES_RISE or
  more above its usual share, warns.
- rejects: a reject reason at CHECK_REJECTS_FACTOR times its usual count and at least
  CHECK_REJECTS_MIN_COUNT above it (a new reason in bulk) warns.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from statistics import median
from typing import Any

from crawler.dates import ICT

# How a run may end and still succeed, and the exit statuses of warn (5) and fail (6): one table for all.
from crawler.exits import EXIT_CHECK_FAIL, EXIT_CHECK_WARN, NORMAL_FINISH_REASONS

PASS, WARN, FAIL = "pass", "warn", "fail"
_RANK = {PASS: 0, WARN: 1, FAIL: 2}


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict on one portal's run; `message` is one line: what it saw, what it expected."""

    name: str
    status: str
    message: str
    portal: str | None = None
    field: str | None = None  # layout_drift: the field whose fill rate fell; records: the count compared

    def __post_init__(self) -> None:
        if self.status not in _RANK:
            raise ValueError(f"unknown check status {self.status!r}: expected pass, warn or fail")
        # Names in a message come from manifests (reject reasons, URLs): printed on one line whatever they hold.
        object.__setattr__(self, "message", " ".join(self.message.split()))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Thresholds:
    """The checks' limits, from the CHECK_* settings (see crawler/settings.py for each one's why)."""

    failed_pages_warn: float = 0.10
    failed_pages_fail: float = 0.50
    min_fetches: int = 10
    history_runs: int = 5
    min_history: int = 2
    records_drop: float = 0.5
    records_min_usual: int = 5
    stale_days: int = 14
    min_records: int = 10
    drift_drop: float = 0.4
    drift_fail_fields: tuple[str, ...] = ("published_at",)
    duplicates_rise: float = 0.2
    rejects_factor: float = 3.0
    rejects_min_count: int = 10

    @property
    def history_limit(self) -> int:
        """How many of the portal's latest runs to read (portal_history's `limit`): enough that
        history_runs of the run's own mode, ended normally, are usually among them."""
        return 4 * self.history_runs

    @classmethod
    def from_settings(cls, settings: Any) -> Thresholds:
        """Read and validate the CHECK_* settings; a bad value raises SettingsError naming it."""
        from crawler.middlewares import SettingsError

        values: dict[str, Any] = {}
        for spec in fields(cls):
            name = f"CHECK_{spec.name.upper()}"
            raw = settings.get(name)
            if raw is None:
                continue
            if spec.name == "drift_fail_fields":
                values[spec.name] = tuple(str(item).strip() for item in settings.getlist(name) if str(item).strip())
                continue
            lowest, highest, whole = _RANGES[spec.name]
            values[spec.name] = _number(name, raw, lowest, highest, whole)
        thresholds = cls(**values)
        if thresholds.failed_pages_warn > thresholds.failed_pages_fail:
            raise SettingsError(
                f"setting CHECK_FAILED_PAGES_WARN ({thresholds.failed_pages_warn:g}) must not exceed "
                f"CHECK_FAILED_PAGES_FAIL ({thresholds.failed_pages_fail:g})"
            )
        return thresholds


# Per threshold: lowest value, highest value (None: no bound), whether it is a whole number.
_RANGES: dict[str, tuple[float, float | None, bool]] = {
    "failed_pages_warn": (0, 1, False),
    "failed_pages_fail": (0, 1, False),
    "min_fetches": (1, None, True),
    "history_runs": (1, None, True),
    "min_history": (1, None, True),
    "records_drop": (0, 1, False),
    "records_min_usual": (1, None, True),
    "stale_days": (1, None, True),
    "min_records": (1, None, True),
    "drift_drop": (0, 1, False),
    "duplicates_rise": (0, 1, False),
    "rejects_factor": (1, None, False),
    "rejects_min_count": (1, None, True),
}


def _number(name: str, raw: Any, lowest: float, highest: float | None, whole: bool) -> Any:
    from crawler.middlewares import SettingsError

    try:
        number = float(raw)
        valid = math.isfinite(number) and lowest <= number and (highest is None or number <= highest)
        valid = valid and (not whole or number == int(number))
    except (TypeError, ValueError):
        valid = False
    if not valid:
        kind = "a whole number" if whole else "a number"
        bound = f"from {lowest:g} to {highest:g}" if highest is not None else f"at least {lowest:g}"
        raise SettingsError(f"setting {name} must be {kind} {bound}, not {raw!r} (-s {name}=VALUE)")
    return int(number) if whole else number


def worst(results: Iterable[CheckResult]) -> str:
    """The worst status among the results ("pass" when there are none)."""
    return max((result.status for result in results), key=_RANK.__getitem__, default=PASS)


def checks_block(results: Sequence[CheckResult]) -> dict[str, Any]:
    """What a manifest (or summary.json) keeps under `checks`."""
    return {"status": worst(results), "results": [result.as_dict() for result in results]}


def exit_code(status: str) -> int:
    """The exit status for a checks status: pass 0, warn 5, fail 6."""
    codes = {PASS: 0, WARN: EXIT_CHECK_WARN, FAIL: EXIT_CHECK_FAIL}
    if status not in codes:
        raise ValueError(f"unknown check status {status!r}: expected pass, warn or fail")
    return codes[status]


def check_portal_run(
    manifest: Mapping[str, Any],
    history: Sequence[Mapping[str, Any]],
    thresholds: Thresholds,
    *,
    newest_record_at: str | None,
    now: datetime,
) -> list[CheckResult]:
    """Every check on one portal's run: `history` is the portal's earlier runs, newest first."""
    portal = portal_of(manifest)
    usable = [run for run in history if run.get("metrics") and run.get("finish_reason") in NORMAL_FINISH_REASONS]
    mode = (manifest.get("incremental") or {}).get("mode") or "full"
    comparable = [run["metrics"] for run in usable if (run["metrics"].get("mode") or "full") == mode]
    comparable = comparable[: thresholds.history_runs]
    return [
        check_finished(manifest, portal),
        check_failed_pages(manifest, thresholds, portal),
        *check_records(manifest, comparable, thresholds, portal, mode),
        check_stale(manifest, thresholds, portal, newest_record_at, now),
        *check_layout_drift(manifest, [run["metrics"] for run in usable], thresholds, portal),
        check_duplicates(manifest, comparable, thresholds, portal, mode),
        *check_rejects(manifest, comparable, thresholds, portal, mode),
    ]


def portal_of(manifest: Mapping[str, Any]) -> str | None:
    """The portal a manifest is of: `portal`, or the first of `portals` in older manifests."""
    if manifest.get("portal"):
        return str(manifest["portal"])
    portals = manifest.get("portals") or []
    return str(portals[0]) if portals else None


def check_finished(manifest: Mapping[str, Any], portal: str | None) -> CheckResult:
    reason = manifest.get("finish_reason")
    if reason in NORMAL_FINISH_REASONS:
        return CheckResult("finished", PASS, f"ended '{reason}', a normal end", portal)
    return CheckResult(
        "finished",
        FAIL,
        f"ended '{reason}'; expected a normal end (finished, or a limit set: max_items, closespider_*)",
        portal,
    )


def check_failed_pages(manifest: Mapping[str, Any], thresholds: Thresholds, portal: str | None) -> CheckResult:
    start_urls = list(manifest.get("start_urls") or [])
    failures = manifest.get("start_failures") or []
    if start_urls and {failure.get("url") for failure in failures}.issuperset(start_urls):
        listed = ", ".join(f"{failure.get('url')} ({failure.get('reason')})" for failure in failures[:3])
        return CheckResult(
            "failed_pages", FAIL, f"every start URL failed: {listed}; expected at least one to give a page", portal
        )
    fetch = manifest.get("fetch")
    if not fetch:
        return CheckResult(
            "failed_pages", PASS, "no fetch counts in the manifest (an older run): nothing to check", portal
        )
    attempted, failed = int(fetch.get("attempted") or 0), int(fetch.get("failed") or 0)
    share = failed / attempted if attempted else 0.0
    kinds = fetch.get("failed_by_kind") or {}
    by_kind = ", ".join(f"{kind} ×{count}" for kind, count in sorted(kinds.items(), key=lambda kv: -kv[1])[:4])
    seen = f"{failed} of {attempted} fetches failed ({_percent(share)}{': ' + by_kind if by_kind else ''})"
    limits = (
        f"under {_percent(thresholds.failed_pages_warn)} (warn) and {_percent(thresholds.failed_pages_fail)} (fail)"
    )
    if attempted < thresholds.min_fetches:
        return CheckResult(
            "failed_pages",
            PASS,
            f"{seen}; too few fetches to judge (fewer than CHECK_MIN_FETCHES={thresholds.min_fetches})",
            portal,
        )
    if share >= thresholds.failed_pages_fail:
        return CheckResult("failed_pages", FAIL, f"{seen}; expected {limits}", portal)
    if share >= thresholds.failed_pages_warn:
        return CheckResult("failed_pages", WARN, f"{seen}; expected {limits}", portal)
    return CheckResult("failed_pages", PASS, f"{seen}; expected {limits}", portal)


def check_records(
    manifest: Mapping[str, Any],
    comparable: Sequence[Mapping[str, Any]],
    thresholds: Thresholds,
    portal: str | None,
    mode: str,
) -> list[CheckResult]:
    """Articles seen and records written against their median over the comparable recent runs. A
    run the user bounded (--since, --max-items, a Scrapy limit) sees less by design: not compared."""
    reason = manifest.get("finish_reason")
    if reason is not None and reason not in NORMAL_FINISH_REASONS:
        return [
            CheckResult(
                "records",
                PASS,
                f"{_count(manifest, 'records_written')} records written by a run that ended '{reason}': "
                "counts not compared (see the finished check)",
                portal,
            )
        ]
    arguments = manifest.get("arguments") or {}
    bounded = [name for name in ("since", "max_items") if arguments.get(name)]
    if reason not in (None, "finished"):
        bounded.append(str(reason))
    if bounded:
        return [
            CheckResult(
                "records",
                PASS,
                f"{_count(manifest, 'records_written')} records written in a run bounded by "
                f"{', '.join(bounded)}: counts not compared with whole runs",
                portal,
            )
        ]
    if len(comparable) < thresholds.min_history:
        return [
            CheckResult(
                "records",
                PASS,
                f"{_count(manifest, 'records_written')} records written; {len(comparable)} earlier {mode} run(s) "
                f"to compare with, {thresholds.min_history} needed (CHECK_MIN_HISTORY)",
                portal,
            )
        ]
    results = []
    for metric, label in (("articles_seen", "articles seen"), ("records_written", "records written")):
        if metric not in manifest:
            continue
        past = [run[metric] for run in comparable if isinstance(run.get(metric), int | float)]
        if len(past) < thresholds.min_history:
            continue
        usual, now_count = median(past), _count(manifest, metric)
        seen = f"{label}: {now_count} this {mode} run, usually {usual:g} (median of the last {len(past)} {mode} runs)"
        if usual >= thresholds.records_min_usual and now_count < usual * thresholds.records_drop:
            what = "dropped to zero" if now_count == 0 else "far below usual"
            results.append(
                CheckResult(
                    "records",
                    WARN,
                    f"{what}: {seen}; expected at least {_percent(thresholds.records_drop)} of usual",
                    portal,
                    metric,
                )
            )
    if results:
        return results
    return [
        CheckResult(
            "records",
            PASS,
            f"{_count(manifest, 'articles_seen')} articles seen, {_count(manifest, 'records_written')} records "
            f"written; in line with the last {len(comparable)} {mode} runs",
            portal,
        )
    ]


def check_stale(
    manifest: Mapping[str, Any],
    thresholds: Thresholds,
    portal: str | None,
    newest_record_at: str | None,
    now: datetime,
) -> CheckResult:
    status = manifest.get("portal_status")
    if status is None:
        return CheckResult(
            "stale", PASS, "not a registry portal (a URL crawl): only active portals are watched", portal
        )
    if status != "active":
        return CheckResult("stale", PASS, f"portal status is {status}: only active portals are watched", portal)
    if newest_record_at is None:
        return CheckResult("stale", PASS, "no record stored for the portal yet: nothing to date", portal)
    newest = _aware(datetime.fromisoformat(newest_record_at))
    age = _aware(now) - newest
    days = age.total_seconds() / 86400
    seen = f"newest new record stored {newest.date().isoformat()} ({days:.0f} days ago)"
    if days > thresholds.stale_days:
        return CheckResult(
            "stale",
            WARN,
            f"stale: {seen}; expected one within {thresholds.stale_days} days for an active portal",
            portal,
        )
    return CheckResult("stale", PASS, f"{seen}; within {thresholds.stale_days} days", portal)


def check_layout_drift(
    manifest: Mapping[str, Any],
    history: Sequence[Mapping[str, Any]],
    thresholds: Thresholds,
    portal: str | None,
) -> list[CheckResult]:
    """Per platform and field: this run's fill rate against the pooled rate of the recent runs that
    had records of that platform (any mode: a rate does not depend on how many pages were new)."""
    results: list[CheckResult] = []
    compared = 0
    for platform, filled in sorted((manifest.get("fill") or {}).items()):
        records = int(filled.get("records") or 0)
        if records < thresholds.min_records:
            continue
        past = [run["fill"][platform] for run in history if (run.get("fill") or {}).get(platform)]
        past = past[: thresholds.history_runs]
        past_records = sum(int(run.get("records") or 0) for run in past)
        if len(past) < thresholds.min_history or past_records < thresholds.min_records:
            continue
        for field_name in sorted(name for name in filled if name != "records"):
            if not all(field_name in run for run in past):
                continue
            compared += 1
            rate = int(filled[field_name]) / records
            usual = sum(int(run[field_name]) for run in past) / past_records
            if usual - rate >= thresholds.drift_drop:
                status = FAIL if field_name in thresholds.drift_fail_fields else WARN
                results.append(
                    CheckResult(
                        "layout_drift",
                        status,
                        f"layout drift on {platform}: {field_name} filled in {_percent(rate)} of {records} records, "
                        f"usually {_percent(usual)} (last {len(past)} runs); expected a fall of less than "
                        f"{_percent(thresholds.drift_drop, points=True)}",
                        portal,
                        field_name,
                    )
                )
    if results:
        return results
    if compared == 0:
        return [
            CheckResult(
                "layout_drift",
                PASS,
                f"no fill rates to compare (at least {thresholds.min_records} records of a platform in this run "
                f"and in {thresholds.min_history} earlier runs needed)",
                portal,
            )
        ]
    return [CheckResult("layout_drift", PASS, f"{compared} fill rates in line with the last runs", portal)]


def check_duplicates(
    manifest: Mapping[str, Any],
    comparable: Sequence[Mapping[str, Any]],
    thresholds: Thresholds,
    portal: str | None,
    mode: str,
) -> CheckResult:
    counts = manifest.get("records") or {}
    written = _count(manifest, "records_written")
    exact, near = int(counts.get("exact_duplicates") or 0), int(counts.get("near_duplicates") or 0)
    share = (exact + near) / written if written else 0.0
    seen = f"{_percent(share)} of {written} records are duplicates (exact {exact}, near {near})"
    past = [
        (int(run.get("exact_duplicates") or 0) + int(run.get("near_duplicates") or 0)) / run["records_written"]
        for run in comparable
        if int(run.get("records_written") or 0) >= thresholds.min_records
    ]
    if written < thresholds.min_records or len(past) < thresholds.min_history:
        return CheckResult(
            "duplicates",
            PASS,
            f"{seen}; too few records or earlier {mode} runs to compare (CHECK_MIN_RECORDS, CHECK_MIN_HISTORY)",
            portal,
        )
    usual = median(past)
    seen += f", usually {_percent(usual)} (median of the last {len(past)} {mode} runs)"
    expected = f"expected at most {_percent(thresholds.duplicates_rise, points=True)} above usual"
    if share - usual >= thresholds.duplicates_rise:
        return CheckResult("duplicates", WARN, f"{seen}; {expected}", portal)
    return CheckResult("duplicates", PASS, f"{seen}; {expected}", portal)


def check_rejects(
    manifest: Mapping[str, Any],
    comparable: Sequence[Mapping[str, Any]],
    thresholds: Thresholds,
    portal: str | None,
    mode: str,
) -> list[CheckResult]:
    """Each reject reason against its median count over the comparable runs (0 where it was absent)."""
    rejects = {reason: int(count) for reason, count in (manifest.get("rejects_by_reason") or {}).items()}
    past = [run.get("rejects_by_reason") for run in comparable if isinstance(run.get("rejects_by_reason"), dict)]
    if len(past) < thresholds.min_history:
        return [
            CheckResult(
                "rejects",
                PASS,
                f"{sum(rejects.values())} rejects; {len(past)} earlier {mode} run(s) with reject counts to compare "
                f"with, {thresholds.min_history} needed (CHECK_MIN_HISTORY)",
                portal,
            )
        ]
    results = []
    for reason, count in sorted(rejects.items()):
        usual = median(int(run.get(reason) or 0) for run in past)
        if count >= usual * thresholds.rejects_factor and count - usual >= thresholds.rejects_min_count:
            what = "a new reject reason in bulk" if usual == 0 else "rejects out of their usual range"
            results.append(
                CheckResult(
                    "rejects",
                    WARN,
                    f"{what}: '{reason}' ×{count} this {mode} run, usually {usual:g} (median of the last {len(past)} "
                    f"{mode} runs); expected under {thresholds.rejects_factor:g}× usual or fewer than "
                    f"{thresholds.rejects_min_count} above it",
                    portal,
                    reason,
                )
            )
    if results:
        return results
    return [
        CheckResult(
            "rejects",
            PASS,
            f"{sum(rejects.values())} rejects in {len(rejects)} reasons, each in its usual range "
            f"(last {len(past)} {mode} runs)",
            portal,
        )
    ]


def _count(manifest: Mapping[str, Any], name: str) -> int:
    return int(manifest.get(name) or 0)


def _percent(share: float, *, points: bool = False) -> str:
    value = f"{share * 100:.0f}" if share * 100 >= 1 or share == 0 else f"{share * 100:.1f}"
    return f"{value} points" if points else f"{value}%"


def _aware(moment: datetime) -> datetime:
    """A time with its zone (a naive one is taken as Vietnam's, +07:00, as the crawler writes)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ICT)
