"""JSCalendar properties with no iCalendar counterpart: JSPROP (the property the
JSCalendar ↔ iCalendar draft defines for this, as RFC 9555 §3.2 does for vCard).

A top-level property this converter does not map (a vendor property such as
"example.com:rank", RFC 8984 §3.3; "locale", "localizations", a JMAP client's
useDefaultAlerts, …) is written as JSPROP;JSPTR=<name>:<its JSON> (TEXT
escaped) and read back into the same property, so a client gets back exactly
what it set. JMAP's computed or per-request members are not event content and
are never written.
"""
from __future__ import annotations

import json
from typing import Any

from jmapcore.calendars.jscalendar.context import ReadContext, WriteContext
from jmapcore.calendars.jscalendar.ical_model import IcalParam, IcalProperty
from jmapcore.calendars.jscalendar.ical_syntax import text_escape, text_unescape
from jmapcore.calendars.jscalendar.times import all_day

# Members the writers map to iCalendar (or that the reader makes).
MAPPED = frozenset({
    "@type", "uid", "title", "description", "status", "privacy", "freeBusyStatus", "sequence", "priority", "color",
    "keywords", "relatedTo", "created", "updated", "start", "duration", "timeZone", "showWithoutTime",
    "recurrenceRules", "excludedRecurrenceRules", "recurrenceOverrides", "recurrenceId", "participants", "replyTo",
    "locations", "virtualLocations", "links", "alerts", "iCalComponent", "iCalRange", "excluded",
})
# JMAP CalendarEvent members that are computed, per request or the object's place, not content
# (draft-ietf-jmap-calendars: id, calendarIds, isDraft, isOrigin, utcStart, utcEnd, blobId, baseEventId),
# and the VCALENDAR's own PRODID/METHOD (RFC 8984 prodId, method).
NOT_CONTENT = frozenset({"id", "calendarIds", "isDraft", "isOrigin", "utcStart", "utcEnd", "blobId", "baseEventId",
                         "prodId", "method"})


# A mapped member that iCalendar cannot always say: showWithoutTime of an event that
# does not start at midnight or has a time zone (a DATE value cannot say either).
WHEN_UNSAID = frozenset({"showWithoutTime"})


def read_jsprop(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
    pointer = prop.param("JSPTR")
    if len(pointer) != 1 or len(prop.params) != 1:
        return False
    name = pointer[0]
    if not name or "/" in name or (name in MAPPED and name not in WHEN_UNSAID) or name in NOT_CONTENT \
            or name in ctx.event:
        return False
    try:
        value = json.loads(text_unescape(prop.value))
    except ValueError:
        ctx.problem(f"JSPROP {name[:40]!r} does not hold JSON; kept as it is")
        return False
    ctx.event[name] = value
    ctx.claim(("start",) if name in WHEN_UNSAID else ("jsprop", name), index)
    return True


READERS = {"JSPROP": read_jsprop}


def unmapped(event: dict[str, Any]) -> list[str]:
    """The members written as JSPROP (locale goes with the title's LANGUAGE when there is a title)."""
    return [key for key in event if key not in MAPPED and key not in NOT_CONTENT
            and not (key == "locale" and isinstance(event.get("title"), str))]


def write_jsprops(ctx: WriteContext, event: dict[str, Any]) -> None:
    if event.get("showWithoutTime") is True and not all_day(event):
        ctx.emit(("start",), "JSPROP", "true", [IcalParam(name="JSPTR", values=["showWithoutTime"])])
    for key in unmapped(event):
        value = event[key]
        if value is None:
            continue        # null is an absent property (RFC 8984 §1.4.9)
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        ctx.emit(("jsprop", key), "JSPROP", text_escape(text), [IcalParam(name="JSPTR", values=[key])])
