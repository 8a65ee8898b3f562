"""Vietnamese portal dates → ISO 8601 in +07:00, with the rule that matched.

Day-first always; SA/CH and AM/PM; "(GMT+7)" and weekday prefixes; time before or after the date;
"ngày … tháng … năm …"; ISO-like strings. dateparser is only the last resort (it is slow and, for
some inputs, wrong: scrapinghub/dateparser #1297).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

ICT = timezone(timedelta(hours=7))

_TIME = r"(?P<H>\d{1,2})\s*[:hg]\s*(?P<M>\d{2})(?:\s*:\s*(?P<S>\d{2}))?(?:\s*(?P<ap>SA|CH|AM|PM|sa|ch|am|pm)\b)?"
_DMY = r"(?P<d>\d{1,2})\s*[/.-]\s*(?P<m>\d{1,2})\s*[/.-]\s*(?P<y>\d{4})"
_WRITTEN = r"ngày\s+(?P<d>\d{1,2})\s+tháng\s+(?P<m>\d{1,2})\s+năm\s+(?P<y>\d{4})"
_MONTH_NAME = r"(?P<d>\d{1,2})\s+tháng\s+(?P<m>\d{1,2})\s*,\s*(?P<y>\d{4})"
_ISO = (
    r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[T ](?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?"
    r"(?:\.\d+)?(?P<tz>Z|[+-]\d{2}:?\d{2})?)?"
)
# Between a date and its time: " | ", " - ", ", ", " lúc ", "(" …; at most a few characters.
_GAP = r"[\s|,\-–(]*(?:lúc|vào\s+lúc)?[\s|,\-–(]*"

_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(rf"(?<!\d){_ISO}(?!\d)")),
    ("time-first", re.compile(rf"(?<![\d/]){_TIME}[\s|,\-–]*(?:ngày\s+)?{_DMY}(?!\d)", re.I)),
    ("written", re.compile(rf"{_WRITTEN}(?:{_GAP}{_TIME})?", re.I)),
    ("dmy", re.compile(rf"(?<![\d/]){_DMY}(?!\d)(?:{_GAP}{_TIME})?")),
    ("month-name", re.compile(rf"(?<!\d){_MONTH_NAME}(?:{_GAP}{_TIME})?", re.I)),
]
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_ZONE = re.compile(r"\(?\s*GMT\s*\+\s*0?7(?::?00)?\s*\)?", re.I)
_LUNAR = re.compile(r"\([^()]*(?:Giáp|Ất|Bính|Đinh|Mậu|Kỷ|Canh|Tân|Nhâm|Quý)\s+\w+\)")


@dataclass(frozen=True)
class ParsedDate:
    iso: str
    rule: str


def _hour(hour: int, ampm: str | None) -> int:
    if not ampm:
        return hour
    pm = ampm.upper() in {"PM", "CH"}
    if hour == 12:
        return 12 if pm else 0
    return hour + 12 if pm else hour


def _build(groups: dict[str, str | None], rule: str) -> ParsedDate | None:
    try:
        hour = _hour(int(groups.get("H") or 0), groups.get("ap"))
        moment = datetime(
            int(groups["y"] or 0),
            int(groups["m"] or 0),
            int(groups["d"] or 0),
            hour,
            int(groups.get("M") or 0),
            int(groups.get("S") or 0),
        )
    except ValueError:
        return None
    if not 1945 <= moment.year <= datetime.now(UTC).year + 1:
        return None
    tz = groups.get("tz")
    if tz:
        offset = UTC if tz == "Z" else _offset(tz)
        aware = moment.replace(tzinfo=offset).astimezone(ICT)
    else:
        aware = moment.replace(tzinfo=ICT)
    return ParsedDate(aware.isoformat(), rule)


def _offset(tz: str) -> timezone:
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0)))


# `published_rule` of a record whose page shows a date that cannot be (31/02/2025, month 13):
# `published_at` stays empty, `published_raw` keeps the text.
IMPOSSIBLE_RULE = "impossible"
# Appended to `published_rule` when the date lies further ahead of the fetch than the tolerance:
# the record keeps it, but it is no evidence of how far the portal has published.
FUTURE_MARK = "+future"
FUTURE_TOLERANCE_DAYS = 2.0


def shows_impossible_date(text: str | None) -> bool:
    """True when `text` holds a day, month and year in a date's shape whose values no portal date
    can have: a day the month lacks, a month above 12, a year before 1945 or beyond next year."""
    if not text:
        return False
    clean = _LUNAR.sub(" ", _ZONE.sub(" ", unicodedata.normalize("NFC", text).replace("\u00a0", " ")))
    return any(_build(found.groupdict(), rule) is None for rule, pattern in _RULES for found in pattern.finditer(clean))


def is_future(iso: str, now: datetime, tolerance_days: float = FUTURE_TOLERANCE_DAYS) -> bool:
    """Whether the ISO date `iso` (+07:00 when it names no zone) lies more than the tolerance after `now`."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ICT)
    return moment - now > timedelta(days=tolerance_days)


def watermark_date(published_at: str | None, published_rule: str | None) -> str | None:
    """The record's date as evidence of how far its portal has published: None for a date the
    cleaning marked as lying in the future (see FUTURE_MARK)."""
    if published_rule and published_rule.endswith(FUTURE_MARK):
        return None
    return published_at


def parse_vietnamese_date(text: str | None) -> ParsedDate | None:
    """The first date (with its time when shown) in `text`, in +07:00; None when there is none."""
    if not text:
        return None
    return _parse_date(text)


@lru_cache(maxsize=4096)
def _parse_date(text: str) -> ParsedDate | None:
    """Cached: pages repeat the same date texts (listings, headers), and the last resort is slow."""
    clean = unicodedata.normalize("NFC", text).replace("\u00a0", " ")
    clean = _LUNAR.sub(" ", _ZONE.sub(" ", clean))
    best: tuple[int, ParsedDate] | None = None
    for rule, pattern in _RULES:
        for found in pattern.finditer(clean):
            parsed = _build(found.groupdict(), rule)
            if parsed is not None:
                if best is None or found.start() < best[0]:
                    best = (found.start(), parsed)
                break
    if best is not None:
        return best[1]
    return _dateparser_fallback(clean)


def _dateparser_fallback(text: str) -> ParsedDate | None:
    # A day, month and year are required, so a text without a year is never a date here.
    if len(text) > 120 or not _YEAR.search(text):
        return None
    import dateparser  # imported lazily: it costs ~0.5 s at start-up

    moment = dateparser.parse(
        text,
        languages=["vi", "en"],
        settings={
            "DATE_ORDER": "DMY",
            "TIMEZONE": "Asia/Ho_Chi_Minh",
            "RETURN_AS_TIMEZONE_AWARE": True,
            "PREFER_DATES_FROM": "past",
            "REQUIRE_PARTS": ["day", "month", "year"],
        },
    )
    if moment is None:
        return None
    return ParsedDate(moment.astimezone(ICT).replace(microsecond=0).isoformat(), "dateparser")


_DATELINE_WORDS = re.compile(
    r"\b(?:cập\s*nhật|lúc|vào|ngày\s*đăng|đăng\s*ngày|đăng\s*lúc|gửi\s*lúc|ngày|tháng|năm|thứ\s*(?:hai|ba|tư|năm|"
    r"sáu|bảy|\d)|chủ\s*nhật|posted|updated|on|sa|ch|am|pm|gmt)\b",
    re.IGNORECASE,
)


def is_dateline(text: str) -> bool:
    """True for a line that only states a date ("Cập nhật lúc: 10:25, 16/07/2018"), not a sentence."""
    if len(text) > 80 or parse_vietnamese_date(text) is None:
        return False
    rest = _DATELINE_WORDS.sub(" ", unicodedata.normalize("NFC", text))
    return not re.search(r"[^\W\d_]", rest)
