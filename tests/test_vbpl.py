"""vbpl.vn document views: the long full text, the views without a text of their own, joint
documents, identities."""

from __future__ import annotations

from pathlib import Path

import lxml.html

from crawler.extract import extract_record
from crawler.fixtures import load_meta
from crawler.pipelines import validation_errors
from crawler.platforms import article_key, detect
from crawler.text import paragraphs

FIXTURES = Path(__file__).parent / "fixtures"
FULL_TEXT = FIXTURES / "vbpl" / "toanvan_law"


def _fixture(directory: Path) -> tuple[str, str]:
    return (directory / "page.html").read_text(encoding="utf-8"), load_meta(directory)["url"]


def _view(content: str, title1: str = "Luật 33/2024/QH15 Lưu trữ", name: str = "Luật 33/2024/QH15") -> str:
    """A vbpl.vn document view (breadcrumb, info bar) around `content`."""
    return f"""<html><head><title>Trung ương</title>
<script src="/VBQPPL_UserControls/Resources/js/QPortal.js"></script></head><body>
<script>var title1 = '{title1}';</script>
<div class="box-tab-vb"><div class="box-map"><ul><li><a href="/">CSDL quốc gia về VBPL</a></li>
<li><a href=""> {name}</a></li></ul></div>
<div class="content"><div class="fulltext"><div class="vbInfo"><ul>
<li class="red"><span>Hiệu lực: </span> Còn hiệu lực</li>
<li class="green"><span>Ngày có hiệu lực: </span> 01/07/2025</li></ul></div>
{content}</div></div></div></body></html>"""


def test_full_text_is_whole_and_in_order() -> None:
    html, url = _fixture(FULL_TEXT)
    record = extract_record(html, url)
    assert record is not None
    tree = lxml.html.fromstring(html)
    shown = [" ".join(p.text_content().split()) for p in tree.xpath("//*[@id='toanvancontent']/p")]
    body = paragraphs(record["body"])
    assert len(record["body"]) >= 30_000
    assert body == [p for p in shown if p]
    assert body[-1] == (
        "Luật này đã được Quốc hội nước Cộng hòa xã hội chủ nghĩa Việt Nam khóa XV, kỳ họp thứ 7 "
        "thông qua ngày 21 tháng 6 năm 2024./."
    )
    # The related documents listed under the text and the signature are not the text.
    assert "01/07/2012" not in record["body"]
    assert "Trần Thanh Mẫn" not in record["body"]


def test_full_text_view_fields() -> None:
    html, url = _fixture(FULL_TEXT)
    record = extract_record(html, url)
    assert record is not None
    document = record["document"]
    assert record["title"] == "Luật 33/2024/QH15 Lưu trữ"
    assert record["page_type"] == "document"
    assert (document["number"], document["doc_type"], document["abstract"]) == ("33/2024/QH15", "Luật", "Lưu trữ")
    assert (document["issuer"], document["issued_at"], document["effective_at"]) == (
        "QUỐC HỘI",
        "2024-06-21",
        "2025-07-01",
    )
    assert document["status"] == "Còn hiệu lực"
    assert document["signer"] == {"name": "Trần Thanh Mẫn", "authority": None, "title": "Chủ tịch Quốc hội"}
    assert [a["filename"] for a in record["attachments"]] == ["VanBanGoc_33.2024.QH15.pdf", "33.2024.QH15.docx"]


def test_signature_with_authority() -> None:
    signature = """
<div class="toanvancontent" id="toanvancontent"><p>Điều 1. Quyết định này có hiệu lực từ ngày ký./.</p></div>
<table class="table_cqbh_cd_nk"><tr><td><p>KT. CHỦ TỊCH</p></td></tr><tr><td><p>PHÓ CHỦ TỊCH</p></td></tr>
<tr><td><p><i>(Đã ký)</i></p></td></tr><tr><td><p>Lê Văn Hòa</p></td></tr></table>"""
    html = _view(signature, "Quyết định 25/2019/QĐ-UBND Về việc ban hành quy chế", "Quyết định 25/2019/QĐ-UBND")
    record = extract_record(html, "https://vbpl.vn/hanoi/Pages/vbpq-toanvan.aspx?ItemID=131520")
    assert record is not None
    assert record["document"]["signer"] == {"name": "Lê Văn Hòa", "authority": "KT.", "title": "PHÓ CHỦ TỊCH"}


def test_joint_document_signers() -> None:
    table = """<div class="vbProperties"><table>
<tr><td colspan="4" class="title">Hướng dẫn thực hiện chế độ lưu trữ</td></tr>
<tr><td class="label">Số ký hiệu</td><td>05/2015/TTLT-BNV-BTC</td><td class="label">Ngày ban hành</td>
<td>02/03/2015</td></tr>
<tr><td rowspan="2" class="label">Cơ quan ban hành/ Chức danh / Người ký</td><td>Bộ Nội vụ</td>
<td>Thứ trưởng</td><td>Trần Văn A</td></tr>
<tr><td>Bộ Tài chính</td><td>Thứ trưởng</td><td>Nguyễn Văn B</td></tr>
<tr><td colspan="4" class="title">Tình trạng hiệu lực: Còn hiệu lực</td></tr></table></div>"""
    html = _view(table, "Thông tư liên tịch 05/2015/TTLT-BNV-BTC", "Thông tư liên tịch 05/2015/TTLT-BNV-BTC")
    record = extract_record(html, "https://vbpl.vn/TW/Pages/vbpq-thuoctinh.aspx?ItemID=60000")
    assert record is not None
    document = record["document"]
    assert document["issuer"] == "Bộ Nội vụ; Bộ Tài chính"
    assert document["signer"] == {"name": "Trần Văn A", "authority": None, "title": "Thứ trưởng"}
    assert document["co_signers"] == [{"name": "Nguyễn Văn B", "authority": None, "title": "Thứ trưởng"}]
    assert document["doc_type"] == "Thông tư liên tịch"
    assert "Bộ Tài chính / Thứ trưởng / Nguyễn Văn B" in paragraphs(record["body"])


def test_legal_diagram_lists_its_documents() -> None:
    diagram = """<div class="vbLuocDo">
<div class="vbTools"><a href="javascript:openAllLuocDo(true);">Mở tất cả các khối</a></div>
<table><tr><td><div class="luocdo"><div class="title"><div><a href="#">Văn bản được HD, QĐ chi tiết</a> (0)</div></div>
<div class="content"><ul></ul></div></div></td>
<td><div class="luocdo">
<div class="title"><div><a class="openClose open" href="#">&nbsp;</a> <a href="javascript:;">Văn bản hết hiệu lực</a>
<span id="count_4">(1)</span></div></div><div class="content"><ul>
<li><a class="jTips" href="/TW/Pages/vbpq-luocdo.aspx?ItemID=27000">
Luật 01/2011/QH13 Lưu trữ</a>
<p><span><a href="/TW/Pages/vbpq-thuoctinh.aspx?ItemID=27000">[Thuộc tính]</a></span></p></li></ul></div></div></td>
</tr></table></div>"""
    record = extract_record(_view(diagram), "https://vbpl.vn/TW/Pages/vbpq-luocdo.aspx?ItemID=170000")
    assert record is not None
    assert paragraphs(record["body"]) == ["Văn bản hết hiệu lực (1)", "Luật 01/2011/QH13 Lưu trữ"]
    assert record["document"]["number"] == "33/2024/QH15"


def test_history_rows_with_the_parts_they_touch() -> None:
    history = """<div class="vbLichSu"><table>
<tr><td><b>Ngày</b></td><td><b>Trạng thái</b></td><td><b>Văn bản nguồn</b></td><td><b>Phần hết hiệu lực</b></td></tr>
<tr><td>11/11/2011</td><td>Văn bản được ban hành</td>
<td><a href="/TW/Pages/vbpq-toanvan.aspx?ItemID=27000">01/2011/QH13</a></td><td></td></tr>
<tr><td>30/06/2018</td><td>Bị sửa đổi 1 phần</td>
<td><a href="/TW/Pages/vbpq-toanvan.aspx?ItemID=90000">28/2018/QH14</a></td>
<td><a href="javascript:;" rel="balloon_27000_3">Xem tại đây</a></td></tr></table>
<div class="balloonstyle" id="balloon_27000_3" style="display:none">Điều 42</div></div>"""
    html = _view(history, "Luật 01/2011/QH13 Lưu trữ", "Luật 01/2011/QH13")
    record = extract_record(html, "https://vbpl.vn/TW/Pages/vbpq-lichsu.aspx?ItemID=27000")
    assert record is not None
    assert paragraphs(record["body"]) == [
        "Ngày | Trạng thái | Văn bản nguồn | Phần hết hiệu lực",
        "11/11/2011 | Văn bản được ban hành | 01/2011/QH13",
        "30/06/2018 | Bị sửa đổi 1 phần | 28/2018/QH14 | Điều 42",
    ]
    assert record["document_refs"] == ["01/2011/QH13", "28/2018/QH14"]


def test_pdf_only_view_is_kept_for_its_file() -> None:
    """The consolidated text's full-text view can hold only a PDF viewer: no text, the file kept."""
    pdf = "/FileData/TW/Lists/vbpq/Attachments/147301/31.VBHN.VPQH.pdf"
    viewer = f'<div class="vbProperties"><object type="application/pdf" data="{pdf}"></object></div>'
    url = "https://vbpl.vn/TW/Pages/vbpq-van-ban-goc-hopnhat.aspx?ItemID=147301&View=0"
    record = extract_record(_view(viewer, "Luật 31/VBHN-VPQH", "Luật 31/VBHN-VPQH"), url)
    assert record is not None
    assert record["body"] == ""
    assert [a["url"] for a in record["attachments"]] == [f"https://vbpl.vn{pdf}"]
    assert validation_errors(record) == []


def test_views_of_a_document_share_an_identity_prefix() -> None:
    keys = {
        view: article_key(f"https://vbpl.vn/hanoi/Pages/vbpq-{view}.aspx?dvid=201&ItemID=131520&Keyword=")
        for view in ("toanvan", "print", "thuoctinh", "vanbanlienquan", "luocdo", "lichsu")
    }
    assert keys["toanvan"] == keys["print"] == "vbpl.vn:vbpl:hanoi:131520:toanvan"
    assert len(set(keys.values())) == 5
    assert all(key.startswith("vbpl.vn:vbpl:hanoi:131520:") for key in keys.values())
    assert article_key("https://vbpl.vn/TW/Pages/vbpq-toanvan.aspx?ItemID=131520") != keys["toanvan"]
    assert article_key("https://vbpl.vn/tw/Pages/vbpq-toanvan.aspx?itemid=96122") == article_key(
        "https://vbpl.vn/TW/Pages/vbpq-toanvan.aspx?ItemID=96122&dvid=13"
    )


def test_vbpl_pages_are_detected_as_vbpl() -> None:
    html, url = _fixture(FIXTURES / "vbpl" / "hanoi_thuoctinh")
    assert detect(html, url).platform == "vbpl"
    # Any host: the template's own markup is evidence enough.
    assert detect(html, "https://mirror.example/hanoi/Pages/vbpq-thuoctinh.aspx?ItemID=1").platform == "vbpl"
