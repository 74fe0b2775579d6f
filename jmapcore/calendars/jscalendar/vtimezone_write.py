"""A VTIMEZONE for an IANA time zone (RFC 5545 §3.6.5), so that every TZID an
event written here uses is defined in its object (RFC 5545 §3.2.19 requires
it; CalDAV servers that expand recurrences need the rules).

Built from the system's tz database (zoneinfo): the transitions of the year
before the event's start give one STANDARD and one DAYLIGHT observance each,
with a yearly RRULE (BYMONTH, BYDAY nth weekday or last) so that later years
follow; a zone without transitions gets one STANDARD observance.
"""
from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jmapcore.calendars.jscalendar.ical_model import IcalComponent, IcalProperty

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _offset_text(offset: timedelta) -> str:
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{secs:02d}" if secs else "")


def _transitions(zone: ZoneInfo, year: int) -> list[datetime]:
    """The UTC instants in `year` where the zone's offset changes (to the minute)."""
    found: list[datetime] = []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    previous = moment.astimezone(zone).utcoffset()
    while moment < end:
        step = moment + timedelta(days=1)
        current = step.astimezone(zone).utcoffset()
        if current != previous:
            low, high = moment, step
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == previous:
                    low = middle
                else:
                    high = middle
            found.append(high.replace(second=0, microsecond=0))
            previous = current
        moment = step
    return found


def _observance(zone: ZoneInfo, instant: datetime) -> IcalComponent:
    before = (instant - timedelta(minutes=1)).astimezone(zone)
    after = instant.astimezone(zone)
    offset_from, offset_to = before.utcoffset(), after.utcoffset()
    assert offset_from is not None and offset_to is not None
    local = (instant + offset_from).replace(tzinfo=None)     # the wall clock time the change happens at
    length = calendar.monthrange(local.year, local.month)[1]
    nth = "-1" if local.day + 7 > length else str((local.day - 1) // 7 + 1)
    kind = "DAYLIGHT" if after.dst() else "STANDARD"
    props = [
        IcalProperty(name="DTSTART", value=local.strftime("%Y%m%dT%H%M%S")),
        IcalProperty(name="RRULE", value=f"FREQ=YEARLY;BYMONTH={local.month};BYDAY={nth}{DAYS[local.weekday()]}"),
        IcalProperty(name="TZOFFSETFROM", value=_offset_text(offset_from)),
        IcalProperty(name="TZOFFSETTO", value=_offset_text(offset_to)),
    ]
    name = after.tzname()
    if name:
        props.append(IcalProperty(name="TZNAME", value=name))
    return IcalComponent(name=kind, properties=props)


def vtimezone_component(tzid: str, *, start: datetime) -> IcalComponent | None:
    """The VTIMEZONE of IANA zone `tzid` around `start`; None for an unknown zone."""
    try:
        zone = ZoneInfo(tzid)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    year = min(max(start.year - 1, 1971), 2200)
    observances = [_observance(zone, instant) for instant in _transitions(zone, year)]
    if len(observances) != 2:
        # No daylight saving (or an irregular year): the offset of the start, for good.
        moment = datetime(year, 1, 1, tzinfo=UTC).astimezone(zone)
        offset = moment.utcoffset() or timedelta(0)
        props = [IcalProperty(name="DTSTART", value=f"{year:04d}0101T000000"),
                 IcalProperty(name="TZOFFSETFROM", value=_offset_text(offset)),
                 IcalProperty(name="TZOFFSETTO", value=_offset_text(offset))]
        if moment.tzname():
            props.append(IcalProperty(name="TZNAME", value=moment.tzname() or ""))
        observances = [IcalComponent(name="STANDARD", properties=props)]
    return IcalComponent(name="VTIMEZONE", properties=[IcalProperty(name="TZID", value=tzid)],
                         components=observances)
