"""The simple properties and what has no JSCalendar counterpart (RFC 8984 §4; the iCalComponent of
draft-ietf-calext-jscalendar-icalendar-30)."""
from __future__ import annotations

from jmapcore.calendars.jscalendar import event_read, event_write
from tests.jmapcore.calendars.jscalendar.icals import calendar, component_lines, content_lines, read

START = "DTSTART:20260105T100000Z"


def test_simple_properties() -> None:
    event = read(START, "SUMMARY:Review\\; part 1", "DESCRIPTION:Line one\\nLine two", "STATUS:TENTATIVE",
                 "CLASS:CONFIDENTIAL", "TRANSP:TRANSPARENT", "PRIORITY:1", "COLOR:turquoise", "SEQUENCE:3",
                 "CATEGORIES:Work,Project X", "CATEGORIES:Urgent", "CREATED:20251201T080000Z",
                 "LAST-MODIFIED:20251202T080000Z", "RELATED-TO;RELTYPE=PARENT:parent-uid")
    assert event["title"] == "Review; part 1"
    assert event["description"] == "Line one\nLine two"
    assert (event["status"], event["privacy"], event["freeBusyStatus"]) == ("tentative", "secret", "free")
    assert (event["priority"], event["color"], event["sequence"]) == (1, "turquoise", 3)
    assert event["keywords"] == {"Work": True, "Project X": True, "Urgent": True}
    assert (event["created"], event["updated"]) == ("2025-12-01T08:00:00Z", "2025-12-02T08:00:00Z")
    assert event["relatedTo"] == {"parent-uid": {"@type": "Relation", "relation": {"parent": True}}}
    again = event_read(event_write(event, previous_text=None)).event
    assert again == event


def test_dtstamp_is_updated_when_there_is_no_last_modified() -> None:
    assert read(START)["updated"] == "2026-01-01T09:00:00Z"


def test_unknown_properties_and_components_are_kept() -> None:
    event = read(START, "X-MICROSOFT-CDO-BUSYSTATUS:OOF", "X-FOO;X-BAR=a,b:value\\, escaped",
                 "DESCRIPTION;ALTREP=\"cid:part1\":Plain", "BEGIN:X-VENDOR", "X-INNER:1", "END:X-VENDOR")
    kept = event["iCalComponent"]
    names = [entry["name"] for entry in kept["properties"]]
    assert names == ["x-microsoft-cdo-busystatus", "x-foo", "description"]
    assert kept["properties"][1] == {"@type": "ICalProperty", "name": "x-foo", "valueType": "unknown",
                                     "value": "value\\, escaped", "parameters": {"x-bar": ["a", "b"]}}
    assert kept["components"][0]["name"] == "x-vendor"
    lines = component_lines(event_write(event, previous_text=None))
    assert "X-FOO;X-BAR=a,b:value\\, escaped" in lines
    assert "X-MICROSOFT-CDO-BUSYSTATUS:OOF" in lines
    assert "X-INNER:1" in lines


def test_other_components_of_the_object_stay() -> None:
    text = calendar("X-WR-CALNAME:Home", "BEGIN:VTODO", "UID:todo-1", "SUMMARY:Buy milk", "END:VTODO",
                    "BEGIN:VEVENT", "UID:ev-1", "DTSTAMP:20260101T000000Z", START, "SUMMARY:Old", "END:VEVENT",
                    "BEGIN:X-APPLE-THING", "X-A:1", "END:X-APPLE-THING")
    event = event_read(text).event
    assert event is not None
    written = event_write(dict(event, title="New"), previous_text=text)
    lines = content_lines(written)
    for line in ("X-WR-CALNAME:Home", "BEGIN:VTODO", "SUMMARY:Buy milk", "BEGIN:X-APPLE-THING", "SUMMARY:New"):
        assert line in lines
    assert "SUMMARY:Old" not in lines


def test_vtodo_resource_is_not_an_event() -> None:
    reading = event_read(calendar("BEGIN:VTODO", "UID:todo-9", "SUMMARY:Buy milk", "END:VTODO"))
    assert (reading.event, reading.component, reading.uid) == (None, "VTODO", "todo-9")


def test_unmapped_jscalendar_properties_round_trip_as_jsprop() -> None:
    event = {"@type": "Event", "uid": "bob-vendor", "start": "2026-01-01T10:00:00", "updated": "2026-01-01T00:00:00Z",
             "example.com:rank": {"a": [1, "b;c,d"]}, "locale": "de", "useDefaultAlerts": True,
             "id": "E1", "calendarIds": {"k1": True}, "utcStart": "2026-01-01T09:00:00Z"}
    text = event_write(event, previous_text=None)
    lines = component_lines(text)
    assert 'JSPROP;JSPTR=locale:"de"' in lines       # no title to carry it as LANGUAGE
    assert not any("calendarIds" in line or "utcStart" in line for line in lines)
    again = event_read(text).event
    assert again is not None
    assert {key: again[key] for key in ("example.com:rank", "locale", "useDefaultAlerts")} == {
        "example.com:rank": {"a": [1, "b;c,d"]}, "locale": "de", "useDefaultAlerts": True}
    assert "id" not in again and "calendarIds" not in again


def test_jsprop_without_json_is_kept_with_a_problem() -> None:
    from tests.jmapcore.calendars.jscalendar.icals import vevent

    reading = event_read(vevent(START, "JSPROP;JSPTR=rank:{not json"))
    assert reading.event is not None and "rank" not in reading.event
    assert reading.event["iCalComponent"]["properties"][0]["name"] == "jsprop"
    assert any("JSPROP" in problem for problem in reading.problems)


def test_summary_language_is_the_locale() -> None:
    event = read(START, "SUMMARY;LANGUAGE=de:Besprechung")
    assert (event["title"], event["locale"]) == ("Besprechung", "de")
    text = event_write(event, previous_text=None)
    assert "SUMMARY;LANGUAGE=de:Besprechung" in component_lines(text)
    assert event_read(text).event == event
