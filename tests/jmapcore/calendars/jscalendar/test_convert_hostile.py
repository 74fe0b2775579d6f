"""Hostile iCalendar (F1's strategies: any names, parameters and values a writer can put on the
wire) never breaks event_read, and an event read from it is written back unchanged."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jmapcore.calendars.jscalendar import EventInvalid, event_read, event_search_fields, event_write
from jmapcore.calendars.jscalendar.ical_model import IcalComponent, IcalProperty
from jmapcore.calendars.jscalendar.ical_syntax import ical_parse, ical_serialize
from tests.jmapcore.calendars.jscalendar.ical_strategies import calendars, properties

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _event_tree(extra: list[IcalProperty], subs: list[IcalComponent]) -> IcalComponent:
    """A VEVENT with a valid UID and DTSTART plus hostile lines and components."""
    vevent = IcalComponent("VEVENT", properties=[IcalProperty("UID", "mallory-1"),
                                                  IcalProperty("DTSTART", "20260105T100000Z"), *extra],
                           components=subs)
    return IcalComponent("VCALENDAR", properties=[IcalProperty("VERSION", "2.0")], components=[vevent])


def _unchanged_write_is_identical(text: str) -> None:
    reading = event_read(text)
    if reading.event is None:
        return
    event_search_fields(reading.event)
    root = ical_parse(text).root
    assert root is not None
    if not str(reading.event.get("uid", "")).strip():
        # No UID: the caller must give the event one before it can be written (event_write's contract).
        with pytest.raises(EventInvalid) as caught:
            event_write(reading.event, previous_text=text)
        assert "uid" in caught.value.properties
        return
    assert event_write(reading.event, previous_text=text) == ical_serialize(root)


@SETTINGS
@given(calendars(max_children=3))
def test_any_calendar_object(tree: IcalComponent) -> None:
    _unchanged_write_is_identical(ical_serialize(tree))


@SETTINGS
@given(st.lists(properties, max_size=8), st.lists(calendars(max_children=1).map(lambda c: c.components), max_size=2))
def test_event_with_hostile_lines(extra: list[IcalProperty], subs: list[list[IcalComponent]]) -> None:
    children = [child for group in subs for child in group if child.name not in ("VEVENT", "VTODO", "VJOURNAL")]
    _unchanged_write_is_identical(ical_serialize(_event_tree(extra, children)))
