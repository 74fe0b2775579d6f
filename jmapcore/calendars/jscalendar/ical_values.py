"""iCalendar value types (RFC 5545 §3.3): DATE, DATE-TIME, DURATION, PERIOD, UTC-OFFSET, RECUR.

Every parser takes the raw value text (as IcalProperty.value holds it) and
returns the value and a problem: (value, None) when valid, (None, "plain
words") when not. Nothing raises. Recurrence rules are returned as a dict of
their parts (RECUR, §3.3.10, with RFC 7529 RSCALE/SKIP) with a list of
problems, since a rule with one bad BYDAY entry is still mostly usable.

Times are kept as they are written, not resolved: an IcalTime is the local
wall-clock value, whether it was marked UTC ('Z') and the TZID parameter it
came with (resolving a TZID is timezones.py's job). All parsing is linear in
the input (RECUR lists are split once).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from jmapcore.calendars.jscalendar.ical_model import IcalProperty

__all__ = [
    "FREQUENCIES",
    "WEEKDAYS",
    "IcalDuration",
    "IcalPeriod",
    "IcalTime",
    "date_parse",
    "date_time_parse",
    "duration_parse",
    "period_parse",
    "recur_parse",
    "recur_until_check",
    "time_parse",
    "times_parse",
    "utc_offset_parse",
]

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
FREQUENCIES = ("SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_SKIPS = ("OMIT", "BACKWARD", "FORWARD")
_VALUE_MAX_CHARS = 64  # no DATE-TIME, DURATION or PERIOD is longer; longer text is not parsed at all


@dataclass(frozen=True)
class IcalTime:
    """A DATE or DATE-TIME as written (§3.3.4, §3.3.5).

    `value` is a `date` for a DATE and a naive `datetime` (wall clock) for a
    DATE-TIME; `utc` is True for form #2 (trailing 'Z'); `tzid` is the TZID
    parameter for form #3 (None for floating and UTC times, and for dates).
    """

    value: date
    utc: bool = False
    tzid: str | None = None

    @property
    def is_date(self) -> bool:
        """Whether this is a DATE (an all-day value), not a DATE-TIME."""
        return not isinstance(self.value, datetime)

    @property
    def floating(self) -> bool:
        """A DATE-TIME with neither 'Z' nor TZID (§3.3.5 form #1)."""
        return not self.is_date and not self.utc and self.tzid is None

    def text(self) -> str:
        """The value written back in its iCalendar form (without the TZID parameter)."""
        if self.is_date:
            return f"{self.value.year:04d}{self.value:%m%d}"
        assert isinstance(self.value, datetime)
        stamp = f"{self.value.year:04d}{self.value:%m%dT%H%M%S}"
        return stamp + ("Z" if self.utc else "")


@dataclass(frozen=True)
class IcalDuration:
    """A DURATION (§3.3.6) in its parts: weeks and days are nominal (a day is
    a calendar day, 23 or 25 hours across a DST change), hours to seconds
    exact, which JSCalendar's Duration keeps apart too (RFC 8984 §1.4.6)."""

    negative: bool = False
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    def timedelta(self) -> timedelta:
        """The duration as a timedelta (a day counted as 24 hours)."""
        span = timedelta(weeks=self.weeks, days=self.days, hours=self.hours, minutes=self.minutes,
                         seconds=self.seconds)
        return -span if self.negative else span

    def text(self) -> str:
        """The duration written back in its iCalendar form (§3.3.6)."""
        sign = "-" if self.negative else ""
        if self.weeks and not (self.days or self.hours or self.minutes or self.seconds):
            return f"{sign}P{self.weeks}W"
        days = self.days + 7 * self.weeks
        clock = "".join(f"{amount}{unit}" for amount, unit in
                        ((self.hours, "H"), (self.minutes, "M"), (self.seconds, "S")) if amount)
        body = (f"{days}D" if days else "") + (f"T{clock}" if clock else "")
        return f"{sign}P{body or 'T0S'}"


@dataclass(frozen=True)
class IcalPeriod:
    """A PERIOD (§3.3.9): a start and either an end or a positive duration."""

    start: IcalTime
    end: IcalTime | None = None
    duration: IcalDuration | None = None


def _snippet(text: str) -> str:
    return repr(text[:40] + "…") if len(text) > 40 else repr(text)


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def date_parse(text: str) -> tuple[date | None, str | None]:
    """A DATE (§3.3.4): YYYYMMDD."""
    text = text.strip()
    if len(text) != 8 or not _digits(text):
        return None, f"{_snippet(text)} is not a DATE (YYYYMMDD)"
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:])), None
    except ValueError:
        return None, f"{_snippet(text)} is not a valid date"


def date_time_parse(text: str, *, tzid: str | None = None) -> tuple[IcalTime | None, str | None]:
    """A DATE-TIME (§3.3.5): YYYYMMDDTHHMMSS, with 'Z' for UTC. A second of 60
    (a leap second, §3.3.12) is read as 59. A TZID on a UTC time is ignored
    (§3.2.19 forbids it) with a problem."""
    text = text.strip()
    if len(text) > _VALUE_MAX_CHARS:
        return None, f"{_snippet(text)} is not a DATE-TIME"
    utc = text[-1:] in ("Z", "z")
    body = text[:-1] if utc else text
    day, mark, clock = body.partition("T") if "T" in body else body.partition("t")
    if not mark or len(day) != 8 or len(clock) != 6 or not _digits(day) or not _digits(clock):
        return None, f"{_snippet(text)} is not a DATE-TIME (YYYYMMDDTHHMMSS[Z])"
    second = min(int(clock[4:]), 59) if int(clock[4:]) == 60 else int(clock[4:])
    try:
        value = datetime(int(day[:4]), int(day[4:6]), int(day[6:]), int(clock[:2]), int(clock[2:4]), second)
    except ValueError:
        return None, f"{_snippet(text)} is not a valid date and time"
    if utc and tzid is not None:
        return IcalTime(value, utc=True), f"{_snippet(text)} is UTC but has TZID={_snippet(tzid)}; TZID ignored"
    return IcalTime(value, utc=utc, tzid=None if utc else tzid), None


def _one_time(text: str, value_type: str, tzid: str | None) -> tuple[IcalTime | None, str | None]:
    if value_type == "DATE":
        day, problem = date_parse(text)
        return (IcalTime(day) if day is not None else None), problem
    if value_type == "DATE-TIME":
        return date_time_parse(text, tzid=tzid)
    # No VALUE parameter: DATE-TIME is the default (§3.8.2.4), but many
    # writers leave VALUE=DATE out; an 8-digit value is a date anyway.
    stripped = text.strip()
    if len(stripped) == 8 and _digits(stripped):
        day, problem = date_parse(stripped)
        if day is None:
            return None, problem
        return IcalTime(day), "a DATE value without VALUE=DATE (read as a date)"
    return date_time_parse(text, tzid=tzid)


def time_parse(prop: IcalProperty) -> tuple[IcalTime | None, str | None]:
    """The DATE or DATE-TIME of a property such as DTSTART, DTEND, DUE,
    RECURRENCE-ID (§3.8.2), honouring VALUE and TZID. A problem may come with
    a value (a date without VALUE=DATE, a TZID on a UTC time): the value is
    still usable."""
    value_type = (prop.param_first("VALUE") or "").upper()
    if value_type not in ("", "DATE", "DATE-TIME"):
        return None, f"{prop.name} has VALUE={_snippet(value_type)}, not DATE or DATE-TIME"
    result, problem = _one_time(prop.value, value_type, prop.param_first("TZID"))
    if problem is not None:
        problem = f"{prop.name}: {problem}"
    return result, problem


def times_parse(prop: IcalProperty) -> tuple[list[IcalTime | IcalPeriod], list[str]]:
    """Every value of a multi-valued RDATE or EXDATE (§3.8.5.1, §3.8.5.2):
    comma-separated DATE, DATE-TIME or (RDATE;VALUE=PERIOD) PERIOD values.
    Invalid ones are left out, each with a problem."""
    value_type = (prop.param_first("VALUE") or "").upper()
    tzid = prop.param_first("TZID")
    values: list[IcalTime | IcalPeriod] = []
    problems: list[str] = []
    if value_type not in ("", "DATE", "DATE-TIME", "PERIOD"):
        return [], [f"{prop.name} has VALUE={_snippet(value_type)}, not DATE, DATE-TIME or PERIOD"]
    for piece in prop.value.split(","):
        if not piece.strip():
            continue
        if value_type == "PERIOD" or (value_type == "" and "/" in piece):
            period, problem = period_parse(piece, tzid=tzid)
            if period is not None:
                values.append(period)
        else:
            one, problem = _one_time(piece, value_type, tzid)
            if one is not None:
                values.append(one)
        if problem is not None:
            problems.append(f"{prop.name}: {problem}")
    return values, problems


def duration_parse(text: str) -> tuple[IcalDuration | None, str | None]:
    """A DURATION (§3.3.6): [+-]P then nW, or nD, and/or T with nH nM nS in
    that order (lower-case letters tolerated)."""
    raw = text
    text = text.strip().upper()
    if len(text) > _VALUE_MAX_CHARS:
        return None, f"{_snippet(raw)} is not a DURATION"
    negative = text.startswith("-")
    if text[:1] in "+-" and text:
        text = text[1:]
    if not text.startswith("P") or len(text) < 3:
        return None, f"{_snippet(raw)} is not a DURATION (e.g. PT15M, P1D, -P1W)"
    parts = {"W": 0, "D": 0, "H": 0, "M": 0, "S": 0}
    order_date = "WD"
    order_time = "HMS"
    in_time = False
    number = ""
    seen: list[str] = []
    for char in text[1:]:
        if char.isascii() and char.isdigit():
            number += char
            continue
        if char == "T" and not in_time and not number:
            in_time = True
            continue
        allowed = order_time if in_time else order_date
        if char not in allowed or not number or (seen and seen[-1] in allowed and
                                                 allowed.index(seen[-1]) >= allowed.index(char)):
            return None, f"{_snippet(raw)} is not a DURATION (e.g. PT15M, P1D, -P1W)"
        parts[char] = int(number)
        seen.append(char)
        number = ""
    if number or not seen or (in_time and seen[-1] not in order_time):
        return None, f"{_snippet(raw)} is not a DURATION (e.g. PT15M, P1D, -P1W)"
    return IcalDuration(negative, parts["W"], parts["D"], parts["H"], parts["M"], parts["S"]), None


def period_parse(text: str, *, tzid: str | None = None) -> tuple[IcalPeriod | None, str | None]:
    """A PERIOD (§3.3.9): start/end or start/duration, DATE-TIMEs."""
    start_text, slash, rest = text.strip().partition("/")
    if not slash:
        return None, f"{_snippet(text)} is not a PERIOD (start/end or start/duration)"
    start, problem = date_time_parse(start_text, tzid=tzid)
    if start is None:
        return None, problem
    if rest.strip()[:1] in ("P", "p", "+"):
        duration, problem = duration_parse(rest)
        if duration is None:
            return None, problem
        if duration.negative:
            return None, f"{_snippet(text)} is a PERIOD with a negative duration"
        return IcalPeriod(start, duration=duration), None
    end, problem = date_time_parse(rest, tzid=tzid)
    if end is None:
        return None, problem
    if end.value < start.value:
        return None, f"{_snippet(text)} is a PERIOD that ends before it starts"
    return IcalPeriod(start, end=end), None


def utc_offset_parse(text: str) -> tuple[timedelta | None, str | None]:
    """A UTC-OFFSET (§3.3.14): +HHMM or +HHMMSS (or -); -0000 is not allowed
    but read as zero with a problem."""
    text = text.strip()
    sign, digits = text[:1], text[1:]
    if sign not in ("+", "-") or len(digits) not in (4, 6) or not _digits(digits):
        return None, f"{_snippet(text)} is not a UTC offset (+HHMM or -HHMMSS)"
    hours, minutes, seconds = int(digits[:2]), int(digits[2:4]), int(digits[4:] or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        return None, f"{_snippet(text)} is not a valid UTC offset"
    offset = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    if sign == "-":
        if not offset:
            return timedelta(0), "the UTC offset -0000 is not allowed (RFC 5545 §3.3.14); read as +0000"
        offset = -offset
    return offset, None


# --- RECUR (§3.3.10, RFC 7529) ------------------------------------------------------------------------------

# BYxxx parts with integer lists: (lowest, highest, whether negative values are allowed)
_INT_PARTS: dict[str, tuple[int, int, bool]] = {
    "BYSECOND": (0, 60, False), "BYMINUTE": (0, 59, False), "BYHOUR": (0, 23, False),
    "BYMONTHDAY": (1, 31, True), "BYYEARDAY": (1, 366, True), "BYWEEKNO": (1, 53, True),
    "BYSETPOS": (1, 366, True),
}


def _int_item(text: str, low: int, high: int, negative: bool) -> int | None:
    text = text.strip()
    body = text[1:] if text[:1] in "+-" else text
    if not body or not _digits(body) or len(body) > 10:
        return None
    number = int(body)
    if number < low or number > high or (text.startswith("-") and (not negative or number == 0)):
        return None
    return -number if text.startswith("-") else number


def _byday_item(text: str) -> tuple[int | None, str] | None:
    text = text.strip().upper()
    day = text[-2:]
    if day not in WEEKDAYS:
        return None
    ordinal_text = text[:-2]
    if not ordinal_text:
        return None, day
    ordinal = _int_item(ordinal_text, 1, 53, True)
    return (ordinal, day) if ordinal is not None else None


def _bymonth_item(text: str) -> str | None:
    # RFC 7529 §4.2: a leap month of RSCALE calendars is written "5L".
    text = text.strip().upper()
    body = text[:-1] if text.endswith("L") else text
    number = _int_item(body, 1, 13, False)
    return None if number is None else f"{number}{'L' if text.endswith('L') else ''}"


def recur_parse(text: str, *, dtstart: IcalTime | None = None) -> tuple[dict[str, object] | None, list[str]]:
    """A recurrence rule (RRULE/EXRULE value, §3.3.10; RFC 7529 RSCALE and SKIP)
    as a dict of its parts, and its problems.

    Keys are the upper-case part names. FREQ, WKST, RSCALE and SKIP are
    upper-case strings; COUNT and INTERVAL ints; UNTIL an IcalTime; BYDAY a
    list of (ordinal or None, "MO".."SU"); BYMONTH a list of strings ("5",
    "5L"); the other BYxxx lists of ints; unknown parts (X-…) their raw text.
    None when the rule has no valid FREQ; otherwise an invalid part or list
    item is left out with a problem. With `dtstart`, UNTIL is checked against
    it (recur_until_check)."""
    problems: list[str] = []
    parts: dict[str, object] = {}
    for piece in text.strip().split(";"):
        if not piece.strip():
            continue
        name, equals, value = piece.partition("=")
        name = name.strip().upper()
        value = value.strip()
        if not equals or not name:
            problems.append(f"RRULE part {_snippet(piece)} has no NAME=value form; ignored")
            continue
        if name in parts:
            problems.append(f"RRULE has {name} twice; the first is used")
            continue
        if name == "FREQ":
            if value.upper() not in FREQUENCIES:
                return None, [*problems, f"RRULE FREQ={_snippet(value)} is not a frequency"]
            parts[name] = value.upper()
        elif name == "UNTIL":
            until: IcalTime | None
            if len(value) == 8 and _digits(value):
                day, problem = date_parse(value)
                until = IcalTime(day) if day is not None else None
            else:
                until, problem = date_time_parse(value)
            if until is None:
                problems.append(f"RRULE UNTIL: {problem}; ignored")
            else:
                parts[name] = until
        elif name in ("COUNT", "INTERVAL"):
            number = _int_item(value, 1, 10**9, False)
            if number is None:
                problems.append(f"RRULE {name}={_snippet(value)} is not a positive integer; ignored")
            else:
                parts[name] = number
        elif name == "WKST" or name == "SKIP" or name == "RSCALE":
            upper = value.upper()
            if (name == "WKST" and upper not in WEEKDAYS) or (name == "SKIP" and upper not in _SKIPS) or not upper:
                problems.append(f"RRULE {name}={_snippet(value)} is not valid; ignored")
            else:
                parts[name] = upper
        elif name == "BYDAY" or name == "BYMONTH" or name in _INT_PARTS:
            items: list[object] = []
            bad = 0
            for item_text in value.split(","):
                item: object
                if name == "BYDAY":
                    item = _byday_item(item_text)
                elif name == "BYMONTH":
                    item = _bymonth_item(item_text)
                else:
                    low, high, negative = _INT_PARTS[name]
                    item = _int_item(item_text, low, high, negative)
                if item is None:
                    bad += 1
                    if bad == 1:
                        problems.append(f"RRULE {name} entry {_snippet(item_text)} is not valid; ignored")
                else:
                    items.append(item)
            if bad > 1:
                problems.append(f"RRULE {name} has {bad} invalid entries in all; ignored")
            if items:
                parts[name] = items
        elif name.startswith("X-"):
            parts[name] = value
        else:
            problems.append(f"RRULE part {_snippet(name)} is unknown; ignored")
    if "FREQ" not in parts:
        return None, [*problems, "RRULE has no FREQ"]
    if "UNTIL" in parts and "COUNT" in parts:
        problems.append("RRULE has both UNTIL and COUNT (RFC 5545 §3.3.10 allows one); COUNT is used")
        del parts["UNTIL"]
    freq = parts["FREQ"]
    byday = parts.get("BYDAY")
    if isinstance(byday, list) and any(ordinal is not None for ordinal, _ in byday) and \
            freq not in ("MONTHLY", "YEARLY"):
        problems.append(f"RRULE BYDAY with an ordinal is only allowed with FREQ=MONTHLY or YEARLY, not {freq}")
    if isinstance(byday, list) and freq == "MONTHLY":
        for ordinal, _ in byday:
            if ordinal is not None and abs(ordinal) > 5:
                # Valid syntax (1 to 53), but no month has a 6th weekday: the entry adds nothing.
                problems.append(f"RRULE BYDAY ordinal {ordinal} never occurs in a month; kept")
                break
    if "BYWEEKNO" in parts and freq != "YEARLY":
        problems.append("RRULE BYWEEKNO is only allowed with FREQ=YEARLY")
    if dtstart is not None:
        problem = recur_until_check(parts, dtstart=dtstart)
        if problem is not None:
            problems.append(problem)
    return parts, problems


def recur_until_check(parts: dict[str, object], *, dtstart: IcalTime) -> str | None:
    """Whether UNTIL has the form §3.3.10 requires for this DTSTART: a DATE
    for a DATE start, a DATE-TIME otherwise, and in UTC when the start has a
    TZID or is UTC (a floating start may have a floating UNTIL). A problem in
    plain words, or None when it is right (or there is no UNTIL)."""
    until = parts.get("UNTIL")
    if not isinstance(until, IcalTime):
        return None
    if dtstart.is_date and not until.is_date:
        return "RRULE UNTIL is a DATE-TIME but DTSTART is a DATE (RFC 5545 §3.3.10 wants the same type)"
    if not dtstart.is_date and until.is_date:
        return "RRULE UNTIL is a DATE but DTSTART is a DATE-TIME (RFC 5545 §3.3.10 wants the same type)"
    if not dtstart.is_date and not dtstart.floating and not until.utc:
        return "RRULE UNTIL is a local time but DTSTART has a time zone (RFC 5545 §3.3.10 wants UTC)"
    return None
