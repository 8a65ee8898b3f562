"""The checks (crawler.checks) fire on planted conditions and stay quiet on a normal run and on a
first run without history: manifests and history entries shaped as RunWriter and
CrawlState.portal_history write them."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

import pytest
from scrapy.settings import Settings

import crawler.settings as project_settings
from crawler.checks import (
    EXIT_CHECK_FAIL,
    EXIT_CHECK_WARN,
    CheckResult,
    Thresholds,
    check_portal_run,
    checks_block,
    exit_code,
    worst,
)
from crawler.dates import ICT
from crawler.middlewares import SettingsError

NOW = datetime(2026, 12, 8, 6, 0, tzinfo=ICT)
DEFAULTS = Thresholds()


def manifest(**changes: Any) -> dict[str, Any]:
    """A normal full run of an active NukeViet portal: 40 records out of 42 articles seen."""
    base: dict[str, Any] = {
        "run_id": "20261208T050000-100",
        "portal": "local-a",
        "portals": ["local-a"],
        "platform": "nukeviet",
        "portal_status": "active",
        "started_at": "2026-12-08T05:00:00+07:00",
        "finished_at": "2026-12-08T05:04:00+07:00",
        "finish_reason": "finished",
        "start_urls": ["http://127.0.0.1:8000/"],
        "start_failures": [],
        "pages_fetched": 60,
        "records_written": 40,
        "articles_seen": 42,
        "rejects_by_reason": {"http_404": 2, "no_article": 1},
        "records": {
            "new": 40,
            "updated": 0,
            "unchanged_rewritten": 0,
            "unchanged_not_written": 0,
            "exact_duplicates": 1,
            "near_duplicates": 1,
            "duplicates_dropped": 0,
            "over_max_items_not_written": 0,
        },
        "incremental": {"mode": "full", "pages_skipped_as_seen": 0},
        "fill": {"nukeviet": {"records": 40, "published_at": 40, "authors": 31, "captions": 12, "attachments": 3}},
        "records_by_day": {"2026-12-07": 5, "2026-12-06": 3, "undated": 0},
        "fetch": {
            "attempted": 62,
            "failed": 2,
            "failed_share": 2 / 62,
            "failed_by_kind": {"http_404": 2},
            "latency": {"count": 60, "mean": 0.21, "p50": 0.18, "p90": 0.4, "max": 1.9},
        },
        "elapsed_seconds": 240.0,
    }
    for name, value in changes.items():
        base[name] = value
    return base


def past_run(day: int, **metric_changes: Any) -> dict[str, Any]:
    """One finished earlier run of the portal, `day` days before NOW, as portal_history gives it."""
    metrics: dict[str, Any] = {
        "records_written": 38 + day % 3,
        "new": 38 + day % 3,
        "updated": 0,
        "articles_seen": 40 + day % 3,
        "pages_fetched": 58,
        "fetch_failed": 1,
        "fetch_attempted": 59,
        "fill": {"nukeviet": {"records": 40, "published_at": 40, "authors": 30, "captions": 11, "attachments": 3}},
        "exact_duplicates": 1,
        "near_duplicates": 0,
        "rejects_by_reason": {"http_404": 2 + day % 2, "no_article": 1},
        "mode": "full",
    }
    metrics.update(metric_changes)
    started = NOW - timedelta(days=day)
    return {
        "run_id": started.strftime("%Y%m%dT%H%M%S") + "-99",
        "started_at": started.isoformat(),
        "finished_at": (started + timedelta(minutes=4)).isoformat(),
        "finish_reason": "finished",
        "metrics": metrics,
    }


HISTORY = [past_run(day) for day in range(1, 6)]
RECENT_RECORD = (NOW - timedelta(days=1)).isoformat()


def run_checks(
    current: dict[str, Any],
    history: list[dict[str, Any]] | None = None,
    thresholds: Thresholds = DEFAULTS,
    newest_record_at: str | None = RECENT_RECORD,
) -> list[CheckResult]:
    return check_portal_run(
        current, HISTORY if history is None else history, thresholds, newest_record_at=newest_record_at, now=NOW
    )


def not_passing(results: list[CheckResult]) -> list[CheckResult]:
    return [result for result in results if result.status != "pass"]


def test_a_normal_run_passes_every_check() -> None:
    results = run_checks(manifest())
    assert not_passing(results) == []
    assert {result.name for result in results} == {
        "finished",
        "failed_pages",
        "records",
        "stale",
        "layout_drift",
        "duplicates",
        "rejects",
    }
    assert all(result.portal == "local-a" for result in results)
    assert worst(results) == "pass"


def test_a_first_run_without_history_passes_and_says_why() -> None:
    results = run_checks(manifest(), history=[], newest_record_at=None)
    assert not_passing(results) == []
    by_name = {result.name: result.message for result in results}
    assert "0 earlier full run(s)" in by_name["records"]
    assert "no fill rates to compare" in by_name["layout_drift"]


def test_a_listing_that_goes_empty_warns_on_articles_seen() -> None:
    empty = manifest(articles_seen=0, records_written=0, records={**manifest()["records"], "new": 0}, fill={})
    warned = not_passing(run_checks(empty))
    assert {(result.name, result.status, result.field) for result in warned} == {
        ("records", "warn", "articles_seen"),
        ("records", "warn", "records_written"),
    }
    seen = next(result.message for result in warned if result.field == "articles_seen")
    assert seen.startswith("dropped to zero: articles seen: 0 this full run, usually 41")


def test_far_below_usual_warns_and_a_small_portal_may_be_quiet() -> None:
    few = manifest(articles_seen=12, records_written=10, fill={})
    assert [result.field for result in not_passing(run_checks(few))] == ["articles_seen", "records_written"]
    small_history = [past_run(day, articles_seen=3, records_written=2) for day in range(1, 6)]
    quiet = manifest(articles_seen=0, records_written=0, fill={})
    assert not_passing(run_checks(quiet, small_history)) == []


def test_a_run_the_user_bounded_is_not_compared_with_whole_runs() -> None:
    for bounded in (
        manifest(records_written=5, articles_seen=5, arguments={"since": None, "max_items": 5}),
        manifest(records_written=5, articles_seen=6, arguments={"since": "2026-12-01", "max_items": None}),
        manifest(records_written=5, articles_seen=6, finish_reason="closespider_timeout"),
    ):
        (records,) = [result for result in run_checks(bounded) if result.name == "records"]
        assert records.status == "pass" and "bounded by" in records.message
    whole = manifest(records_written=5, articles_seen=6, arguments={"since": None, "max_items": None})
    assert [result.field for result in not_passing(run_checks(whole))] == ["articles_seen", "records_written"]


def test_incremental_runs_are_compared_with_incremental_runs_only() -> None:
    quiet_day = manifest(
        articles_seen=25, records_written=3, incremental={"mode": "incremental"}, fill={}, rejects_by_reason={}
    )
    records = next(result for result in run_checks(quiet_day) if result.name == "records")
    assert records.status == "pass" and "0 earlier incremental run(s)" in records.message
    daily = [past_run(day, mode="incremental", articles_seen=24, records_written=4) for day in range(1, 4)]
    assert not_passing(run_checks(quiet_day, daily + HISTORY)) == []
    empty = manifest(articles_seen=0, records_written=0, incremental={"mode": "incremental"}, fill={})
    assert [result.field for result in not_passing(run_checks(empty, daily + HISTORY))] == ["articles_seen"]


def test_a_template_that_loses_its_dates_fails_naming_published_at() -> None:
    undated = copy.deepcopy(manifest())
    undated["fill"]["nukeviet"]["published_at"] = 0
    drift = not_passing(run_checks(undated))
    assert [(result.name, result.status, result.field) for result in drift] == [
        ("layout_drift", "fail", "published_at")
    ]
    assert drift[0].message.startswith(
        "layout drift on nukeviet: published_at filled in 0% of 40 records, usually 100% (last 5 runs)"
    )


def test_other_fields_drift_warns_and_small_samples_are_not_judged() -> None:
    no_authors = copy.deepcopy(manifest())
    no_authors["fill"]["nukeviet"]["authors"] = 2
    drift = not_passing(run_checks(no_authors))
    assert [(result.status, result.field) for result in drift] == [("warn", "authors")]
    assert "authors filled in 5% of 40 records, usually 75%" in drift[0].message
    tiny = manifest(fill={"nukeviet": {"records": 4, "published_at": 0, "authors": 0, "captions": 0, "attachments": 0}})
    assert next(result for result in run_checks(tiny) if result.name == "layout_drift").status == "pass"


def test_a_platform_new_to_the_portal_is_not_drift() -> None:
    other = manifest(fill={"liferay": {"records": 40, "published_at": 0, "authors": 0, "captions": 0}})
    assert not_passing(run_checks(other)) == []


@pytest.mark.parametrize(
    ("failed", "status"),
    [(36, "fail"), (9, "warn"), (3, "pass")],
)
def test_failed_pages_share_against_its_thresholds(failed: int, status: str) -> None:
    fetch = {"attempted": 60, "failed": failed, "failed_share": failed / 60, "failed_by_kind": {"http_500": failed}}
    result = next(result for result in run_checks(manifest(fetch=fetch)) if result.name == "failed_pages")
    assert result.status == status
    assert f"{failed} of 60 fetches failed" in result.message


def test_every_start_url_failing_fails() -> None:
    unreachable = manifest(
        start_failures=[{"url": "http://127.0.0.1:8000/", "reason": "connection_refused"}],
        fetch={"attempted": 1, "failed": 1, "failed_share": 1.0, "failed_by_kind": {"connection_refused": 1}},
        finish_reason="start_failed",
    )
    failed = {result.name: result for result in not_passing(run_checks(unreachable))}
    assert failed["failed_pages"].status == "fail"
    assert "every start URL failed: http://127.0.0.1:8000/ (connection_refused)" in failed["failed_pages"].message
    assert failed["finished"].status == "fail"


def test_a_run_that_did_not_end_normally_fails() -> None:
    interrupted = run_checks(manifest(finish_reason="shutdown", articles_seen=3, records_written=3))
    assert [(result.name, result.status) for result in not_passing(interrupted)] == [("finished", "fail")]
    assert not_passing(interrupted)[0].message.startswith("ended 'shutdown'; expected a normal end")
    assert "counts not compared" in next(result.message for result in interrupted if result.name == "records")
    limited = run_checks(manifest(finish_reason="max_items"))
    assert next(result for result in limited if result.name == "finished").status == "pass"


def test_an_active_portal_without_new_records_is_stale() -> None:
    old = (NOW - timedelta(days=20)).isoformat()
    (stale,) = not_passing(run_checks(manifest(), newest_record_at=old))
    assert (stale.name, stale.status) == ("stale", "warn")
    assert "20 days ago" in stale.message and "within 14 days" in stale.message
    assert not_passing(run_checks(manifest(portal_status="legacy"), newest_record_at=old)) == []
    relaxed = Thresholds(stale_days=30)
    assert not_passing(run_checks(manifest(), thresholds=relaxed, newest_record_at=old)) == []


def test_a_jump_in_duplicates_warns() -> None:
    duplicated = manifest(records={**manifest()["records"], "exact_duplicates": 12, "near_duplicates": 8})
    (result,) = not_passing(run_checks(duplicated))
    assert (result.name, result.status) == ("duplicates", "warn")
    assert result.message.startswith("50% of 40 records are duplicates (exact 12, near 8), usually 3%")


def test_a_reject_reason_jumping_or_appearing_in_bulk_warns() -> None:
    jumped = manifest(rejects_by_reason={"http_404": 40, "no_article": 1, "empty_body": 25, "non_html": 3})
    warned = not_passing(run_checks(jumped))
    assert [(result.name, result.field) for result in warned] == [("rejects", "empty_body"), ("rejects", "http_404")]
    assert warned[0].message.startswith("a new reject reason in bulk: 'empty_body' ×25 this full run, usually 0")
    assert warned[1].message.startswith("rejects out of their usual range: 'http_404' ×40 this full run, usually 3")


def test_history_of_runs_that_ended_badly_or_without_metrics_is_left_out() -> None:
    broken = [{**past_run(day), "finish_reason": "shutdown"} for day in range(1, 4)]
    bare = [{**past_run(day), "metrics": {}} for day in range(4, 7)]
    undated = copy.deepcopy(manifest())
    undated["fill"]["nukeviet"]["published_at"] = 0
    assert not_passing(run_checks(undated, broken + bare)) == []


def test_every_message_is_one_line() -> None:
    planted = manifest(
        articles_seen=0,
        finish_reason="shutdown",
        rejects_by_reason={"http_500\nx": 90},
        fetch={"attempted": 60, "failed": 40, "failed_share": 0.66, "failed_by_kind": {"http_500": 40}},
    )
    for results in (run_checks(planted), run_checks(planted, history=[]), run_checks(manifest())):
        for result in results:
            assert "\n" not in result.message and result.message.strip() == result.message


def test_worst_block_and_exit_codes() -> None:
    results = [CheckResult("a", "pass", "ok"), CheckResult("b", "warn", "hm", "p"), CheckResult("c", "pass", "ok")]
    assert worst([]) == "pass" and worst(results) == "warn"
    block = checks_block(results)
    assert block["status"] == "warn"
    assert block["results"][1] == {"name": "b", "status": "warn", "message": "hm", "portal": "p", "field": None}
    assert (
        [exit_code(status) for status in ("pass", "warn", "fail")]
        == [0, EXIT_CHECK_WARN, EXIT_CHECK_FAIL]
        == [
            0,
            5,
            6,
        ]
    )
    with pytest.raises(ValueError):
        exit_code("fine")


def project(**overrides: Any) -> Settings:
    settings = Settings()
    settings.setmodule(project_settings)
    for name, value in overrides.items():
        settings.set(name, value, priority="cmdline")
    return settings


def test_thresholds_from_project_settings_and_overrides() -> None:
    assert Thresholds.from_settings(project()) == Thresholds()
    changed = Thresholds.from_settings(
        project(CHECK_STALE_DAYS="30", CHECK_DRIFT_DROP="0.25", CHECK_DRIFT_FAIL_FIELDS="published_at,title")
    )
    assert changed.stale_days == 30 and changed.drift_drop == 0.25
    assert changed.drift_fail_fields == ("published_at", "title")
    assert Thresholds(history_runs=3).history_limit == 12


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CHECK_STALE_DAYS", "soon"),
        ("CHECK_STALE_DAYS", "1.5"),
        ("CHECK_FAILED_PAGES_WARN", "1.2"),
        ("CHECK_DRIFT_DROP", "nan"),
        ("CHECK_MIN_HISTORY", "0"),
        ("CHECK_REJECTS_FACTOR", "0.5"),
    ],
)
def test_a_bad_threshold_is_one_line_naming_the_setting(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^setting {name} must be .* not '{value}' \\(-s {name}=VALUE\\)$"):
        Thresholds.from_settings(project(**{name: value}))


def test_a_warn_threshold_above_the_fail_one_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"CHECK_FAILED_PAGES_WARN .* must not exceed CHECK_FAILED_PAGES_FAIL"):
        Thresholds.from_settings(project(CHECK_FAILED_PAGES_WARN="0.6"))
