"""iCalendar (RFC 5545) <-> JSCalendar (RFC 8984) as the JMAP Calendars
specification uses it, and recurrence expansion.

Pure format code: no Django, no I/O, linear time in the input (expansion is
bounded by the caller's window and an occurrence cap). An object that cannot
be read completely is read as far as it goes, and what was lost is reported
in its `problems`; nothing here raises on bad input.

Public API (the contract with backends.caldav and the CalendarEvent methods;
the mapping follows draft-ietf-calext-jscalendar-icalendar-30):
- event_read(text) → EventReading(event, component, uid, problems)
- event_write(event, previous_text=…) → iCalendar text, a minimal change of
  previous_text; EventInvalid for an event with properties of the wrong type
- event_search_fields(event) → the CalendarEvent cache's query columns
- event_parse_blob(text) → every event of an iCalendar file (CalendarEvent/parse)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jmapcore.calendars.jscalendar.errors import EventInvalid
from jmapcore.calendars.jscalendar.search_fields import event_search_fields

__all__ = ["EventInvalid", "EventReading", "event_parse_blob", "event_read", "event_search_fields", "event_write"]


@dataclass
class EventReading:
    """One calendar object resource read as a JSCalendar Event (RFC 8984 §5.1,
    "@type": "Event"), its RECURRENCE-ID components as recurrenceOverrides.

    `event` is None when the resource's main component is not a VEVENT (then
    `component` says which: "VTODO", "VJOURNAL"; "" when there is none);
    `uid` is the main component's UID ('' when it has none); `problems` lists,
    for an operator, what the syntax and the conversion could not read.
    """

    event: dict[str, Any] | None
    component: str = ""
    uid: str = ""
    problems: list[str] = field(default_factory=list)


def event_read(text: str) -> EventReading:
    """The event of one calendar object resource (RFC 4791 §4.1). Never raises:
    what cannot be read is kept (iCalComponent) or reported in `problems`."""
    from jmapcore.calendars.jscalendar.convert_read import text_read

    try:
        reading = text_read(text if isinstance(text, str) else "")
    except Exception as exc:    # last resort: a sync must never stop on one object
        return EventReading(event=None, component="", uid="",
                            problems=[f"the iCalendar object could not be read ({type(exc).__name__})"])
    return EventReading(event=reading.event, component=reading.component, uid=reading.uid,
                        problems=reading.problems)


def event_write(event: dict[str, Any], *, previous_text: str | None) -> str:
    """The iCalendar text (a VCALENDAR, CRLF, folded) of a JSCalendar Event.

    `event` must have a uid (the caller makes one for a new event); JMAP's own
    members (id, calendarIds, isDraft, utcStart, …) are ignored. With
    `previous_text` (the object the server holds), a minimal change: lines
    and components whose JSCalendar counterpart did not change are written
    back byte for byte, and whatever else the object holds (a VTODO, other
    UIDs, X- components, VTIMEZONEs) stays. Each TZID used gets a VTIMEZONE.
    Raises EventInvalid naming every property of the wrong type (RFC 8984).
    """
    from jmapcore.calendars.jscalendar.convert_write import event_serialize
    from jmapcore.calendars.jscalendar.validate import event_validate

    bad = event_validate(event, new=not previous_text)
    if bad:
        raise EventInvalid(bad, "invalid JSCalendar properties: " + ", ".join(bad[:20]))
    return event_serialize(event, previous_text=previous_text)


def event_parse_blob(text: str) -> list[dict[str, Any]]:
    """Every event (one per UID, with its overrides) in an iCalendar blob, for
    CalendarEvent/parse. Never raises; unreadable parts are left out."""
    from jmapcore.calendars.jscalendar.convert_read import component_uid, object_read
    from jmapcore.calendars.jscalendar.ical_model import IcalComponent
    from jmapcore.calendars.jscalendar.ical_syntax import ical_parse

    try:
        parsed = ical_parse(text if isinstance(text, str) else "")
        roots = [root for root in [parsed.root, *parsed.more] if root is not None]
        found: list[dict[str, Any]] = []
        for root in roots:
            if root.name != "VCALENDAR":
                root = IcalComponent(name="VCALENDAR", components=[root])
            seen: set[str] = set()
            for component in root.components:
                if component.name != "VEVENT":
                    continue
                uid = component_uid(component)
                if uid in seen:
                    continue
                seen.add(uid)
                reading = object_read(root, [], uid=uid)
                if reading.event is not None:
                    found.append(reading.event)
        return found
    except Exception:
        return []
