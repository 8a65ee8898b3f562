"""The generic reader on templates nobody here has seen: the element holding the prose, page
furniture pruned, markup read within bounds, hard but real pages (media only, deep nesting, huge)."""

from __future__ import annotations

import json

import pytest

from crawler.extract import extract_record
from crawler.pipelines import validation_errors
from crawler.platforms import generic, parse_page
from crawler.platforms.base import MAX_HTML_CHARS, clean_byline, parse_html, read_markup, unescape_entities
from crawler.text import paragraphs

from .conftest import FIXTURES

SENTENCES = [
    "Sở Tài nguyên và Môi trường vừa tổ chức hội nghị triển khai kế hoạch quản lý đất đai năm 2025, "
    "với sự tham gia của đại diện các huyện, thị xã và thành phố trong tỉnh.",
    "Theo kế hoạch, toàn tỉnh sẽ hoàn thành việc số hóa hồ sơ địa chính trước tháng 10, bảo đảm dữ liệu "
    "được cập nhật thường xuyên và kết nối với cơ sở dữ liệu quốc gia về đất đai.",
    "Các địa phương được giao rà soát quỹ đất công, xử lý dứt điểm các trường hợp lấn chiếm và công khai "
    "quy hoạch sử dụng đất tại trụ sở ủy ban nhân dân cấp xã.",
    "Giám đốc Sở đề nghị các đơn vị phối hợp chặt chẽ, báo cáo kết quả thực hiện định kỳ hằng quý để kịp "
    "thời tháo gỡ khó khăn, vướng mắc phát sinh./.",
]
URL = "https://stnmt.example.gov.vn/tin-tuc/trien-khai-ke-hoach-quan-ly-dat-dai-2025-1234.html"
TITLE = "Triển khai kế hoạch quản lý đất đai năm 2025"


def page(content: str, head: str = "", aside: str = "") -> str:
    return (
        f"<html><head><title>{TITLE} - Sở TN&amp;MT</title>{head}</head><body>"
        '<div class="menu"><a href="/">Trang chủ</a> <a href="/tin-tuc">Tin tức</a></div>'
        f'<div class="wrap"><h1>{TITLE}</h1><div class="date">05/03/2025 08:00</div>{content}</div>'
        f"{aside}<div class='footer'>Bản quyền thuộc Sở Tài nguyên và Môi trường</div></body></html>"
    )


def body_of(html: str, url: str = URL) -> list[str]:
    record = extract_record(html, url)
    assert record is not None, "no record"
    return paragraphs(record["body"])


def test_a_teaser_card_is_not_the_article() -> None:
    text = "".join(f"<p>{s}</p>" for s in SENTENCES)
    teaser = (
        '<aside class="col-right"><article class="card"><h3><a href="/tin-tuc/khac-99.html">Tin khác</a></h3>'
        "<p>Một bản tin khác của Sở về công tác bảo vệ môi trường tại các khu công nghiệp trong tỉnh.</p>"
        "</article></aside>"
    )
    assert body_of(page(f'<div class="noi-dung">{text}</div>', aside=teaser)) == SENTENCES


@pytest.mark.parametrize(
    "furniture",
    [
        '<div class="post-tags">Filed under: <a href="/t/dat-dai">Đất đai</a>, '
        '<a href="/t/quy-hoach">Quy hoạch</a></div>',
        '<div class="comment-count">3 Comments</div>',
        '<div class="next-up"><h4>Next up</h4><ul><li><a href="/a-1.html">Một tin rất dài khác về đất đai</a></li>'
        '<li><a href="/a-2.html">Và một tin rất dài nữa về quy hoạch</a></li></ul></div>',
        '<div class="newsletter-box"><p>Đăng ký nhận bản tin của Sở qua email để không bỏ lỡ tin tức mới nhất.</p>'
        "<form><input type=email><button>Đăng ký</button></form></div>",
        '<div class="share-tools"><a href="#">Chia sẻ</a> | <a href="#">In bài</a> | <a href="#">Gửi email</a></div>',
        '<div id="comments"><h3>Ý kiến bạn đọc</h3><p>Bài viết rất hữu ích, cảm ơn Sở đã thông tin kịp thời '
        "cho người dân chúng tôi biết.</p></div>",
    ],
)
def test_page_furniture_inside_the_article_is_pruned(furniture: str) -> None:
    text = "".join(f"<p>{s}</p>" for s in SENTENCES[:2]) + furniture + "".join(f"<p>{s}</p>" for s in SENTENCES[2:])
    assert body_of(page(f'<div class="noi-dung">{text}</div>')) == SENTENCES


def test_gallery_captions_repeated_by_a_slideshow_are_dropped() -> None:
    caption = "Quang cảnh hội nghị triển khai kế hoạch"
    slides = "".join(f"<p>{caption}</p>" for _ in range(4))
    text = "".join(f"<p>{s}</p>" for s in SENTENCES)
    body = body_of(page(f'<div class="noi-dung">{text}<div class="khung">{slides}</div></div>'))
    assert body.count(caption) <= 1


def test_text_after_a_comment_inside_a_paragraph_is_kept() -> None:
    first, rest = SENTENCES[0][:60], SENTENCES[0][60:]
    text = f"<p>{first}<!-- chèn quảng cáo -->{rest}</p>" + "".join(f"<p>{s}</p>" for s in SENTENCES[1:])
    assert body_of(page(f'<div class="noi-dung">{text}</div>')) == SENTENCES


def test_lists_are_kept() -> None:
    items = ["Rà soát quỹ đất công tại từng xã.", "Công khai quy hoạch sử dụng đất.", "Báo cáo kết quả hằng quý."]
    text = f"<p>{SENTENCES[0]}</p><ul>{''.join(f'<li>{i}</li>' for i in items)}</ul><p>{SENTENCES[1]}</p>"
    assert body_of(page(f'<div class="noi-dung">{text}</div>')) == [SENTENCES[0], *items, SENTENCES[1]]


def test_trafilatura_path_gets_a_tree_without_comments(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where our reader is unsure, trafilatura reads a tree as it would have built it."""
    monkeypatch.setattr(generic, "_holds_the_article", lambda found, whole_page=False: False)
    first, rest = SENTENCES[0][:60], SENTENCES[0][60:]
    items = ["Rà soát quỹ đất công tại từng xã trong tỉnh.", "Công khai quy hoạch sử dụng đất tại trụ sở xã."]
    text = f"<p>{first}<!-- x -->{rest}</p><ul>{''.join(f'<li>{i}</li>' for i in items)}</ul>" + "".join(
        f"<p>{s}</p>" for s in SENTENCES[1:]
    )
    tree = parse_html(page(f'<article><div class="noi-dung">{text}</div></article>'))
    assert tree is not None
    found = generic.main_text(tree, URL)
    assert found is not None and found.method == "trafilatura"
    assert found.body.paragraphs[0] == SENTENCES[0]
    assert all(item in found.body.paragraphs for item in items)


def test_a_listing_of_teasers_is_not_an_article() -> None:
    items = "".join(
        f'<div class="item"><h3><a href="/tin-tuc/bai-so-{n}-ve-dat-dai-{n}00.html">Bài số {n} về công tác quản lý '
        f"đất đai của tỉnh</a></h3><p>{SENTENCES[n % 4][:150]}</p></div>"
        for n in range(8)
    )
    parsed = parse_page(page(f'<div class="list">{items}</div>'), "https://stnmt.example.gov.vn/tin-tuc")
    assert parsed.record is None
    assert parsed.kind == "listing"
    assert len(parsed.entries) == 8


@pytest.mark.parametrize("count", [2, 3])
def test_a_short_listing_of_linked_cards_is_not_an_article(count: int) -> None:
    items = "".join(
        f'<div class="item"><h3><a href="/thong-bao/thong-bao-so-{n}.html">Thông báo số {n} về lịch tiếp công dân '
        f"của tỉnh</a></h3><span>0{n + 1}/12/2026</span><p>{SENTENCES[n % 4]}</p></div>"
        for n in range(count)
    )
    parsed = parse_page(page(f'<h1>Thông báo</h1><div class="list">{items}</div>'), "https://x.gov.vn/thong-bao")
    assert parsed.record is None and parsed.kind == "listing"
    assert len(parsed.entries) == count


def test_paragraphs_opening_with_links_stay_an_article() -> None:
    text = "".join(
        f'<p><a href="/van-ban/quyet-dinh-{n}.html">Quyết định số {n}/QĐ-UBND của Ủy ban nhân dân tỉnh</a> '
        f"{SENTENCES[n % 4]}</p>"
        for n in range(3)
    )
    parsed = parse_page(page(f'<h1>Tổng hợp văn bản mới ban hành</h1><div class="noi-dung">{text}</div>'), URL)
    assert parsed.record is not None


def test_markup_nested_deeper_than_the_parser_limit_keeps_every_paragraph() -> None:
    html = page("".join(f"<div><font size=3>Đoạn {i}. {SENTENCES[i % 4]}" for i in range(301)))
    markup = read_markup(html)
    assert markup.repair is not None and markup.repair.startswith("deep nesting flattened")
    body = body_of(html)
    assert [p.split(".")[0] for p in body] == [f"Đoạn {i}" for i in range(301)]


def test_oversized_page_is_read_without_its_inline_data() -> None:
    data = "QUFB" * (MAX_HTML_CHARS // 4 + 1000)
    text = "".join(f"<p>{s}</p>" for s in SENTENCES)
    html = page(f'<div class="noi-dung">{text}<img src="data:image/png;base64,{data}"></div>')
    parsed = parse_page(html, URL)
    assert parsed.repair is not None and parsed.repair.startswith("oversized markup trimmed")
    assert parsed.record is not None
    assert paragraphs(parsed.record.body) == SENTENCES


def test_a_page_too_large_to_read_is_refused_with_a_reason() -> None:
    html = page("<p>" + "Một đoạn rất dài. " * (MAX_HTML_CHARS // 16) + "</p>")
    parsed = parse_page(html, URL)
    assert parsed.kind == "refused"
    assert parsed.reason is not None and parsed.reason.startswith("page too large")


def test_double_escaped_entities_are_decoded() -> None:
    text = f"<p>{SENTENCES[0].replace(' ', '&amp;nbsp;', 3)}</p>" + "".join(f"<p>{s}</p>" for s in SENTENCES[1:])
    assert body_of(page(f'<div class="noi-dung">{text}</div>')) == SENTENCES


@pytest.mark.parametrize(
    "edge", ["Tải tệp đính kèm", "Lượt xem: 1.234 lượt", "Chia sẻ bài viết", "In bài | Gửi email", "Quay về"]
)
def test_boilerplate_at_the_body_edges_goes(edge: str) -> None:
    text = f"<p>{edge}</p>" + "".join(f"<p>{s}</p>" for s in SENTENCES) + f"<p>{edge}</p>"
    assert body_of(page(f'<div class="noi-dung">{text}</div>')) == SENTENCES


def test_a_canonical_at_the_site_root_is_no_identity() -> None:
    """Six articles whose rel=canonical all name the home page stay six records."""
    head = '<link rel="canonical" href="https://stnmt.example.gov.vn/">'
    ids = set()
    for n in range(6):
        text = "".join(f"<p>Bài {n}. {s}</p>" for s in SENTENCES)
        record = extract_record(page(f'<div class="noi-dung">{text}</div>', head), URL.replace("1234", f"12{n}0"))
        assert record is not None
        assert record["canonical_url"] == URL.replace("1234", f"12{n}0")
        ids.add(record["id"])
    assert len(ids) == 6


@pytest.mark.parametrize(
    ("canonical", "kept"),
    [
        ("https://stnmt.example.gov.vn/tin-tuc", False),
        ("https://stnmt.example.gov.vn/tin-tuc?page=2", False),
        ("https://stnmt.example.gov.vn/index.html", False),
        ("https://stnmt.example.gov.vn/tin-tuc/ke-hoach-quan-ly-dat-dai-2025-1234.html", True),
    ],
)
def test_canonicals_shared_by_many_pages_are_ignored(canonical: str, kept: bool) -> None:
    text = "".join(f"<p>{s}</p>" for s in SENTENCES)
    head = f'<link rel="canonical" href="{canonical}">'
    record = extract_record(page(f'<div class="noi-dung">{text}</div>', head), URL)
    assert record is not None
    assert (record["canonical_url"] == canonical) is kept


@pytest.mark.parametrize(
    ("media", "kind"),
    [
        ('<iframe src="https://www.youtube.com/embed/AbC123xyz" width="640"></iframe>', "video"),
        ('<iframe src="/pdfjs/web/viewer.html?file=/upload/2025/ke-hoach.pdf"></iframe>', "pdf"),
        ('<object data="/upload/2025/ke-hoach.pdf" type="application/pdf"></object>', "pdf"),
        ('<video controls><source src="/media/hoi-nghi.mp4" type="video/mp4"></video>', "video"),
        ('<img src="/upload/2025/infographic-dat-dai.jpg" alt="Infographic">', "image"),
    ],
)
def test_an_article_of_media_only_is_a_flagged_record(media: str, kind: str) -> None:
    record = extract_record(page(f'<div class="noi-dung">{media}</div>'), URL)
    assert record is not None
    assert record["title"] == TITLE
    assert record["published_at"] == "2025-03-05T08:00:00+07:00"
    assert record["media_only"] == kind
    assert record["body"] == ""
    assert record["embeds"] or record["attachments"] or record["images"]
    assert validation_errors(record) == []


def test_media_without_a_date_or_article_signs_is_no_record() -> None:
    html = (
        "<html><head><title>Thư viện ảnh</title></head><body><h1>Thư viện ảnh hoạt động của Sở</h1>"
        '<div class="gallery-grid"><img src="/upload/anh-1.jpg"><img src="/upload/anh-2.jpg"></div></body></html>'
    )
    assert extract_record(html, "https://stnmt.example.gov.vn/thu-vien-anh") is None


def test_embedded_players_are_listed_with_the_text() -> None:
    text = "".join(f"<p>{s}</p>" for s in SENTENCES)
    video = '<iframe src="https://www.youtube.com/embed/AbC123xyz"></iframe>'
    ads = '<iframe src="https://googleads.g.doubleclick.net/pagead/ads?x=1"></iframe>'
    record = extract_record(page(f'<div class="noi-dung">{video}{text}{ads}</div>'), URL)
    assert record is not None
    assert record["embeds"] == ["https://www.youtube.com/embed/AbC123xyz"]
    assert record["media_only"] is None


def test_tag_soup_closing_the_body_container_early_loses_no_text() -> None:
    """A stray </div> in the article text closes the platform's body element early; the text it
    pushes out is read with the body, and the repair is said."""
    folder = FIXTURES / "liferay" / "demo_seed_4898"
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    html = (folder / "page.html").read_text(encoding="utf-8")
    expected = extract_record(html, meta["url"])
    marker = "<p>Trong 6 tháng đầu năm"
    broken = html.replace(marker, "</div>" + marker, 1)
    parsed = parse_page(broken, meta["url"])
    assert parsed.repair is not None and parsed.repair.startswith("tag soup")
    record = extract_record(broken, meta["url"])
    assert expected is not None and record is not None
    assert record["body"] == expected["body"]
    assert record["authors"] == expected["authors"]


@pytest.mark.parametrize(
    ("byline", "names"),
    [
        ("By Tran Le Minh - 12:30, 05/06/2024", ["Tran Le Minh"]),
        ("Nguyễn Văn An, Trần Bình 30.04.2024", ["Nguyễn Văn An", "Trần Bình"]),
        ("Tin: Hoàng Anh, ảnh: Tư liệu", ["Hoàng Anh"]),
        ("By Dan Goodin - Apr 16, 2015 8:02 pm", ["Dan Goodin"]),
        ("Reuters Updated: January 16, 2020", ["Reuters"]),
        ("Luật 01/2011/QH13 Lưu trữ", ["Luật 01/2011/QH13 Lưu trữ"]),
    ],
)
def test_bylines_lose_their_dates_not_their_names(byline: str, names: list[str]) -> None:
    assert clean_byline(byline) == names


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Hội nghị&nbsp;tổng kết", "Hội nghị\u00a0tổng kết"),
        ("index.php?a=1&sect=2&copy=3", "index.php?a=1&sect=2&copy=3"),
        ("mục &para 3", "mục &para 3"),
        ("R&D và A&amp;B", "R&D và A&B"),
    ],
)
def test_only_whole_entity_references_are_decoded(text: str, shown: str) -> None:
    assert unescape_entities(text) == shown


# --- Titles, leads and the rules around them --------------------------------------------------

BODY = "".join(f"<p>{s}</p>" for s in SENTENCES)


@pytest.mark.parametrize(
    ("title_tag", "heading"),
    [
        ("Cổng thông tin điện tử tỉnh Gia Lai", f'<div class="tieude">{TITLE}</div>'),
        ("Tin tức - Sự kiện | Cổng thông tin điện tử tỉnh Gia Lai", f'<h2 class="title">{TITLE}</h2>'),
        ("Cổng thông tin điện tử tỉnh Gia Lai", f'<h1 class="tieude">{TITLE}</h1>'),
    ],
)
def test_the_site_name_in_title_and_footer_is_never_the_title(title_tag: str, heading: str) -> None:
    html = (
        f"<html><head><title>{title_tag}</title></head><body><div class='breadcrumb'><a href='/'>Trang chủ</a>"
        f"</div><div class='main'>{heading}<div class='detail'>{BODY}</div></div><div class='bottom'>"
        "<h3 class='bottom-title'>Cổng thông tin điện tử tỉnh Gia Lai</h3><p>Địa chỉ: 01 Trần Hưng Đạo</p></div>"
        "</body></html>"
    )
    record = extract_record(html, URL)
    assert record is not None and record["title"] == TITLE


def test_a_short_title_is_not_taken_for_the_site_name() -> None:
    html = (
        "<html><head><title>Giấy mời họp - Cổng thông tin điện tử Công an tỉnh Sơn La</title></head>"
        f"<body><h1>Giấy mời họp</h1><div class='date'>05/03/2025</div><div class='noi-dung'>{BODY}</div></body></html>"
    )
    record = extract_record(html, URL)
    assert record is not None and record["title"] == "Giấy mời họp"


def test_a_lead_set_apart_above_the_text_is_the_summary() -> None:
    lead = "Sở Tài nguyên và Môi trường triển khai kế hoạch quản lý đất đai năm 2025 với nhiều điểm mới."
    html = page(f'<div class="sapo">{lead}</div><div class="noi-dung">{BODY}</div>')
    record = extract_record(html, URL)
    assert record is not None
    assert record["summary"] == lead
    assert paragraphs(record["body"]) == SENTENCES


def test_a_short_news_item_mentioning_a_log_in_is_an_article() -> None:
    text = (
        "<p>Từ ngày 01/6/2025, người dân có thể đăng nhập Cổng dịch vụ công quốc gia để cấp đổi giấy phép "
        "lái xe trực tuyến mà không phải đến trụ sở.</p><p>Hồ sơ được trả kết quả qua dịch vụ bưu chính công ích.</p>"
    )
    record = extract_record(page(f'<div class="noi-dung">{text}</div>'), URL)
    assert record is not None and "đăng nhập Cổng dịch vụ công" in record["body"]


def test_a_schedule_keeps_its_recurring_lines() -> None:
    day = "<p>Sáng</p><p>Chủ tịch UBND tỉnh họp giao ban với các sở, ngành.</p><p>Chiều</p><p>Tiếp công dân.</p>"
    record = extract_record(page(f'<div class="noi-dung"><p>{SENTENCES[0]}</p>{day * 3}</div>'), URL)
    assert record is not None
    assert paragraphs(record["body"]).count("Sáng") == 3


@pytest.mark.parametrize(
    "item",
    [
        '<p><a href="/van-ban/quyet-dinh-{n}.pdf">Quyết định số {n}/QĐ-UBND</a> ngày 12/3/2025 của UBND tỉnh '
        "về việc phê duyệt kế hoạch thực hiện nhiệm vụ năm 2025.</p>",
        '<p><a href="https://baochinhphu.vn/bai-{n}.htm">Thủ tướng chỉ đạo phát triển kinh tế số {n}</a> - Báo '
        "Chính phủ đưa tin về cuộc họp sáng nay với các bộ ngành liên quan.</p>",
    ],
)
def test_paragraphs_opening_with_file_or_other_site_links_are_no_listing(item: str) -> None:
    items = "".join(item.format(n=n) for n in range(100, 106))
    record = extract_record(page(f'<div class="noi-dung">{items}</div>'), URL)
    assert record is not None
    assert len(paragraphs(record["body"])) == 6


def test_a_small_box_of_the_same_class_is_not_part_of_the_text() -> None:
    teasers = "".join(
        f'<div class="item"><a href="/tin-tuc/tin-khac-{n}-12{n}.html">Tin khác số {n}</a>'
        f"<p>Huyện {n} tổ chức ra quân chiến dịch thanh niên tình nguyện hè năm 2025.</p></div>"
        for n in range(3)
    )
    boxes = f'<div class="box"><div class="detail">{BODY}</div></div><div class="box"><h3>Xem nhiều</h3>{teasers}</div>'
    html = page(boxes)
    assert body_of(html) == SENTENCES


def test_a_gallery_keeps_its_pictures_not_its_repeated_captions() -> None:
    gallery = (
        '<div class="gallery"><figure><img src="/a.jpg"><figcaption>Toàn cảnh hội nghị</figcaption></figure>'
        '<figure><img src="/b.jpg"><figcaption>Đại biểu phát biểu</figcaption></figure></div>'
    )
    record = extract_record(page(f'<div class="noi-dung">{BODY}{gallery}</div>'), URL)
    assert record is not None
    assert [i["url"].rsplit("/", 1)[-1] for i in record["images"]] == ["a.jpg", "b.jpg"]
    assert paragraphs(record["body"]) == SENTENCES


@pytest.mark.parametrize("view", ["amp", "print", "2"])
def test_an_articles_other_views_keep_its_canonical(view: str) -> None:
    article = "https://stnmt.example.gov.vn/tin-tuc/trien-khai-ke-hoach-quan-ly-dat-dai-2025-1234"
    head = f'<link rel="canonical" href="{article}">'
    record = extract_record(page(f'<div class="noi-dung">{BODY}</div>', head), f"{article}/{view}")
    assert record is not None and record["canonical_url"] == article


def test_document_fields_of_a_sidebar_are_not_the_articles() -> None:
    sidebar = (
        '<div class="sidebar"><h3>Văn bản mới</h3><table><tr><td>Số hiệu:</td><td>123/QĐ-UBND</td></tr>'
        "<tr><td>Ngày ban hành:</td><td>01/03/2025</td></tr><tr><td>Trích yếu:</td><td>Về việc phê duyệt</td></tr>"
        "</table></div>"
    )
    record = extract_record(page(f'<div class="noi-dung">{BODY}</div>', aside=sidebar), URL)
    assert record is not None
    assert record["page_type"] == "article" and record["document"] is None
