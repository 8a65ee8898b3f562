"""The vbpl.vn parser on the real saved views in ../shared/realpages/sharepoint_vbpl (skipped when
absent). Expected values were read off the pages by hand: the properties table, the info bar, the
breadcrumb and the page script's document name, the related-documents list, the diagram's boxes."""

from __future__ import annotations

from typing import Any

import pytest

from crawler.extract import extract_record
from crawler.platforms import article_key, detect
from crawler.text import paragraphs

from .conftest import need_shared, realpage_urls

PROPERTIES = "vbpl_document_properties_96172.html"
RELATED = "vbpl_related_documents_32801.html"
DIAGRAM = "vbpl_consolidation_diagram_147301.html"
VIEWS = (PROPERTIES, RELATED, DIAGRAM)


def _record(name: str) -> dict[str, Any]:
    url = realpage_urls()[f"sharepoint_vbpl/{name}"]
    html = need_shared("realpages", "sharepoint_vbpl", name).read_text(encoding="utf-8")
    record = extract_record(html, url)
    assert record is not None, f"{name}: no record"
    return record


def _files(record: dict[str, Any]) -> list[str]:
    return [a["filename"] for a in record["attachments"]]


@pytest.mark.parametrize("name", VIEWS)
def test_every_view_is_a_document_named_by_the_page(name: str) -> None:
    url = realpage_urls()[f"sharepoint_vbpl/{name}"]
    html = need_shared("realpages", "sharepoint_vbpl", name).read_text(encoding="utf-8")
    assert detect(html, url).platform == "vbpl"
    assert article_key(url).startswith("vbpl.vn:vbpl:tw:")
    record = _record(name)
    assert record["page_type"] == "document"
    assert record["platform"] == "vbpl"
    assert "Trung ương" not in record["title"]
    assert "CƠ SỞ DỮ LIỆU" not in record["body"]
    assert "This div, which you should delete" not in record["body"]


def test_properties_view() -> None:
    record = _record(PROPERTIES)
    document = record["document"]
    assert record["title"] == "Bộ luật 101/2015/QH13 Tố tụng hình sự"
    assert document["number"] == "101/2015/QH13"
    assert document["number_parts"] == {"number": "101", "year": "2015", "symbol": "QH13"}
    assert document["doc_type"] == "Bộ luật"
    assert document["abstract"] == "Tố tụng hình sự"
    assert document["issuer"] == "Quốc hội"
    assert document["signer"] == {"name": "Nguyễn Sinh Hùng", "authority": None, "title": "Chủ tịch Quốc hội"}
    assert document["co_signers"] == []
    assert (document["issued_at"], document["effective_at"], document["gazette_at"]) == (
        "2015-11-27",
        "2018-01-01",
        "2015-12-31",
    )
    assert document["collected_from"] == "Công báo số 1271 đến 1276, năm 2015"
    assert document["gazette_number"] == "1271 đến 1276"
    assert document["scope"] == "Toàn quốc"
    assert document["status"] == "Còn hiệu lực"
    assert document["expired_at"] is None
    assert record["published_at"] == "2015-11-27T00:00:00+07:00"
    assert paragraphs(record["body"])[0] == "Tố tụng hình sự"
    assert "Cơ quan ban hành/ Chức danh / Người ký: Quốc hội / Chủ tịch Quốc hội / Nguyễn Sinh Hùng" in record["body"]
    assert _files(record) == [
        "101.2015.QH13.doc",
        "VanBanGoc_101.2015.QH13.P1.pdf",
        "VanBanGoc_101.2015.QH13.P2.pdf",
        "VanBanGoc_101.2015.QH13.P3.pdf",
    ]
    assert record["document_refs"] == ["101/2015/QH13"]


def test_related_documents_view() -> None:
    record = _record(RELATED)
    document = record["document"]
    assert record["title"] == "Hiến pháp Không số Hiến pháp năm 2013"
    assert document["number"] is None  # "Không số": the constitution has no number
    assert document["doc_type"] == "Hiến pháp"
    assert document["abstract"] == "Hiến pháp năm 2013"
    assert (document["status"], document["effective_at"]) == ("Còn hiệu lực", "2014-01-01")
    assert paragraphs(record["body"]) == [
        "Văn bản dẫn chiếu",
        "Hiến pháp Không số Hiến pháp năm 1992 | Ngày ban hành: 15/04/1992 | Ngày có hiệu lực: 15/04/1992",
        "Hiến pháp Không số Hiến pháp năm 1980 | Ngày ban hành: 18/12/1980 | Ngày có hiệu lực: 19/12/1980",
        "Hiến pháp Không số Hiến pháp năm 1959 | Ngày ban hành: 31/12/1959 | Ngày có hiệu lực: 01/01/1960",
        "Hiến pháp Không số Hiến pháp năm 1946 | Ngày ban hành: 09/11/1946 | Ngày có hiệu lực: 09/11/1946",
    ]
    assert _files(record) == ["Hien phap nam 2013.doc", "VanBanGoc_Hien phap 2013.pdf"]


def test_consolidation_diagram_view() -> None:
    record = _record(DIAGRAM)
    document = record["document"]
    assert record["title"] == "Luật 31/VBHN-VPQH"
    assert (document["number"], document["doc_type"]) == ("31/VBHN-VPQH", "Luật")
    assert document["issued_at"] == "2020-12-07"  # Ngày ký xác thực of the consolidated text
    assert paragraphs(record["body"]) == [
        "VĂN BẢN ĐƯỢC HỢP NHẤT",
        "Luật 15/2012/QH13 Ngày ban hành: 20/06/2012",
        "Luật 54/2014/QH13 Ngày ban hành: 23/06/2014",
        "Luật 18/2017/QH14 Ngày ban hành: 21/11/2017",
        "VĂN BẢN HỢP NHẤT",
        "Luật 31/VBHN-VPQH Ngày xác thực: 07/12/2020",
    ]
    assert record["document_refs"] == ["31/VBHN-VPQH", "15/2012/QH13", "54/2014/QH13", "18/2017/QH14"]
    assert _files(record) == ["31.VBHN.VPQH.doc"]
