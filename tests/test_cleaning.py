"""Cleaning steps, one job each (the pipelines wrap these)."""

from __future__ import annotations

from collections import Counter

from crawler import cleaning
from crawler.items import Image, ParserInfo, PortalRecord
from crawler.text import normalize_text, paragraphs, repair_mojibake

from .conftest import MINIMAL_PORTAL


def _record(body: list[str], **fields) -> PortalRecord:
    return PortalRecord(
        url="https://kontum.gov.vn/tin-tuc/a-1",
        canonical_url="https://kontum.gov.vn/tin-tuc/a-1",
        portal=fields.pop("portal", "kontum.gov.vn"),
        platform="generic",
        parser=ParserInfo("generic", "1.0"),
        title=fields.pop("title", "Tiêu đề bài viết"),
        body="\n\n".join(body),
        **fields,
    )


def test_normalize_nfc_lookalikes_nbsp_and_invisibles() -> None:
    nfd = "Hội nghị"  # "Hội nghị" decomposed
    assert normalize_text(nfd) == "Hội nghị"
    assert normalize_text("HÐND tỉnh\u00a0\u00a0Kon\u200bTum ") == "HĐND tỉnh KonTum"


def test_mojibake_repaired_and_good_text_untouched() -> None:
    assert repair_mojibake("Há»™i nghá»‹") == "Hội nghị"
    assert repair_mojibake("Ủy ban nhân dân tỉnh Â") == "Ủy ban nhân dân tỉnh Â"


def test_boilerplate_counters_and_related_block() -> None:
    record = _record(
        [
            "Đoạn một.",
            "0",
            "162",
            "Loading...",
            "Lượt xem: 1.501",
            "Đoạn hai.",
            "In bài viết",
            "cms-view-count: 17",
            "Có thể quan tâm",
            "Bài khác hấp dẫn",
        ]
    )
    counts: Counter[str] = Counter()
    cleaning.strip_boilerplate(record, counts)
    assert paragraphs(record.body) == ["Đoạn một.", "Đoạn hai."]
    assert counts["boilerplate/counter"] == 4
    assert counts["boilerplate/related_block_cut"] == 1


def test_boilerplate_keeps_real_text_mentioning_a_phrase() -> None:
    text = "Đại biểu đề nghị xem thêm tài liệu tại Cổng thông tin trước khi In bài viết ra giấy."
    record = _record([text])
    cleaning.strip_boilerplate(record, Counter())
    assert paragraphs(record.body) == [text]


def test_title_repeated_as_first_paragraph_is_dropped() -> None:
    record = _record(["Tiêu đề bài viết", "Nội dung."])
    cleaning.strip_boilerplate(record, Counter())
    assert paragraphs(record.body) == ["Nội dung."]


def test_caption_never_stays_in_body() -> None:
    record = _record(["Quang cảnh Hội nghị", "Nội dung."], images=[Image("https://x/1.jpg", "Quang cảnh Hội nghị")])
    cleaning.separate_captions(record, Counter())
    assert paragraphs(record.body) == ["Nội dung."]
    assert record.images[0].caption == "Quang cảnh Hội nghị"


def test_byline_moves_to_authors() -> None:
    record = _record(["Nội dung bài viết./.", "Tố Tuấn – Nhật Quang"])
    cleaning.extract_byline(record, Counter())
    assert record.authors == ["Tố Tuấn", "Nhật Quang"]
    assert paragraphs(record.body) == ["Nội dung bài viết./."]


def test_labelled_byline_is_cleaned_and_kept_raw() -> None:
    record = _record(["Nội dung bài viết./.", "Minh Anh (tổng hợp)"])
    cleaning.extract_byline(record, Counter())
    assert record.authors == ["Minh Anh"]
    assert record.byline_raw == "Minh Anh (tổng hợp)"
    assert paragraphs(record.body) == ["Nội dung bài viết./."]


def test_parser_byline_lines_are_split() -> None:
    record = _record(["Nội dung bài viết./."])
    record.authors = ["Tin, ảnh: Hải Yến", "Bài: Tố Tuấn – Nhật Quang"]
    cleaning.extract_byline(record, Counter())
    assert record.authors == ["Hải Yến", "Tố Tuấn", "Nhật Quang"]
    assert record.byline_raw == "Tin, ảnh: Hải Yến\nBài: Tố Tuấn – Nhật Quang"


def test_source_line_is_a_source_not_an_author() -> None:
    record = _record(["Nội dung bài viết./.", "Nguồn: Báo Kon Tum"])
    cleaning.extract_source(record, Counter())
    cleaning.extract_byline(record, Counter())
    assert record.source == "Báo Kon Tum"
    assert record.authors == []
    assert record.byline_raw is None


def test_closing_heading_of_a_foreign_page_is_no_byline() -> None:
    record = _record(["Body text of the post.", "Related Posts"])
    cleaning.extract_byline(record, Counter())
    assert record.authors == []
    assert paragraphs(record.body) == ["Body text of the post.", "Related Posts"]


def test_sentence_is_not_a_byline() -> None:
    record = _record(["Nội dung.", "Hội nghị kết thúc lúc 17 giờ cùng ngày."])
    cleaning.extract_byline(record, Counter())
    assert record.authors == []


def test_source_attribution() -> None:
    record = _record(["Nội dung./.", "Lê Hằng", "(Theo Báo Kon Tum)"])
    cleaning.extract_source(record, Counter())
    cleaning.extract_byline(record, Counter())
    assert record.source == "Báo Kon Tum"
    assert record.authors == ["Lê Hằng"]
    assert paragraphs(record.body) == ["Nội dung./."]


def test_sentence_starting_theo_is_not_a_source() -> None:
    record = _record(["Theo báo cáo, năm 2023 toàn tỉnh tiếp nhận 120.000 hồ sơ.", "Kết thúc."])
    cleaning.extract_source(record, Counter())
    assert record.source is None


def test_dates_keep_raw_and_rule() -> None:
    record = _record(["x"], published_raw="Thứ Hai, 16/07/2018 - 10:25")
    cleaning.parse_dates(record, Counter())
    assert record.published_at == "2018-07-16T10:25:00+07:00"
    assert record.published_raw == "Thứ Hai, 16/07/2018 - 10:25"
    assert record.published_rule == "dmy"


def test_finalize_id_is_stable_and_hash_ignores_case_and_spacing() -> None:
    first = _record(["Nội dung."])
    second = _record(["NỘI   dung."])
    second.url = second.canonical_url = "https://kontum.gov.vn/tin-tuc/a-1?utm_source=x#top"
    for record in (first, second):
        cleaning.finalize(record, Counter())
    assert first.id == second.id
    assert first.content_hash == second.content_hash
    assert first.fetched_at.endswith("+07:00")
    assert first.language == "vi"


def test_portal_attribution_keeps_legacy_and_current_province() -> None:
    record = _record(["x"])
    cleaning.attribute_portal(record, Counter())
    assert record.portal == "kon-tum"
    assert record.province is not None
    assert (record.province.current_code, record.province.legacy_code) == ("51", "62")


def test_subdomain_keeps_its_host_but_gets_the_province() -> None:
    record = _record(["x"])
    record.url = record.canonical_url = "https://stttt.laocai.gov.vn/tin-tuc/a-258090"
    record.portal = "stttt.laocai.gov.vn"
    cleaning.attribute_portal(record, Counter())
    assert record.portal == "stttt.laocai.gov.vn"
    assert record.province is not None and record.province.current_code == "15"


def test_per_portal_boilerplate_from_the_registry(monkeypatch) -> None:
    from crawler.registry import parse_registry

    registry = parse_registry(
        """
[[portal]]
slug = "kon-tum"
name = "Tỉnh Kon Tum"
kind = "province"
code = "51"
domain = "kontum.gov.vn"
platform = "unknown"
status = "legacy"
start_urls = ["https://kontum.gov.vn/"]
boilerplate = ["Xem tin theo ngày"]
"""
        + MINIMAL_PORTAL
    )
    monkeypatch.setattr(cleaning, "load_registry", lambda: registry)
    cleaning._noise_keys.cache_clear()
    try:
        kontum = _record(["Nội dung.", "Xem tin theo ngày"], portal="kon-tum")
        other = _record(["Nội dung.", "Xem tin theo ngày"], portal="quang-ngai")
        for record in (kontum, other):
            cleaning.strip_boilerplate(record, Counter())
        assert paragraphs(kontum.body) == ["Nội dung."]
        assert paragraphs(other.body) == ["Nội dung.", "Xem tin theo ngày"]
    finally:
        cleaning._noise_keys.cache_clear()
