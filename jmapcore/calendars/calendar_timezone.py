"""A Calendar's timeZone as the CalDAV property calendar-timezone (RFC 4791
§5.2.2): an iCalendar object holding exactly one VTIMEZONE.

The VTIMEZONE is built from the IANA database (zoneinfo) by the icalendar
library, with the IANA id as its TZID, so that the proxy's sync (which maps a
VTIMEZONE back to its IANA id) and other CalDAV clients read the same zone.
"""
from __future__ import annotations

from icalendar import Calendar as IcalCalendar
from icalendar import Timezone

__all__ = ["calendar_timezone_ical"]

PRODID = "-//jmap-proxy//calendar-timezone//EN"


def calendar_timezone_ical(*, time_zone: str) -> str:
    """The calendar-timezone value for the IANA id `time_zone` (already
    validated); '' for no time zone."""
    if not time_zone:
        return ""
    wrapper = IcalCalendar()
    wrapper.add("prodid", PRODID)
    wrapper.add("version", "2.0")
    wrapper.add_component(Timezone.from_tzid(time_zone))
    return wrapper.to_ical().decode()
