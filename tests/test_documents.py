"""Official documents: numbers (DOMAIN.md §6 cases), refs in text, metadata tables."""

from __future__ import annotations

from collections import Counter

import lxml.html
import pytest

from crawler import cleaning
from crawler.documents import find_document_numbers, parse_document_number, type_from_title
from crawler.items import Document, ParserInfo, PortalRecord, Signer
from crawler.platforms.meta import is_metadata_row, read_document_fields

WHOLE = [
    ("Công văn số 1592/UBND-KTTH ngày 12/3/2018", "1592/UBND-KTTH", ("1592", None, "UBND-KTTH"), "Công văn", "UBND"),
    ("915/QĐ-UBND", "915/QĐ-UBND", ("915", None, "QĐ-UBND"), "Quyết định", "UBND"),
    ("30/2020/NĐ-CP", "30/2020/NĐ-CP", ("30", "2020", "NĐ-CP"), "Nghị định", "CP"),
    ("01/2011/TT-BNV", "01/2011/TT-BNV", ("01", "2011", "TT-BNV"), "Thông tư", "BNV"),
    ("202/2025/QH15", "202/2025/QH15", ("202", "2025", "QH15"), None, "QH15"),
    ("388/NQ-UBTVQH15", "388/NQ-UBTVQH15", ("388", None, "NQ-UBTVQH15"), "Nghị quyết", "UBTVQH15"),
    ("05/VBHN-BGDĐT", "05/VBHN-BGDĐT", ("05", None, "VBHN-BGDĐT"), "Văn bản hợp nhất", "BGDĐT"),
    ("2231/SNV-CCHC&PC", "2231/SNV-CCHC&PC", ("2231", None, "SNV-CCHC&PC"), "Công văn", "SNV"),
    ("05-BC/ĐU", "05-BC/ĐU", ("05", None, "BC/ĐU"), "Báo cáo", "ĐU"),
    ("60-NQ/TW", "60-NQ/TW", ("60", None, "NQ/TW"), "Nghị quyết", "TW"),
    ("684-QĐ/TU", "684-QĐ/TU", ("684", None, "QĐ/TU"), "Quyết định", "TU"),
    ("số 915 / QĐ – UBND", "915/QĐ-UBND", ("915", None, "QĐ-UBND"), "Quyết định", "UBND"),
    ("Quyết định 42/2011/QÐ-UBND", "42/2011/QĐ-UBND", ("42", "2011", "QĐ-UBND"), "Quyết định", "UBND"),
]


@pytest.mark.parametrize(("text", "number", "parts", "doc_type", "issuer"), WHOLE)
def test_document_numbers(text: str, number: str, parts: tuple, doc_type: str | None, issuer: str) -> None:
    found = find_document_numbers(text)
    assert [n.text for n in found] == [number]
    assert (found[0].number, found[0].year, found[0].symbol) == parts
    assert found[0].doc_type == doc_type
    assert found[0].issuer == issuer


@pytest.mark.parametrize("text", ["ngày 16/07/2018", "12/3/2018", "QCVN 06:2022/BXD", "tỷ lệ 3/4 số hộ", "v/v"])
def test_dates_and_fractions_are_not_numbers(text: str) -> None:
    assert find_document_numbers(text) == []


def test_full_stop_is_not_part_of_the_symbol() -> None:
    assert [n.text for n in find_document_numbers("theo Quyết định số 1719/QĐ-TTg.")] == ["1719/QĐ-TTg"]


def test_refs_in_order_once() -> None:
    text = "Thực hiện Kế hoạch 174/KH-UBND và Công văn 1592/UBND-KTTH; theo Kế hoạch 174/KH-UBND ngày 27/07/2021."
    assert [n.text for n in find_document_numbers(text)] == ["174/KH-UBND", "1592/UBND-KTTH"]


def test_type_from_title() -> None:
    assert type_from_title("Thông tư liên tịch hướng dẫn …") == "Thông tư liên tịch"
    assert type_from_title("Kế hoạch phát triển hạ tầng") == "Kế hoạch"
    assert type_from_title("Hội nghị sơ kết") is None
    assert parse_document_number("Số: 27/STTTT-BCVT") is not None


def test_metadata_table_and_label_lines() -> None:
    html = """<div><table><tr><th>Số/ký hiệu</th><td>27/STTTT-BCVT</td></tr>
    <tr><td>Hiệu lực:</td><td>Còn hiệu lực</td></tr></table>
    <dl><dt>Người ký</dt><dd>TL. Giám đốc Nguyễn Văn A</dd></dl>
    <p>Trích yếu: Đề nghị tạm ngừng cung cấp dịch vụ</p><p>Ngày ban hành: 08/01/2018</p></div>"""
    fields = read_document_fields(lxml.html.fromstring(html))
    assert fields == {
        "number": "27/STTTT-BCVT",
        "status": "Còn hiệu lực",
        "signer": "TL. Giám đốc Nguyễn Văn A",
        "abstract": "Đề nghị tạm ngừng cung cấp dịch vụ",
        "issued_at": "08/01/2018",
    }
    assert is_metadata_row("Số ký hiệu: | 915/QĐ-UBND | Ngày ban hành: | 12/03/2024")
    assert not is_metadata_row("Số liệu năm 2024 cho thấy tăng trưởng")


def test_structure_document_and_refs() -> None:
    record = PortalRecord(
        url="https://vpubnd.daklak.gov.vn/Documents/Detail/1",
        canonical_url="https://vpubnd.daklak.gov.vn/Documents/Detail/1",
        portal="vpubnd.daklak.gov.vn",
        platform="generic",
        parser=ParserInfo("generic", "1.0"),
        title="Quyết định phê duyệt kế hoạch",
        body="Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05/3/2020 của Chính phủ.",
        document=Document(
            number="Số: 42/2011/QÐ-UBND", issued_at="Ngày 16 tháng 7 năm 2011", signer=Signer("TM. Nguyễn Văn B")
        ),
    )
    counts: Counter[str] = Counter()
    cleaning.structure_document(record, counts)
    cleaning.collect_document_refs(record, counts)
    document = record.document
    assert document is not None
    assert document.number == "42/2011/QĐ-UBND"
    assert (document.number_parts.number, document.number_parts.year, document.number_parts.symbol) == (
        "42",
        "2011",
        "QĐ-UBND",
    )
    assert (document.doc_type, document.issuer, document.issued_at) == ("Quyết định", "UBND", "2011-07-16")
    assert (document.signer.name, document.signer.authority) == ("Nguyễn Văn B", "TM.")
    assert record.document_refs == ["30/2020/NĐ-CP", "42/2011/QĐ-UBND"]
