"""Comment widgets are page furniture: their headings end the article, counters and buttons go,
sentences about comments stay."""

from __future__ import annotations

from collections import Counter

import pytest

from crawler import boilerplate
from crawler.cleaning import strip_boilerplate
from crawler.items import ParserInfo, PortalRecord
from crawler.text import join_paragraphs, paragraphs

TEXT = [
    "Án lệ được Hội đồng Thẩm phán Tòa án nhân dân tối cao thông qua và công bố theo quy định.",
    "Bạn đọc gửi bình luận về dự thảo đến hết ngày 30/6 qua cổng thông tin điện tử của Tòa án.",
]


def _cleaned(body: list[str]) -> list[str]:
    record = PortalRecord(
        url="https://anle.toaan.gov.vn/webcenter/portal/anle/chitietanle?dDocName=TAND1",
        canonical_url="https://anle.toaan.gov.vn/webcenter/portal/anle/chitietanle?dDocName=TAND1",
        portal="anle.toaan.gov.vn",
        platform="webcenter",
        parser=ParserInfo("webcenter", "1.1"),
        title="Án lệ số 63/2023/AL",
        body=join_paragraphs(body),
    )
    strip_boilerplate(record, Counter())
    return paragraphs(record.body)


@pytest.mark.parametrize(
    "heading", ["Danh sách bình luận", "Ý kiến bình luận", "Viết bình luận", "Bình luận của bạn", "Ý kiến của bạn"]
)
def test_comment_heading_ends_the_article(heading: str) -> None:
    assert _cleaned([*TEXT, heading, "Nguyễn Văn A: Án lệ rất cần thiết.", "Gửi"]) == TEXT


@pytest.mark.parametrize("counter", ["0 Bình luận", "12 bình luận", "1.024 Bình luận", "Bình luận (3)"])
def test_comment_counters_go(counter: str) -> None:
    assert boilerplate.noise_kind(counter, boilerplate.SHARED_KEYS) == "counter"
    assert _cleaned([TEXT[0], counter, TEXT[1]]) == TEXT


@pytest.mark.parametrize("button", ["Gửi bình luận", "Gửi ý kiến", "Chưa có bình luận nào"])
def test_comment_buttons_go(button: str) -> None:
    assert _cleaned([TEXT[0], button, TEXT[1]]) == TEXT


@pytest.mark.parametrize(
    "sentence",
    [
        "Bình luận của bạn đọc sẽ được biên tập trước khi đăng, theo quy chế của Cổng thông tin.",
        "Sở Tư pháp đã nhận 12 bình luận góp ý cho dự thảo nghị quyết.",
        "Ý kiến của bạn về dự thảo được gửi tới Ban soạn thảo trước ngày 30/6.",
    ],
)
def test_sentences_about_comments_stay(sentence: str) -> None:
    assert boilerplate.noise_kind(sentence, boilerplate.SHARED_KEYS) is None
    assert _cleaned([TEXT[0], sentence, TEXT[1]]) == [TEXT[0], sentence, TEXT[1]]
