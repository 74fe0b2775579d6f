"""Hypothesis round trips (issue 11 item 2): JSCalendar → iCalendar → JSCalendar gives the event
back, and a write against its own text changes nothing."""
from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from jmapcore.calendars.jscalendar import event_read, event_write
from tests.jmapcore.calendars.jscalendar.jscalendar_strategies import events

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(events())
def test_jscalendar_to_icalendar_and_back(event: dict[str, Any]) -> None:
    text = event_write(event, previous_text=None)
    reading = event_read(text)
    assert reading.event == event, (text, reading.problems)
    assert reading.problems == []


@SETTINGS
@given(events())
def test_writing_against_its_own_text_changes_nothing(event: dict[str, Any]) -> None:
    text = event_write(event, previous_text=None)
    again = event_read(text).event
    assert again is not None
    assert event_write(again, previous_text=text) == text
