"""Dates: RFC 5322 §3.3 date-time to the JMAP Date type (RFC 8620 §1.4, an RFC
3339 date-time keeping the sender's offset) and back.

Parsing is a token scanner, linear in its input: the value is cut to
DATE_VALUE_MAX characters, comments are removed, and the rest is split into
runs of letters, runs of digits and single other characters by one regex whose
alternatives start with disjoint character classes (no backtracking).
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

from jmapcore.mime.params import strip_comments

# A real Date header is about 40 characters; comments (a zone name) add a few,
# odd mailers some blanks. Beyond this nothing is a date worth reading.
DATE_VALUE_MAX = 1024
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
# RFC 5322 §4.3 obs-zone; military zones "SHOULD all be considered equivalent to -0000".
_NAMED_ZONES = {"ut": 0, "utc": 0, "gmt": 0, "z": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5,
                "mst": -7, "mdt": -6, "pst": -8, "pdt": -7}
# Letters, digits, white space, or one other character: four disjoint classes.
_DATE_TOKEN = re.compile(r"[A-Za-z]+|[0-9]+|[ \t\r\n]+|[^A-Za-z0-9 \t\r\n]")
_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})\Z")


class _Tokens:
    """A cursor over the date tokens; white space is kept only as a flag."""

    __slots__ = ("items", "pos")

    def __init__(self, text: str) -> None:
        self.items = [t for t in _DATE_TOKEN.findall(text)]
        self.pos = 0

    def skip_ws(self) -> bool:
        if self.pos < len(self.items) and self.items[self.pos][0] in " \t\r\n":
            self.pos += 1
            return True
        return False

    def peek(self) -> str:
        self.skip_ws()
        return self.items[self.pos] if self.pos < len(self.items) else ""

    def take(self) -> str:
        value = self.peek()
        self.pos += 1
        return value

    def take_if(self, value: str) -> bool:
        if self.peek() == value:
            self.pos += 1
            return True
        return False


def _number(value: str, low: int, high: int) -> int | None:
    return int(value) if value.isdigit() and low <= len(value) <= high else None


def parse_rfc5322_datetime(value: str) -> datetime | None:
    """A date-time (RFC 5322 §3.3, with the §4.3 obsolete forms: two- and
    three-digit years, named and military zones, comments, dashes between the
    date fields, fractional seconds) as an aware datetime; None if unparsable.
    A missing zone is read as UTC; a leap second as :59. Linear time."""
    tokens = _Tokens(strip_comments(value[:DATE_VALUE_MAX]))
    first = tokens.peek()
    if first.isalpha():  # the day of the week, not checked against the date
        tokens.take()
        tokens.take_if(",")
    day = _number(tokens.take(), 1, 2)
    tokens.take_if("-")
    month_name = tokens.take()
    if not month_name.isalpha() or not 3 <= len(month_name) <= 9:
        return None
    month = _MONTHS.get(month_name[:3].lower())
    tokens.take_if(".")
    tokens.take_if("-")
    year_text = tokens.take()
    year = _number(year_text, 2, 4)
    if day is None or month is None or year is None or not tokens.skip_ws():
        return None
    if len(year_text) == 2:
        year += 2000 if year < 50 else 1900
    elif len(year_text) == 3:
        year += 1900
    hour = _number(tokens.take(), 1, 2)
    if not tokens.take_if(":"):
        return None
    minute = _number(tokens.take(), 1, 2)
    second = 0
    if tokens.take_if(":"):
        parsed_second = _number(tokens.take(), 1, 2)
        if parsed_second is None:
            return None
        second = min(parsed_second, 59)  # a leap second is not representable
    if hour is None or minute is None:
        return None
    if tokens.take_if(".") and not tokens.take().isdigit():
        return None
    offset = _zone_minutes(tokens)
    if offset is None or tokens.peek():
        return None
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=timezone(timedelta(minutes=offset)))
    except ValueError:
        return None


def _zone_minutes(tokens: _Tokens) -> int | None:
    """The zone's offset from UTC in minutes: +hhmm/-hhmm, a name, or none (UTC)."""
    sign = tokens.peek()
    if sign in ("+", "-"):
        tokens.take()
        digits = tokens.take()
        if len(digits) != 4 or not digits.isdigit():
            return None
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            return None
        return (hours * 60 + minutes) * (-1 if sign == "-" else 1)
    if sign.isalpha():
        if len(sign) > 5:
            return None
        tokens.take()
        return _NAMED_ZONES.get(sign.lower(), 0) * 60
    return 0


def parse_rfc5322_date(value: str) -> str | None:
    """The Date form (RFC 8621 §4.1.2.6): RFC 3339 text, or None if unparsable."""
    moment = parse_rfc5322_datetime(value)
    return None if moment is None else format_jmap_date(moment)


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
