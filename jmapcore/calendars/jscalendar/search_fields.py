"""The CalendarEvent cache columns derived from a JSCalendar Event (the query
filters of draft-ietf-jmap-calendars CalendarEvent/query: text, title,
description, location, owner, attendee, uid, after/before).

Text columns are case-folded values joined by "\\n", one line per value, so a
filter is a substring match ("contains", case-insensitively). An override's
own title, description, locations and participants count too (a query finds
an event by any of its occurrences). utc_start/utc_end bound every occurrence
(jscalendar.recurrence.event_span); utc_end None: recurs without end.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jmapcore.calendars.jscalendar.times import duration_parse, event_zone, local_parse, utc_parse


def _join(values: list[str]) -> str:
    seen: dict[str, None] = {}
    for value in values:
        if value:
            seen.setdefault(value.casefold(), None)
    return "\n".join(seen)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _strings(*values: Any) -> list[str]:
    return [value for value in values if isinstance(value, str) and value]


def _parts(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The event and each override's patch (its own values)."""
    found = [event]
    for patch in _dict(event.get("recurrenceOverrides")).values():
        if isinstance(patch, dict) and not patch.get("excluded"):
            found.append(patch)
    return found


def _address(uri: str) -> str:
    return uri[7:] if uri.lower().startswith("mailto:") else uri


def _people(part: dict[str, Any], owner: bool) -> list[str]:
    found: list[str] = []
    for entry in _dict(part.get("participants")).values():
        if not isinstance(entry, dict):
            continue
        roles = _dict(entry.get("roles"))
        if bool(roles.get("owner")) != owner and not (not owner and roles.get("attendee")):
            continue
        found += _strings(entry.get("name"), entry.get("email"))
        found += [_address(v) for v in _strings(*_dict(entry.get("sendTo")).values())]
    if owner:
        found += [_address(v) for v in _strings(*_dict(part.get("replyTo")).values())]
    return found


def _span_fallback(event: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """The first occurrence's span when the expansion module is not there; an event
    with rules is taken as recurring without end."""
    start = local_parse(event.get("start"))
    if start is None:
        return None, None
    zone = event_zone(event) or UTC
    begin = start.replace(tzinfo=zone).astimezone(UTC)
    length = duration_parse(event.get("duration", "PT0S")) or timedelta(0)
    if event.get("recurrenceRules") or event.get("recurrenceOverrides"):
        return begin, None
    return begin, begin + length


def event_span(event: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    from jmapcore.calendars.jscalendar.recurrence import event_span as span

    try:
        return span(event)
    except Exception:       # a rule the expansion cannot handle must not lose the event
        return _span_fallback(event)


def event_search_fields(event: dict[str, Any]) -> dict[str, Any]:
    """The CalendarEvent model's query columns for `event` (keys are the model's field names)."""
    parts = _parts(event)
    titles = [p["title"] for p in parts if isinstance(p.get("title"), str)]
    descriptions = [p["description"] for p in parts if isinstance(p.get("description"), str)]
    places: list[str] = []
    for part in parts:
        for entry in _dict(part.get("locations")).values():
            if isinstance(entry, dict):
                places += _strings(entry.get("name"), entry.get("description"))
        for entry in _dict(part.get("virtualLocations")).values():
            if isinstance(entry, dict):
                places += _strings(entry.get("name"), entry.get("uri"))
    owners = [value for part in parts for value in _people(part, True)]
    attendees = [value for part in parts for value in _people(part, False)]
    keywords = [word for word in _dict(event.get("keywords"))]
    overrides = _dict(event.get("recurrenceOverrides"))
    recurring = bool(event.get("recurrenceRules")) or any(
        isinstance(patch, dict) and not patch.get("excluded") for patch in overrides.values())
    utc_start, utc_end = event_span(event)
    return {
        "uid": event.get("uid") if isinstance(event.get("uid"), str) else "",
        "is_recurring": recurring,
        "utc_start": utc_start,
        "utc_end": utc_end,
        "created": utc_parse(event.get("created")),
        "updated": utc_parse(event.get("updated")),
        "search_text": _join(titles + descriptions + places + owners + attendees + keywords),
        "search_title": _join(titles),
        "search_description": _join(descriptions),
        "search_location": _join(places),
        "search_owner": _join(owners),
        "search_attendee": _join(attendees),
    }
