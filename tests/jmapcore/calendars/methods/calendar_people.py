"""Calendar rows and shortcuts for the Calendar, ParticipantIdentity,
CalendarEventNotification and Principal/getAvailability tests.

`calendar_make` writes a Calendar cache row the way CalDAV sync writes one
(inside state_change_atomic, so states and /changes see it); `calendars`
reads every calendar by name through Calendar/get; `notification_make`
writes a CalendarEventNotification row as sync does when it finds a change
made by someone else. The persona shape (JMAP over the Django test client)
is tests.jmapcore.calendars.methods.calendar_event_people.CalendarsPerson.
"""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from jmapcore.datatypes.orm import jmap_id_new
from jmapcore.models.calendars import Calendar, CalendarEventNotification
from jmapcore.state import state_change_atomic
from tests.jmapcore.calendars.methods.calendar_event_people import CalendarsPerson


def calendar_make(person: CalendarsPerson, name: str, **fields: Any) -> Calendar:
    """A Calendar row of `person`'s account; `fields` are model fields (dav_privileges, sort_order, …)."""
    fields.setdefault("dav_privileges", ["read", "write", "parent:unbind"])
    with state_change_atomic(account=person.account, type_names=["Calendar"]) as modseq:
        return Calendar.objects.create(
            account=person.account,
            jmap_id=jmap_id_new("k"),
            created_modseq=modseq,
            updated_modseq=modseq,
            name=name,
            dav_href=f"{person.account.caldav_url}{secrets.token_hex(4)}/",
            **fields,
        )


def calendars(person: CalendarsPerson, **arguments: Any) -> dict[str, dict[str, Any]]:
    """Every calendar of `person` by name, as Calendar/get returns it."""
    return {item["name"]: item for item in person.ok("Calendar/get", ids=None, **arguments)["list"]}


def notification_make(
    person: CalendarsPerson, *, change_type: str, event_id: str, created: datetime, **fields: Any
) -> CalendarEventNotification:
    """A CalendarEventNotification row as sync writes it for a change made by someone else."""
    with state_change_atomic(account=person.account, type_names=["CalendarEventNotification"]) as modseq:
        return CalendarEventNotification.objects.create(
            account=person.account,
            jmap_id=jmap_id_new("n"),
            created_modseq=modseq,
            updated_modseq=modseq,
            created=created,
            change_type=change_type,
            calendar_event_id=event_id,
            **fields,
        )
