"""Hypothesis strategies for JSCalendar Events in the form event_read gives them (RFC 8984), so
that JSCalendar → iCalendar → JSCalendar must give the very same event back."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from jmapcore.calendars.jscalendar.participants import participant_id

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "Etc/UTC"]
DAYS = ["mo", "tu", "we", "th", "fr", "sa", "su"]
# Printable text, including what TEXT escapes (, ; \ and line breaks) and non-ASCII.
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\r")
               | st.sampled_from([",", ";", "\\", "\n", ":", '"', "é", "日"]), min_size=1, max_size=40)


def _local(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _duration(days: int, seconds: int) -> str:
    out = "P" + (f"{days}D" if days else "")
    if seconds:
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        out += "T" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{secs}S" if secs else "")
    return out


@st.composite
def rules(draw: st.DrawFn, start: datetime, all_day: bool) -> dict[str, Any]:
    rule: dict[str, Any] = {"@type": "RecurrenceRule",
                            "frequency": draw(st.sampled_from(["daily", "weekly", "monthly", "yearly"]))}
    if draw(st.booleans()):
        rule["interval"] = draw(st.integers(2, 5))
    if rule["frequency"] == "weekly" and draw(st.booleans()):
        rule["byDay"] = [{"@type": "NDay", "day": day} for day in draw(st.lists(st.sampled_from(DAYS), min_size=1,
                                                                                  max_size=3, unique=True))]
    if rule["frequency"] == "monthly" and draw(st.booleans()):
        rule["byDay"] = [{"@type": "NDay", "day": draw(st.sampled_from(DAYS)),
                          "nthOfPeriod": draw(st.sampled_from([1, 2, -1]))}]
    if rule["frequency"] == "yearly" and draw(st.booleans()):
        rule["byMonth"] = [str(month) for month in draw(st.lists(st.integers(1, 12), min_size=1, max_size=2,
                                                                 unique=True))]
    if rule["frequency"] == "monthly" and "byDay" not in rule and draw(st.booleans()):
        rule["byMonthDay"] = draw(st.lists(st.sampled_from([1, 15, -1]), min_size=1, max_size=2, unique=True))
    end = draw(st.sampled_from(["none", "count", "until"]))
    if end == "count":
        rule["count"] = draw(st.integers(1, 50))
    elif end == "until":
        # Noon local: never in a daylight saving gap or overlap, so the UTC form converts back exactly.
        until = (start + timedelta(days=draw(st.integers(1, 400)))).replace(hour=0 if all_day else 12, minute=0,
                                                                             second=0)
        rule["until"] = _local(until)
    if draw(st.booleans()):
        rule["firstDayOfWeek"] = draw(st.sampled_from(DAYS))
    return rule


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    all_day = draw(st.booleans())
    start = draw(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)))
    event: dict[str, Any] = {"@type": "Event", "uid": draw(TEXT.filter(lambda t: t.strip() == t and "\n" not in t))}
    if all_day:
        start = start.replace(hour=0, minute=0, second=0, microsecond=0)
        event.update(start=_local(start), showWithoutTime=True, duration=_duration(draw(st.integers(1, 20)), 0))
        if draw(st.integers(0, 4)) == 0:
            event["timeZone"] = draw(st.sampled_from(ZONES[:3]))   # all-day in a zone: JSPROP says it
    else:
        start = start.replace(hour=draw(st.integers(8, 20)), microsecond=0)
        event["start"] = _local(start)
        zone = draw(st.sampled_from([*ZONES, None]))
        if zone is not None:
            event["timeZone"] = zone
        event["duration"] = _duration(draw(st.integers(0, 2)), draw(st.integers(1, 86399)))
    event["updated"] = "2026-01-02T03:04:05Z"
    if draw(st.booleans()):
        event["created"] = "2025-12-01T00:00:00Z"
    for key in ("title", "description"):
        if draw(st.booleans()):
            event[key] = draw(TEXT)
    for key, values in (("status", ["confirmed", "tentative", "cancelled"]),
                        ("privacy", ["public", "private", "secret"]), ("freeBusyStatus", ["free", "busy"])):
        if draw(st.booleans()):
            event[key] = draw(st.sampled_from(values))
    if draw(st.booleans()):
        event["priority"] = draw(st.integers(0, 9))
    if draw(st.booleans()):
        event["sequence"] = draw(st.integers(0, 1000))
    if draw(st.booleans()):
        event["color"] = draw(st.sampled_from(["red", "turquoise", "#123456"]))
    if draw(st.booleans()):
        event["keywords"] = {word: True for word in draw(st.lists(TEXT, min_size=1, max_size=3, unique=True))}
    if draw(st.booleans()):
        event["recurrenceRules"] = [draw(rules(start, all_day))]
        overrides: dict[str, Any] = {}
        for days in draw(st.lists(st.integers(1, 60), max_size=3, unique=True)):
            overrides[_local(start + timedelta(days=7 * days))] = {"excluded": True}
        if draw(st.booleans()):
            # A patch that changes something (an empty one would say nothing to read back).
            overrides[_local(start + timedelta(days=7 * 61))] = {"title": "moved: " + draw(TEXT)}
        if overrides:
            event["recurrenceOverrides"] = overrides
    if draw(st.booleans()):
        alerts = {}
        for number in range(1, draw(st.integers(1, 3)) + 1):
            trigger: dict[str, Any] = {"@type": "OffsetTrigger",
                                       "offset": "-" + _duration(0, 60 * draw(st.integers(1, 600)))}
            if draw(st.booleans()):
                trigger["relativeTo"] = "end"
            alerts[f"a{number}"] = {"@type": "Alert", "trigger": trigger,
                                    "action": draw(st.sampled_from(["display", "email"]))}
        event["alerts"] = alerts
    if draw(st.booleans()):
        people: dict[str, Any] = {}
        for name in draw(st.lists(st.sampled_from(["alice", "bob", "carol", "dave"]), min_size=1, max_size=3,
                                  unique=True)):
            address = f"mailto:{name}@example.com"
            person: dict[str, Any] = {
                "@type": "Participant", "name": name.title(), "email": f"{name}@example.com",
                "sendTo": {"imip": address},
                "roles": draw(st.sampled_from([{"attendee": True}, {"attendee": True, "optional": True},
                                               {"attendee": True, "chair": True}, {"informational": True}])),
                "participationStatus": draw(st.sampled_from(["needs-action", "accepted", "declined", "tentative"])),
                "expectReply": draw(st.booleans())}
            if draw(st.booleans()):
                person["kind"] = draw(st.sampled_from(["individual", "group", "resource", "location"]))
            people[participant_id(address)] = person
        owner = participant_id("mailto:alice@example.com")
        if owner in people:
            people[owner]["roles"] = {**people[owner]["roles"], "owner": True}
            event["replyTo"] = {"imip": "mailto:alice@example.com"}
        event["participants"] = people
    if draw(st.booleans()):
        location: dict[str, Any] = {"@type": "Location", "name": draw(TEXT)}
        if draw(st.booleans()):
            location["coordinates"] = "geo:52.5,13.4"
        event["locations"] = {"l1": location}
    if draw(st.booleans()):
        links: dict[str, Any] = {"k1": {"@type": "Link", "href": "https://files.example.com/agenda.pdf",
                                        "rel": "enclosure", "contentType": "application/pdf", "size": 1234}}
        if draw(st.booleans()):
            links["k2"] = {"@type": "Link", "href": "https://example.com/event", "rel": "describedby"}
        event["links"] = links
    if draw(st.booleans()):
        event["virtualLocations"] = {"v1": {"@type": "VirtualLocation", "uri": "https://meet.example.com/x",
                                            "name": "Video call"}}
    if draw(st.booleans()):
        event["locale"] = draw(st.sampled_from(["de", "en-GB", "fr"]))
    if draw(st.booleans()):
        event["example.com:rank"] = draw(st.dictionaries(TEXT, st.integers() | TEXT | st.booleans(), max_size=3))
    return event
