"""The Liferay parser on the real sotttt.hanoi.gov.vn pages in ../shared/realpages (skipped when absent).

Expected values were read off the pages by hand: title, date to the minute, body edges, captions,
byline, editor account.
"""

from __future__ import annotations

import pytest

from crawler.extract import extract_record
from crawler.platforms import detect, parse_page
from crawler.text import paragraphs

from .conftest import need_shared, realpage_urls

ARTICLES = {
    "sotttt_hanoi_article_cntt_1152990.html": {
        "title": "Sở TT&TT sơ kết 10 ngày triển khai dịch vụ công mức độ 3 cấp phường",
        "published_at": "2016-08-25T16:09:00+07:00",
        "first": "Thực hiện Kế hoạch số 146/KH-UBND ngày 30/7/2016",
        "last_end": "tập trung tại các đơn vị làm điểm./.",
        "paragraphs": 8,
        "captions": ["Đ/c Phan Lan Tú - Giám đốc Sở Thông tin và Truyền thông phát biểu tại hội nghị. Ảnh: Hải Yến"],
        "authors": ["Hải Yến"],
        "editor": "Pho Ban bien tap",
    },
    "sotttt_hanoi_article_tintuc_1005455.html": {
        "title": "Tuyên truyền Bộ luật Tố tụng hình sự năm 2015",
        "published_at": "2016-05-13T16:59:00+07:00",
        "first": "Bộ luật Tố tụng hình sự năm 2015 với nhiều sửa đổi",
        "last_end": "theo quy định của Bộ luật Tố tụng hình sự năm 2015./.",
        "paragraphs": 6,
        "captions": [],
        "authors": ["Đặng Vân"],
        "editor": "Pho Ban bien tap",
        "view_count": 1501,
    },
    "sotttt_hanoi_article_thanhtra_1261364.html": {
        "title": "Kết quả thanh tra hoạt động kinh doanh dịch vụ nội dung thông tin trên mạng viễn thông di động",
        "published_at": "2016-09-19T14:26:00+07:00",
        "first": "Thanh tra Sở Thông tin và Truyền thông thành phố Hà Nội vừa tổ chức thanh tra",
        "last_end": "khi sử dụng điện thoại di động./.",
        "paragraphs": 9,
        "captions": [],
        "authors": ["Xuân Giang"],
        "editor": "Pho Ban bien tap",
        "view_count": 1909,
    },
    "sotttt_hanoi_article_kehoach_4380720.html": {
        "title": (
            "Kế hoạch phát triển hạ tầng Bưu chính - Viễn thông phục vụ Chương trình chuyển đổi số "
            "thành phố Hà Nội đến năm 2025, định hướng đến năm 2030"
        ),
        "published_at": "2021-07-27T16:30:00+07:00",
        "first": "Nội dung chi tiết văn bản xem tại đây",
        "last_end": "xem tại đây",
        "paragraphs": 1,
        "captions": [],
        "authors": [],
        "editor": "Bùi Thị Quỳnh",
        "attachment": "KH-174-2021.pdf",
    },
    "sotttt_hanoi_vanban_duthao_2397856.html": {
        "title": "Đề nghị tạm ngừng cung cấp dịch vụ đối với các số điện thoại QCRV sai quy định (lần thứ 01/2018)",
        "published_at": None,
        "first": "Công văn số 27/STTTT-BCVT ngày 08/01/218",
        "last_end": "Chi tiết xem file đính kèm./.",
        "paragraphs": 2,
        "captions": [],
        "authors": [],
        "editor": "Pho Ban bien tap",
    },
    "sotttt_hanoi_article_doanthe_4377543.html": {
        "title": "Tuổi trẻ Đoàn cơ quan Sở TT&TT Hà Nội luôn phát huy tinh thần đoàn kết, xung kích, sáng tạo",
        "published_at": "2022-05-18T08:52:00+07:00",
        "first": "Cùng dự Đại hội có các đồng chí đại diện Công đoàn",
        "last_end": "Sở TT&TT Hà Nội nhiệm kỳ 2022 - 2027.",
        "paragraphs": 19,
        "captions": [
            "Lãnh đạo Đoàn khối các cơ quan TP Hà Nội tặng thưởng các đồng chí trong BCH Đoàn cơ quan "
            "Sở TT&TT Hà Nội khóa IV, nhiệm kỳ 2017-2022",
            "Đồng chí Dương Thị Ngọc, Bí thư Đoàn Khối các cơ quan TP Hà Nội tặng hoa chúc mừng Đại hội",
            "Đồng chí Nguyễn Tiến Sỹ, Đảng ủy viên, Phó Giám đốc, Chủ tịch Công đoàn Sở TT&TT Hà Nội tặng hoa "
            "chúc mừng Đại hội",
            "Đồng chí Nguyễn Việt Hùng, Đảng ủy viên, Phó Giám đốc Phụ trách Sở TT&TT phát biểu tại Đại hội",
            "Phó Bí thư Đảng ủy, Phó Giám đốc Sở TT&TT Nguyễn Thị Mai Hương phát biểu chỉ đạo tại Đại hội",
            "Bí thư Đoàn Khối các cơ quan TP Hà Nội Dương Thị Ngọc và Phó Bí thư Đảng ủy, Phó Giám đốc Sở "
            "TT&TT Nguyễn Thị Mai Hương tặng hoa chúc mừng BCH Đoàn cơ quan Sở TT&TT khóa V nhiệm kỳ 2022 - 2027",
        ],
        "authors": ["Linh Phạm", "Lê Hải"],
        "editor": "Phạm Văn Linh",
    },
    "sotttt_hanoi_article_dssdt_1139168.html": {
        "title": (
            "Tạm ngừng cung cấp dịch vụ đối với các số điện thoại QCRV sai quy định và các số điện thoại "
            "phát tán, các số điện thoại liên hệ trong tin nhắn rác"
        ),
        "published_at": "2016-08-11T10:59:00+07:00",
        "first": "Theo đó, Sở Thông tin và Truyền thông đề nghị Phòng VHTT",
        "last_end": "trong file kèm theo./.",
        "paragraphs": 3,
        "captions": [],
        "authors": ["Hải Yến"],
        "editor": "Pho Ban bien tap",
        "attachment": "CV 1248_1_signed.PDF.pdf",
    },
}
NOISE = ("In bài viết", "Gửi mail", "Các tin khác", "Other News", "View count", "Pho Ban bien tap", "Ngày đăng")


def _record(name: str) -> dict:
    url = realpage_urls()[f"liferay/{name}"]
    html = need_shared("realpages", "liferay", name).read_text(encoding="utf-8")
    record = extract_record(html, url)
    assert record is not None, f"{name}: no article found"
    return record


@pytest.mark.parametrize("name", sorted(ARTICLES))
def test_liferay_article(name: str) -> None:
    want = ARTICLES[name]
    record = _record(name)
    body = paragraphs(record["body"])
    assert record["platform"] == "liferay"
    assert record["title"] == want["title"]
    assert record["published_at"] == want["published_at"]
    assert body[0].startswith(want["first"])
    assert body[-1].endswith(want["last_end"])
    assert len(body) == want["paragraphs"]
    assert [i["caption"] for i in record["images"] if i["caption"]] == want["captions"]
    assert record["authors"] == want["authors"]
    assert record["editor"] == want["editor"]
    for caption in want["captions"]:
        assert caption not in record["body"]
    for noise in NOISE:
        assert noise not in record["body"]
        assert noise not in record["title"]
    if "view_count" in want:
        assert record["view_count"] == want["view_count"]
    if "attachment" in want:
        assert [a["filename"] for a in record["attachments"]] == [want["attachment"]]
    assert record["portal"] == "sotttt-hanoi"
    assert record["province"]["current_code"] == "01"


@pytest.mark.parametrize(
    ("name", "entries", "paged"),
    [
        ("sotttt_hanoi_listing_tin-tuc-su-kien.html", 20, True),
        ("sotttt_hanoi_listing_bao-chi-xuat-ban_page10.html", 15, True),
        ("sotttt_hanoi_listing_van-ban-du-thao.html", 8, False),
        # A view_content URL that renders the list (DOMAIN §2.3.1): never mistaken for an article.
        ("sotttt_hanoi_EN_viewcontent_url_rendering_list_3159627.html", 20, False),
    ],
)
def test_liferay_listing(name: str, entries: int, paged: bool) -> None:
    url = realpage_urls()[f"liferay/{name}"]
    html = need_shared("realpages", "liferay", name).read_text(encoding="utf-8")
    page = parse_page(html, url)
    assert page.kind == "listing"
    assert page.record is None
    assert len(page.entries) >= entries
    assert bool(page.pagination) is paged


def test_liferay_detected_on_every_liferay_page() -> None:
    urls = realpage_urls()
    for local, url in urls.items():
        if local.startswith("liferay/"):
            html = need_shared("realpages", local).read_text(encoding="utf-8")
            assert detect(html, url).platform == "liferay", local


@pytest.mark.parametrize(
    "name",
    ["sotttt_hanoi_tthc_procedure_detail.html", "sotttt_hanoi_hoidap_listing.html", "sotttt_hanoi_homepage.html"],
)
def test_liferay_pages_without_an_article_give_no_record(name: str) -> None:
    """The generic reader's second opinion does not turn a section's page into an article titled
    with the section's name ("Báo chí - Xuất bản", "Hỏi đáp")."""
    url = realpage_urls()[f"liferay/{name}"]
    html = need_shared("realpages", "liferay", name).read_text(encoding="utf-8")
    assert extract_record(html, url) is None
