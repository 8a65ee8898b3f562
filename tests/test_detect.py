"""Platform detection over every fixture and every real page in ../shared/realpages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.platforms import KNOWN_PLATFORMS, PARSERS, detect

from .conftest import FIXTURES, need_shared, realpage_urls

# What each real page is (MANIFEST.tsv); platforms without a parser yet fall back to generic.
EXPECTED_REAL = {
    "liferay/": "liferay",
    "newspapers/vnexpress": "newsarticle",
    "ckan_vnpt/odp": "ckan",
    "wordpress/": "wordpress",
}


def _expected(local: str) -> str | None:
    if not local.endswith(".html"):  # feeds are read by the discovery module, not a page parser
        return None
    return next((platform for prefix, platform in EXPECTED_REAL.items() if local.startswith(prefix)), None)


def test_every_real_page_is_detected_with_evidence() -> None:
    urls = realpage_urls()
    assert urls
    for local, url in urls.items():
        raw = need_shared("realpages", local).read_bytes()
        found = detect(raw.decode("utf-8", "replace"), url)
        assert found.platform in PARSERS, local
        assert found.evidence, local
        if _expected(local):
            assert found.platform == _expected(local), local


FIXTURE_DIRS = sorted(p.parent for p in FIXTURES.glob("*/*/meta.json"))


@pytest.mark.parametrize("fixture_dir", FIXTURE_DIRS, ids=lambda d: f"{d.parent.name}/{d.name}")
def test_fixture_is_detected_as_its_platform(fixture_dir: Path) -> None:
    meta = json.loads((fixture_dir / "meta.json").read_text(encoding="utf-8"))
    found = detect((fixture_dir / "page.html").read_text(encoding="utf-8"), meta["url"])
    assert found.platform == fixture_dir.parent.name
    assert found.platform in KNOWN_PLATFORMS


def test_vnexpress_record() -> None:
    from crawler.extract import extract_record

    local = "newspapers/vnexpress_article_4954454.html"
    html = need_shared("realpages", local).read_text(encoding="utf-8")
    record = extract_record(html, realpage_urls()[local])
    assert record is not None
    assert record["platform"] == "newsarticle"
    assert record["title"] == "Đau bụng kéo dài, phát hiện ung thư lymphoma ruột non"
    assert record["published_at"] == "2025-10-22T19:25:00+07:00"  # the visible date, to the minute
    assert record["published_raw"] == "Thứ tư, 22/10/2025, 19:25 (GMT+7)"
    assert record["updated_at"] == "2025-10-22T19:25:52+07:00"
    assert record["authors"] == ["Lê Phương"]
    assert [i["caption"] for i in record["images"]] == ["Y bác sĩ nội soi cho bệnh nhân. Ảnh: Bệnh viện cung cấp"]
    assert record["body"].startswith("Ngày 22/10, BS.CK2 Cao Thị Hồng")
    assert record["body"].endswith("có thể phẫu thuật, hóa trị hoặc xạ trị.")
    assert "Lê Phương" not in record["body"]
    assert record["summary"].startswith("Người đàn ông 63 tuổi")


@pytest.mark.parametrize(
    "local",
    [
        "newspapers/baotintuc_homepage.html",
        "newspapers/laodong_homepage.html",  # links to laodong.vn from www.laodong.vn: the same site
        "wordpress/tintaynguyen_homepage.html",
        "liferay/sotttt_hanoi_homepage.html",
    ],
)
def test_real_homepages_are_listings_never_articles(local: str) -> None:
    from crawler.platforms import parse_page

    page = parse_page(need_shared("realpages", local).read_text(encoding="utf-8"), realpage_urls()[local])
    assert page.kind == "listing"
    assert page.record is None
    assert len(page.entries) >= 10
