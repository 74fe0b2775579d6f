"""Dates: RFC 5322 §3.3 date-time to the JMAP Date type (RFC 8620 §1.4, an RFC
3339 date-time keeping the sender's offset) and back."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

from jmapcore.mime.params import strip_comments

_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
# RFC 5322 §4.3 obs-zone; military zones "SHOULD all be considered equivalent to -0000".
_NAMED_ZONES = {"ut": 0, "utc": 0, "gmt": 0, "z": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5,
                "mst": -7, "mdt": -6, "pst": -8, "pdt": -7}
_DATE = re.compile(
    r"\s*(?:[A-Za-z]+\s*,?\s*)?(\d{1,2})\s*[- ]\s*([A-Za-z]{3,9})\.?\s*[- ]\s*(\d{2,4})\s+"
    r"(\d{1,2})\s*:\s*(\d{1,2})(?:\s*:\s*(\d{1,2}))?(?:\.\d+)?\s*([+-]\d{4}|[A-Za-z]{1,5})?\s*\Z"
)
_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})\Z")


def parse_rfc5322_date(value: str) -> str | None:
    """The Date form (RFC 8621 §4.1.2.6): RFC 3339 text, or None if unparsable.

    Obsolete syntax (two-digit years, named and military zones, comments) is
    accepted; a missing zone is read as UTC.
    """
    match = _DATE.match(strip_comments(value))
    if match is None:
        return None
    day_s, month_s, year_s, hour_s, minute_s, second_s, zone = match.groups()
    month = _MONTHS.get(month_s[:3].lower())
    if month is None:
        return None
    year = int(year_s)
    if len(year_s) == 2:
        year += 2000 if year < 50 else 1900
    elif len(year_s) == 3:
        year += 1900
    if zone is None:
        offset_minutes = 0
    elif zone[0] in "+-":
        hours, minutes = int(zone[1:3]), int(zone[3:5])
        if hours > 23 or minutes > 59:
            return None
        offset_minutes = (hours * 60 + minutes) * (-1 if zone[0] == "-" else 1)
    else:
        offset_minutes = _NAMED_ZONES.get(zone.lower(), 0) * 60
    second = min(int(second_s or 0), 59)  # a leap second is not representable
    try:
        moment = datetime(year, month, int(day_s), int(hour_s), int(minute_s), second,
                          tzinfo=timezone(timedelta(minutes=offset_minutes)))
    except ValueError:
        return None
    return format_jmap_date(moment)


def format_jmap_date(moment: datetime) -> str:
    """RFC 3339 as RFC 8620 §1.4 wants it: no fractional seconds, ``Z`` for UTC."""
    text = (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
            f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}")
    offset = moment.utcoffset() or timedelta(0)
    if not offset:
        return text + "Z"
    total = int(offset.total_seconds()) // 60
    sign = "-" if total < 0 else "+"
    total = abs(total)
    return f"{text}{sign}{total // 60:02d}:{total % 60:02d}"


def parse_jmap_date(value: object) -> datetime | None:
    """An RFC 8620 Date string as an aware datetime, or None if malformed."""
    if not isinstance(value, str):
        return None
    match = _RFC3339.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    zone = match.group(8)
    offset = 0 if zone == "Z" else (int(zone[1:3]) * 60 + int(zone[4:6])) * (-1 if zone[0] == "-" else 1)
    try:
        return datetime(year, month, day, hour, minute, min(second, 59),
                        tzinfo=timezone(timedelta(minutes=offset)))
    except ValueError:
        return None


def format_rfc5322_date(moment: datetime) -> str:
    """RFC 5322 §3.3 date-time, keeping the offset of ``moment``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment)
