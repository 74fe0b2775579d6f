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

from defusedxml import ElementTree

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


PROPFIND_CALENDAR = """<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:A="http://apple.com/ns/ical/">
  <D:prop><D:displayname/><C:calendar-description/><A:calendar-color/><A:calendar-order/>
    <C:calendar-timezone/></D:prop>
</D:propfind>"""
_NAMES = {
    "displayname": "{DAV:}displayname",
    "description": "{urn:ietf:params:xml:ns:caldav}calendar-description",
    "color": "{http://apple.com/ns/ical/}calendar-color",
    "order": "{http://apple.com/ns/ical/}calendar-order",
    "timezone": "{urn:ietf:params:xml:ns:caldav}calendar-timezone",
}


def dav_calendar_properties(person: CalendarsPerson, url: str) -> dict[str, str] | None:
    """displayname, description, color, order and timezone of the collection at `url` as
    another CalDAV client reads them ('' when not set); None when it is gone."""
    with person.dav() as client:
        answer = client.request(
            "PROPFIND", url, content=PROPFIND_CALENDAR,
            headers={"Depth": "0", "Content-Type": "application/xml; charset=utf-8"},
        )  # fmt: skip
    if answer.status_code == 404:
        return None
    assert answer.status_code == 207, answer.text
    tree = ElementTree.fromstring(answer.content)
    found: dict[str, str] = {}
    for propstat in tree.iter("{DAV:}propstat"):
        status = propstat.findtext("{DAV:}status") or ""
        if " 200 " not in status:
            continue
        for key, tag in _NAMES.items():
            element = propstat.find(f"{{DAV:}}prop/{tag}")
            if element is not None:
                found[key] = element.text or ""
    statuses = [element.text or "" for element in tree.iter("{DAV:}status")]
    if not found and statuses and all(" 404 " in status for status in statuses):
        return None
    return {key: found.get(key, "") for key in _NAMES}


def dav_event_put(person: CalendarsPerson, calendar_url: str, text: str) -> str:
    """PUT the iCalendar object `text` into the collection, as another CalDAV client; returns its URL."""
    url = f"{calendar_url}{secrets.token_hex(6)}.ics"
    with person.dav() as client:
        answer = client.put(url, content=text, headers={"Content-Type": "text/calendar; charset=utf-8"})
    assert answer.status_code in (201, 204), answer.text
    return url
