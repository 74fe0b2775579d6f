"""JSCalendar's LocalDateTime and Duration values (RFC 8984 §1.4.4, §1.4.6) and
the step from a wall-clock time in a time zone to UTC (RFC 5545 §3.3.5).

Pure helpers for recurrence expansion and free/busy: they parse, never raise
on bad text (None instead), and do arithmetic that cannot overflow silently.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

_LOCAL = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$")
_DURATION = re.compile(
    r"^(?P<sign>[+-])?P(?!$)(?:(?P<w>\d{1,9})W)?(?:(?P<d>\d{1,9})D)?"
    r"(?:T(?=\d)(?:(?P<h>\d{1,9})H)?(?:(?P<m>\d{1,9})M)?(?:(?P<s>\d{1,9})(?:\.\d{1,9})?S)?)?$"
)


def local_parse(text: object) -> datetime | None:
    """A LocalDateTime ("2026-03-29T02:30:00", RFC 8984 §1.4.4) as a naive
    datetime, or None when `text` is not one (fractions of a second are dropped:
    iCalendar has none, RFC 5545 §3.3.5)."""
    if not isinstance(text, str):
        return None
    match = _LOCAL.match(text)
    if match is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def local_format(value: datetime) -> str:
    """The LocalDateTime text of a naive datetime (seconds always written)."""
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"


@dataclass(frozen=True)
class Duration:
    """An RFC 8984 §1.4.6 (Signed)Duration split as RFC 5545 §3.3.6 computes it:
    weeks and days are nominal (added on the wall clock, so a day across a DST
    change is 23 or 25 hours), hours, minutes and seconds are exact."""

    days: int
    seconds: int

    @property
    def is_zero(self) -> bool:
        return self.days == 0 and self.seconds == 0

    def upper_bound(self) -> timedelta:
        """No occurrence lasts longer than this (a nominal day is at most 25 h)."""
        return timedelta(days=max(self.days, 0) * 25 / 24, seconds=max(self.seconds, 0))


def duration_parse(text: object, *, signed: bool = False) -> Duration | None:
    """An RFC 8984 Duration ("P1DT2H", "PT15M", "P2W"), or a SignedDuration with
    `signed`; None when it is not one."""
    if not isinstance(text, str):
        return None
    match = _DURATION.match(text)
    if match is None or (match["sign"] and not signed):
        return None
    days = int(match["w"] or 0) * 7 + int(match["d"] or 0)
    seconds = int(match["h"] or 0) * 3600 + int(match["m"] or 0) * 60 + int(match["s"] or 0)
    if match["sign"] == "-":
        days, seconds = -days, -seconds
    return Duration(days=days, seconds=seconds)


def local_to_utc(value: datetime, zone: tzinfo) -> datetime:
    """The UTC instant of wall-clock time `value` in `zone`.

    RFC 5545 §3.3.5: a time that occurs twice (DST ends) means the first of the
    two; a time that does not occur (DST starts) is read with the offset before
    the gap, so 02:30 on a spring-forward night is 03:30 in summer time. That is
    exactly PEP 495's fold=0, which zoneinfo and our VTIMEZONE zones implement.
    Raises OverflowError near the ends of the datetime range.
    """
    return value.replace(tzinfo=zone, fold=0).astimezone(UTC)


def utc_to_local(value: datetime, zone: tzinfo) -> datetime:
    """The naive wall-clock time in `zone` at UTC instant `value` (OverflowError at the range's ends)."""
    return value.astimezone(zone).replace(tzinfo=None)


def end_of(start_local: datetime, start_utc: datetime, duration: Duration, zone: tzinfo) -> datetime:
    """The UTC end of something that starts at `start_local` in `zone` and lasts
    `duration`: nominal days on the wall clock, then exact seconds (RFC 5545 §3.3.6)."""
    if duration.days:
        base = local_to_utc(start_local + timedelta(days=duration.days), zone)
    else:
        base = start_utc
    end = base + timedelta(seconds=duration.seconds)
    return max(end, start_utc)


def clamp_local(value: datetime, delta: timedelta) -> datetime:
    """`value + delta`, held inside the datetime range instead of overflowing."""
    try:
        return value + delta
    except OverflowError:
        return datetime.max if delta > timedelta(0) else datetime.min
