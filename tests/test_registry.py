"""The portal registry: complete, consistent, validated on load."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from crawler.platforms import KNOWN_PLATFORMS
from crawler.registry import RegistryError, load_registry, parse_registry

from .conftest import MINIMAL_PORTAL, need_shared

GOOD = MINIMAL_PORTAL


def test_every_current_unit_is_registered() -> None:
    with need_shared("data", "provinces_34_2025.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    registry = load_registry()
    codes = {e.code for e in registry if e.status != "legacy" and e.kind == "province"}
    assert codes == {row["code"] for row in rows}
    assert len(rows) == 34


def test_every_legacy_province_is_covered() -> None:
    with need_shared("data", "provinces_63_pre2025.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    registry = load_registry()
    assert len(rows) == 63
    for row in rows:
        entry = registry.for_url(f"https://www.{row['portal_domain']}/")
        assert entry is not None, row["name"]
        assert entry.code == row["new_code_2025"], row["name"]


def test_kon_tum_is_legacy_and_merged_into_quang_ngai() -> None:
    entry = load_registry().get("kon-tum")
    assert entry is not None
    assert (entry.status, entry.code, entry.legacy_code, entry.merged_into) == ("legacy", "51", "62", "51")
    assert entry.province().current_name == "Quảng Ngãi"
    assert entry.province().legacy_name == "Kon Tum"


def test_entries_are_valid() -> None:
    for entry in load_registry():
        assert entry.platform in KNOWN_PLATFORMS
        assert entry.start_urls
        assert entry.current_name


def test_longest_domain_wins() -> None:
    assert load_registry().for_url("http://sotttt.hanoi.gov.vn/vi/x").slug == "sotttt-hanoi"
    assert load_registry().for_url("https://dttm.hue.gov.vn/").slug == "hue"
    assert load_registry().for_url("http://127.0.0.1:8000/") is None


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (GOOD + GOOD, "duplicate portal slug 'quang-ngai'"),
        (GOOD.replace('platform = "unknown"', 'platform = "wix"'), "unknown platform 'wix'"),
        (GOOD.replace("https://quangngai.gov.vn/", "quangngai.gov.vn"), "is not an http(s) URL"),
        (GOOD.replace('status = "active"', 'status = "maybe"'), "has status 'maybe'"),
        (GOOD.replace('slug = "quang-ngai"\n', ""), "lacks slug"),
        ("[[portal]\n", "not valid TOML"),
    ],
)
def test_bad_registry_gives_one_clear_error(broken: str, message: str) -> None:
    with pytest.raises(RegistryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_registry(broken)


def test_portal_settings_reach_the_spider(tmp_path: Path) -> None:
    from scrapy.crawler import Crawler

    from crawler.spiders.portal import PortalSpider

    entry = load_registry().get("bac-giang")
    assert entry is not None
    assert dict(entry.settings) == {"DOWNLOADER_CLIENT_TLS_CIPHERS": "DEFAULT:@SECLEVEL=1"}
    # Settings not yet frozen, as in a crawl.
    crawler = Crawler(PortalSpider, {"DOWNLOAD_DELAY": 1.0, "STATE_PATH": str(tmp_path / "state.sqlite")})
    spider = PortalSpider.from_crawler(crawler, portal="bac-giang")
    assert crawler.settings.get("DOWNLOADER_CLIENT_TLS_CIPHERS") == "DEFAULT:@SECLEVEL=1"
    assert spider.crawl_mode == "first"
    spider.crawl_state.close()


def test_portal_settings_must_be_setting_names() -> None:
    with pytest.raises(RegistryError, match="settings must be a table"):
        parse_registry(GOOD + 'settings = { download_delay = "2" }\n')
