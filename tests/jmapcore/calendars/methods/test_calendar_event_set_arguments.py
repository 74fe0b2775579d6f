"""CalendarEvent/set refusals decided before anything reaches the CalDAV server
(draft-ietf-jmap-calendars-33 §5.9, RFC 8620 §5.3): each bad create, patch or
destroy is a per-object SetError naming the properties, and nothing changes
(the account's CalDAV URL answers nobody, so a write that got through would fail)."""
from __future__ import annotations

from typing import Any

import pytest

from jmapcore.calendars.calendar_event_read import occurrence_id_make
from jmapcore.models.calendars import CalendarEvent
from tests.jmapcore.calendars.methods.calendar_event_people import CalendarsPerson, event_row, ical
from tests.personas import Persona

WEEKLY = ical("SUMMARY:Team sync", "DTSTART;TZID=Europe/Berlin:20261202T100000", "DURATION:PT1H",
              "RRULE:FREQ=WEEKLY;COUNT=5", uid="weekly@example.test")
LUNCH = ical("SUMMARY:Lunch", "DTSTART:20261203T120000Z", "DTEND:20261203T130000Z", uid="lunch@example.test")


@pytest.fixture
def alice_calendars(alice: Persona) -> CalendarsPerson:
    return CalendarsPerson.of(alice)


def _set(person: CalendarsPerson, **arguments: Any) -> dict[str, Any]:
    return person.ok("CalendarEvent/set", **arguments)


@pytest.mark.parametrize(
    ("event", "properties"),
    [
        ({"title": "No calendar", "start": "2026-12-01T10:00:00"}, ["calendarIds"]),
        ({"calendarIds": {"knothere": True}, "title": "x"}, ["calendarIds"]),
        ({"calendarIds": "not a map", "title": "x"}, ["calendarIds"]),
        ({"calendarIds": "TWO", "title": "x"}, ["calendarIds"]),
        ({"calendarIds": "CAL", "title": "x", "isDraft": True}, ["isDraft"]),
        ({"calendarIds": "CAL", "title": "x", "utcStart": "2026-12-01T10:00:00Z"}, ["utcStart"]),
        ({"calendarIds": "CAL", "title": "x", "id": "eabc"}, ["id"]),
        ({"calendarIds": "CAL", "title": "x", "notAProperty": 1}, ["notAProperty"]),
        ({"calendarIds": "CAL", "title": "x", "@type": "Task"}, ["@type"]),
        ({"calendarIds": "CAL", "title": "x", "uid": ""}, ["uid"]),
        ({"calendarIds": "CAL", "title": "x", "uid": "lunch@example.test"}, ["uid"]),
        ({"calendarIds": "CAL", "title": "x", "mayInviteOthers": True, "baseEventId": "e1"},
         ["baseEventId", "mayInviteOthers"]),
    ],
)
def test_bad_creates_name_their_properties(
    alice_calendars: CalendarsPerson, event: dict[str, Any], properties: list[str]
) -> None:
    calendar = alice_calendars.calendar_row("Work")
    other = alice_calendars.calendar_row("Home")
    event_row(alice_calendars.account, calendar, LUNCH)
    if event.get("calendarIds") == "CAL":
        event = {**event, "calendarIds": {calendar.jmap_id: True}}
    elif event.get("calendarIds") == "TWO":
        event = {**event, "calendarIds": {calendar.jmap_id: True, other.jmap_id: True}}
    before = CalendarEvent.objects.filter(account=alice_calendars.account).count()
    result = _set(alice_calendars, create={"new": event})
    error = result["notCreated"]["new"]
    assert error["type"] == "invalidProperties", error
    assert error["properties"] == properties
    assert result["created"] is None
    assert result["oldState"] == result["newState"]
    assert CalendarEvent.objects.filter(account=alice_calendars.account).count() == before


@pytest.mark.parametrize(
    ("patch", "error_type", "properties"),
    [
        ({"uid": "other@example.test"}, "invalidProperties", ["uid"]),
        ({"id": "eother"}, "invalidProperties", ["id"]),
        ({"calendarIds": {"knothere": True}}, "invalidProperties", ["calendarIds"]),
        ({"isDraft": True}, "invalidProperties", ["isDraft"]),
        ({"nonsense": 1}, "invalidProperties", ["nonsense"]),
        ({"participants/p1/name": "x"}, "invalidPatch", None),
        ({"title": "a", "title/x": "b"}, "invalidPatch", None),
        ("not a patch", "invalidPatch", None),
    ],
)
def test_bad_updates_are_refused(
    alice_calendars: CalendarsPerson, patch: Any, error_type: str, properties: list[str] | None
) -> None:
    row = event_row(alice_calendars.account, alice_calendars.calendar_row("Work"), LUNCH)
    result = _set(alice_calendars, update={row.jmap_id: patch})
    error = result["notUpdated"][row.jmap_id]
    assert error["type"] == error_type, error
    if properties is not None:
        assert error["properties"] == properties
    row.refresh_from_db()
    assert row.event["title"] == "Lunch"
    assert result["oldState"] == result["newState"]


def test_occurrence_patches_cannot_change_what_all_share(alice_calendars: CalendarsPerson) -> None:
    calendar = alice_calendars.calendar_row("Work")
    other = alice_calendars.calendar_row("Home")
    row = event_row(alice_calendars.account, calendar, WEEKLY)
    occurrence = occurrence_id_make(row.jmap_id, "2026-12-09T10:00:00")
    result = _set(alice_calendars, update={occurrence: {
        "uid": "x@example.test", "recurrenceRules": [{"frequency": "daily"}], "calendarIds": {other.jmap_id: True}}})
    error = result["notUpdated"][occurrence]
    assert error["type"] == "invalidProperties"
    assert error["properties"] == ["calendarIds", "recurrenceRules", "uid"]


def test_unknown_foreign_and_doomed_ids(alice: Persona, bob: Persona) -> None:
    alice_calendars, bob_calendars = CalendarsPerson.of(alice), CalendarsPerson.of(bob)
    bobs = event_row(bob_calendars.account, bob_calendars.calendar_row("Bob's"), LUNCH)
    mine = event_row(alice_calendars.account, alice_calendars.calendar_row("Work"), WEEKLY)
    not_an_occurrence = occurrence_id_make(mine.jmap_id, "2026-12-10T10:00:00")
    single = event_row(alice_calendars.account, alice_calendars.calendar_row("Home"), LUNCH)
    single_occurrence = occurrence_id_make(single.jmap_id, "2026-12-03T12:00:00")
    excluded_before = occurrence_id_make(mine.jmap_id, "2026-11-25T10:00:00")
    result = _set(
        alice_calendars,
        update={bobs.jmap_id: {"title": "mine now"}, not_an_occurrence: {"title": "x"},
                single_occurrence: {"title": "x"}, mine.jmap_id: {"title": "doomed"}},
        destroy=[bobs.jmap_id, "enothere", excluded_before, mine.jmap_id],
    )
    assert result["notUpdated"][bobs.jmap_id]["type"] == "notFound"
    assert result["notUpdated"][not_an_occurrence]["type"] == "notFound"
    assert result["notUpdated"][single_occurrence]["type"] == "notFound"
    assert result["notUpdated"][mine.jmap_id]["type"] == "willDestroy"
    assert result["notDestroyed"][bobs.jmap_id]["type"] == "notFound"
    assert result["notDestroyed"]["enothere"]["type"] == "notFound"
    assert result["notDestroyed"][excluded_before]["type"] == "notFound"
    bobs.refresh_from_db()
    assert bobs.event["title"] == "Lunch" and not bobs.destroyed


def test_if_in_state_mismatch(alice_calendars: CalendarsPerson) -> None:
    error = alice_calendars.error("CalendarEvent/set", ifInState="nope", destroy=[])
    assert error["type"] == "stateMismatch"


def test_read_only_calendar_refuses_before_the_server(alice_calendars: CalendarsPerson) -> None:
    calendar = alice_calendars.calendar_row("Shared", privileges=["read"])
    row = event_row(alice_calendars.account, calendar, LUNCH)
    result = _set(
        alice_calendars,
        create={"new": {"calendarIds": {calendar.jmap_id: True}, "title": "x", "start": "2026-12-01T10:00:00"}},
        update={row.jmap_id: {"title": "Brunch"}},
        destroy=[row.jmap_id],
    )
    assert result["notCreated"]["new"]["type"] == "forbidden"
    # The update is refused too: the same id is also destroyed, so willDestroy comes first.
    assert result["notUpdated"][row.jmap_id]["type"] == "willDestroy"
    assert result["notDestroyed"][row.jmap_id]["type"] == "forbidden"
    again = _set(alice_calendars, update={row.jmap_id: {"title": "Brunch"}})
    assert again["notUpdated"][row.jmap_id]["type"] == "forbidden"


def test_a_task_list_takes_no_events(alice_calendars: CalendarsPerson) -> None:
    """RFC 4791 §5.2.3: a collection whose supported-calendar-component-set lacks
    VEVENT is refused as calendarIds, for a new event and for a move."""
    tasks = alice_calendars.calendar_row("Tasks")
    tasks.dav_components = ["VTODO"]
    tasks.save(update_fields=["dav_components"])
    row = event_row(alice_calendars.account, alice_calendars.calendar_row("Work"), LUNCH)
    result = _set(
        alice_calendars,
        create={"new": {"calendarIds": {tasks.jmap_id: True}, "title": "x", "start": "2026-12-01T10:00:00"}},
        update={row.jmap_id: {"calendarIds": {tasks.jmap_id: True}}},
    )
    assert result["notCreated"]["new"]["properties"] == ["calendarIds"]
    assert result["notUpdated"][row.jmap_id]["properties"] == ["calendarIds"]
