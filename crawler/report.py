"""`crawler report`: one static, self-contained HTML page about one or several runs.

Data teams open it after a daily crawl (or when a check failed) from a mail, a share or a laptop
without network, so the page carries everything itself: styles and scripts inline (plotly.js once),
no fonts or images to fetch. Every value that comes from a run is escaped: portal names, reasons and
check messages are text the portals (or a user's registry file) chose. Fields a run made before
they existed show "no data" rather than a zero that would read as a measurement.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Any

from crawler.dates import ICT
from crawler.runs import RunView

STATUS_ORDER = ("pass", "warn", "fail")
STATUS_TEXT = {"pass": "đạt · pass", "warn": "cảnh báo · warn", "fail": "lỗi · fail"}
NO_DATA = '<p class="nodata">chưa có dữ liệu · no data{why}</p>'
OLD_RUN = " (this run was made before the field existed)"
FILL_FIELDS = ("published_at", "authors", "captions", "attachments")
LATENCY_STATS = ("p50", "p90", "max")
MONTHS_AFTER_DAYS = 92  # records per day over a longer span are drawn per month
FONT_STACK = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue", Arial, sans-serif'
COLOURS = ("#0969da", "#bc4c00", "#1a7f37", "#8250df", "#bf3989", "#4d2d00", "#57606a", "#0550ae")
# plotly's modebar keeps its download button (a PNG made in the browser) but not the link to plotly.com.
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
RESIZE_ON_LOAD = (
    'window.addEventListener("load", () => document.querySelectorAll(".js-plotly-plot")'
    ".forEach(plot => Plotly.Plots.resize(plot)));"
)


@dataclass
class PortalRun:
    """One portal's part of one run: its manifest (None when the portal wrote none) and, in a
    multi-portal run, its row of summary.json."""

    portal: str
    run_id: str
    folder: Path
    manifest: dict[str, Any] | None
    row: dict[str, Any] | None = None

    @property
    def started_at(self) -> str:
        return str((self.manifest or {}).get("started_at") or "")

    @property
    def label(self) -> str:
        """Short name of the run on a chart axis: its start time, else its id."""
        started = self.started_at
        return started[:19].replace("T", " ") if started else self.run_id

    def value(self, *keys: str) -> Any:
        """A nested manifest value, else a top-level one of the summary row (a portal that wrote no
        manifest still has its counts there), else None."""
        current: Any = self.manifest
        for key in keys:
            current = current.get(key) if isinstance(current, dict) else None
        if current is None and self.row is not None and len(keys) == 1:
            return self.row.get(keys[0])
        return current


@dataclass
class _Page:
    """How many figures the page has: plotly.js goes in the head once, and only when one needs it."""

    figures: int = 0


def portal_of(manifest: dict[str, Any], fallback: str) -> str:
    """The portal a manifest is about: `portal` (new manifests), else the one host of `portals`."""
    portal = manifest.get("portal")
    if portal:
        return str(portal)
    portals = manifest.get("portals") or []
    return str(portals[0]) if len(portals) == 1 else fallback


def portal_runs(runs: Iterable[RunView]) -> list[PortalRun]:
    """Every portal of every run, a portal of a multi-portal run without a manifest included (its
    summary row says why: failed, retired, interrupted)."""
    found: list[PortalRun] = []
    for run in runs:
        if run.summary is None:
            for manifest in run.manifests:
                found.append(PortalRun(portal_of(manifest, run.run_id), run.run_id, run.folder, manifest))
            continue
        by_portal = {portal_of(manifest, ""): manifest for manifest in run.manifests}
        by_run_id = {str(manifest.get("run_id")): manifest for manifest in run.manifests}
        for row in run.summary.get("portals", []):
            portal = str(row.get("portal"))
            manifest = by_portal.get(portal) or by_run_id.get(str(row.get("run_id")))
            found.append(PortalRun(portal, run.run_id, run.portal_folder(portal), manifest, row))
    return found


def worst(statuses: Iterable[str | None]) -> str | None:
    """The worst of pass/warn/fail; None when no status was given (runs made before the checks)."""
    known = [status for status in statuses if status in STATUS_ORDER]
    return max(known, key=STATUS_ORDER.index) if known else None


def manifest_checks(run: PortalRun) -> dict[str, Any]:
    """The manifest's checks block ({} without one); the summary row has only its status."""
    block = (run.manifest or {}).get("checks")
    return block if isinstance(block, dict) else {}


def checks_status(run: PortalRun) -> str | None:
    return manifest_checks(run).get("status") or (run.row or {}).get("checks")


def badge(status: str | None) -> str:
    if status not in STATUS_ORDER:
        return '<span class="badge none">không rõ · n/a</span>'
    return f'<span class="badge {status}">{STATUS_TEXT[status]}</span>'


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else esc(value)


def _share(value: Any) -> str:
    return "–" if not isinstance(value, int | float) else f"{100 * value:.1f} %"


def _portal_names() -> dict[str, str]:
    """slug → the portal's name in the registry, for headings; a run of a URL keeps its host."""
    from crawler.registry import RegistryError, load_registry

    try:
        return {entry.slug: entry.name for entry in load_registry()}
    except (RegistryError, OSError):
        return {}


def _heading(text_vi: str, text_en: str, level: int = 3) -> str:
    return f'<h{level}>{esc(text_vi)} <span class="en">· {esc(text_en)}</span></h{level}>'


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "template": "none",
        "title": {"text": title, "font": {"size": 14}},
        "font": {"family": FONT_STACK, "size": 12},
        "colorway": list(COLOURS),
        "height": 320,
        "margin": {"l": 60, "r": 20, "t": 50, "b": 70},
        "legend": {"orientation": "h", "y": -0.25},
        "xaxis": {"automargin": True, "gridcolor": "#eaeef2"},
        "yaxis": {"automargin": True, "gridcolor": "#eaeef2", "rangemode": "tozero"},
        "barmode": "group",
    }
    layout.update(extra)
    return layout


def _figure(page: _Page, name: str, data: list[dict[str, Any]], layout: dict[str, Any]) -> str:
    """One chart: plotly's own HTML for it (data as JSON), in a container the browser test counts."""
    import plotly.graph_objects as go
    import plotly.io as pio

    page.figures += 1
    figure = go.Figure(data=data, layout=layout)
    div = pio.to_html(
        figure, full_html=False, include_plotlyjs=False, config=PLOTLY_CONFIG, div_id=f"chart-{page.figures}"
    )
    return f'<div class="chart" data-chart="{esc(name)}">{div}</div>'


def _records_by_day(page: _Page, runs: list[PortalRun]) -> str:
    with_days = [run for run in runs if isinstance(run.value("records_by_day"), dict)]
    if not with_days:
        return NO_DATA.format(why=OLD_RUN)
    counts = [_dated_counts(run.value("records_by_day")) for run in with_days]
    days = sorted({day for by_day in counts for day in by_day})
    # A first crawl's records span years, where a bar a day is a hairline: count them by month.
    by_month = len(days) > 1 and (date.fromisoformat(days[-1]) - date.fromisoformat(days[0])).days > MONTHS_AFTER_DAYS
    if by_month:
        counts = [_by_month(by_day) for by_day in counts]
        days = sorted({month for by_month_counts in counts for month in by_month_counts})
    traces = [
        {"type": "bar", "name": run.label, "x": days, "y": [by_day.get(day, 0) for day in days]}
        for run, by_day in zip(with_days, counts, strict=True)
    ]
    undated = ", ".join(f"{run.label}: {run.value('records_by_day').get('undated', 0)}" for run in with_days)
    title = (
        "Bản ghi theo tháng đăng · records per month published"
        if by_month
        else ("Bản ghi theo ngày đăng · records per day published")
    )
    layout = _layout(title, xaxis={"type": "date", "gridcolor": "#eaeef2"})
    return (
        _figure(page, "records_by_day", traces, layout) + f'<p class="meta">không có ngày · undated: {esc(undated)}</p>'
    )


def _dated_counts(records_by_day: dict[str, Any]) -> dict[str, int]:
    """The manifest's counts by day, without "undated" (or any key that is not a date)."""
    dated = {}
    for day, count in records_by_day.items():
        try:
            date.fromisoformat(day)
        except ValueError:
            continue
        dated[day] = int(count or 0)
    return dated


def _by_month(by_day: dict[str, int]) -> dict[str, int]:
    """Counts by day summed by month, each month on its first day (a date the axis places)."""
    months: dict[str, int] = {}
    for day, count in by_day.items():
        month = day[:7] + "-01"
        months[month] = months.get(month, 0) + count
    return months


def _trend_points(runs: list[PortalRun], history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One point per run of the portal, from the state's history and the runs given, oldest first."""
    points: dict[str, dict[str, Any]] = {}
    for entry in history:
        metrics = entry.get("metrics") or {}
        if entry.get("run_id") and metrics.get("records_written") is not None:
            points[str(entry["run_id"])] = {"started_at": entry.get("started_at") or "", **metrics}
    for run in runs:
        if run.value("records_written") is None:
            continue
        points[run.run_id if run.manifest is None else str(run.manifest.get("run_id") or run.run_id)] = {
            "started_at": run.started_at,
            "records_written": run.value("records_written"),
            "new": run.value("records", "new"),
            "articles_seen": run.value("articles_seen"),
        }
    return sorted(points.values(), key=lambda point: point["started_at"])


def _trend(page: _Page, runs: list[PortalRun], history: list[dict[str, Any]]) -> str:
    points = _trend_points(runs, history)
    if len(points) < 2:
        return ""
    times = [point["started_at"] for point in points]
    traces = []
    for key, name in (
        ("records_written", "bản ghi · written"),
        ("new", "mới · new"),
        ("articles_seen", "bài thấy · seen"),
    ):
        values = [point.get(key) for point in points]
        if any(value is not None for value in values):
            traces.append({"type": "scatter", "mode": "lines+markers", "name": name, "x": times, "y": values})
    layout = _layout("Bản ghi mỗi lượt · records per run", xaxis={"type": "date", "gridcolor": "#eaeef2"})
    return _figure(page, "records_per_run", traces, layout)


def _fill(page: _Page, runs: list[PortalRun]) -> str:
    latest = next((run for run in reversed(runs) if isinstance(run.value("fill"), dict) and run.value("fill")), None)
    if latest is None:
        return NO_DATA.format(why=OLD_RUN if any(run.value("fill") is None for run in runs) else " (no record written)")
    traces = []
    for platform, counts in sorted(latest.value("fill").items()):
        total = counts.get("records") or 0
        if not total:
            continue
        shares = [round(100 * (counts.get(name) or 0) / total, 1) for name in FILL_FIELDS]
        traces.append(
            {
                "type": "bar",
                "name": f"{platform} ({total})",
                "x": list(FILL_FIELDS),
                "y": shares,
                "text": [f"{share:g} %" for share in shares],
                "textposition": "auto",
            }
        )
    if not traces:
        return NO_DATA.format(why=" (no record written)")
    layout = _layout(
        f"Tỷ lệ có trường · fill rate by platform, % of records ({latest.label})",
        yaxis={"range": [0, 105], "ticksuffix": " %", "gridcolor": "#eaeef2"},
    )
    return _figure(page, "fill", traces, layout)


def _rejects(page: _Page, runs: list[PortalRun]) -> str:
    with_rejects = [run for run in runs if isinstance(run.value("rejects_by_reason"), dict)]
    if not with_rejects:
        return NO_DATA.format(why="")
    reasons = sorted({reason for run in with_rejects for reason in run.value("rejects_by_reason")})
    if not reasons:
        return '<p class="meta">không có trang bị loại · no page rejected</p>'
    traces = [
        {
            "type": "bar",
            "orientation": "h",
            "name": run.label,
            "y": reasons,
            "x": [run.value("rejects_by_reason").get(reason, 0) for reason in reasons],
        }
        for run in with_rejects
    ]
    layout = _layout(
        "Trang bị loại theo lý do · rejects by reason",
        height=max(320, 90 + 22 * len(reasons) * len(with_rejects)),
        yaxis={"automargin": True, "type": "category"},
        xaxis={"automargin": True, "gridcolor": "#eaeef2", "rangemode": "tozero"},
    )
    return _figure(page, "rejects", traces, layout)


def _duplicates(page: _Page, runs: list[PortalRun]) -> str:
    with_records = [run for run in runs if isinstance(run.value("records"), dict)]
    if not with_records:
        return NO_DATA.format(why="")
    labels = [run.label for run in with_records]
    traces = [
        {"type": "bar", "name": name, "x": labels, "y": [run.value("records").get(key) or 0 for run in with_records]}
        for key, name in (
            ("exact_duplicates", "trùng hệt · exact"),
            ("near_duplicates", "gần trùng · near"),
            ("duplicates_dropped", "đã bỏ · dropped"),
        )
    ]
    layout = _layout("Bản trùng · duplicates", xaxis={"type": "category", "gridcolor": "#eaeef2"})
    return _figure(page, "duplicates", traces, layout)


def _fetch(page: _Page, runs: list[PortalRun]) -> str:
    with_fetch = [run for run in runs if isinstance(run.value("fetch"), dict)]
    if not with_fetch:
        return NO_DATA.format(why=OLD_RUN)
    rows = "".join(
        "<tr>"
        f"<td>{esc(run.label)}</td>"
        f'<td class="num">{_number(run.value("fetch", "attempted"))}</td>'
        f'<td class="num">{_number(run.value("fetch", "failed"))}</td>'
        f'<td class="num">{_share(run.value("fetch", "failed_share"))}</td>'
        f"<td>{esc(_counts_text(run.value('fetch', 'failed_by_kind')))}</td>"
        "</tr>"
        for run in with_fetch
    )
    table = (
        "<table><tr><th>lượt · run</th><th class=num>tải · attempted</th><th class=num>lỗi · failed</th>"
        f"<th class=num>tỷ lệ lỗi · failed share</th><th>lỗi theo loại · by kind</th></tr>{rows}</table>"
    )
    timed = [run for run in with_fetch if (run.value("fetch", "latency") or {}).get("count")]
    if not timed:
        return '<p class="nodata">chưa có thời gian phản hồi · no response timed</p>' + table
    traces = [
        {
            "type": "bar",
            "name": run.label,
            "x": list(LATENCY_STATS),
            "y": [run.value("fetch", "latency").get(stat) for stat in LATENCY_STATS],
        }
        for run in timed
    ]
    layout = _layout(
        "Thời gian phản hồi · response time (s)",
        yaxis={"ticksuffix": " s", "gridcolor": "#eaeef2", "rangemode": "tozero"},
    )
    return _figure(page, "fetch", traces, layout) + table


def _counts_text(counts: dict[str, int] | None) -> str:
    return ", ".join(f"{key}: {count}" for key, count in sorted((counts or {}).items()))


def _checks(runs: list[PortalRun]) -> str:
    """The checks of the newest run in full; older runs' checks folded away."""
    blocks = []
    for position, run in enumerate(reversed(runs)):
        results = manifest_checks(run).get("results")
        if results is None:
            body = NO_DATA.format(why=" (no checks in this run's manifest)")
        elif not results:
            body = '<p class="meta">không có kiểm tra · no check ran</p>'
        else:
            items = "".join(
                f"<li>{badge(result.get('status'))} <strong>{esc(result.get('name'))}</strong>"
                + (f" <code>{esc(result.get('field'))}</code>" if result.get("field") else "")
                + f" — {esc(result.get('message'))}</li>"
                for result in sorted(results, key=lambda item: -_rank(item.get("status")))
            )
            body = f'<ul class="checks">{items}</ul>'
        title = f"{esc(run.label)} {badge(checks_status(run))}"
        blocks.append(
            f"<p>{title}</p>{body}" if position == 0 else f"<details><summary>{title}</summary>{body}</details>"
        )
    return "".join(blocks)


def _rank(status: Any) -> int:
    return STATUS_ORDER.index(status) if status in STATUS_ORDER else -1


def _overview(portal_list: list[PortalRun], names: dict[str, str]) -> str:
    rows = []
    for run in portal_list:
        records = run.value("records") or {}
        duplicates = (
            None if not records else (records.get("exact_duplicates") or 0) + (records.get("near_duplicates") or 0)
        )
        rejects = run.value("rejects_by_reason")
        outcome = (run.row or {}).get("outcome") or run.value("finish_reason")
        message = (run.row or {}).get("message")
        rows.append(
            "<tr>"
            f'<td><a href="#{esc(_anchor(run.portal))}">{esc(names.get(run.portal, run.portal))}</a>'
            f'<br><span class="meta">{esc(run.portal)}</span></td>'
            f"<td>{esc(run.label)}</td>"
            f"<td>{esc(outcome)}{'<br><span class=meta>' + esc(message) + '</span>' if message else ''}</td>"
            f'<td class="num">{_number(run.value("records_written"))}</td>'
            f'<td class="num">{_number(run.value("pages_fetched"))}</td>'
            f'<td class="num">{_share(run.value("fetch", "failed_share"))}</td>'
            f'<td class="num">{_number(duplicates)}</td>'
            f'<td class="num">{_number(sum(rejects.values()) if isinstance(rejects, dict) else None)}</td>'
            f"<td>{badge(checks_status(run))}</td>"
            "</tr>"
        )
    return (
        "<table><tr><th>cổng · portal</th><th>lượt · run</th><th>kết thúc · outcome</th>"
        "<th class=num>bản ghi · records</th><th class=num>trang · pages</th><th class=num>tải lỗi · failed</th>"
        "<th class=num>trùng · duplicates</th><th class=num>loại · rejects</th><th>kiểm tra · checks</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _anchor(portal: str) -> str:
    return "portal-" + "".join(char if char.isalnum() else "-" for char in portal)


def _portal_section(
    page: _Page, portal: str, runs: list[PortalRun], history: list[dict[str, Any]], names: dict[str, str]
) -> str:
    name = names.get(portal, portal)
    status = worst(checks_status(run) for run in runs)
    parts = [
        f'<section id="{esc(_anchor(portal))}" data-portal="{esc(portal)}">',
        f"<h2>{esc(name)} {badge(status)}</h2>",
        f'<p class="meta">{esc(portal)} · {len(runs)} lượt · runs</p>',
    ]
    if all(run.manifest is None for run in runs):
        parts.append(NO_DATA.format(why=" (no manifest: the portal's run wrote none)"))
        parts.append("</section>")
        return "".join(parts)
    charts = [
        _heading("Bản ghi theo ngày", "records per day") + _records_by_day(page, runs),
        _heading("Tỷ lệ có trường", "fill rates") + _fill(page, runs),
        _heading("Trang bị loại", "rejects by reason") + _rejects(page, runs),
        _heading("Bản trùng", "duplicates") + _duplicates(page, runs),
        _heading("Tải trang", "fetch timings and failures") + _fetch(page, runs),
    ]
    trend = _trend(page, runs, history)
    if trend:
        charts.insert(1, _heading("Bản ghi mỗi lượt", "records per run over time") + trend)
    parts.append('<div class="grid">' + "".join(f"<div>{chart}</div>" for chart in charts) + "</div>")
    parts.append(_heading("Kiểm tra", "checks") + _checks(runs))
    parts.append("</section>")
    return "".join(parts)


def render_report(
    runs: list[RunView], history: dict[str, list[dict[str, Any]]] | None = None, *, now: datetime | None = None
) -> str:
    """The report page as text: header, overview table, then a section per portal."""
    import plotly.offline

    portal_list = portal_runs(runs)
    # A run of many portals notes each one's name (its registry may have been a PORTALS_FILE).
    names = _portal_names() | {run.portal: str(run.row["name"]) for run in portal_list if (run.row or {}).get("name")}
    by_portal: dict[str, list[PortalRun]] = {}
    for run in sorted(portal_list, key=lambda item: item.started_at):
        by_portal.setdefault(run.portal, []).append(run)
    page = _Page()
    sections = [
        _portal_section(page, portal, by_portal[portal], (history or {}).get(portal, []), names)
        for portal in sorted(by_portal)
    ]
    statuses = [checks_status(run) for run in portal_list]
    statuses += [(run.summary or {}).get("checks", {}).get("status") for run in runs]
    overall = worst(statuses)
    started = sorted(run.started_at for run in portal_list if run.started_at)
    finished = sorted(str(run.value("finished_at")) for run in portal_list if run.value("finished_at"))
    when = f"{started[0]} → {finished[-1]}" if started and finished else (started[0] if started else "–")
    run_list = "".join(f"<li><code>{esc(run.run_id)}</code> — {esc(run.folder)}</li>" for run in runs)
    generated = (now or datetime.now(ICT)).isoformat(timespec="seconds")
    body = (
        "<header>"
        f"<h1>Báo cáo thu thập <span class=en>· crawl report</span> {badge(overall)}</h1>"
        f'<p class="meta">{len(runs)} lượt · runs, {len(by_portal)} cổng · portals — {esc(when)}</p>'
        f"<details><summary>lượt · runs covered</summary><ul>{run_list}</ul></details>"
        "</header>"
        + _heading("Tổng quan", "overview", 2)
        + _overview(sorted(portal_list, key=lambda item: (item.portal, item.started_at)), names)
        + "".join(sections)
        + f"<footer>vn-portal-crawler · tạo lúc · generated {esc(generated)} · charts: plotly.js, inline</footer>"
    )
    # plotly.js inline once, in the head, and only when the page has a chart (it is most of the page).
    script = f"<script>{plotly.offline.get_plotlyjs()}</script>" if page.figures else ""
    # Each chart is drawn as its <div> is parsed, before the grid has its final columns: size all
    # of them again once the page is laid out.
    resize = f"<script>{RESIZE_ON_LOAD}</script>" if page.figures else ""
    template = Template(files("crawler").joinpath("report_template.html").read_text(encoding="utf-8"))
    title = "Báo cáo thu thập · " + ", ".join(run.run_id for run in runs)
    return template.substitute(title=esc(title), plotly_script=script, body=body, resize_script=resize)


def write_report(runs: list[RunView], out: Path, history: dict[str, list[dict[str, Any]]] | None = None) -> Path:
    """Write the report of `runs` (with the state's `history` per portal for the trend) to `out`:
    to a temporary file beside it first, so a report being rewritten is never seen half-written."""
    text = render_report(runs, history)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.part")
    partial.write_text(text, encoding="utf-8")
    partial.replace(out)
    return out


def report_history(state_path: Path, portals: Iterable[str], limit: int = 30) -> dict[str, list[dict[str, Any]]]:
    """Each portal's finished runs in the state (newest first), for the records-per-run trend."""
    from crawler.state import CrawlState

    state = CrawlState(state_path)
    try:
        return {portal: state.portal_history(portal, limit=limit) for portal in portals}
    finally:
        state.close()
