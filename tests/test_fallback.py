"""The fallback chain: a platform parser that fails, finds no article on an article page, or returns
an unbelievable record hands the page to the generic reader; the better record wins and says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.demo.site import Route
from crawler.extract import extract_record
from crawler.items import ParserInfo, PortalRecord
from crawler.platforms import generic, liferay, parse_page, sanity, wordpress
from crawler.platforms.base import parse_html

from .conftest import FIXTURES
from .test_crawl import crawl_routes

PARAGRAPHS = [
    "Ủy ban nhân dân tỉnh vừa tổ chức hội nghị sơ kết công tác cải cách hành chính sáu tháng đầu năm, "
    "với sự tham dự của lãnh đạo các sở, ban, ngành và các huyện, thị xã, thành phố trong tỉnh.",
    "Theo báo cáo, tỷ lệ hồ sơ giải quyết đúng hạn đạt trên 98%, dịch vụ công trực tuyến toàn trình được "
    "người dân và doanh nghiệp sử dụng ngày càng nhiều, góp phần giảm thời gian và chi phí đi lại.",
    "Phát biểu kết luận, đồng chí Phó Chủ tịch đề nghị các đơn vị tiếp tục rà soát quy trình, đẩy mạnh "
    "số hóa hồ sơ và nâng cao chất lượng phục vụ trong những tháng cuối năm./.",
]


def _fixture(platform: str, case: str) -> tuple[str, str]:
    folder = FIXTURES / platform / case
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    return (folder / "page.html").read_text(encoding="utf-8"), meta["url"]


def _wordpress_page(title_markup: str, body_markup: str) -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return f"""<html><head><title>Hội nghị sơ kết cải cách hành chính sáu tháng đầu năm – Sở Nội vụ</title>
<meta property="og:site_name" content="Sở Nội vụ">
<link rel="stylesheet" href="/wp-content/themes/x/style.css"></head>
<body class="single single-post postid-7"><header>{title_markup}</header>
<div class="entry-content">{body_markup}</div>
<div class="bai-viet"><h2>Hội nghị sơ kết cải cách hành chính sáu tháng đầu năm</h2>
<div class="ngay">12/07/2024 09:00</div><div class="noi-dung">{paragraphs}</div></div></body></html>"""


def test_a_parser_exception_is_a_fallback_not_a_lost_page(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(tree: object, url: str) -> object:
        raise RuntimeError("template changed")

    html, url = _fixture("liferay", "demo_seed_4898")
    expected = extract_record(html, url)
    monkeypatch.setattr(liferay, "parse_tree", broken)
    page = parse_page(html, url)
    assert page.kind == "article"
    assert page.fallback == "parser error"
    record = extract_record(html, url)
    assert record is not None
    assert record["platform"] == "liferay"
    assert record["parser"]["name"] == "generic"
    assert record["parser"]["fallback_from"] == "liferay"
    assert "RuntimeError: template changed" in record["parser"]["fallback_reason"]
    # The generic reader gets the same report out of the Liferay page.
    assert record["title"] == expected["title"]
    assert record["body"] == expected["body"]


def test_every_parser_failing_keeps_the_page_links(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(tree: object, url: str) -> object:
        raise ValueError("boom")

    monkeypatch.setattr(liferay, "parse_tree", broken)
    monkeypatch.setattr(generic, "parse_tree", broken)
    html, url = _fixture("liferay", "demo_seed_4898")
    page = parse_page(html, url)
    assert page.record is None
    assert page.kind == "other"
    assert page.fallback == "parser error"
    assert "liferay parser failed: ValueError: boom" in (page.reason or "")
    assert page.links


def test_unknown_wordpress_theme_gives_its_post_through_the_fallback() -> None:
    record = extract_record(*_fixture("wordpress", "unknown_theme_post"))
    assert record is not None
    assert record["platform"] == "wordpress"
    assert record["parser"] == {
        "name": "generic",
        "version": generic.VERSION,
        "fallback_from": "wordpress",
        "fallback_reason": "listing on an article page",
    }
    assert record["title"] == "Tăng cường tuyên truyền phòng, chống dịch sốt xuất huyết mùa mưa"
    assert record["body"].endswith("gia đình và cộng đồng./.")
    assert "Khi có dấu hiệu sốt cao đột ngột" in record["body"]  # the list is kept
    for noise in ("Nguyễn Văn An", "Bài viết khác", "Tiêm chủng mở rộng", "Chia sẻ", "Facebook"):
        assert noise.lower() not in record["body"].lower()


def test_unknown_drupal_theme_gives_its_node_through_the_fallback() -> None:
    record = extract_record(*_fixture("drupal", "unknown_theme_node"))
    assert record is not None
    assert (record["platform"], record["parser"]["name"], record["parser"]["fallback_from"]) == (
        "drupal",
        "generic",
        "drupal",
    )
    assert record["parser"]["fallback_reason"] == "no article found"
    assert record["authors"] == ["Minh Châu"]
    assert record["published_at"] == "2024-10-14T15:20:00+07:00"


def test_unknown_json_ld_template_reads_the_element_holding_the_prose() -> None:
    record = extract_record(*_fixture("newsarticle", "unknown_template"))
    assert record is not None
    assert record["parser"]["name"] == "newsarticle"
    assert len(record["body"].split("\n\n")) == 3
    assert "Đọc nhiều" not in record["body"] and "Giá lúa" not in record["body"]


def test_site_name_as_title_falls_back_to_the_generic_reader() -> None:
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    html = _wordpress_page('<h1 class="entry-title">Sở Nội vụ</h1>', body)
    record = extract_record(html, "https://snv.example.gov.vn/2024/07/hoi-nghi-so-ket/")
    assert record is not None
    assert record["parser"]["fallback_reason"] == "title is the site name"
    assert record["title"] == "Hội nghị sơ kết cải cách hành chính sáu tháng đầu năm"


def test_a_sign_up_box_is_no_body() -> None:
    box = (
        "<h3>Nhận bản tin của Sở</h3><p>Đăng ký nhận bản tin: nhập email của bạn để nhận tin mới mỗi ngày, "
        "lịch tiếp công dân và thông báo tuyển dụng.</p><p>Email của bạn</p>"
    )
    html = _wordpress_page('<h1 class="entry-title">Hội nghị sơ kết cải cách hành chính</h1>', box)
    record = extract_record(html, "https://snv.example.gov.vn/2024/07/hoi-nghi-so-ket/")
    assert record is not None
    assert record["parser"]["fallback_reason"] == "body is a sign-up or log-in box"
    assert record["body"].startswith("Ủy ban nhân dân tỉnh vừa tổ chức hội nghị")


def test_a_believable_platform_record_is_not_second_guessed() -> None:
    html, url = _fixture("wordpress", "classic_post")
    page = parse_page(html, url)
    assert page.fallback is None
    assert page.record is not None and page.record.parser.name == wordpress.NAME


def test_when_both_are_doubtful_the_platform_record_stands() -> None:
    """A short notice: the platform's title is right, and the generic reader finds nothing better."""
    html = """<html><head><title>Thông báo lịch tiếp công dân - Sở Nội vụ</title>
<link rel="stylesheet" href="/wp-content/x.css"></head><body class="single-post">
<h1 class="entry-title">Thông báo lịch tiếp công dân tháng 8</h1>
<div class="entry-content"><p>Xem lịch kèm theo.</p></div></body></html>"""
    page = parse_page(html, "https://snv.example.gov.vn/thong-bao-lich-tiep-cong-dan/")
    assert page.fallback is None  # doubted, but the platform's record stands: no fallback is counted
    assert page.record is not None
    assert page.record.parser.name == "wordpress"
    assert page.record.title == "Thông báo lịch tiếp công dân tháng 8"


@pytest.mark.parametrize(
    ("title", "problem"),
    [
        ("", "no title"),
        ("Trang chủ", "title is a section label"),
        ("Trung ương", "title is a section label"),
        ("Cổng thông tin điện tử tỉnh Kon Tum", "title is the site name"),
        ("Hội nghị sơ kết công tác thông tin đối ngoại", None),
    ],
)
def test_title_sanity(title: str, problem: str | None) -> None:
    tree = parse_html(
        "<html><head><title>Hội nghị sơ kết công tác thông tin đối ngoại - Cổng thông tin điện tử tỉnh Kon Tum"
        "</title></head><body><p>x</p></body></html>"
    )
    assert tree is not None
    record = PortalRecord("https://x.gov.vn/a", "https://x.gov.vn/a", "x", "generic", ParserInfo("generic", "1"), title)
    assert sanity.title_problem(record, tree) == problem


def test_crawl_counts_fallbacks_and_repairs_in_the_manifest(tmp_path: Path) -> None:
    pages = {
        "/tin/wordpress-unknown-theme-post-2817.html": _fixture("wordpress", "unknown_theme_post")[0],
        "/tin/drupal-unknown-theme-node-2145.html": _fixture("drupal", "unknown_theme_node")[0],
        "/tin/bao-quang-ngai-cau-dan-sinh-4321.html": _fixture("newsarticle", "unknown_template")[0],
        "/tin/van-ban-dan-tu-word-nhieu-the-9001.html": (
            "<html><head><title>Báo cáo tổng kết năm</title></head><body><h1>Báo cáo tổng kết công tác năm 2024</h1>"
            "<div class='ngay'>20/12/2024</div>"
            + "".join(f"<div><span>Đoạn {i}: {PARAGRAPHS[i % 3]}" for i in range(300))
            + "</body></html>"
        ),
    }
    links = "".join(f'<li><a href="{path}">{path[5:-5].replace("-", " ")} bài viết</a></li>' for path in pages)
    routes = {path: Route(200, html.encode()) for path, html in pages.items()}
    routes["/"] = Route(200, f"<html><body><ul>{links}</ul></body></html>".encode())
    routes["/robots.txt"] = Route(200, b"User-agent: *\n", "text/plain")
    out = tmp_path / "run"
    result = crawl_routes(routes, out)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (out / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == 4
    deep = next(r for r in records if r["title"] == "Báo cáo tổng kết công tác năm 2024")
    assert len(deep["body"].split("\n\n")) == 300  # every paragraph of the 600-level-deep markup
    extraction = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["extraction"]
    # The post's related teasers link to its real host, not to this one: no listing, no article.
    assert extraction["fallbacks"] == {"no_article_found": 2}
    assert extraction["records_by_parser"] == {"generic": 3, "newsarticle": 1}
    assert extraction["markup_repairs"] == {"deep_nesting_flattened": 1}


def test_a_listing_with_a_site_wide_article_mark_stays_a_listing() -> None:
    """og:type=article on every page of a portal does not turn its category pages into articles."""
    folder = FIXTURES / "nukeviet" / "news_listing"
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    html = (folder / "page.html").read_text(encoding="utf-8")
    marked = html.replace("</head>", '<meta property="og:type" content="article"></head>', 1)
    expected = parse_page(html, meta["url"])
    page = parse_page(marked, meta["url"])
    assert page.kind == "listing" and page.record is None
    assert [e.url for e in page.entries] == [e.url for e in expected.entries]


def test_a_wordpress_category_holding_one_post_stays_a_listing() -> None:
    html = """<html><head><title>Tin tức – Công an tỉnh</title><link rel="stylesheet" href="/wp-content/x.css">
<meta property="og:type" content="article"></head><body class="archive category category-tin-tuc">
<article id="post-41" class="post-41 post type-post"><h2 class="entry-title">
<a href="https://ca.example.gov.vn/2025/03/tuyen-truyen-an-toan-giao-thong/">
Tuyên truyền an toàn giao thông cho học sinh</a></h2><div class="entry-summary">
<p>Công an tỉnh phối hợp với các trường học tổ chức buổi tuyên truyền về an toàn giao
thông cho hơn 500 học sinh trên địa bàn thành phố trong tuần qua.</p></div></article></body></html>"""
    page = parse_page(html, "https://ca.example.gov.vn/category/tin-tuc/")
    assert page.kind == "listing" and page.record is None
    assert page.entries[0].url == "https://ca.example.gov.vn/2025/03/tuyen-truyen-an-toan-giao-thong/"


def test_a_post_whose_title_ends_the_breadcrumb_keeps_it() -> None:
    """Yoast's breadcrumb ends with the post's own title, unlinked: that is no section name."""
    html, url = _fixture("wordpress", "unknown_theme_post")
    crumbs = (
        '<nav class="breadcrumbs"><a href="/">Trang chủ</a> » <a href="/category/tin-tuc/">Tin tức</a> » '
        '<span class="breadcrumb_last">Tăng cường tuyên truyền phòng, chống dịch sốt xuất huyết mùa mưa</span></nav>'
    )
    record = extract_record(html.replace('<main class="khung-chinh">', f'<main class="khung-chinh">{crumbs}', 1), url)
    assert record is not None
    assert record["title"] == "Tăng cường tuyên truyền phòng, chống dịch sốt xuất huyết mùa mưa"
    assert record["parser"]["fallback_from"] == "wordpress"


def test_a_section_page_without_an_article_gives_no_record() -> None:
    """A page whose only title is its section's name (a menu entry) is no article, whoever reads it."""
    html = """<html><head><title>Hỏi đáp - Sở Nội vụ</title><link rel="stylesheet" href="/wp-content/x.css">
</head><body><ul class="main-menu"><li><a href="/">Trang chủ</a></li><li><a href="/hoi-dap/">Hỏi đáp</a></li></ul>
<h1>Hỏi đáp</h1><div class="noi-dung"><p>Câu hỏi: Thủ tục cấp lại giấy phép hành nghề cần những giấy tờ gì,
nộp ở đâu và trong thời hạn bao lâu thì được giải quyết theo quy định hiện hành?</p>
<p>Trả lời: Hồ sơ gồm đơn đề nghị và bản sao giấy phép cũ, nộp tại Trung tâm Phục vụ hành chính công tỉnh.</p>
</div></body></html>"""
    assert extract_record(html, "https://snv.example.gov.vn/hoi-dap/") is None
