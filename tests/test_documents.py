"""Official documents: numbers (DOMAIN.md §6 cases), refs in text, metadata tables."""

from __future__ import annotations

from collections import Counter

import lxml.html
import pytest

from crawler import cleaning
from crawler.documents import find_document_numbers, parse_document_number, type_from_title
from crawler.extract import extract_record
from crawler.items import Document, ParserInfo, PortalRecord, Signer
from crawler.platforms.base import block_text
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
    ("Án lệ số 63/2023/AL", "63/2023/AL", ("63", "2023", "AL"), "Án lệ", None),
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


def test_numbers_read_block_by_block() -> None:
    """A number followed by a heading stays whole: text joined across blocks read "63/2023/ALDanh"."""
    paragraph = lxml.html.fromstring("<div><p>Án lệ số 63/2023/AL</p><h3>Danh sách bình luận</h3></div>")
    assert [n.text for n in find_document_numbers(block_text(paragraph))] == ["63/2023/AL"]
    cell = lxml.html.fromstring(
        "<table><tr><th>Số án lệ</th><td><a>63/2023/AL</a><div class='heading'>Danh sách bình luận</div></td>"
        "<td>Ngày công bố</td><td>24/02/2023</td></tr></table>"
    )
    fields = read_document_fields(cell)
    assert parse_document_number(fields["number"]).text == "63/2023/AL"
    assert fields["announced_at"] == "24/02/2023"


def test_block_text_lines() -> None:
    html = "<div>Số:\n  915/QĐ-UBND<br>Ngày ban hành: 12/03/2024<table><tr><td>Nơi</td><td>nhận</td></tr></table>x"
    lines = ["Số: 915/QĐ-UBND", "Ngày ban hành: 12/03/2024", "Nơi nhận", "x"]
    assert block_text(lxml.html.fromstring(html + "</div>")).split("\n") == lines


def test_generic_document_number_before_a_heading() -> None:
    html = """<html><head><title>Án lệ số 12/2017/AL - Trang tin về án lệ</title></head><body>
<div class="main"><h1>Án lệ số 12/2017/AL về trường hợp người sử dụng đất được bồi thường</h1>
<table><tr><td>Số án lệ</td><td><a>12/2017/AL</a><div><h4>Danh sách bình luận</h4></div></td></tr>
<tr><td>Ngày công bố</td><td>28/12/2017</td></tr></table>
<p>Nội dung án lệ: Trường hợp đất đã được Nhà nước giao cho người khác sử dụng hợp pháp thì người sử dụng đất
trước đó được bồi thường theo quy định của pháp luật về đất đai, không được đòi lại quyền sử dụng đất.</p>
<h4>Danh sách bình luận</h4><p>0 Bình luận</p><h4>Ý kiến bình luận</h4><p>Gửi</p></div></body></html>"""
    record = extract_record(html, "https://toaan.example.vn/an-le/12-2017-al.html")
    assert record is not None
    assert record["document"]["number"] == "12/2017/AL"
    assert record["document"]["doc_type"] == "Án lệ"
    assert record["document"]["announced_at"] == "2017-12-28"
    assert "12/2017/ALDanh" not in record["document_refs"]


@pytest.mark.parametrize(
    "html",
    [
        "<div><dl><dt>Số hiệu</dt><dd>27/STTTT-BCVT</dd><dt>Ngày ký</dt><dd>08/01/2018</dd></dl></div>",
        "<div><div class='row'><span class='lbl'>Số hiệu</span><span>27/STTTT-BCVT</span></div>"
        "<div class='row'><span class='lbl'>Ngày ký</span><span>08/01/2018</span></div></div>",
        "<div><div class='item'><div class='label'>Số hiệu:</div><div class='value'>27/STTTT-BCVT</div></div>"
        "<div class='item'><div class='label'>Ngày ký:</div><div class='value'>08/01/2018</div></div></div>",
        "<ul><li><strong>Số hiệu:</strong> 27/STTTT-BCVT</li><li><strong>Ngày ký:</strong> 08/01/2018</li></ul>",
        "<div class='info'>Số hiệu: 27/STTTT-BCVT<br>Ngày ký: 08/01/2018</div>",
        "<table><tr><th>Số hiệu</th><td>27/STTTT-BCVT</td><th>Ngày ký</th><td>08/01/2018</td></tr></table>",
    ],
    ids=["dl", "label-span", "label-div", "strong-label", "br-lines", "table"],
)
def test_label_value_rows_in_any_container(html: str) -> None:
    assert read_document_fields(lxml.html.fromstring(html)) == {"number": "27/STTTT-BCVT", "issued_at": "08/01/2018"}


def test_header_row_names_columns_not_values() -> None:
    html = """<table><thead><tr><th>Số án lệ</th><th>Tên án lệ</th><th>Tải về</th></tr></thead>
    <tbody><tr><td>62/2023/AL</td><td>Về thời điểm bắt đầu thực hiện nghĩa vụ cấp dưỡng</td><td>Tải về</td></tr>
    </tbody></table>"""
    assert read_document_fields(lxml.html.fromstring(html)) == {}


def test_structure_precedent_and_legal_database_fields() -> None:
    record = PortalRecord(
        url="https://vbpl.vn/TW/Pages/vbpq-thuoctinh.aspx?ItemID=1",
        canonical_url="https://vbpl.vn/TW/Pages/vbpq-thuoctinh.aspx?ItemID=1",
        portal="vbpl.vn",
        platform="vbpl",
        parser=ParserInfo("vbpl", "1.0"),
        title="Nghị quyết 01/2024/NQ-HĐND",
        document=Document(
            number="01/2024/NQ-HĐND",
            gazette_at="31/12/2015",
            expired_at="Ngày 1 tháng 7 năm 2025",
            announced_at="24/02/2023",
            collected_from="Công báo số 1271 đến 1276, năm 2015",
            signer=Signer("Nguyễn Văn A", title="TM. Thường trực HĐND"),
            co_signers=[Signer("KT. Trần Văn B", title="Phó Chủ tịch")],
        ),
    )
    cleaning.structure_document(record, Counter())
    document = record.document
    assert document is not None
    assert (document.gazette_at, document.expired_at, document.announced_at) == (
        "2015-12-31",
        "2025-07-01",
        "2023-02-24",
    )
    assert document.gazette_number == "1271 đến 1276"
    assert (document.signer.authority, document.signer.title) == ("TM.", "Thường trực HĐND")
    assert [(s.name, s.authority, s.title) for s in document.co_signers] == [("Trần Văn B", "KT.", "Phó Chủ tịch")]
