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
"""
from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from django.db.models import Q

from accounts.models import Account
from jmapcore.calendars.calendar_event_read import occurrence_event, occurrence_id_make
from jmapcore.calendars.calendar_participant_identity import participant_identities_of
from jmapcore.calendars.calendar_rights import calendar_rights
from jmapcore.calendars.jscalendar.availability import busy_periods
from jmapcore.models.calendars import Calendar, CalendarEvent

__all__ = ["AvailabilityPeriod", "calendar_availability_read"]


@dataclass(frozen=True)
class AvailabilityPeriod:
    """One BusyPeriod (draft-33 §2.1) and, for showDetails, the event it comes from."""

    utc_start: datetime
    utc_end: datetime
    busy_status: str
    event: dict[str, Any]


def _zone(name: str) -> tzinfo:
    if not name:
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


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
