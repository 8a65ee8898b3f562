"""Court-precedent pages of anle.toaan.gov.vn (Oracle WebCenter): fields, title, the precedent's
text without the comment widget, and recent precedents shown only as a PDF."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest

from crawler.extract import extract_record
from crawler.fixtures import load_meta
from crawler.text import paragraphs

PRECEDENT = Path(__file__).parent / "fixtures" / "webcenter" / "anle_precedent"


def _fixture() -> tuple[str, str]:
    return (PRECEDENT / "page.html").read_text(encoding="utf-8"), load_meta(PRECEDENT)["url"]


def test_precedent_fields() -> None:
    html, url = _fixture()
    record = extract_record(html, url)
    assert record is not None
    document = record["document"]
    assert record["title"] == (
        "Án lệ số 63/2023/AL về xem xét quyết định hành chính có liên quan đến hành vi hành chính bị khiếu kiện"
    )
    assert (document["number"], document["doc_type"]) == ("63/2023/AL", "Án lệ")
    assert (document["issued_at"], document["announced_at"], document["effective_at"]) == (
        "2023-02-01",
        "2023-02-24",
        "2023-03-27",
    )
    assert record["published_at"] == "2023-02-24T00:00:00+07:00"
    assert document["announcing_decision"] == "Quyết định 39/QĐ-CA về việc công bố án lệ"
    assert document["precedent_source"].startswith("Quyết định giám đốc thẩm số 04/2018/HC-GĐT")
    assert (document["status"], document["sector"]) == ("Đang có hiệu lực", "Hành chính")
    assert record["document_refs"] == ["63/2023/AL", "39/QĐ-CA", "04/2018/HC-GĐT"]
    assert record["tags"] == ["Hành vi hành chính", "Quyết định hành chính có liên quan"]


def test_precedent_text_without_comment_widget() -> None:
    html, url = _fixture()
    record = extract_record(html, url)
    assert record is not None
    body = paragraphs(record["body"])
    assert body[0] == "ÁN LỆ SỐ 63/2023/AL"
    assert body[-1].startswith("“[3] … Tòa án phải xem xét tính hợp pháp")
    for widget in ("bình luận", "Bình luận", "Gửi"):
        assert widget not in record["body"]
    assert [(a["filename"], a["media_type"]) for a in record["attachments"]] == [("TAND292162", "application/pdf")]


@pytest.mark.parametrize("pdf_viewer", [True, False])
def test_precedent_shown_as_a_pdf(pdf_viewer: bool) -> None:
    """Recent precedents show only their name above a PDF viewer: the name is the body, the file kept."""
    html, url = _fixture()
    tree = lxml.html.fromstring(html)
    text = tree.get_element_by_id("divPrint")
    for child in list(text):
        text.remove(child)
    text.text = None
    name = "Về xem xét quyết định hành chính có liên quan đến hành vi hành chính bị khiếu kiện"
    text.append(lxml.html.fragment_fromstring(f"<p>{name}</p>"))
    if pdf_viewer:
        viewer = '<iframe class="viewpdf" src="/webcenter/pdfview?dDocName=TAND292162"></iframe>'
        text.append(lxml.html.fragment_fromstring(viewer))
    record = extract_record(lxml.html.tostring(tree, encoding="unicode"), url)
    assert record is not None
    assert record["body"] == name
    assert record["attachments"][0]["media_type"] == ("application/pdf" if pdf_viewer else None)
