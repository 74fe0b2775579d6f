"""The busy periods of an account's own Principal, for Principal/getAvailability
(draft-ietf-jmap-calendars-33 §2.1, "Principal/getAvailability").

Which events count is decided per calendar, as the draft says: a calendar the
user is subscribed to, whose includeInAvailability is not "none" and on which
the user may read free/busy (mayReadFreeBusy); with "attending" only events
the user takes part in as accepted or tentative. Within those, each event
(its recurrences expanded, each occurrence with its override applied) is
judged by jscalendar.availability.busy_periods: freeBusyStatus, status and
the user's participationStatus, the user being recognised by its
ParticipantIdentity addresses. Floating and all-day events are placed in the
calendar's timeZone, else UTC.

The events come from the cache, which sync keeps equal to the CalDAV server,
so a busy period names the event it comes from and showDetails can return it.
Where the server offers CalDAV free-busy-query (RFC 4791 §7.10;
backends.caldav.caldav_free_busy), its answer is added to those periods
(calendar_availability_with_server): the server may know of busy time the
cache has not synced yet. It is asked only when every calendar counts in
full (subscribed, includeInAvailability "all", mayReadFreeBusy), because the
server knows nothing of those JMAP-only settings and would report the
events of a calendar the user left out. Radicale and Xandikos do not offer
the report, so with them the cache answers alone.
"""
from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from django.db.models import Q

from accounts.models import Account
from backends.base import BackendError
from jmapcore.calendars.calendar_event_read import occurrence_event, occurrence_id_make
from jmapcore.calendars.calendar_participant_identity import participant_identities_of
from jmapcore.calendars.calendar_rights import calendar_rights
from jmapcore.calendars.jscalendar.availability import busy_periods
from jmapcore.models.calendars import Calendar, CalendarEvent

log = logging.getLogger("jmap.calendars")

__all__ = ["AvailabilityPeriod", "calendar_availability_read", "calendar_availability_with_server"]


@dataclass(frozen=True)
class AvailabilityPeriod:
    """One BusyPeriod (draft-33 §2.1) and, for showDetails, the event it comes from."""

    utc_start: datetime
    utc_end: datetime
    busy_status: str
    event: dict[str, Any] | None


def _zone(name: str) -> tzinfo:
    if not name:
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def _counts_in_full(calendar: Calendar, account: Account) -> bool:
    return (
        calendar.is_subscribed
        and calendar.include_in_availability == "all"
        and calendar_rights(calendar=calendar, account=account)["mayReadFreeBusy"]
    )


def _calendars(account: Account) -> list[Calendar]:
    live = Calendar.objects.filter(account=account, destroyed=False, is_subscribed=True).exclude(
        include_in_availability="none"
    )
    return [calendar for calendar in live if calendar_rights(calendar=calendar, account=account)["mayReadFreeBusy"]]


def calendar_availability_read(*, account: Account, after: datetime, before: datetime) -> list[AvailabilityPeriod]:
    """The busy periods of `account`'s user in the UTC window [after, before),
    ordered by start. Each `event` is the JSCalendar object of the occurrence
    with its JMAP id (an occurrence id for a recurring event) and calendarIds."""
    addresses = [identity["calendarAddress"] for identity in participant_identities_of(account)]
    found: list[AvailabilityPeriod] = []
    for calendar in _calendars(account):
        rows = CalendarEvent.objects.filter(
            Q(utc_start__lt=before) | Q(utc_start__isnull=True),
            Q(utc_end__gt=after) | Q(utc_end__isnull=True),
            account=account,
            calendar=calendar,
            destroyed=False,
            component="VEVENT",
        ).only("jmap_id", "event")
        zone = _zone(calendar.time_zone)
        attending = calendar.include_in_availability == "attending"
        for row in rows.iterator(chunk_size=500):
            if not isinstance(row.event, dict) or not row.event:
                continue
            periods = busy_periods(
                [row.event], after=after, before=before, addresses=addresses, attending_only=attending,
                floating_zone=zone,
            )  # fmt: skip
            for period in periods:
                if period.recurrence_id is None:
                    event = {**row.event, "id": row.jmap_id}
                else:
                    event = occurrence_event(row.event, period.recurrence_id)
                    event["id"] = occurrence_id_make(row.jmap_id, period.recurrence_id)
                event["calendarIds"] = {calendar.jmap_id: True}
                found.append(AvailabilityPeriod(period.utc_start, period.utc_end, period.busy_status, event))
    found.sort(key=lambda period: (period.utc_start, period.utc_end))
    return found


def calendar_availability_with_server(
    *, account: Account, after: datetime, before: datetime
) -> list[AvailabilityPeriod]:
    """calendar_availability_read plus the busy periods the CalDAV server's
    free-busy-query gives (without events) that the cache did not already
    give with the same start and end; the server is asked only when every
    live calendar counts in full (see the module docstring)."""
    found = calendar_availability_read(account=account, after=after, before=before)
    live = list(Calendar.objects.filter(account=account, destroyed=False))
    if not live or not all(_counts_in_full(calendar, account) for calendar in live):
        return found
    from backends.caldav import caldav_free_busy

    try:
        served = caldav_free_busy(account=account, after=after, before=before)
    except BackendError as error:
        # The cache still answers: a server that cannot be reached now only costs its extra knowledge.
        log.info("free-busy-query of account %s failed: %s", account.accountid, error)
        return found
    if not served:
        return found
    known = {(period.utc_start, period.utc_end) for period in found}
    for period in served:
        start, end = max(period.utc_start, after), min(period.utc_end, before)
        if start < end and (start, end) not in known:
            known.add((start, end))
            found.append(AvailabilityPeriod(start, end, period.busy_status, None))
    found.sort(key=lambda period: (period.utc_start, period.utc_end))
    return found
