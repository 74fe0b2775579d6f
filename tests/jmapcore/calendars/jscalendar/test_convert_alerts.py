"""VALARM ↔ alerts (RFC 8984 §4.5.2; RFC 5545 §3.6.6; RFC 9074)."""
from __future__ import annotations

from jmapcore.calendars.jscalendar import event_read, event_write
from tests.jmapcore.calendars.jscalendar.icals import component_lines, read

START = "DTSTART;TZID=Europe/Berlin:20260105T100000"


def test_relative_trigger_before_start() -> None:
    event = read(START, "SUMMARY:Dentist", "BEGIN:VALARM", "TRIGGER:-PT15M", "ACTION:DISPLAY",
                 "DESCRIPTION:Dentist", "END:VALARM")
    assert event["alerts"] == {"a1": {"@type": "Alert", "action": "display",
                                      "trigger": {"@type": "OffsetTrigger", "offset": "-PT15M"}}}


def test_trigger_related_to_end_and_email_action() -> None:
    event = read(START, "BEGIN:VALARM", "TRIGGER;RELATED=END:PT5M", "ACTION:EMAIL", "SUMMARY:Over",
                 "DESCRIPTION:The meeting is over", "ATTENDEE:mailto:alice@example.com", "END:VALARM")
    alert = event["alerts"]["a1"]
    assert alert["trigger"] == {"@type": "OffsetTrigger", "offset": "PT5M", "relativeTo": "end"}
    assert alert["action"] == "email"
    kept = [entry["name"] for entry in alert["iCalComponent"]["properties"]]
    assert kept == ["summary", "description", "attendee"]


def test_absolute_trigger_and_acknowledged_with_uid_as_id() -> None:
    event = read(START, "BEGIN:VALARM", "UID:alarm-7", "TRIGGER;VALUE=DATE-TIME:20260105T080000Z",
                 "ACTION:DISPLAY", "DESCRIPTION:Go", "ACKNOWLEDGED:20260105T080100Z", "END:VALARM")
    alert = event["alerts"]["alarm-7"]
    assert alert["trigger"] == {"@type": "AbsoluteTrigger", "when": "2026-01-05T08:00:00Z"}
    assert alert["acknowledged"] == "2026-01-05T08:01:00Z"


def test_audio_alarm_is_kept_whole() -> None:
    event = read(START, "BEGIN:VALARM", "TRIGGER:-PT1H", "ACTION:AUDIO", "ATTACH;FMTTYPE=audio/basic:ftp://x/y.wav",
                 "REPEAT:2", "DURATION:PT5M", "END:VALARM")
    alert = event["alerts"]["a1"]
    assert "action" not in alert
    text = event_write(event, previous_text=None)
    valarm = component_lines(text, "VALARM")
    assert "ACTION:AUDIO" in valarm and "REPEAT:2" in valarm and "ACTION:DISPLAY" not in valarm


def test_valarm_without_trigger_is_kept_with_a_problem() -> None:
    from tests.jmapcore.calendars.jscalendar.icals import vevent

    text = vevent(START, "BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:?", "END:VALARM")
    reading = event_read(text)
    assert reading.event is not None and "alerts" not in reading.event
    assert any("TRIGGER" in problem for problem in reading.problems)
    assert "BEGIN:VALARM" in event_write(reading.event, previous_text=None)


def test_new_alert_is_written_as_a_display_valarm() -> None:
    event = {"@type": "Event", "uid": "bob-alert", "title": "Call mum", "start": "2026-02-01T18:00:00",
             "timeZone": "Europe/London",
             "alerts": {"call": {"@type": "Alert", "trigger": {"@type": "OffsetTrigger", "offset": "-PT10M"}}}}
    text = event_write(event, previous_text=None)
    valarm = component_lines(text, "VALARM")
    assert valarm[:4] == ["UID:call", "TRIGGER:-PT10M", "ACTION:DISPLAY", "DESCRIPTION:Call mum"]
    again = event_read(text).event
    assert again is not None and again["alerts"] == {"call": {
        "@type": "Alert", "trigger": {"@type": "OffsetTrigger", "offset": "-PT10M"}, "action": "display",
        "iCalComponent": {"@type": "ICalComponent", "name": "valarm", "properties": [
            {"@type": "ICalProperty", "name": "uid", "valueType": "unknown", "value": "call"}]}}}


def test_types_may_be_left_out_by_clients() -> None:
    # RFC 8984 §1.4.1: "@type" may be omitted where only one type fits; a "when" is an AbsoluteTrigger.
    event = {"uid": "bob-alerts", "start": "2026-01-01T10:00:00",
             "alerts": {"a1": {"trigger": {"when": "2026-01-01T08:00:00Z"}}, "a2": {"trigger": {"offset": "-PT5M"}}}}
    again = event_read(event_write(event, previous_text=None)).event
    assert again is not None
    assert again["alerts"]["a1"]["trigger"] == {"@type": "AbsoluteTrigger", "when": "2026-01-01T08:00:00Z"}
    assert again["alerts"]["a2"]["trigger"] == {"@type": "OffsetTrigger", "offset": "-PT5M"}
