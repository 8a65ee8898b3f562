"""The live status line (crawler.progress): on a terminal free of the log, never in a pipe.

The end-to-end tests run real crawls of the demo portal with stderr attached to a pseudo-terminal
(the child sees a TTY, as in an interactive shell) or to a pipe (cron, CI)."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from crawler.middlewares import SettingsError
from crawler.progress import PagesPerMinute, ProgressLine, elapsed_text, progress_wanted

STATUS = re.compile(
    r"pages (?P<pages>\d+) \| records (?P<records>\d+) \| rejects (?P<rejects>\d+) \| \d+ pages/min"
    r" \| queue \d+ \| \d+:\d\d:\d\d"
)


class FakeStream(io.StringIO):
    """A text stream that says whether it is a terminal."""

    def __init__(self, terminal: bool) -> None:
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


def run_on_terminal(command: list[str], columns: int = 200) -> tuple[int, str, str]:
    """Run `command` with stderr on a pseudo-terminal `columns` wide; (exit status, stdout, what the
    terminal received)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave) as process:
        os.close(slave)
        received = bytearray()
        while True:
            ready, _, _ = select.select([master], [], [], 300)
            if not ready:
                process.kill()
                pytest.fail(f"no output on the terminal for 300 s from {command}")
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer of the terminal has closed it (the child exited)
                break
            if not chunk:
                break
            received += chunk
        os.close(master)
        assert process.stdout is not None
        stdout = process.stdout.read().decode()
        code = process.wait(timeout=300)
    return code, stdout, received.decode()


def crawl_command(site: str, tmp_path: Path, *settings: str) -> list[str]:
    out = tmp_path / "run"
    command = [sys.executable, "-m", "crawler.cli", "crawl", f"{site}/vi/tin-tuc-su-kien", "--out", str(out)]
    command += ["--state", str(tmp_path / "state.sqlite"), "--delay", "0"]
    for setting in settings:
        command += ["-s", setting]
    return command


def test_a_crawl_on_a_terminal_shows_one_status_line_with_its_counts(site: str, tmp_path: Path) -> None:
    code, stdout, terminal = run_on_terminal(crawl_command(site, tmp_path))
    assert code == 0, terminal
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text(encoding="utf-8"))
    redraws = [part.strip() for part in terminal.split("\r") if part.strip()]
    assert redraws, terminal
    assert all(STATUS.fullmatch(line) for line in redraws), redraws
    final = STATUS.fullmatch(redraws[-1])
    assert final is not None
    assert int(final["pages"]) == manifest["pages_fetched"] > 0
    assert int(final["records"]) == manifest["records_written"] > 0
    assert int(final["rejects"]) == sum(manifest["rejects_by_reason"].values()) > 0
    assert terminal.endswith("\n")  # the summary starts on a line of its own
    assert f"{manifest['records_written']} records from" in stdout
    assert "Spider closed (finished)" in (tmp_path / "run" / "crawl.log").read_text(encoding="utf-8")


def test_a_crawl_into_a_pipe_prints_no_status_line(site: str, tmp_path: Path) -> None:
    result = subprocess.run(crawl_command(site, tmp_path), capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "pages/min" not in result.stderr
    assert "\r" not in result.stderr
    assert "records from" in result.stdout


def test_scrapy_crawl_logging_to_the_terminal_draws_no_status_line(site: str, tmp_path: Path) -> None:
    """The log lines already tell the story there, and a status line would tear them apart."""
    command = [sys.executable, "-m", "scrapy", "crawl", "portal", "-a", f"url={site}/vi/tin-tuc-su-kien"]
    command += ["-s", f"RUN_DIR={tmp_path / 'run'}", "-s", f"STATE_PATH={tmp_path / 'state.sqlite'}"]
    code, _, terminal = run_on_terminal([*command, "-s", "DOWNLOAD_DELAY=0"])
    assert code == 0, terminal
    assert "Spider closed (finished)" in terminal
    assert "'crawler.export.RunWriter'" in terminal  # the log lists the extensions enabled
    assert "crawler.progress.ProgressLine" not in terminal  # neither enabled nor a warning that it is not
    assert not STATUS.search(terminal)


def test_a_status_line_is_cut_to_the_terminal_width(site: str, tmp_path: Path) -> None:
    """A line that wrapped could not be redrawn in place by a carriage return."""
    code, _, terminal = run_on_terminal(crawl_command(site, tmp_path), columns=30)
    assert code == 0, terminal
    redraws = [part.rstrip("\n") for part in terminal.split("\r") if part.strip()]
    assert redraws
    assert all(len(line) <= 29 for line in redraws), redraws
    assert all(line.startswith("pages ") for line in redraws), redraws


def test_an_unknown_progress_value_is_one_line(site: str, tmp_path: Path) -> None:
    result = subprocess.run(
        crawl_command(site, tmp_path, "PROGRESS=sometimes"), capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 2
    assert result.stderr == "crawler: PROGRESS takes auto, on or off, not 'sometimes'\n"


@pytest.mark.parametrize(
    ("settings", "terminal", "wanted"),
    [
        ({"LOG_FILE": "crawl.log"}, True, True),
        ({"LOG_ENABLED": False}, True, True),
        ({}, True, False),  # the log goes to stderr
        ({"LOG_FILE": "crawl.log"}, False, False),  # cron, CI, a pipe
        ({"PROGRESS": "on"}, False, True),
        ({"PROGRESS": "On", "LOG_FILE": "crawl.log"}, False, True),
        ({"PROGRESS": "off", "LOG_FILE": "crawl.log"}, True, False),
        ({"PROGRESS": "False", "LOG_FILE": "crawl.log"}, True, False),
        ({"PROGRESS": True}, False, True),
    ],
)
def test_when_the_line_is_drawn(settings: dict, terminal: bool, wanted: bool) -> None:
    assert progress_wanted(Settings(settings), FakeStream(terminal)) is wanted


def test_an_unknown_progress_value_is_refused() -> None:
    with pytest.raises(SettingsError, match="PROGRESS takes auto, on or off, not 'yes please'"):
        progress_wanted(Settings({"PROGRESS": "yes please"}), FakeStream(True))


def test_the_line_counts_records_written_and_rejects_and_blanks_a_longer_line() -> None:
    crawler = get_crawler(settings_dict={"PROGRESS": "on"})
    stream = FakeStream(True)
    line = ProgressLine(crawler, stream)
    for name, value in {"downloader/response_count": 1200, "export/new": 700, "export/updated": 20}.items():
        crawler.stats.set_value(name, value)
    crawler.stats.set_value("export/unchanged_rewritten", 3)
    crawler.stats.set_value("export/over_max_items", 50)  # not written: not counted
    line.page_rejected("https://example.gov.vn/a", "http_404", "404")
    line.item_dropped({}, None, None, None)
    line.drawn_width = 90  # the line drawn before was longer: what it leaves is blanked
    line.redraw()
    assert stream.getvalue() == "\r" + "pages 1200 | records 723 | rejects 2 | 0 pages/min | 0:00:00".ljust(90)


def test_pages_per_minute_follows_the_last_minute() -> None:
    rate = PagesPerMinute(window=60)
    assert rate.add(0, 0) == 0
    assert rate.add(30, 60) == 120  # 60 pages in half a minute
    assert rate.add(60, 120) == 120
    assert rate.add(90, 120) == 60  # measured from 30 s, a minute ago: 60 pages since
    assert rate.add(150, 120) == 0  # nothing in the last minute


def test_elapsed_time_reads_as_hours_minutes_seconds() -> None:
    assert elapsed_text(0) == "0:00:00"
    assert elapsed_text(65.9) == "0:01:05"
    assert elapsed_text(3 * 3600 + 7) == "3:00:07"
