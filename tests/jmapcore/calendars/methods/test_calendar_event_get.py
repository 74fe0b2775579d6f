"""CalendarEvent/get (draft-ietf-jmap-calendars-33 §5.8) over cache rows written as sync writes them:
the event JSON with id and calendarIds, recurrenceOverrides, occurrence ids, utcStart/utcEnd
when asked, recurrenceOverridesBefore/After, reduceParticipants, timeZone."""
from __future__ import annotations

from typing import Any

import pytest

from jmapcore.calendars.calendar_event_read import occurrence_id_make, occurrence_id_parse
from tests.jmapcore.calendars.methods.calendar_event_people import (
    CalendarsPerson,
    event_row,
    event_row_destroy,
    ical,
)
from tests.personas import Persona

WEEKLY = ical(
    "SUMMARY:Team sync",
    "DTSTART;TZID=Europe/Berlin:20261202T100000",
    "DURATION:PT1H",
    "RRULE:FREQ=WEEKLY;COUNT=5",
    "EXDATE;TZID=Europe/Berlin:20261216T100000",
    "ORGANIZER;CN=Alice:mailto:alice@example.test",
    "ATTENDEE;CN=Bob;PARTSTAT=NEEDS-ACTION:mailto:bob@example.test",
    "ATTENDEE;CN=Carol;PARTSTAT=ACCEPTED:mailto:carol@example.test",
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
LUNCH = ical("SUMMARY:Lunch", "DTSTART:20261203T120000Z", "DTEND:20261203T130000Z", uid="lunch@example.test")


@pytest.fixture
def alice_calendars(alice: Persona) -> CalendarsPerson:
    return CalendarsPerson.of(alice)


def test_get_returns_the_event_with_id_calendar_and_overrides(alice_calendars: CalendarsPerson) -> None:
    calendar = alice_calendars.calendar_row("Work")
    row = event_row(alice_calendars.account, calendar, WEEKLY)
    result = alice_calendars.ok("CalendarEvent/get", ids=[row.jmap_id])
    [event] = result["list"]
    assert event["id"] == row.jmap_id
    assert event["calendarIds"] == {calendar.jmap_id: True}
    assert event["@type"] == "Event"
    assert event["uid"] == "weekly@example.test"
    assert event["title"] == "Team sync"
    assert event["start"] == "2026-12-02T10:00:00"
    assert event["timeZone"] == "Europe/Berlin"
    assert event["recurrenceRules"][0]["frequency"] == "weekly"
    overrides = event["recurrenceOverrides"]
    assert overrides["2026-12-16T10:00:00"] == {"excluded": True}
    assert overrides["2026-12-09T10:00:00"]["title"] == "Team sync (moved)"
    assert overrides["2026-12-09T10:00:00"]["start"] == "2026-12-09T14:00:00"
    # Computed properties only when asked for.
    assert "utcStart" not in event and "utcEnd" not in event
    assert event["isDraft"] is False
    assert result["notFound"] == []


def test_utc_start_and_end_when_asked(alice_calendars: CalendarsPerson) -> None:
    calendar = alice_calendars.calendar_row("Work")
    row = event_row(alice_calendars.account, calendar, WEEKLY)
    event = alice_calendars.event(row.jmap_id, properties=["utcStart", "utcEnd", "title"])
    # 10:00 in Berlin in December is 09:00 UTC (CET, +01:00); the master's own time, one hour long.
    assert event == {"id": row.jmap_id, "utcStart": "2026-12-02T09:00:00Z", "utcEnd": "2026-12-02T10:00:00Z",
                     "title": "Team sync"}


def test_occurrence_ids_give_one_occurrence(alice_calendars: CalendarsPerson) -> None:
    calendar = alice_calendars.calendar_row("Work")
    row = event_row(alice_calendars.account, calendar, WEEKLY)
    plain_id = occurrence_id_make(row.jmap_id, "2026-12-23T10:00:00")
    moved_id = occurrence_id_make(row.jmap_id, "2026-12-09T10:00:00")
    result = alice_calendars.ok("CalendarEvent/get", ids=[plain_id, moved_id],
                                properties=["title", "start", "recurrenceId", "baseEventId", "utcStart",
                                            "recurrenceRules", "recurrenceOverrides", "calendarIds"])
    plain, moved = result["list"]
    assert plain == {
        "id": plain_id, "title": "Team sync", "start": "2026-12-23T10:00:00", "recurrenceId": "2026-12-23T10:00:00",
        "baseEventId": row.jmap_id, "utcStart": "2026-12-23T09:00:00Z", "calendarIds": {calendar.jmap_id: True},
    }
    assert moved["title"] == "Team sync (moved)"
    assert moved["start"] == "2026-12-09T14:00:00"
    assert moved["recurrenceId"] == "2026-12-09T10:00:00"
    assert moved["utcStart"] == "2026-12-09T13:00:00Z"
    assert occurrence_id_parse(moved_id) == (row.jmap_id, "2026-12-09T10:00:00")


@pytest.mark.parametrize(
    "recurrence_id",
    [
        "2026-12-16T10:00:00",  # excluded (EXDATE)
        "2026-12-30T11:00:00",  # not a time the rule gives
        "2027-01-06T10:00:00",  # past COUNT=5
    ],
)
def test_an_occurrence_the_event_does_not_have_is_not_found(
    alice_calendars: CalendarsPerson, recurrence_id: str
) -> None:
    row = event_row(alice_calendars.account, alice_calendars.calendar_row("Work"), WEEKLY)
    wanted = occurrence_id_make(row.jmap_id, recurrence_id)
    result = alice_calendars.ok("CalendarEvent/get", ids=[wanted])
    assert result == {**result, "list": [], "notFound": [wanted]}


def test_a_single_event_has_no_occurrence_ids(alice_calendars: CalendarsPerson) -> None:
    row = event_row(alice_calendars.account, alice_calendars.calendar_row("Work"), LUNCH)
    wanted = occurrence_id_make(row.jmap_id, "2026-12-03T12:00:00")
    assert alice_calendars.ok("CalendarEvent/get", ids=[wanted])["notFound"] == [wanted]


def test_ids_null_lists_live_events_but_not_todos(alice_calendars: CalendarsPerson) -> None:
    calendar = alice_calendars.calendar_row("Work")
    first = event_row(alice_calendars.account, calendar, WEEKLY)
    second = event_row(alice_calendars.account, calendar, LUNCH)
    gone = event_row(alice_calendars.account, calendar, ical("SUMMARY:Gone", "DTSTART:20261201T080000Z"))
    event_row_destroy(gone)
    todo_text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTODO\r\nUID:todo@example.test\r\n"
        "DTSTAMP:20260101T000000Z\r\nSUMMARY:Buy milk\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    )
    todo = event_row(alice_calendars.account, calendar, todo_text)
    assert todo.component == "VTODO"
    listed = {event["id"] for event in alice_calendars.ok("CalendarEvent/get", ids=None)["list"]}
    assert listed == {first.jmap_id, second.jmap_id}
    assert alice_calendars.ok("CalendarEvent/get", ids=[todo.jmap_id])["notFound"] == [todo.jmap_id]


def test_foreign_and_destroyed_ids_are_not_found(alice: Persona, bob: Persona) -> None:
    alice_calendars, bob_calendars = CalendarsPerson.of(alice), CalendarsPerson.of(bob)
    bobs = event_row(bob_calendars.account, bob_calendars.calendar_row("Bob's"), LUNCH)
    bobs_occurrence = occurrence_id_make(bobs.jmap_id, "2026-12-03T12:00:00")
    result = alice_calendars.ok("CalendarEvent/get", ids=[bobs.jmap_id, bobs_occurrence, "enothere"])
    assert result["list"] == []
    assert result["notFound"] == [bobs.jmap_id, bobs_occurrence, "enothere"]
    assert alice_calendars.error("CalendarEvent/get", accountId=bob.account_id, ids=None)["type"] == "accountNotFound"


def test_overrides_before_and_after_window_the_overrides(alice_calendars: CalendarsPerson) -> None:
    row = event_row(alice_calendars.account, alice_calendars.calendar_row("Work"), WEEKLY)
    after = alice_calendars.event(row.jmap_id, recurrenceOverridesAfter="2026-12-10T00:00:00Z")
    assert set(after["recurrenceOverrides"]) == {"2026-12-16T10:00:00"}
    before = alice_calendars.event(row.jmap_id, recurrenceOverridesBefore="2026-12-10T00:00:00Z")
    assert set(before["recurrenceOverrides"]) == {"2026-12-09T10:00:00"}
    # Not applied to the stored event: a plain /get still has both.
    assert set(alice_calendars.event(row.jmap_id)["recurrenceOverrides"]) == {
        "2026-12-09T10:00:00", "2026-12-16T10:00:00"}


def test_reduce_participants_keeps_owner_and_self(alice_calendars: CalendarsPerson) -> None:
    account = alice_calendars.account
    text = ical(
        "SUMMARY:Review",
        "DTSTART:20261203T120000Z",
        "ORGANIZER;CN=Olga:mailto:olga@example.test",
        f"ATTENDEE;CN=Alice;PARTSTAT=NEEDS-ACTION:mailto:{account.email}",
        "ATTENDEE;CN=Carol;PARTSTAT=ACCEPTED:mailto:carol@example.test",
    )
    row = event_row(account, alice_calendars.calendar_row("Work"), text)
    full = alice_calendars.event(row.jmap_id)
    reduced = alice_calendars.event(row.jmap_id, reduceParticipants=True)
    names = lambda event: sorted(p.get("name", "") for p in event["participants"].values())  # noqa: E731
    assert names(full) == ["Alice", "Carol", "Olga"]
    assert names(reduced) == ["Alice", "Olga"]


def test_time_zone_places_floating_events(alice_calendars: CalendarsPerson) -> None:
    text = ical("SUMMARY:Floating", "DTSTART:20261203T120000", "DURATION:PT30M")
    row = event_row(alice_calendars.account, alice_calendars.calendar_row("Work"), text)
    in_utc = alice_calendars.event(row.jmap_id, properties=["utcStart"])
    in_tokyo = alice_calendars.event(row.jmap_id, properties=["utcStart", "utcEnd"], timeZone="Asia/Tokyo")
    assert in_utc["utcStart"] == "2026-12-03T12:00:00Z"
    assert in_tokyo == {"id": row.jmap_id, "utcStart": "2026-12-03T03:00:00Z", "utcEnd": "2026-12-03T03:30:00Z"}


@pytest.mark.parametrize(
    "arguments",
    [
        {"properties": ["notAProperty"]},
        {"properties": "title"},
        {"ids": "e1"},
        {"timeZone": "Mars/Olympus"},
        {"recurrenceOverridesBefore": "yesterday"},
        {"reduceParticipants": "yes"},
    ],
)
def test_bad_arguments_are_invalid_arguments(alice_calendars: CalendarsPerson, arguments: dict[str, Any]) -> None:
    arguments = {"ids": None, **arguments}
    assert alice_calendars.error("CalendarEvent/get", **arguments)["type"] == "invalidArguments"


def test_an_account_without_caldav_is_not_supported(alice: Persona) -> None:
    people = CalendarsPerson(account=alice.account, login=alice.login, password=alice.password)
    assert people.error("CalendarEvent/get", ids=None)["type"] == "accountNotSupportedByMethod"


def test_an_occurrence_moved_far_away_of_an_endless_series(alice_calendars: CalendarsPerson) -> None:
    """An override is an occurrence wherever its patch puts it (RFC 8984 §4.3.5), also
    weeks away from its recurrence id in a series without end."""
    text = ical(
        "SUMMARY:Stand-up",
        "DTSTART;TZID=Europe/Berlin:20261130T090000",
        "DURATION:PT15M",
        "RRULE:FREQ=DAILY",
        uid="standup@example.test",
        extra=(
            "BEGIN:VEVENT",
            "UID:standup@example.test",
            "DTSTAMP:20260101T000000Z",
            "RECURRENCE-ID;TZID=Europe/Berlin:20261201T090000",
            "DTSTART;TZID=Europe/Berlin:20270115T160000",
            "DURATION:PT15M",
            "END:VEVENT",
        ),
    )
    row = event_row(alice_calendars.account, alice_calendars.calendar_row("Work"), text)
    moved = occurrence_id_make(row.jmap_id, "2026-12-01T09:00:00")
    plain = occurrence_id_make(row.jmap_id, "2027-06-01T09:00:00")
    result = alice_calendars.ok("CalendarEvent/get", ids=[moved, plain], properties=["start", "utcStart"])
    assert result["list"] == [
        {"id": moved, "start": "2027-01-15T16:00:00", "utcStart": "2027-01-15T15:00:00Z"},
        {"id": plain, "start": "2027-06-01T09:00:00", "utcStart": "2027-06-01T07:00:00Z"},
    ]


def test_is_origin_unless_an_invitation_from_someone_else(alice_calendars: CalendarsPerson) -> None:
    """isOrigin (draft §5): false only for an event another organiser scheduled."""
    calendar = alice_calendars.calendar_row("Work")
    own = event_row(alice_calendars.account, calendar, ical(
        "SUMMARY:Mine", "DTSTART:20261203T120000Z", f"ORGANIZER:mailto:{alice_calendars.account.email}",
        "ATTENDEE:mailto:bob@example.test"))
    plain = event_row(alice_calendars.account, calendar, LUNCH)
    foreign = event_row(alice_calendars.account, calendar, ical(
        "SUMMARY:Theirs", "DTSTART:20261203T120000Z", "ORGANIZER:mailto:olga@example.test",
        f"ATTENDEE:mailto:{alice_calendars.account.email}"))
    result = alice_calendars.ok("CalendarEvent/get", ids=[own.jmap_id, plain.jmap_id, foreign.jmap_id],
                                properties=["isOrigin"])
    assert [event["isOrigin"] for event in result["list"]] == [True, True, False]
