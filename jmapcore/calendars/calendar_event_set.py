"""Validation of CalendarEvent/set creates and updates (draft-ietf-jmap-calendars-33 §5.9,
RFC 8620 §5.3).

Turns a client's create object or PatchObject into the complete JSCalendar
Event to write and the calendar it goes to, or raises SetErrorException naming
every bad property at once. Nothing here talks to the server; the converter
(jscalendar.event_write) judges the meaning of each property later and its
EventInvalid becomes invalidProperties too.

- ``calendarIds`` names exactly one calendar of the account (the account's
  maxCalendarsPerEvent is 1: a resource is in one CalDAV collection);
  "#creationId" keys refer to calendars created earlier in the request.
- A create without ``uid`` gets a random UUID (RFC 8984 §4.1.2); "@type" is
  "Event". ``uid`` never changes afterwards (RFC 4791 §4.1: the resource is
  keyed on it), nor does the server-set ``id``.
- JMAP's own properties (isDraft, isOrigin, utcStart, …) are never stored in
  the event: they are computed or fixed here (isDraft is always false: a
  CalDAV server has no drafts, so a client asking for one is refused).
- An update of an occurrence (its occurrence id, see calendar_event_read)
  patches the occurrence as a whole object; the difference from what the
  recurrence rules give becomes that occurrence's entry in the master's
  ``recurrenceOverrides`` (RFC 8984 §4.3.5), and ``excluded: true`` there is
  an exclusion (EXDATE).
"""
from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from typing import Any

from accounts.models import Account
from jmapcore.calendars.calendar_event_read import (
    COMPUTED_PROPERTIES,
    JMAP_EVENT_PROPERTIES,
    event_property_known,
    occurrence_event,
)
from jmapcore.contacts.contact_card_patch import card_patch_apply
from jmapcore.context import CallContext
from jmapcore.datatypes.standard import reference_resolve
from jmapcore.models.calendars import Calendar, CalendarEvent
from jmapcore.protocol.arguments import is_id
from jmapcore.protocol.errors import SetError, SetErrorException

# A calendar object of more than 1 MB of JSON is not an event a CalDAV server keeps.
MAX_EVENT_JSON = 1024 * 1024
MAX_EVENT_DEPTH = 16
MAX_UID = 1024
# What an occurrence carries that the master's override must not (RFC 8984 §4.3.5: not patchable).
_OCCURRENCE_FIXED = ("recurrenceId", "recurrenceIdTimeZone", "uid", "@type", "recurrenceRules",
                     "excludedRecurrenceRules", "recurrenceOverrides", "relatedTo", "method", "prodId")


def _invalid(problems: dict[str, str]) -> SetErrorException:
    names = sorted(problems)
    description = "; ".join(f"{name}: {problems[name]}" for name in names)[:1000]
    return SetErrorException(SetError("invalidProperties", description, properties=names))


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


def event_shape_problems(event: dict[str, Any]) -> dict[str, str]:
    """{property: why} for unknown top-level properties, hostile depth and a bad uid."""
    problems: dict[str, str] = {}
    for name, value in event.items():
        if not event_property_known(name):
            problems[name] = "unknown property"
        elif _depth_exceeds(value, MAX_EVENT_DEPTH):
            problems[name] = f"nested more than {MAX_EVENT_DEPTH} levels deep"
    uid = event.get("uid")
    if "uid" in event and (
        not isinstance(uid, str) or not uid or len(uid) > MAX_UID or any(ord(char) < 0x20 for char in uid)
    ):
        problems["uid"] = f"must be 1 to {MAX_UID} characters without control characters"
    if "@type" in event and event["@type"] != "Event":
        problems["@type"] = 'must be "Event"'
    return problems


def _too_large(event: dict[str, Any]) -> bool:
    return len(json.dumps(event, ensure_ascii=False).encode()) > MAX_EVENT_JSON


def _calendar_from_ids(ctx: CallContext, account: Account, raw: object, problems: dict[str, str]) -> Calendar | None:
    if not isinstance(raw, dict) or not all(value is True for value in raw.values()):
        problems["calendarIds"] = "must map calendar ids to true"
        return None
    if len(raw) != 1:
        problems["calendarIds"] = "an event is in exactly one calendar here (maxCalendarsPerEvent 1)"
        return None
    [key] = raw
    real = reference_resolve(ctx, key) if isinstance(key, str) else None
    if real is None or not is_id(real):
        problems["calendarIds"] = "no such calendar"
        return None
    calendar = Calendar.objects.filter(account=account, jmap_id=real, destroyed=False).first()
    if calendar is None:
        problems["calendarIds"] = "no such calendar"
    elif calendar.dav_components and "VEVENT" not in calendar.dav_components:
        # RFC 4791 §5.2.3: the collection's supported-calendar-component-set has no VEVENT (a task list).
        problems["calendarIds"] = "this calendar holds no events (" + ", ".join(calendar.dav_components) + " only)"
        return None
    return calendar


def _jmap_values_problems(raw: dict[str, Any], *, touched: set[str] | None = None) -> dict[str, str]:
    """The JMAP-only properties a client may send: their fixed values only."""
    problems: dict[str, str] = {}
    for name in JMAP_EVENT_PROPERTIES & set(raw):
        if touched is not None and name not in touched:
            continue
        value = raw[name]
        if name in ("id", "baseEventId", "blobId") or name in COMPUTED_PROPERTIES:
            problems[name] = "set by the server"
        elif name == "isDraft" and value not in (False, None):
            problems[name] = "a CalDAV server keeps no drafts"
        elif name == "isOrigin" and value not in (True, None):
            problems[name] = "set by the server"
        elif name in ("mayInviteSelf", "mayInviteOthers", "hideAttendees") and value not in (False, None):
            problems[name] = "not supported over CalDAV"
    return problems


def _stored(event: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in event.items() if name not in JMAP_EVENT_PROPERTIES}


@dataclass
class EventCreate:
    calendar: Calendar
    event: dict[str, Any]


def event_create_prepare(ctx: CallContext, *, account: Account, raw: object) -> EventCreate:
    """A checked create: the calendar and the complete event (with uid and @type)."""
    if not isinstance(raw, dict):
        raise SetErrorException(SetError("invalidProperties", "the event must be an object"))
    problems = _jmap_values_problems(raw)
    calendar = None
    if "calendarIds" not in raw:
        problems["calendarIds"] = "required"
    else:
        calendar = _calendar_from_ids(ctx, account, raw["calendarIds"], problems)
    event = copy.deepcopy(_stored(raw))
    problems.update(event_shape_problems(event))
    if problems:
        raise _invalid(problems)
    assert calendar is not None
    if _too_large(event):
        raise SetErrorException(SetError("tooLarge", "the event is too large"))
    event["@type"] = "Event"
    event.setdefault("uid", str(uuid.uuid4()))
    if CalendarEvent.objects.filter(account=account, calendar=calendar, uid=event["uid"], destroyed=False).exists():
        raise _invalid({"uid": "the calendar already has an event with this uid"})
    return EventCreate(calendar=calendar, event=event)


@dataclass
class EventUpdate:
    """A checked update: the whole master event after the patch and its (maybe new) calendar."""

    calendar: Calendar
    event: dict[str, Any]

    def changes_anything(self, row: CalendarEvent) -> bool:
        return self.event != row.event or self.calendar.pk != row.calendar_id


def _current_json(row: CalendarEvent) -> dict[str, Any]:
    stored: dict[str, Any] = row.event if isinstance(row.event, dict) else {}
    return {**stored, "id": row.jmap_id, "calendarIds": {row.calendar.jmap_id: True}}


def event_update_prepare(ctx: CallContext, *, account: Account, row: CalendarEvent, patch: object) -> EventUpdate:
    """Apply a PatchObject to the stored event ("participants/p1/participationStatus",
    "recurrenceOverrides/2026-12-09T10:00:00/title" reach into it) and check the result."""
    current = _current_json(row)
    patched, touched = card_patch_apply(current, patch)
    problems = _jmap_values_problems(patched, touched=touched)
    if patched.get("id") != row.jmap_id:
        problems["id"] = "set by the server"
    calendar: Calendar | None = row.calendar
    if "calendarIds" in touched:
        calendar = _calendar_from_ids(ctx, account, patched.get("calendarIds"), problems)
    event = _stored(patched)
    problems.update({name: why for name, why in event_shape_problems(event).items() if name in touched})
    if "uid" in touched and event.get("uid") != (row.event or {}).get("uid"):
        problems["uid"] = "cannot be changed"
    if "@type" in touched and event.get("@type") != "Event":
        problems["@type"] = 'must be "Event"'
    if problems:
        raise _invalid(problems)
    assert calendar is not None
    if _too_large(event):
        raise SetErrorException(SetError("tooLarge", "the event is too large"))
    return EventUpdate(calendar=calendar, event=event)


def occurrence_update_prepare(
    ctx: CallContext, *, account: Account, row: CalendarEvent, recurrence_id: str, patch: object
) -> EventUpdate:
    """An update of one occurrence: the patched occurrence, compared with what
    the rules alone give, becomes the master's override for `recurrence_id`."""
    stored: dict[str, Any] = row.event if isinstance(row.event, dict) else {}
    instance = occurrence_event(stored, recurrence_id)
    current = {**instance, "id": "occurrence", "calendarIds": {row.calendar.jmap_id: True}}
    patched, touched = card_patch_apply(current, patch)
    problems = _jmap_values_problems(patched, touched=touched)
    for name in touched:
        if name in _OCCURRENCE_FIXED and patched.get(name) != current.get(name):
            problems[name] = "cannot differ between occurrences of one event"
        elif name == "calendarIds" and patched.get(name) != current.get(name):
            problems[name] = "an occurrence is in its event's calendar; move the event"
        elif name == "id" and patched.get(name) != current.get(name):
            problems[name] = "set by the server"
    shaped = event_shape_problems(_stored(patched))
    problems.update({name: why for name, why in shaped.items() if name in touched})
    if problems:
        raise _invalid(problems)
    # What the rules alone give for this occurrence: the master, started at the recurrence id.
    plain = occurrence_event({key: value for key, value in stored.items() if key != "recurrenceOverrides"},
                             recurrence_id)
    override: dict[str, Any] = {}
    if patched.get("excluded") is True:
        override = {"excluded": True}
    else:
        for name in sorted(set(plain) | set(patched)):
            if name in _OCCURRENCE_FIXED or name in JMAP_EVENT_PROPERTIES or name == "excluded":
                continue
            if plain.get(name) != patched.get(name):
                override[name] = copy.deepcopy(patched.get(name))
    event = copy.deepcopy(stored)
    overrides = event.get("recurrenceOverrides")
    overrides = dict(overrides) if isinstance(overrides, dict) else {}
    # An occurrence the rules generate needs no override when nothing differs; an RDATE-like one keeps {}.
    generated_only = recurrence_id not in overrides or overrides.get(recurrence_id) != {}
    if override or not generated_only:
        overrides[recurrence_id] = override
    else:
        overrides.pop(recurrence_id, None)
    if overrides:
        event["recurrenceOverrides"] = overrides
    else:
        event.pop("recurrenceOverrides", None)
    if _too_large(event):
        raise SetErrorException(SetError("tooLarge", "the event is too large"))
    return EventUpdate(calendar=row.calendar, event=event)


def occurrence_exclusion(*, row: CalendarEvent, recurrence_id: str) -> EventUpdate:
    """Destroying one occurrence: the master's override for it says excluded (RFC 8984 §4.3.5)."""
    event = copy.deepcopy(row.event if isinstance(row.event, dict) else {})
    overrides = event.get("recurrenceOverrides")
    overrides = dict(overrides) if isinstance(overrides, dict) else {}
    overrides[recurrence_id] = {"excluded": True}
    event["recurrenceOverrides"] = overrides
    return EventUpdate(calendar=row.calendar, event=event)
