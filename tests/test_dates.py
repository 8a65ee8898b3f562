"""Vietnamese date formats from DOMAIN.md §4, each to the minute in +07:00."""

from __future__ import annotations

import pytest

from crawler.dates import is_dateline, parse_vietnamese_date

CASES = [
    ("07/11/2018 | 09:38", "2018-11-07T09:38:00+07:00"),
    ("25/08/2016 | 4:09 PM", "2016-08-25T16:09:00+07:00"),
    ("Ngày đăng 24/08/2022 | 04:30 PM", "2022-08-24T16:30:00+07:00"),
    ("Thứ ba - 27/06/2023 10:14", "2023-06-27T10:14:00+07:00"),
    ("Thứ Hai, 16/07/2018 - 10:25", "2018-07-16T10:25:00+07:00"),
    ("16/07/2018 10:25:00 SA", "2018-07-16T10:25:00+07:00"),
    ("16/07/2018 02:25:00 CH", "2018-07-16T14:25:00+07:00"),
    ("Gửi lúc: 05/12/2013 15:42:27", "2013-12-05T15:42:27+07:00"),
    ("Ngày 16 tháng 7 năm 2018", "2018-07-16T00:00:00+07:00"),
    ("Tiền Giang, ngày 19 tháng 12 năm 2011", "2011-12-19T00:00:00+07:00"),
    ("Chủ nhật, ngày 08 tháng 12 năm 2024 16:02 (GMT +7)", "2024-12-08T16:02:00+07:00"),
    ("Thứ tư, 22/10/2025, 19:25 (GMT+7)", "2025-10-22T19:25:00+07:00"),
    ("08:07, 12/07/2018", "2018-07-12T08:07:00+07:00"),
    ("Cập nhật lúc: 18:00 |22/05/2022", "2022-05-22T18:00:00+07:00"),
    ("Cập nhật: 15:30 ngày 12/3/2024", "2024-03-12T15:30:00+07:00"),
    ("11-10-2023, 18:32", "2023-10-11T18:32:00+07:00"),
    ("16-07-2018", "2018-07-16T00:00:00+07:00"),
    ("2025-06-30 00:02:07", "2025-06-30T00:02:07+07:00"),
    ("(29/06/2026, 14:49)", "2026-06-29T14:49:00+07:00"),
    ("02/08/2021 lúc 18:47", "2021-08-02T18:47:00+07:00"),
    ("2021-08-02T18:47:47+07:00", "2021-08-02T18:47:47+07:00"),
    ("2021-08-02T11:47:47Z", "2021-08-02T18:47:47+07:00"),
    ("30 tháng 8, 2024", "2024-08-30T00:00:00+07:00"),
    ("07 / 12 / 2019 - 12:41 PM", "2019-12-07T12:41:00+07:00"),
    ("12:00 AM 01/01/2020", "2020-01-01T00:00:00+07:00"),
    ("12/3/2024", "2024-03-12T00:00:00+07:00"),  # day first, never 3 December
    ("Thứ Sáu (15, Tháng Năm, Đinh Dậu) 09/06/2017", "2017-06-09T00:00:00+07:00"),
]


@pytest.mark.parametrize(("raw", "iso"), CASES)
def test_vietnamese_dates(raw: str, iso: str) -> None:
    parsed = parse_vietnamese_date(raw)
    assert parsed is not None
    assert parsed.iso == iso


@pytest.mark.parametrize("raw", ["", "Loading...", "31/02/2020", "View count: 1501", "99/99/9999"])
def test_not_a_date(raw: str) -> None:
    assert parse_vietnamese_date(raw) is None


def test_rule_is_reported() -> None:
    parsed = parse_vietnamese_date("Ngày 16 tháng 7 năm 2018")
    assert parsed is not None and parsed.rule == "written"


@pytest.mark.parametrize(
    ("text", "dateline"),
    [
        ("Cập nhật lúc: 10:25, 16/07/2018", True),
        ("Thứ Hai, 16/07/2018 - 10:25", True),
        ("Ngày đăng 24/08/2022 | 04:30 PM", True),
        ("Ngày 16/7/2018, UBND tỉnh tổ chức hội nghị sơ kết", False),
        ("Kế hoạch 174/KH-UBND ngày 27/07/2021 của UBND Thành phố Hà Nội", False),
    ],
)
def test_dateline(text: str, dateline: bool) -> None:
    assert is_dateline(text) is dateline
