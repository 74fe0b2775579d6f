"""Whatever JSON a JMAP client sends (mallory's included), event_write writes it or raises
EventInvalid naming properties; it never fails otherwise (a 500 would lose the request)."""
from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jmapcore.calendars.jscalendar import EventInvalid, event_read, event_write
from tests.jmapcore.calendars.jscalendar.icals import vevent
from tests.jmapcore.calendars.jscalendar.jscalendar_strategies import events

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=10)
KEYS = ["title", "start", "duration", "timeZone", "showWithoutTime", "recurrenceRules", "recurrenceOverrides",
        "alerts", "participants", "replyTo", "locations", "virtualLocations", "links", "keywords", "priority",
        "status", "iCalComponent", "relatedTo", "created", "updated", "excludedRecurrenceRules", "color"]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PREVIOUS = vevent("DTSTART;TZID=Europe/Berlin:20260105T100000", "SUMMARY:Before", "RRULE:FREQ=WEEKLY",
                  uid="mallory-1")


def _write(event: dict[str, Any], previous: str | None) -> None:
    try:
        text = event_write(event, previous_text=previous)
    except EventInvalid as invalid:
        assert invalid.properties and all(isinstance(path, str) for path in invalid.properties)
        return
    reading = event_read(text)
    assert reading.event is not None and reading.event["uid"] == event["uid"]
    # Every occurrence the client changed is in the object (none silently dropped).
    wanted = {key for key, patch in (event.get("recurrenceOverrides") or {}).items() if patch}
    assert wanted <= set(reading.event.get("recurrenceOverrides", {})), text


@SETTINGS
@given(events(), st.sampled_from(KEYS), JSON)
def test_any_value_of_a_property_is_written_or_refused(event: dict[str, Any], key: str, value: Any) -> None:
    _write(dict(event, **{key: value}), None)


@SETTINGS
@given(st.sampled_from(KEYS), JSON, st.text(max_size=12), JSON)
def test_any_override_patch_is_written_or_refused(key: str, value: Any, override_key: str, patch: Any) -> None:
    event = {"@type": "Event", "uid": "mallory-1", "start": "2026-01-05T10:00:00", "timeZone": "Europe/Berlin",
             "recurrenceRules": [{"@type": "RecurrenceRule", "frequency": "weekly"}],
             "recurrenceOverrides": {"2026-01-12T10:00:00": {key: value}, override_key: patch}}
    _write(event, PREVIOUS)


def test_bad_patches_are_named() -> None:
    event = {"@type": "Event", "uid": "mallory-2", "start": "2026-01-05T10:00:00", "timeZone": "Europe/Berlin",
             "recurrenceRules": [{"@type": "RecurrenceRule", "frequency": "weekly"}],
             "recurrenceOverrides": {"2026-01-12T10:00:00": {"start": 5, "timeZone": "Mars/X"},
                                     "2026-01-19T10:00:00": {"uid": "other"},
                                     "2026-01-26T10:00:00": {"alerts/a1/trigger": {"@type": "OffsetTrigger"}}}}
    try:
        event_write(event, previous_text=None)
    except EventInvalid as invalid:
        assert set(invalid.properties) == {
            "recurrenceOverrides/2026-01-12T10:00:00/start", "recurrenceOverrides/2026-01-12T10:00:00/timeZone",
            "recurrenceOverrides/2026-01-19T10:00:00/uid",
            "recurrenceOverrides/2026-01-26T10:00:00/alerts/a1/trigger/offset"}
    else:
        raise AssertionError("invalid patches were written")


def test_duration_only_patch_of_an_occurrence_is_written() -> None:
    event = {"@type": "Event", "uid": "bob-3", "start": "2026-01-05T10:00:00", "timeZone": "Europe/Berlin",
             "duration": "PT1H", "recurrenceRules": [{"@type": "RecurrenceRule", "frequency": "weekly"}],
             "recurrenceOverrides": {"2026-01-12T10:00:00": {"duration": "PT2H"}}}
    again = event_read(event_write(event, previous_text=None)).event
    assert again is not None and again["recurrenceOverrides"] == {"2026-01-12T10:00:00": {"duration": "PT2H"}}
