"""CalendarEvent/query and /queryChanges (draft-ietf-jmap-calendars-33 §5.10, §5.11): every
FilterCondition of §5.10.1, the sorts of §5.10.2, expandRecurrences over [after, before)
bounded by maxExpandedQueryDuration, over cache rows read from iCalendar by the real converter."""
from __future__ import annotations

from typing import Any

import pytest

from jmapcore.calendars.calendar_event_read import occurrence_id_make
from jmapcore.models.calendars import Calendar, CalendarEvent
from tests.jmapcore.calendars.methods.calendar_event_people import (
    CalendarsPerson,
    event_row,
    event_row_destroy,
    event_row_replace,
    ical,
)
from tests.personas import Persona

WEEKLY = ical(
    "SUMMARY:Team sync",
    "DESCRIPTION:Weekly status of the Analytical Engine",
    "LOCATION:Room 101",
    "DTSTART;TZID=Europe/Berlin:20261202T100000",
    "DURATION:PT1H",
    "RRULE:FREQ=WEEKLY;COUNT=5",
    "EXDATE;TZID=Europe/Berlin:20261216T100000",
    "ORGANIZER;CN=Olga Owner:mailto:olga@example.test",
    "ATTENDEE;CN=Bob Builder;PARTSTAT=NEEDS-ACTION:mailto:bob@example.test",
    uid="weekly@example.test",
    extra=(
        "BEGIN:VEVENT",
        "UID:weekly@example.test",
        "DTSTAMP:20260101T000000Z",
        "RECURRENCE-ID;TZID=Europe/Berlin:20261209T100000",
        "DTSTART;TZID=Europe/Berlin:20261209T140000",
        "DURATION:PT1H",
        "SUMMARY:Team sync (moved)",
        "END:VEVENT",
    ),
)
LUNCH = ical(
    "SUMMARY:Lunch with Grace",
    "DTSTART:20261203T120000Z",
    "DTEND:20261203T130000Z",
    "LOCATION:Canteen",
    uid="lunch@example.test",
)
NEW_YEAR = ical("SUMMARY:New year", "DTSTART;VALUE=DATE:20270101", uid="ny@example.test")
FOREVER = ical("SUMMARY:Stand-up", "DTSTART:20261130T080000Z", "DURATION:PT15M", "RRULE:FREQ=DAILY",
               uid="standup@example.test")


@pytest.fixture
def alice_calendars(alice: Persona) -> CalendarsPerson:
    return CalendarsPerson.of(alice)


@pytest.fixture
def events(alice_calendars: CalendarsPerson) -> dict[str, CalendarEvent]:
    work = alice_calendars.calendar_row("Work")
    home = alice_calendars.calendar_row("Home")
    account = alice_calendars.account
    return {
        "weekly": event_row(account, work, WEEKLY),
        "lunch": event_row(account, home, LUNCH),
        "ny": event_row(account, home, NEW_YEAR),
        "forever": event_row(account, work, FOREVER),
    }


def _query(person: CalendarsPerson, **arguments: Any) -> list[str]:
    return list(person.ok("CalendarEvent/query", **arguments)["ids"])


def _names(events: dict[str, CalendarEvent], ids: list[str]) -> set[str]:
    by_id = {row.jmap_id: name for name, row in events.items()}
    return {by_id[item] for item in ids}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"text": "analytical"}, {"weekly"}),
        ({"text": "GRACE"}, {"lunch"}),
        ({"title": "moved"}, {"weekly"}),  # an override's title counts
        ({"title": "lunch"}, {"lunch"}),
        ({"description": "status"}, {"weekly"}),
        ({"location": "canteen"}, {"lunch"}),
        ({"owner": "olga@example.test"}, {"weekly"}),
        ({"attendee": "bob builder"}, {"weekly"}),
        ({"uid": "ny@example.test"}, {"ny"}),
        ({"uid": "NY@example.test"}, set()),
        ({"text": "100%"}, set()),
        ({"before": "2026-12-01T00:00:00Z"}, {"forever"}),
        ({"after": "2026-12-31T00:00:00Z"}, {"ny", "forever"}),
        ({"after": "2026-12-03T12:30:00Z", "before": "2026-12-03T12:45:00Z"}, {"lunch", "weekly", "forever"}),
        ({"after": "2027-01-02T00:00:00Z"}, {"forever"}),
    ],
)
def test_filter_conditions(
    alice_calendars: CalendarsPerson, events: dict[str, CalendarEvent], condition: dict[str, Any], expected: set[str]
) -> None:
    assert _names(events, _query(alice_calendars, filter=condition)) == expected


def test_in_calendars_and_operators(alice_calendars: CalendarsPerson, events: dict[str, CalendarEvent]) -> None:
    work = events["weekly"].calendar
    assert _names(events, _query(alice_calendars, filter={"inCalendars": [work.jmap_id]})) == {"weekly", "forever"}
    not_work = {"operator": "NOT", "conditions": [{"inCalendars": [work.jmap_id]}]}
    assert _names(events, _query(alice_calendars, filter=not_work)) == {"lunch", "ny"}
    either = {"operator": "OR", "conditions": [{"uid": "ny@example.test"}, {"location": "room 101"}]}
    assert _names(events, _query(alice_calendars, filter=either)) == {"ny", "weekly"}


def test_sort_by_start_and_uid(alice_calendars: CalendarsPerson, events: dict[str, CalendarEvent]) -> None:
    by_start = _query(alice_calendars, sort=[{"property": "start"}])
    assert [_names(events, [item]).pop() for item in by_start] == ["forever", "weekly", "lunch", "ny"]
    by_uid = _query(alice_calendars, sort=[{"property": "uid", "isAscending": False}])
    assert [_names(events, [item]).pop() for item in by_uid] == ["weekly", "forever", "ny", "lunch"]


def test_todos_and_destroyed_events_are_not_results(
    alice_calendars: CalendarsPerson, events: dict[str, CalendarEvent]
) -> None:
    todo_text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTODO\r\nUID:todo@example.test\r\n"
        "DTSTAMP:20260101T000000Z\r\nSUMMARY:Lunch supplies\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    )
    event_row(alice_calendars.account, events["lunch"].calendar, todo_text)
    event_row_destroy(events["ny"])
    assert _names(events, _query(alice_calendars)) == {"weekly", "lunch", "forever"}


def test_expand_recurrences_gives_each_occurrence_in_the_window(
    alice_calendars: CalendarsPerson, events: dict[str, CalendarEvent]
) -> None:
    weekly = events["weekly"].jmap_id
    result = alice_calendars.ok(
        "CalendarEvent/query",
        filter={"after": "2026-12-01T00:00:00Z", "before": "2027-01-01T00:00:00Z", "inCalendars": [
            events["weekly"].calendar.jmap_id]},
        expandRecurrences=True,
        calculateTotal=True,
    )
    weekly_ids = [item for item in result["ids"] if item.startswith(weekly)]
    # COUNT=5 from 2 December, 16 December excluded, 9 December moved to 14:00.
    assert weekly_ids == [
        occurrence_id_make(weekly, "2026-12-02T10:00:00"),
        occurrence_id_make(weekly, "2026-12-09T10:00:00"),
        occurrence_id_make(weekly, "2026-12-23T10:00:00"),
        occurrence_id_make(weekly, "2026-12-30T10:00:00"),
    ]
    # The daily stand-up from 30 November: 31 occurrences in December.
    assert result["total"] == 4 + 31
    assert result["canCalculateChanges"] is False
    # Every id is one /get accepts.
    got = alice_calendars.ok("CalendarEvent/get", ids=result["ids"][:10], properties=["recurrenceId", "baseEventId"])
    assert got["notFound"] == []
    assert all(item["baseEventId"] in (weekly, events["forever"].jmap_id) for item in got["list"])


def test_expanded_single_events_keep_their_ids_and_sort_by_start(
    alice_calendars: CalendarsPerson, events: dict[str, CalendarEvent]
) -> None:
    ids = _query(
        alice_calendars,
        filter={"after": "2026-12-03T00:00:00Z", "before": "2026-12-04T00:00:00Z"},
        expandRecurrences=True,
        sort=[{"property": "start"}],
    )
    assert ids == [occurrence_id_make(events["forever"].jmap_id, "2026-12-03T08:00:00"), events["lunch"].jmap_id]


def test_expanded_query_windows(alice_calendars: CalendarsPerson, events: dict[str, CalendarEvent]) -> None:
    arguments = {"filter": {"after": "2026-12-01T00:00:00Z", "before": "2026-12-11T00:00:00Z"},
                 "expandRecurrences": True}
    every = _query(alice_calendars, **arguments)
    assert len(every) == 10 + 2 + 1  # stand-ups, two weekly ones, lunch
    assert _query(alice_calendars, **arguments, position=3, limit=4) == every[3:7]
    assert _query(alice_calendars, **arguments, anchor=every[5], anchorOffset=1, limit=2) == every[6:8]


@pytest.mark.parametrize(
    "filter_value",
    [
        None,
        {"after": "2026-12-01T00:00:00Z"},
        {"before": "2026-12-01T00:00:00Z"},
        {"after": "2026-01-01T00:00:00Z", "before": "2027-12-31T00:00:00Z"},  # past maxExpandedQueryDuration
        {"after": "2026-12-02T00:00:00Z", "before": "2026-12-01T00:00:00Z"},
        {"operator": "AND", "conditions": [{"after": "2026-12-01T00:00:00Z", "before": "2026-12-02T00:00:00Z"}]},
    ],
)
def test_expansion_needs_a_bounded_window(alice_calendars: CalendarsPerson, filter_value: Any) -> None:
    error = alice_calendars.error("CalendarEvent/query", filter=filter_value, expandRecurrences=True)
    assert error["type"] == "invalidArguments"


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"filter": {"after": "tomorrow"}}, "invalidArguments"),
        ({"filter": {"inCalendars": "k1"}}, "invalidArguments"),
        ({"filter": {"unknown": 1}}, "unsupportedFilter"),
        ({"sort": [{"property": "title"}]}, "unsupportedSort"),
        ({"expandRecurrences": "yes"}, "invalidArguments"),
        ({"timeZone": "Nowhere/Nothing"}, "invalidArguments"),
    ],
)
def test_bad_query_arguments(alice_calendars: CalendarsPerson, arguments: dict[str, Any], error: str) -> None:
    assert alice_calendars.error("CalendarEvent/query", **arguments)["type"] == error


def test_query_changes_reports_changed_events(
    alice_calendars: CalendarsPerson, events: dict[str, CalendarEvent]
) -> None:
    arguments: dict[str, Any] = {"filter": {"title": "lunch"}, "sort": [{"property": "start"}]}
    first = alice_calendars.ok("CalendarEvent/query", **arguments)
    assert first["ids"] == [events["lunch"].jmap_id]
    second_lunch = event_row(alice_calendars.account, events["lunch"].calendar,
                             ical("SUMMARY:Lunch again", "DTSTART:20261204T120000Z"))
    event_row_replace(events["lunch"], LUNCH.replace("Lunch with Grace", "Dinner with Grace"))
    changes = alice_calendars.ok("CalendarEvent/queryChanges", sinceQueryState=first["queryState"], **arguments)
    assert changes["removed"] == [events["lunch"].jmap_id]
    assert changes["added"] == [{"id": second_lunch.jmap_id, "index": 0}]
    expanded = alice_calendars.error("CalendarEvent/queryChanges", sinceQueryState=first["queryState"],
                                     expandRecurrences=True, **arguments)
    assert expanded["type"] == "cannotCalculateChanges"


def test_changes_list_created_updated_destroyed(
    alice_calendars: CalendarsPerson, events: dict[str, CalendarEvent]
) -> None:
    state = alice_calendars.ok("CalendarEvent/get", ids=[])["state"]
    event_row_replace(events["lunch"], LUNCH.replace("Canteen", "Cafe"))
    event_row_destroy(events["ny"])
    new_text = ical("SUMMARY:New", "DTSTART:20261205T090000Z")
    added = event_row(alice_calendars.account, events["lunch"].calendar, new_text)
    changes = alice_calendars.ok("CalendarEvent/changes", sinceState=state)
    assert changes["created"] == [added.jmap_id]
    assert changes["updated"] == [events["lunch"].jmap_id]
    assert changes["destroyed"] == [events["ny"].jmap_id]
    assert changes["newState"] == alice_calendars.ok("CalendarEvent/get", ids=[])["state"]


def test_changes_leave_out_resources_that_are_not_events(
    alice_calendars: CalendarsPerson, events: dict[str, CalendarEvent]
) -> None:
    state = alice_calendars.ok("CalendarEvent/get", ids=[])["state"]
    todo_text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTODO\r\nUID:todo@example.test\r\n"
        "DTSTAMP:20260101T000000Z\r\nSUMMARY:Buy milk\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    )
    todo = event_row(alice_calendars.account, events["lunch"].calendar, todo_text)
    changes = alice_calendars.ok("CalendarEvent/changes", sinceState=state)
    assert todo.jmap_id not in changes["created"] + changes["updated"]


def test_query_sees_only_the_callers_events(alice: Persona, bob: Persona) -> None:
    alice_calendars, bob_calendars = CalendarsPerson.of(alice), CalendarsPerson.of(bob)
    bobs: Calendar = bob_calendars.calendar_row("Bob's")
    event_row(bob_calendars.account, bobs, LUNCH)
    assert _query(alice_calendars, filter={"uid": "lunch@example.test"}) == []
    assert _query(alice_calendars, filter={"inCalendars": [bobs.jmap_id]}) == []
