"""Dates, times and durations: DTSTART/DTEND/DURATION ↔ start, duration,
timeZone and showWithoutTime (RFC 8984 §5.1.1-5.1.2, §4.7.1; RFC 5545 §3.3.4-5,
§3.8.2; draft-ietf-calext-jscalendar-icalendar-30 "start", "duration").

A JSCalendar start is a LocalDateTime in the event's timeZone: an iCalendar
DATE-TIME with TZID keeps its local time and gives its zone (an IANA id,
a Microsoft name or a VTIMEZONE, resolved by jscalendar.timezones); a UTC
time ("Z") is read with timeZone "Etc/UTC"; a floating time has no timeZone;
a DATE is an all-day event: showWithoutTime true, start at midnight.
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from jmapcore.calendars.jscalendar.context import ReadContext, WriteContext
from jmapcore.calendars.jscalendar.ical_model import IcalComponent, IcalParam, IcalProperty
from jmapcore.calendars.jscalendar.ical_values import IcalTime, time_parse
from jmapcore.calendars.jscalendar.ical_values import duration_parse as ical_duration_parse

UTC_NAMES = {"Etc/UTC", "UTC", "Etc/GMT", "GMT", "Etc/Zulu", "Z"}
_LOCAL = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?")
_UTC = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?Z")
# RFC 5545 §3.3.6 and RFC 8984 §1.4.6: P[nW] or P[nD][T[nH][nM][nS]]; JSCalendar
# allows a fraction of seconds, iCalendar does not (it is rounded away on writing).
_DURATION = re.compile(r"([+-])?P(?:(\d+)W|(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d+))?S)?)?)")


# --- values ---------------------------------------------------------------------------------------------

def naive(value: IcalTime) -> datetime:
    """The wall-clock time of a DATE or DATE-TIME value (midnight for a DATE)."""
    moment = value.value
    if isinstance(moment, datetime):
        return moment
    return datetime(moment.year, moment.month, moment.day)


def local_parse(value: Any) -> datetime | None:
    """A JSCalendar LocalDateTime ("2026-12-07T09:00:00", RFC 8984 §1.4.4) as a naive datetime."""
    if not isinstance(value, str):
        return None
    match = _LOCAL.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def utc_parse(value: Any) -> datetime | None:
    """A JSCalendar UTCDateTime ("2026-12-07T09:00:00Z", RFC 8984 §1.4.3), aware."""
    if not isinstance(value, str):
        return None
    match = _UTC.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def local_format(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S") if moment.year >= 1000 else \
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment:%H:%M:%S}"


def utc_format(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return local_format(moment.replace(tzinfo=None)) + "Z"


def ical_date_time(moment: datetime, *, utc: bool = False) -> str:
    text = f"{moment.year:04d}{moment.month:02d}{moment.day:02d}T{moment:%H%M%S}"
    return text + ("Z" if utc else "")


def ical_date(moment: datetime | date) -> str:
    return f"{moment.year:04d}{moment.month:02d}{moment.day:02d}"


def duration_parse(value: Any) -> timedelta | None:
    """An iCalendar or JSCalendar (signed) duration as a timedelta; None when invalid."""
    if not isinstance(value, str):
        return None
    match = _DURATION.fullmatch(value.strip())
    if match is None or value.strip().rstrip("T").endswith("P") or value.strip().endswith("T"):
        return None
    sign, weeks, days, hours, minutes, seconds, fraction = match.groups()
    total = timedelta(weeks=int(weeks or 0), days=int(days or 0), hours=int(hours or 0),
                      minutes=int(minutes or 0), seconds=int(seconds or 0))
    if fraction:
        total += timedelta(seconds=float("0." + fraction))
    return -total if sign == "-" else total


def duration_format(value: timedelta, *, signed: bool = False) -> str:
    """A timedelta as an iCalendar/JSCalendar duration: whole days as "PnD",
    the rest as time; "PT0S" for zero. Fractions of a second are dropped."""
    negative = value < timedelta(0)
    value = -value if negative else value
    days = value.days
    seconds = value.seconds
    out = "P"
    if days:
        out += f"{days}D"
    if seconds or not days:
        out += "T"
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        if hours:
            out += f"{hours}H"
        if minutes:
            out += f"{minutes}M"
        if secs or (not hours and not minutes):
            out += f"{secs}S"
    return ("-" if negative and signed else "") + out


def duration_valid(value: Any, *, signed: bool = False) -> bool:
    if not isinstance(value, str) or (not signed and value.startswith(("-", "+"))):
        return False
    return duration_parse(value) is not None


# --- time zones -------------------------------------------------------------------------------------------

def zone_get(tzid: str, vtimezones: dict[str, IcalComponent] | None = None) -> tzinfo | None:
    """The tzinfo of a TZID (jscalendar.timezones.tz_resolve: IANA, Microsoft name,
    or the object's VTIMEZONE); None when it cannot be resolved."""
    if tzid in UTC_NAMES:
        return UTC
    from jmapcore.calendars.jscalendar.timezones import tz_resolve

    try:
        return tz_resolve(tzid, vtimezones=vtimezones or {})
    except Exception:        # a broken VTIMEZONE must not break the event
        return None


def zone_iana(tzid: str, vtimezones: dict[str, IcalComponent] | None = None) -> str | None:
    """The IANA id a TZID stands for (JSCalendar timeZone, RFC 8984 §4.7.1), or None."""
    if tzid in UTC_NAMES:
        return "Etc/UTC"
    from jmapcore.calendars.jscalendar.timezones import tz_iana_name

    try:
        return tz_iana_name(tzid, vtimezones=vtimezones or {})
    except Exception:
        return None


def event_zone(event: dict[str, Any]) -> tzinfo | None:
    """The tzinfo of the event's timeZone; None when floating (or unknown)."""
    name = event.get("timeZone")
    if not isinstance(name, str) or not name:
        return None
    return zone_get(name)


def to_local(value: IcalTime, ctx: ReadContext) -> datetime:
    """An iCalendar time as a wall-clock time of the event's zone (for recurrence
    ids, EXDATE, RDATE, UNTIL): a UTC or other-zone time is converted; a floating
    time or a DATE is taken as it is."""
    local = naive(value)
    if value.is_date:
        return local
    source: tzinfo | None = UTC if value.utc else zone_get(value.tzid, ctx.vtimezones) \
        if value.tzid else None
    target = UTC if ctx.zone_utc else ctx.zone
    if source is None or target is None or source is target:
        return local
    return local.replace(tzinfo=source).astimezone(target).replace(tzinfo=None)


def time_of(prop: IcalProperty, ctx: ReadContext | None = None) -> IcalTime | None:
    """The DATE or DATE-TIME of DTSTART, DTEND, RECURRENCE-ID…; a problem goes to `ctx`."""
    parsed, problem = time_parse(prop)
    if problem is not None and ctx is not None:
        ctx.problem(problem)
    return parsed


# --- reading ----------------------------------------------------------------------------------------------

def read_start(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
    """DTSTART (RFC 5545 §3.8.2.4) → start, timeZone, showWithoutTime."""
    if "start" in ctx.event:
        return False
    parsed = time_of(prop, ctx)
    if parsed is None:
        ctx.problem(f"DTSTART {prop.value[:40]!r} is not a date or date-time; kept as it is")
        return False
    ctx.claim(("start",), index)
    ctx.event["start"] = local_format(naive(parsed))
    if parsed.is_date:
        ctx.all_day = True
        ctx.event["showWithoutTime"] = True
    elif parsed.utc:
        ctx.zone_utc = True
        ctx.event["timeZone"] = "Etc/UTC"
    elif parsed.tzid:
        name = zone_iana(parsed.tzid, ctx.vtimezones)
        ctx.zone = zone_get(parsed.tzid, ctx.vtimezones)
        if name is not None:
            ctx.event["timeZone"] = name
        elif ctx.zone is None:
            ctx.problem(f"unknown TZID {parsed.tzid[:60]!r}: the start is read as a floating time")
        else:
            ctx.problem(f"TZID {parsed.tzid[:60]!r} has no IANA name: the start is read as a floating time")
    return True


def read_end(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
    """DTEND or DURATION (RFC 5545 §3.8.2.2, §3.8.2.5) → duration; kept for read_finish."""
    if "end" in ctx.pending:
        return False
    ctx.pending["end"] = (index, prop)
    return True


def _exact(value: IcalTime, ctx: ReadContext) -> datetime | None:
    zone = UTC if value.utc else zone_get(value.tzid, ctx.vtimezones) if value.tzid else None
    return naive(value).replace(tzinfo=zone) if zone is not None else None


def read_finish(ctx: ReadContext) -> None:
    """The duration from DTEND or DURATION, once DTSTART is known; an all-day event
    without either lasts a day (RFC 5545 §3.6.1)."""
    found = ctx.pending.pop("end", None)
    start = local_parse(ctx.event.get("start"))
    if found is None:
        if ctx.all_day:
            ctx.event["duration"] = "P1D"
        return
    index, prop = found
    if start is None:
        ctx.problem(f"{prop.name} without a DTSTART is kept as it is")
        return
    if prop.name == "DURATION":
        parsed_length, _problem = ical_duration_parse(prop.value)
        length = parsed_length.timedelta() if parsed_length is not None else None
        if length is None or length < timedelta(0):
            ctx.problem(f"DURATION {prop.value[:40]!r} is not a positive duration; kept as it is")
            return
    else:
        end = time_of(prop, ctx)
        if end is None:
            ctx.problem(f"DTEND {prop.value[:40]!r} is not a date or date-time; kept as it is")
            return
        start_prop = next((p for i, p in enumerate(ctx.properties) if ctx.slot_of.get(i) == ("start",)), None)
        start_time = time_of(start_prop) if start_prop is not None else None
        length = naive(end) - start
        if start_time is not None and (end.utc, end.tzid) != (start_time.utc, start_time.tzid):
            begin, finish = _exact(start_time, ctx), _exact(end, ctx)
            if begin is not None and finish is not None:
                length = finish - begin
        if length < timedelta(0):
            ctx.problem(f"DTEND {prop.value[:40]!r} is before DTSTART: the duration is read as zero")
            length = timedelta(0)
    ctx.claim(("start",), index)
    if length or ctx.all_day:
        ctx.event["duration"] = duration_format(length)
    else:
        ctx.event["duration"] = "PT0S"


# --- writing ----------------------------------------------------------------------------------------------

def time_params(event: dict[str, Any], ctx: WriteContext, *, is_date: bool) -> tuple[list[IcalParam], bool]:
    """The parameters of a date-time property in the event's zone, and whether it is UTC."""
    if is_date:
        return [IcalParam(name="VALUE", values=["DATE"])], False
    name = event.get("timeZone")
    if not isinstance(name, str) or not name:
        return [], False
    if name in UTC_NAMES:
        return [], True
    ctx.tzids.add(name)
    return [IcalParam(name="TZID", values=[name])], False


def local_value(moment: datetime, *, is_date: bool, utc: bool, zone: tzinfo | None) -> str:
    """A wall-clock time of the event written as a DATE, a local DATE-TIME, or UTC."""
    if is_date:
        return ical_date(moment)
    if utc and zone is not None and zone is not UTC:
        moment = moment.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
    return ical_date_time(moment, utc=utc)


def all_day(event: dict[str, Any]) -> bool:
    """An event written with DATE values: showWithoutTime and a start at midnight."""
    start = local_parse(event.get("start"))
    return bool(event.get("showWithoutTime")) and start is not None and start.time() == datetime.min.time() \
        and not event.get("timeZone")


def write_start(ctx: WriteContext, event: dict[str, Any]) -> None:
    """start/duration/timeZone/showWithoutTime → DTSTART and DTEND (or DURATION
    when an all-day event lasts part of a day)."""
    start = local_parse(event.get("start"))
    if start is None:
        return
    is_date = all_day(event)
    params, utc = time_params(event, ctx, is_date=is_date)
    ctx.emit(("start",), "DTSTART", local_value(start, is_date=is_date, utc=utc, zone=None), params)
    length = duration_parse(event.get("duration")) if "duration" in event else None
    if length is None:
        if is_date:
            return      # a DATE start alone lasts one day (RFC 5545 §3.6.1)
        return
    if is_date and length.seconds == 0 and length.days > 0 and not length.microseconds:
        ctx.emit(("start",), "DTEND", ical_date(start + length), list(params))
    elif is_date or (not length and not ctx.is_override):
        if length or is_date:
            ctx.emit(("start",), "DURATION", duration_format(length))
    else:
        ctx.emit(("start",), "DTEND", ical_date_time(start + length, utc=utc), list(params))
