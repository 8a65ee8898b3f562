"""Dropped items are one line naming the page and the reason, at the level the drop asks for."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.exceptions import DropItem
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.items import ParserInfo, PortalRecord
from crawler.logformat import PortalLogFormatter, drop_level
from crawler.middlewares import SettingsError
from crawler.settings import DEFAULT_DROPITEM_LOG_LEVEL

URL = "https://quangngai.gov.vn/tin-tuc/bai-viet-1.html"
BODY = "Nội dung bài viết rất dài. " * 200


class QuietDrop(DropItem):
    """A drop class that names its level on the class, as the pipelines' drops do."""

    log_level = "DEBUG"


def record() -> PortalRecord:
    return PortalRecord(
        url=URL,
        canonical_url=URL,
        portal="quang-ngai",
        platform="generic",
        parser=ParserInfo("generic", "1.0"),
        title="Bài viết",
        body=BODY,
    )


def formatter() -> PortalLogFormatter:
    return PortalLogFormatter.from_crawler(get_crawler(settings_dict={"DEFAULT_DROPITEM_LOG_LEVEL": "INFO"}))


def test_a_drop_is_one_line_with_the_url_and_reason_never_the_record() -> None:
    result = formatter().dropped(record(), DropItem("published 2020-01-01, before since=2024-01-01"), None, None)
    line = result["msg"] % result["args"]
    assert line == f"Dropped {URL}: published 2020-01-01, before since=2024-01-01"
    assert "Nội dung" not in line


@pytest.mark.parametrize(
    ("exception", "level"),
    [
        (DropItem("no level given"), logging.INFO),
        (DropItem("level on the instance", log_level="WARNING"), logging.WARNING),
        (DropItem("lower case name", log_level="debug"), logging.DEBUG),
        (QuietDrop("level on the class"), logging.DEBUG),
        (QuietDrop("the instance's level wins", log_level="ERROR"), logging.ERROR),
    ],
)
def test_a_drop_is_logged_at_its_own_level_else_info(exception: DropItem, level: int) -> None:
    assert formatter().dropped(record(), exception, None, None)["level"] == level


def test_the_project_logs_drops_without_a_level_at_info() -> None:
    assert DEFAULT_DROPITEM_LOG_LEVEL == "INFO"
    assert drop_level(DropItem("x")) == logging.INFO


def test_a_drop_of_an_item_without_url_names_its_type() -> None:
    result = formatter().dropped({"title": "x"}, DropItem("why"), None, None)
    assert result["msg"] % result["args"] == "Dropped <dict without url>: why"


def test_a_pipeline_error_names_the_page_not_the_record() -> None:
    result = formatter().item_error(record(), ValueError("boom"), None, None)
    assert result["level"] == logging.ERROR
    assert result["msg"] % result["args"] == f"Error processing {URL}"


def test_an_unknown_default_drop_level_is_refused_in_one_line() -> None:
    with pytest.raises(SettingsError, match="DEFAULT_DROPITEM_LOG_LEVEL takes DEBUG, INFO"):
        PortalLogFormatter.from_crawler(get_crawler(settings_dict={"DEFAULT_DROPITEM_LOG_LEVEL": "LOUD"}))


def test_a_crawl_logs_its_drop_as_one_line(site: str, tmp_path: Path) -> None:
    """The demo portal has one article whose date nobody can parse: its drop is one line in crawl.log."""
    out = tmp_path / "run"
    result = subprocess.run(
        [
            *(sys.executable, "-m", "crawler.cli", "crawl", f"{site}/vi/tin-tuc-su-kien"),
            *("--out", str(out), "--state", str(tmp_path / "state.sqlite"), "--delay", "0"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    log = (out / "crawl.log").read_text(encoding="utf-8")
    drops = [line for line in log.splitlines() if "Dropped " in line]
    assert len(drops) == 1
    assert f": Dropped {site}/" in drops[0]  # at the level InvalidRecord names
    assert drops[0].endswith(": date shown but not understood")
    assert "PortalRecord(" not in log


def test_a_scraped_item_is_one_debug_line_naming_the_page() -> None:
    result = formatter().scraped(record(), HtmlResponse(URL, body=b"<html></html>"), None)
    assert result["level"] == logging.DEBUG
    assert result["msg"] % result["args"] == f"Scraped {URL} from <200 {URL}>"
