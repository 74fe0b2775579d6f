"""Broken objects give an event and problems, never an exception; invalid JSCalendar gives
EventInvalid naming every bad property (issue 11 item 2; RFC 8620 §5.3 invalidProperties)."""
from __future__ import annotations

import pytest

from jmapcore.calendars.jscalendar import EventInvalid, event_read, event_write
from tests.jmapcore.calendars.jscalendar.icals import calendar, content_lines, vevent


@pytest.mark.parametrize("text", [
    "", "garbage", "BEGIN:VCALENDAR", "BEGIN:VEVENT\r\nUID:x\r\n", "\x00\x01\x02",
    calendar("BEGIN:VEVENT", "END:VEVENT"),
    vevent("DTSTART:not-a-date", "DTEND:20260101T100000Z", "RRULE:FREQ=SOMETIMES", "EXDATE:yesterday"),
    vevent("DTSTART:20260101T100000Z", "RRULE:FREQ=DAILY;BYDAY=XX;COUNT=-1;UNTIL=never", "PRIORITY:urgent",
           "SEQUENCE:99999999999999999999", "GEO:north", "BEGIN:VALARM", "TRIGGER:soon", "END:VALARM"),
    vevent("DTSTART:20260101T100000Z", "RECURRENCE-ID:bad") + "trailing junk",
    calendar(*["BEGIN:X-NEST"] * 300),
])
def test_bad_input_never_raises(text: str) -> None:
    reading = event_read(text)
    assert isinstance(reading.problems, list)
    if reading.event is not None:
        assert reading.event["@type"] == "Event"


def test_bad_values_are_reported_and_kept() -> None:
    text = vevent("DTSTART:20260101T100000Z", "PRIORITY:urgent", "RRULE:FREQ=SOMETIMES", "SUMMARY:Still here")
    reading = event_read(text)
    assert reading.event is not None and reading.event["title"] == "Still here"
    assert "priority" not in reading.event and "recurrenceRules" not in reading.event
    assert any("PRIORITY" in problem for problem in reading.problems)
    assert any("FREQ" in problem for problem in reading.problems)
    changed = dict(reading.event, title="Changed")
    lines = content_lines(event_write(changed, previous_text=text))
    assert "PRIORITY:urgent" in lines and "RRULE:FREQ=SOMETIMES" in lines and "SUMMARY:Changed" in lines


def test_invalid_event_names_every_bad_property() -> None:
    event = {"@type": "Event", "uid": "mallory-1", "start": "tomorrow", "timeZone": "Mars/Base",
             "duration": "-PT1H", "priority": 12, "status": "maybe", "keywords": ["a"],
             "recurrenceRules": [{"frequency": "often"}, {"frequency": "daily", "count": 0, "byDay": [{"day": "xx"}]}],
             "recurrenceOverrides": {"not-a-date": {}},
             "alerts": {"a1": {"trigger": {"@type": "OffsetTrigger", "offset": "soon"}, "action": "sms"}},
             "links": {"k1": {"href": 5}}}
    with pytest.raises(EventInvalid) as caught:
        event_write(event, previous_text=None)
    assert set(caught.value.properties) == {
        "start", "timeZone", "duration", "priority", "status", "keywords", "recurrenceRules/0/frequency",
        "recurrenceRules/1/count", "recurrenceRules/1/byDay", "recurrenceOverrides/not-a-date",
        "alerts/a1/trigger/offset", "alerts/a1/action", "links/k1/href"}


def test_event_without_uid_is_invalid() -> None:
    with pytest.raises(EventInvalid) as caught:
        event_write({"@type": "Event", "start": "2026-01-01T10:00:00"}, previous_text=None)
    assert caught.value.properties == ["uid"]


def test_values_cannot_inject_lines() -> None:
    # mallory tries to end the event and add her own property through a title and a parameter.
    event = {"@type": "Event", "uid": "mallory-2", "start": "2026-01-01T10:00:00",
             "title": "x\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil",
             "participants": {"p": {"@type": "Participant", "name": "a\"\r\nX-EVIL:1",
                                    "sendTo": {"imip": "mailto:m@example.com"}, "roles": {"attendee": True}}}}
    text = event_write(event, previous_text=None)
    lines = content_lines(text)
    assert lines.count("BEGIN:VEVENT") == 1 and "UID:evil" not in lines and "X-EVIL:1" not in lines
    again = event_read(text).event
    assert again is not None and again["uid"] == "mallory-2"
    assert again["title"] == "x\nEND:VEVENT\nBEGIN:VEVENT\nUID:evil"
