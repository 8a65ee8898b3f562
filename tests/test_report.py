"""`crawler report`: the HTML page itself (self-contained, escaped, Vietnamese intact, "no data" for
old runs) and, in headless Chromium from Debian, that every chart rendered with no script error and
no request leaving the file.

The data is realistic: two real `crawler crawl` runs of the demo portal (the second incremental,
sharing one state, so the trend has two points), a multi-portal run folder with every manifest
field and planted warn/fail checks, and a manifest from before the new fields existed.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import plotly.offline
import pytest

from crawler.demo.site import build_routes, generated_articles, serve
from crawler.report import render_report, write_report
from crawler.runs import load_run
from crawler.state import CrawlState
from tests.conftest import STRICT

HOSTILE = '<script>alert("x")</script>'
CHECK_MESSAGE = "published_at chỉ còn 40 % bản ghi có ngày đăng (trước đây 98 %)"


def crawl(base: str, out: Path, state: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler.cli",
            "crawl",
            base + "/",
            "--out",
            str(out),
            "--state",
            str(state),
            "--delay=0",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def report_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", "report", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def full_manifest(portal: str, run_id: str, started_at: str, checks: list[dict[str, Any]]) -> dict[str, Any]:
    """A per-portal manifest with every field the report draws (as RunWriter writes them)."""
    return {
        "run_id": run_id,
        "portal": portal,
        "platform": "nukeviet",
        "portal_status": "active",
        "started_at": started_at,
        "finished_at": started_at.replace(":00+", ":41+"),
        "finish_reason": "finished",
        "records_written": 12,
        "pages_fetched": 40,
        "articles_seen": 15,
        "elapsed_seconds": 41.0,
        "rejects_by_reason": {"no_article": 3, "http_404": 2, HOSTILE: 1},
        "records": {"new": 10, "updated": 2, "exact_duplicates": 1, "near_duplicates": 2, "duplicates_dropped": 0},
        "fill": {
            "nukeviet": {"records": 10, "published_at": 4, "authors": 9, "captions": 3, "attachments": 1},
            "generic": {"records": 2, "published_at": 2, "authors": 0, "captions": 0, "attachments": 0},
        },
        "records_by_day": {"2026-12-07": 5, "2026-12-06": 4, "2026-12-05": 2, "undated": 1},
        "fetch": {
            "attempted": 44,
            "failed": 4,
            "failed_share": 0.091,
            "failed_by_kind": {"http_500": 3, "dns": 1},
            "latency": {"count": 40, "mean": 0.21, "p50": 0.18, "p90": 0.4, "max": 1.9},
        },
        "checks": {"status": max((c["status"] for c in checks), key=["pass", "warn", "fail"].index), "results": checks},
    }


def planted_multi_run(root: Path) -> Path:
    """A multi-portal run folder (summary.json): Đắk Lắk with a failing and a warning check, Quảng
    Ngãi passing, Hà Nội failed before writing a manifest."""
    folder = root / "20261208T010203-1234"
    dak_lak_checks = [
        {
            "name": "layout_drift",
            "status": "fail",
            "message": CHECK_MESSAGE,
            "portal": "dak-lak",
            "field": "published_at",
        },
        {"name": "failed_pages", "status": "warn", "message": f"9.1 % trang tải lỗi {HOSTILE}", "portal": "dak-lak"},
        {"name": "finished", "status": "pass", "message": "kết thúc bình thường (finished)", "portal": "dak-lak"},
    ]
    manifests = {
        "dak-lak": full_manifest(
            "dak-lak", "20261208T010203-1234-dak-lak", "2026-12-08T08:02:00+07:00", dak_lak_checks
        ),
        "quang-ngai": full_manifest(
            "quang-ngai",
            "20261208T010203-1234-quang-ngai",
            "2026-12-08T08:03:00+07:00",
            [{"name": "finished", "status": "pass", "message": "finished", "portal": "quang-ngai"}],
        ),
    }
    rows = []
    for portal, manifest in manifests.items():
        (folder / portal).mkdir(parents=True)
        (folder / portal / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
        rows.append(
            {
                "portal": portal,
                "run_id": manifest["run_id"],
                "folder": portal,
                "outcome": "ok",
                "message": None,
                "exit_code": 0,
                "finish_reason": "finished",
                "records_written": 12,
                "pages_fetched": 40,
                "checks": manifest["checks"]["status"],
            }
        )
    rows.append(
        {
            "portal": "ha-noi",
            "run_id": "20261208T010203-1234-ha-noi",
            "folder": "ha-noi",
            "outcome": "failed",
            "message": "không kết nối được hanoi.gov.vn (dns)",
            "exit_code": 3,
            "finish_reason": None,
            "records_written": 0,
            "pages_fetched": 0,
            "checks": "fail",
        }
    )
    summary = {
        "run_id": folder.name,
        "started_at": "2026-12-08T08:02:00+07:00",
        "finished_at": "2026-12-08T08:04:00+07:00",
        "selection": {"all": False, "status": None, "portals": ["dak-lak", "quang-ngai", "ha-noi"]},
        "portals": rows,
        "checks": {"status": "fail", "results": dak_lak_checks},
        "exit_code": 6,
    }
    (folder / "summary.json").write_text(json.dumps(summary, ensure_ascii=False), encoding="utf-8")
    return folder


def old_run(root: Path) -> Path:
    """A single-portal run made before fill, records_by_day, fetch and checks existed."""
    folder = root / "20250101T000000-1"
    folder.mkdir(parents=True)
    manifest = {
        "run_id": folder.name,
        "started_at": "2025-01-01T07:00:00+07:00",
        "finished_at": "2025-01-01T07:01:00+07:00",
        "finish_reason": "finished",
        "portals": ["hue"],
        "records_written": 3,
        "pages_fetched": 9,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def without_plotly_bundle(page: str) -> str:
    """The page minus the inlined plotly.js (whose own code names map tile servers it never calls here)."""
    bundle = plotly.offline.get_plotlyjs()
    assert page.count(bundle) == 1, "plotly.js must be inlined exactly once"
    return page.replace(bundle, "")


def registry_portal(slug: str, name: str, start: str, domain: str) -> str:
    return (
        f'\n[[portal]]\nslug = "{slug}"\nname = "{name}"\nkind = "province"\ncode = "66"\ndomain = "{domain}"\n'
        f'platform = "unknown"\nstatus = "active"\nstart_urls = ["{start}/"]\n'
    )


def crawl_many(site: str, root: Path) -> Path:
    """A real run of two registry portals (a PORTALS_FILE) in one process: a multi-portal run folder."""
    other, other_url = serve(build_routes(generated_articles(12)))
    try:
        portals = root / "portals.toml"
        portals.write_text(
            registry_portal("thu-a", "Cổng thông tin thử Đắk Lắk", site, "127.0.0.1")
            + registry_portal(
                "thu-b", "Cổng thử Buôn Ma Thuột", other_url.replace("127.0.0.1", "localhost"), "localhost"
            ),
            encoding="utf-8",
        )
        command = [sys.executable, "-m", "crawler.cli", "crawl", "thu-a", "thu-b", "--out", str(root / "runs" / "many")]
        command += ["--state", str(root / "many.sqlite"), "-s", f"PORTALS_FILE={portals}", "--delay=0"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    finally:
        other.shutdown()
        other.server_close()
    assert result.returncode in (0, 5, 6), result.stderr  # ended normally (checks may warn or fail)
    return root / "runs" / "many"


@pytest.fixture(scope="module")
def runs(site: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("report")
    state = root / "state.sqlite"
    crawl(site, root / "runs" / "first", state)
    crawl(site, root / "runs" / "second", state)
    return {
        "first": root / "runs" / "first",
        "second": root / "runs" / "second",
        "many": crawl_many(site, root),
        "multi": planted_multi_run(root / "runs"),
        "old": old_run(root / "runs"),
        "state": state,
        "root": root,
    }


def test_page_is_self_contained_and_escaped(runs: dict[str, Path]) -> None:
    page = render_report([load_run(runs["multi"]), load_run(runs["old"])])
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="vi">' in page and '<meta charset="utf-8">' in page
    rest = without_plotly_bundle(page)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", rest, re.IGNORECASE)
    assert "<link" not in rest.lower() and "@import" not in rest and "url(" not in rest
    assert re.findall(r"<script[^>]*\bsrc", rest, re.IGNORECASE) == []
    # Text from the data is escaped everywhere: in HTML as entities, in the charts' JSON as \u003c.
    assert HOSTILE not in page
    assert html_escaped(HOSTILE) in page
    assert "\\u003cscript\\u003e" in page
    # Vietnamese as UTF-8, not entities: names from the registry, reasons and messages from the data.
    for text in ("Tỉnh Đắk Lắk", "Tỉnh Quảng Ngãi", "Thành phố Hà Nội", CHECK_MESSAGE, "không kết nối được"):
        assert text in page


def html_escaped(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def test_charts_checks_and_no_data(runs: dict[str, Path]) -> None:
    page = render_report([load_run(runs["multi"]), load_run(runs["old"])])
    charts = re.findall(r'<div class="chart" data-chart="([a-z_]+)">', page)
    # Two full portals, five charts each; Hà Nội (no manifest) and the old run draw none.
    assert sorted(charts) == sorted(["records_by_day", "fill", "rejects", "duplicates", "fetch"] * 2)
    assert page.count('class="plotly-graph-div"') == 10
    header = page.split("</header>")[0]
    assert '<span class="badge fail">' in header
    dak_lak = section(page, "dak-lak")
    assert dak_lak.index("layout_drift") < dak_lak.index("failed_pages") < dak_lak.index(">finished<")
    assert '<span class="badge warn">' in dak_lak and "<code>published_at</code>" in dak_lak
    # Fill rate: 4 of 10 NukeViet records dated.
    assert '"y":[40.0,90.0,30.0,10.0]' in dak_lak
    assert "no data" not in dak_lak
    assert "no data" in section(page, "hue") and "no data" in section(page, "ha-noi")
    ha_noi_row = next(row for row in page.split("<tr>") if 'href="#portal-ha-noi"' in row)
    assert "failed" in ha_noi_row and "không kết nối được hanoi.gov.vn (dns)" in ha_noi_row
    assert re.findall(r'<td class="num">([^<]*)</td>', ha_noi_row) == ["0", "0", "–", "–", "–"]


def section(page: str, portal: str) -> str:
    start = page.index(f'<section id="portal-{portal}"')
    return page[start : page.index("</section>", start)]


def test_real_run_of_many_portals_named_as_its_summary_says(runs: dict[str, Path]) -> None:
    page = render_report([load_run(runs["many"])])
    for portal, name in (("thu-a", "Cổng thông tin thử Đắk Lắk"), ("thu-b", "Cổng thử Buôn Ma Thuột")):
        assert f"<h2>{name} " in section(page, portal)
        assert section(page, portal).count('<div class="chart"') == 5  # per day, fill, rejects, duplicates, fetch
    overview = page[page.index("· overview") : page.index("<section")]
    assert overview.count("<tr>") == 3  # its header and one row per portal


def test_records_by_day_become_by_month_over_a_long_span(runs: dict[str, Path]) -> None:
    daily = section(render_report([load_run(runs["multi"])]), "dak-lak")
    assert "records per day published" in daily
    assert '"x":["2026-12-05","2026-12-06","2026-12-07"],"y":[2,4,5]' in daily
    # The demo portal's first crawl found articles from 2018 to 2024: summed by month.
    monthly = render_report([load_run(runs["first"])])
    assert "records per month published" in monthly and "records per day published" not in monthly
    assert re.search(r'"x":\["2018-07-01","2019-01-01",[^]]*"2024-06-01"\],"y":\[1,1,[0-9,]*\]', monthly)


def test_report_without_charts_carries_no_script(runs: dict[str, Path], tmp_path: Path) -> None:
    out = write_report([load_run(runs["old"])], tmp_path / "nested" / "old.html")
    page = out.read_text(encoding="utf-8")
    assert "<script" not in page and "no data" in page and "Huế" in page
    assert len(page.encode()) < 50_000
    assert [path.name for path in out.parent.iterdir()] == ["old.html"]


def test_cli_newest_run_default_out_and_trend(runs: dict[str, Path], tmp_path: Path) -> None:
    # Run ids sort by start time: the planted multi-portal run is the newest under output/runs.
    workdir = tmp_path / "work"
    for name in ("multi", "old"):
        shutil.copytree(runs[name], workdir / "output" / "runs" / runs[name].name)
    result = report_cli(cwd=workdir)
    assert result.returncode == 0, result.stderr
    written = workdir / "output" / "runs" / "20261208T010203-1234" / "report.html"
    assert result.stdout.strip() == str(Path("output/runs/20261208T010203-1234/report.html"))
    assert written.is_file()
    # The second crawl of the demo portal alone: the state its manifest names holds the first run
    # too, so the records-per-run trend has two points; another (empty) state has none of them.
    out = tmp_path / "demo.html"
    result = report_cli(str(runs["second"]), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert 'data-chart="records_per_run"' in out.read_text(encoding="utf-8")
    CrawlState(tmp_path / "empty.sqlite").close()
    result = report_cli(str(runs["second"]), "--out", str(out), "--state", str(tmp_path / "empty.sqlite"))
    assert result.returncode == 0, result.stderr
    assert 'data-chart="records_per_run"' not in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["no-such-run"], 2, "no run 'no-such-run'"),
        (["{first}", "--state", "{missing}"], 4, "no state file at"),
        (["{first}", "--out", "{folder}"], 2, "is a folder"),
    ],
)
def test_cli_errors_are_one_line(runs: dict[str, Path], tmp_path: Path, args: list[str], code: int, says: str) -> None:
    filled = [arg.format(first=runs["first"], missing=tmp_path / "none.sqlite", folder=tmp_path) for arg in args]
    result = report_cli(*filled)
    assert result.returncode == code
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


# A chart fits when its drawing is no wider than its container.
FITS = "chart => chart.querySelector('.main-svg').getBoundingClientRect().width <= chart.clientWidth + 1"


def chromium_path() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        message = "chromium is absent: install Debian's package (apt-get install chromium) for the browser test"
        if STRICT:
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_report_renders_in_headless_chromium(runs: dict[str, Path], tmp_path: Path) -> None:
    executable = chromium_path()
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    out = tmp_path / "báo cáo.html"  # a Vietnamese file name, as a user may give
    reported = [runs[name] for name in ("first", "second", "multi", "old", "many")]
    result = report_cli(*map(str, reported), "--out", str(out))
    assert result.returncode == 0, result.stderr
    figures = out.read_text(encoding="utf-8").count('class="plotly-graph-div"')
    # The demo portal crawled twice: six, with the trend from the state; the planted two and the
    # two portals of the real run of many: five each; Hà Nội (no manifest) and the old run: none.
    assert figures == 6 + 5 * 4

    errors: list[str] = []
    outside: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page()
            page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

            def only_local(route: Any) -> None:
                url = route.request.url
                if url.startswith("file://") or url.startswith(("http://127.0.0.1", "data:")):
                    route.continue_()
                else:
                    outside.append(url)
                    route.abort()

            page.route("**/*", only_local)
            page.goto(out.as_uri(), wait_until="load")
            # Plotly draws asynchronously: wait until every container holds a drawn trace (or time out).
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('.chart')).every(chart => chart.querySelector('.trace'))"
            )
            # …and, once the page is laid out, every chart is resized to fit its column.
            with contextlib.suppress(PlaywrightTimeout):
                page.wait_for_function(
                    f"() => Array.from(document.querySelectorAll('.chart')).every({FITS})", timeout=10_000
                )
            drawn = page.evaluate(
                """() => Array.from(document.querySelectorAll('.chart')).map(chart => ({
                    name: chart.dataset.chart,
                    svg: chart.querySelectorAll('.js-plotly-plot .main-svg').length,
                    traces: chart.querySelectorAll('.trace').length,
                    marks: chart.querySelectorAll('.trace path').length,
                    title: (chart.querySelector('.gtitle') || {}).textContent || '',
                    fits: (FITS)(chart),
                }))""".replace("FITS", FITS)
            )
            body_text = page.inner_text("body")
        finally:
            browser.close()

    assert errors == []
    assert outside == []
    assert len(drawn) == figures
    for chart in drawn:
        assert chart["svg"] >= 1 and chart["traces"] >= 1 and chart["marks"] >= 1, chart
        assert chart["title"] and chart["fits"], chart
    assert any(chart["title"].startswith("Bản ghi theo ngày đăng") for chart in drawn)
    for text in ("Tỉnh Đắk Lắk", "Cổng thử Buôn Ma Thuột", "Báo cáo thu thập", CHECK_MESSAGE, "Tỷ lệ có trường"):
        assert text in body_text
    assert HOSTILE in body_text  # shown as text, not run
