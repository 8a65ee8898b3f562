"""Authors over the author set (tests/authorset/<case>/{page.html[.gz], meta.json}): our own pages
reproducing each WordPress theme's single-post markup around the author (comments, related posts and
a sidebar by other people included), real WordPress posts (trafilatura's test pages) and real news
pages of other CMSs (newspaper4k's), each with the authors read off the page by hand.

Also: byline cleaning, the CMS author reader's refusals, and WordPress excerpts as summaries.
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path

import pytest

from crawler.extract import extract_record
from crawler.platforms.base import clean_byline, looks_like_byline, parse_html
from crawler.platforms.meta import cms_authors

AUTHORSET = Path(__file__).parent / "authorset"
CASES = sorted(p.parent for p in AUTHORSET.glob("*/meta.json"))
WORDPRESS_TARGET = 0.95


def _meta(case: Path) -> dict:
    return json.loads((case / "meta.json").read_text(encoding="utf-8"))


@cache
def _authors(case: Path) -> list[str]:
    """The authors `crawler extract` gives for the case's page ([] when it finds no article)."""
    page = case / "page.html"
    raw = page.read_bytes() if page.exists() else gzip.decompress((case / "page.html.gz").read_bytes())
    record = extract_record(raw.decode("utf-8", errors="replace"), _meta(case)["url"])
    return record["authors"] if record is not None else []


def _param(case: Path) -> object:
    miss = _meta(case).get("known_miss")
    marks = [pytest.mark.xfail(reason=miss, strict=True)] if miss else []
    return pytest.param(case, id=case.name, marks=marks)


def test_authorset_has_every_kind_of_case() -> None:
    names = [c.name for c in CASES]
    assert sum(n.startswith("theme_") for n in names) >= 30
    assert sum(n.startswith("wp_") for n in names) >= 30
    assert sum(n.startswith(("news_", "web_")) for n in names) >= 5


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case_authors(case: Path) -> None:
    assert _authors(case) == _meta(case)["authors"]


def test_share_of_real_wordpress_posts_with_the_right_author() -> None:
    cases = [c for c in CASES if c.name.startswith("wp_")]
    right = [c for c in cases if _authors(c) == _meta(c)["authors"]]
    share = len(right) / len(cases)
    print(f"real WordPress posts with the right authors: {len(right)}/{len(cases)} = {share:.3f}")
    assert share >= WORDPRESS_TARGET


def test_comment_authors_are_never_taken() -> None:
    commenters = {"Trần Văn Bình", "Lê Thị Hoa", "Đỗ Minh Tâm", "Phạm Quang", "Vũ Hùng", "Phan Văn Khải"}
    for case in CASES:
        if case.name.startswith("theme_"):
            assert not commenters & set(_authors(case)), case.name


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ("Tin, ảnh: Hải Yến", ["Hải Yến"]),
        ("Tin và ảnh: Hải Yến", ["Hải Yến"]),
        ("Bài và ảnh: Trần Minh", ["Trần Minh"]),
        ("Bài, ảnh: Thu Hà", ["Thu Hà"]),
        ("Bài: Lê Hằng", ["Lê Hằng"]),
        ("Tin: N.T", ["N.T"]),
        ("Ảnh: Hải Yến", ["Hải Yến"]),
        ("Tác giả: Nguyễn Văn An", ["Nguyễn Văn An"]),
        ("Minh Anh (tổng hợp)", ["Minh Anh"]),
        ("Minh Anh (TH)", ["Minh Anh"]),
        ("Minh Anh (t/h)", ["Minh Anh"]),
        ("Thu Hà - TTXVN", ["Thu Hà"]),
        ("Thu Hà (TTXVN)", ["Thu Hà"]),
        ("Tố Tuấn – Nhật Quang", ["Tố Tuấn", "Nhật Quang"]),
        ("An Bình, Bảo Cường và Chí Dũng", ["An Bình", "Bảo Cường", "Chí Dũng"]),
        ("VĂN HÀO - TRẦN HỮU 30/04/2016 11:39", ["VĂN HÀO", "TRẦN HỮU"]),
        ("Nhóm PV", ["Nhóm PV"]),
        ("Phòng Công tác xã hội", ["Phòng Công tác xã hội"]),
        ("By Dan Goodin - Apr 16, 2015 8:02 pm UTC", ["Dan Goodin"]),
        ("Posted by John Smith on June 5, 2019", ["John Smith"]),
        ("bởi Phòng Tham mưu", ["Phòng Tham mưu"]),
        ("Published by", []),
    ],
)
def test_byline_cleaning(line: str, names: list[str]) -> None:
    assert clean_byline(line) == names


def test_a_source_line_is_no_byline() -> None:
    assert not looks_like_byline("Nguồn: Báo Kon Tum")
    assert not looks_like_byline("(Theo Báo Kon Tum)")
    assert looks_like_byline("Tin, ảnh: Hải Yến")


def _article(byline: str, head: str = "", excerpt: str = "") -> str:
    return f"""<html><head><title>Tập huấn chuyển đổi số cho cán bộ xã - Sở Nội vụ</title>
<meta name="generator" content="WordPress 6.5" /><meta property="og:site_name" content="Sở Nội vụ" />{head}</head>
<body class="single single-post postid-7"><article id="post-7" class="post-7 post type-post hentry">
<header class="entry-header"><h1 class="entry-title">Tập huấn chuyển đổi số cho cán bộ xã</h1>{excerpt}
<div class="entry-meta">{byline}</div></header>
<div class="entry-content"><p>Ngày 5/4, Sở Nội vụ tổ chức lớp tập huấn kỹ năng số cho 120 cán bộ, công chức cấp xã trên
địa bàn tỉnh, tập trung vào dịch vụ công trực tuyến và an toàn thông tin.</p>
<p>Lớp học kéo dài hai ngày với các nội dung thực hành trên hệ thống một cửa điện tử của tỉnh./.</p></div>
</article></body></html>"""


URL = "https://snv.example.gov.vn/2025/04/tap-huan-chuyen-doi-so/"


def _vcard(name: str, href: str) -> str:
    link = f'<a class="url fn n" href="{href}">{name}</a>'
    return f'<span class="byline">bởi <span class="author vcard">{link}</span></span>'


@pytest.mark.parametrize(
    "byline",
    [
        _vcard("admin", "/author/admin/"),
        _vcard("Sở Nội vụ", "/author/snv/"),
        _vcard("qtv_2019", "/author/x/"),
        '<span class="byline"><a class="url fn n" href="mailto:bbt@snv.gov.vn">bbt@snv.gov.vn</a></span>',
    ],
    ids=["admin", "site-name", "login", "e-mail"],
)
def test_accounts_and_addresses_are_no_authors(byline: str) -> None:
    assert cms_authors(parse_html(_article(byline))) == []
    record = extract_record(_article(byline), URL)
    assert record is not None and record["authors"] == []


def test_meta_author_that_is_a_url_is_no_author() -> None:
    head = '<meta property="article:author" content="https://www.facebook.com/snv" />'
    assert cms_authors(parse_html(_article("", head))) == []


def test_the_raw_byline_is_kept() -> None:
    byline = '<span class="byline"><span class="author vcard">Tin, ảnh: <span class="fn">Hải Yến</span></span></span>'
    record = extract_record(_article('<p class="post-author">Tin, ảnh: Hải Yến (tổng hợp)</p>'), URL)
    assert record is not None
    assert record["authors"] == ["Hải Yến"]
    assert record["byline_raw"] == "Tin, ảnh: Hải Yến (tổng hợp)"
    assert extract_record(_article(byline), URL)["authors"] == ["Hải Yến"]


def test_explicit_excerpt_is_the_summary() -> None:
    excerpt = '<p class="entry-summary">Hơn 120 cán bộ xã được tập huấn kỹ năng số.</p>'
    cut = "Ngày 5/4, Sở Nội vụ tổ chức lớp tập huấn kỹ năng số cho 120 […]"
    head = f'<meta property="og:description" content="{cut}" />'
    record = extract_record(_article("", head, excerpt), URL)
    assert record is not None and record["summary"] == "Hơn 120 cán bộ xã được tập huấn kỹ năng số."


def test_description_cut_from_the_body_is_no_summary() -> None:
    cut = "Ngày 5/4, Sở Nội vụ tổ chức lớp tập huấn kỹ năng số cho 120 cán…"
    head = f'<meta property="og:description" content="{cut}" />'
    record = extract_record(_article("", head), URL)
    assert record is not None and record["summary"] is None


def test_written_description_is_the_summary() -> None:
    head = '<meta property="og:description" content="Cán bộ xã làm quen với dịch vụ công trực tuyến." />'
    record = extract_record(_article("", head), URL)
    assert record is not None and record["summary"] == "Cán bộ xã làm quen với dịch vụ công trực tuyến."
