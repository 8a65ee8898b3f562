"""Legacy Vietnamese text: TCVN3, VNI, cp1258 and UTF-8-read-as-cp1252, from real byte sequences."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from crawler import cleaning
from crawler.decoding import decode_html
from crawler.items import ParserInfo, PortalRecord
from crawler.legacy import TCVN3_BYTES, detect_legacy, repair_legacy, unicode_to_tcvn3
from crawler.text import normalize_text, paragraphs

from .conftest import need_shared

# TCVN3 bytes as a .VnTime document stores them (DOMAIN.md §5).
TCVN3_SAMPLES = [
    (b"C\xe9ng ho\xb5 x\xb7 h\xe9i ch\xf1 ngh\xdca Vi\xd6t Nam", "Cộng hoà xã hội chủ nghĩa Việt Nam"),
    (b"U\xfb ban nh\xa9n d\xa9n", "Uỷ ban nhân dân"),
    (b"\xa7\xe9c l\xcbp - T\xf9 do - H\xb9nh ph\xf3c", "Độc lập - Tự do - Hạnh phúc"),
    (b"M\xad\xeang Kh\xad\xacng", "Mường Khương"),  # 0xAD is "ư", not a soft hyphen
]


@pytest.mark.parametrize(("raw", "text"), TCVN3_SAMPLES)
def test_tcvn3_bytes(raw: bytes, text: str) -> None:
    read_as_cp1252 = raw.decode("cp1252")
    assert repair_legacy(read_as_cp1252) == (text, "tcvn3")
    assert normalize_text(repair_legacy(read_as_cp1252)[0]) == text


def test_tcvn3_page_behind_a_windows_1252_declaration() -> None:
    page = b'<html><head><meta charset="windows-1252"></head><body><p>' + TCVN3_SAMPLES[0][0] + b"</p></body></html>"
    text, encoding = decode_html(page, "windows-1252")
    assert encoding == "windows-1252+tcvn3"
    assert "Cộng hoà xã hội chủ nghĩa Việt Nam" in text


def test_vni_bytes() -> None:
    raw = b"Xin cha\xf8o ca\xf9c ba\xefn, CO\xc4NG HO\xd8A"
    assert repair_legacy(raw.decode("cp1252")) == ("Xin chào các bạn, CỘNG HÒA", "vni")


def test_vni_words() -> None:
    assert repair_legacy("Xin chaøo caùc baïn") == ("Xin chào các bạn", "vni")
    assert repair_legacy("COÄNG HOØA XAÕ HOÄI CHUÛ NGHÓA VIEÄT NAM")[0] == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert repair_legacy("Tröôøng ñaïi hoïc")[0] == "Trường đại học"


def test_cp1258_combining_tones() -> None:
    page = '<html><head><meta charset="windows-1258"></head><body>Vi\xea\xf2t Nam</body></html>'.encode("latin-1")
    text, encoding = decode_html(page, None)
    assert encoding == "windows-1258"
    assert "Việt Nam" in normalize_text(text)


def test_utf8_read_as_cp1252() -> None:
    garbled = "Hội nghị cấp tỉnh".encode().decode("cp1252", errors="replace")
    assert normalize_text(garbled) == "Hội nghị cấp tỉnh"


@pytest.mark.parametrize("text", ["Hội nghị sơ kết", "Café crème brûlée", "Liều dùng 5 µg", "© 2024 Sở TT&TT", "plain"])
def test_no_false_alarm(text: str) -> None:
    assert detect_legacy(text) is None


def test_tcvn3_paragraph_in_a_unicode_page_is_converted_alone() -> None:
    record = PortalRecord(
        url="https://x.gov.vn/a",
        canonical_url="https://x.gov.vn/a",
        portal="x.gov.vn",
        platform="generic",
        parser=ParserInfo("generic", "1.0"),
        title="Thông báo",
        body="Đoạn văn Unicode.\n\n" + TCVN3_SAMPLES[1][0].decode("cp1252"),
    )
    counts: Counter[str] = Counter()
    cleaning.normalize_fields(record, counts)
    assert paragraphs(record.body) == ["Đoạn văn Unicode.", "Uỷ ban nhân dân"]
    assert counts["normalize/legacy_tcvn3"] == 1


def test_round_trip_and_table_matches_shared_data() -> None:
    assert repair_legacy(unicode_to_tcvn3("Đường Trường Sơn").decode("cp1252"))[0] == "Đường Trường Sơn"
    with need_shared("data", "tcvn3_to_unicode.csv").open(encoding="utf-8") as handle:
        shared = {int(row["tcvn3_byte_hex"], 16): row["unicode_char"] for row in csv.DictReader(handle)}
    assert shared == TCVN3_BYTES
