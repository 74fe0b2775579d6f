"""Free/busy from the CalDAV server (RFC 4791 §7.10 free-busy-query).

caldav_free_busy() asks every calendar of the account that lists
CALDAV:free-busy-query among its supported reports and reads the FREEBUSY
periods of the VFREEBUSY answers (RFC 5545 §3.8.2.6, FBTYPE → busyStatus:
BUSY → "confirmed", BUSY-TENTATIVE → "tentative", BUSY-UNAVAILABLE →
"unavailable"; FREE periods are not busy). It returns None when no calendar
offers the report or the server refuses it (Radicale and Xandikos do not list
it): Principal/getAvailability then computes busy periods from the cache
(jmapcore.calendars.jscalendar.availability), as it does for event details
anyway, since a free-busy answer carries no events.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from accounts.models import Account
from backends.caldav.calxml import free_busy_query_body
from backends.caldav.discovery import calendars_list
from backends.caldav.progress import caldav_progress
from backends.dav.client import DavClient
from backends.dav.errors import DavRefused

log = logging.getLogger("jmap.sync.caldav")

_FBTYPES = {"BUSY": "confirmed", "BUSY-TENTATIVE": "tentative", "BUSY-UNAVAILABLE": "unavailable"}


@dataclass
class DavBusyPeriod:
    utc_start: datetime
    utc_end: datetime
    busy_status: str


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def free_busy_parse(text: str, *, after: datetime, before: datetime) -> list[DavBusyPeriod]:
    """The busy periods of a VFREEBUSY answer, clipped to [after, before); bad values are skipped."""
    from jmapcore.calendars.jscalendar.ical_syntax import ical_parse
    from jmapcore.calendars.jscalendar.ical_values import period_parse

    root = ical_parse(text).root
    periods: list[DavBusyPeriod] = []
    if root is None:
        return periods
    components = [root] if root.name == "VFREEBUSY" else [c for c in root.components if c.name == "VFREEBUSY"]
    for component in components:
        for prop in component.all("FREEBUSY"):
            kind = (prop.param("FBTYPE") or ["BUSY"])[0].upper()
            status = _FBTYPES.get(kind, "confirmed" if kind.startswith("X-") else "")
            if not status:
                continue
            for item in prop.value.split(","):
                period, _problem = period_parse(item)
                if period is None or not period.start.utc or not isinstance(period.start.value, datetime):
                    continue
                start = period.start.value.replace(tzinfo=UTC)
                if period.end is not None and isinstance(period.end.value, datetime):
                    end = period.end.value.replace(tzinfo=UTC)
                elif period.duration is not None:
                    end = start + period.duration.timedelta()
                else:
                    continue
                start, end = max(start, after), min(end, before)
                if start < end:
                    periods.append(DavBusyPeriod(utc_start=start, utc_end=end, busy_status=status))
    return periods


def caldav_free_busy(*, account: Account, after: datetime, before: datetime) -> list[DavBusyPeriod] | None:
    """Busy periods of every calendar offering free-busy-query; None when none does."""
    homes = caldav_progress(account).get("homes")
    if not isinstance(homes, list) or not homes or before <= after or before - after > timedelta(days=3660):
        return None
    with DavClient.for_account(account) as client:
        offering = [info for info in calendars_list(client=client, homes=[str(home) for home in homes])
                    if info.free_busy_query]
        if not offering:
            return None
        periods: list[DavBusyPeriod] = []
        for info in offering:
            try:
                answer = client.checked("REPORT", info.href, ok=(200,),
                                        body=free_busy_query_body(start=_stamp(after), end=_stamp(before)),
                                        headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"})
            except DavRefused as refused:
                log.info("free-busy-query on %s refused (%s)", info.href, refused.status)
                return None
            periods.extend(free_busy_parse(answer.body.decode("utf-8", "replace"), after=after, before=before))
    return sorted(periods, key=lambda period: (period.utc_start, period.utc_end))
