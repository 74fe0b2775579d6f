"""CalendarEvent/set (draft-ietf-jmap-calendars-33 §5.9) against real CalDAV servers
(Radicale and Xandikos): every write is read back from the server with a plain
WebDAV client, and a refused one leaves server and cache as they were."""
from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Account
from jmapcore.calendars.calendar_event_read import occurrence_id_make
from jmapcore.models.calendars import Calendar, CalendarEvent, CalendarEventNotification
from jmapcore.state import on_state_change, state_change_unsubscribe
from tests.jmapcore.calendars.methods.calendar_event_people import CalendarsPerson, unfolded_lines

WEEKLY: dict[str, Any] = {
    "@type": "Event",
    "title": "Engine review",
    "start": "2026-12-02T10:00:00",
    "timeZone": "Europe/Berlin",
    "duration": "PT1H",
    "recurrenceRules": [{"@type": "RecurrenceRule", "frequency": "weekly", "count": 6}],
    "participants": {
        "olga": {"@type": "Participant", "name": "Olga", "sendTo": {"imip": "mailto:olga@example.test"},
                 "roles": {"owner": True, "attendee": True}, "participationStatus": "accepted"},
        "bob": {"@type": "Participant", "name": "Bob", "sendTo": {"imip": "mailto:bob@example.test"},
                "roles": {"attendee": True}, "participationStatus": "needs-action"},
    },
    "replyTo": {"imip": "mailto:olga@example.test"},
}



@pytest.fixture(params=["radicale", "xandikos"])
def dav_server(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(request.param)


@pytest.fixture
def alice(db: None, dav_server: Any) -> CalendarsPerson:
    return CalendarsPerson.on(dav_server, persona="alice")


@pytest.fixture
def work(alice: CalendarsPerson) -> Calendar:
    return alice.server_calendar("calendar", "Calendar")


def _create(person: CalendarsPerson, calendar: Calendar, event: dict[str, Any]) -> CalendarEvent:
    result = person.ok("CalendarEvent/set", create={"new": {**event, "calendarIds": {calendar.jmap_id: True}}})
    assert result["notCreated"] is None, result["notCreated"]
    return CalendarEvent.objects.select_related("calendar").get(jmap_id=result["created"]["new"]["id"])


def _server_lines(person: CalendarsPerson, row: CalendarEvent) -> list[str]:
    text = person.dav_text(row.dav_href)
    assert text is not None, f"{row.dav_href} is not on the server"
    return unfolded_lines(text)


def test_create_puts_the_event_on_the_server(
    alice: CalendarsPerson, work: Calendar, django_capture_on_commit_callbacks: Any
) -> None:
    """The event goes to the server first; the cache follows in one transaction
    and push hears of it once, after commit (DESIGN.md "Writes")."""
    published: list[dict[str, str]] = []

    def listen(account: Account, changed: dict[str, str]) -> None:
        if account.pk == alice.account.pk:
            published.append(changed)

    on_state_change(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = alice.ok("CalendarEvent/set", create={"new": {**WEEKLY, "calendarIds": {work.jmap_id: True}}})
    finally:
        state_change_unsubscribe(listen)
    created = result["created"]["new"]
    assert created["uid"], "an event created without uid gets one (RFC 8984 §4.1.2)"
    assert result["oldState"] != result["newState"]
    assert published == [{"CalendarEvent": result["newState"]}]
    row = CalendarEvent.objects.get(jmap_id=created["id"])
    lines = _server_lines(alice, row)
    assert f"UID:{created['uid']}" in lines
    assert "SUMMARY:Engine review" in lines
    assert "DTSTART;TZID=Europe/Berlin:20261202T100000" in lines
    assert any(line.startswith("RRULE:") and "FREQ=WEEKLY" in line and "COUNT=6" in line for line in lines)
    assert "BEGIN:VTIMEZONE" in lines  # RFC 4791 §4.1: each TZID used has its VTIMEZONE
    event = alice.event(created["id"])
    assert event["title"] == "Engine review" and event["calendarIds"] == {work.jmap_id: True}
    # What the server keeps differently from what was sent is reported with the creation (RFC 8620 §5.3).
    for name, value in created.items():
        if name not in ("id", "uid"):
            assert event[name] == value


def _participant_id(person: CalendarsPerson, event_id: str, address: str) -> str:
    participants = person.event(event_id)["participants"]
    [found] = [key for key, value in participants.items() if value["sendTo"]["imip"] == f"mailto:{address}"]
    return str(found)


def test_nested_patches_change_one_line(alice: CalendarsPerson, work: Calendar) -> None:
    row = _create(alice, work, WEEKLY)
    before = _server_lines(alice, row)
    bob = _participant_id(alice, row.jmap_id, "bob@example.test")
    patch = {f"participants/{bob}/participationStatus": "accepted"}
    result = alice.ok("CalendarEvent/set", update={row.jmap_id: patch})
    assert result["notUpdated"] is None, result["notUpdated"]
    after = _server_lines(alice, row)
    removed = [line for line in before if line not in after]
    added = [line for line in after if line not in before]
    volatile = ("DTSTAMP", "LAST-MODIFIED", "SEQUENCE")
    assert [line for line in removed if not line.startswith(volatile)] != []
    changed = [line for line in added if not line.startswith(volatile)]
    assert len(changed) == 1 and "bob@example.test" in changed[0] and "PARTSTAT=ACCEPTED" in changed[0], (
        before, after)
    assert alice.event(row.jmap_id)["participants"][bob]["participationStatus"] == "accepted"


def test_override_patches_and_occurrence_ids(alice: CalendarsPerson, work: Calendar) -> None:
    row = _create(alice, work, WEEKLY)
    # An override through the master's recurrenceOverrides, by its path.
    first = alice.ok("CalendarEvent/set", update={row.jmap_id: {
        "recurrenceOverrides": {"2026-12-09T10:00:00": {"title": "Engine review (moved)",
                                                        "start": "2026-12-09T14:00:00"}}}})
    assert first["notUpdated"] is None, first["notUpdated"]
    second = alice.ok("CalendarEvent/set", update={row.jmap_id: {
        "recurrenceOverrides/2026-12-09T10:00:00/title": "Engine review (moved again)"}})
    assert second["notUpdated"] is None, second["notUpdated"]
    # One occurrence by its own id; then one destroyed by its id (an exclusion).
    occurrence = occurrence_id_make(row.jmap_id, "2026-12-23T10:00:00")
    third = alice.ok("CalendarEvent/set", update={occurrence: {"title": "Long review", "duration": "PT2H"}},
                     destroy=[occurrence_id_make(row.jmap_id, "2026-12-30T10:00:00")])
    assert third["notUpdated"] is None and third["notDestroyed"] is None, third
    event = alice.event(row.jmap_id)
    assert event["recurrenceOverrides"] == {
        "2026-12-09T10:00:00": {"title": "Engine review (moved again)", "start": "2026-12-09T14:00:00"},
        "2026-12-23T10:00:00": {"title": "Long review", "duration": "PT2H"},
        "2026-12-30T10:00:00": {"excluded": True},
    }
    lines = _server_lines(alice, row)
    assert "RECURRENCE-ID;TZID=Europe/Berlin:20261209T100000" in lines
    assert "RECURRENCE-ID;TZID=Europe/Berlin:20261223T100000" in lines
    assert "SUMMARY:Engine review (moved again)" in lines
    assert any(line.startswith("EXDATE") and "20261230T100000" in line for line in lines)
    # The occurrence reads back as patched, and the destroyed one is gone.
    got = alice.ok("CalendarEvent/get", ids=[occurrence, occurrence_id_make(row.jmap_id, "2026-12-30T10:00:00")],
                   properties=["title", "utcStart", "utcEnd"])
    assert got["list"] == [{"id": occurrence, "title": "Long review", "utcStart": "2026-12-23T09:00:00Z",
                            "utcEnd": "2026-12-23T11:00:00Z"}]
    assert got["notFound"] == [occurrence_id_make(row.jmap_id, "2026-12-30T10:00:00")]


def test_move_between_calendars(alice: CalendarsPerson, work: Calendar) -> None:
    home = alice.server_calendar("home", "Home")
    row = _create(alice, work, WEEKLY)
    old_href = row.dav_href
    result = alice.ok("CalendarEvent/set", update={row.jmap_id: {"calendarIds": {home.jmap_id: True}}})
    assert result["notUpdated"] is None, result["notUpdated"]
    row.refresh_from_db()
    assert row.calendar_id == home.pk and row.dav_href.startswith(home.dav_href)
    assert alice.dav_text(old_href) is None
    assert "SUMMARY:Engine review" in _server_lines(alice, row)
    # Moved and changed at once: PUT into the new calendar, DELETE the old resource.
    both = alice.ok("CalendarEvent/set", update={row.jmap_id: {"calendarIds": {work.jmap_id: True},
                                                               "title": "Engine review back at work"}})
    assert both["notUpdated"] is None, both["notUpdated"]
    row.refresh_from_db()
    assert row.calendar_id == work.pk
    assert "SUMMARY:Engine review back at work" in _server_lines(alice, row)
    assert alice.ok("CalendarEvent/get", ids=[row.jmap_id])["list"][0]["calendarIds"] == {work.jmap_id: True}


def test_a_move_with_a_change_whose_source_is_already_gone_keeps_the_new_copy(
    alice: CalendarsPerson, work: Calendar
) -> None:
    """Another client deleted the event meanwhile: the DELETE of the old resource
    answers 404, the move is done, and the new copy stays (removing it would
    lose the event everywhere)."""
    home = alice.server_calendar("home", "Home")
    row = _create(alice, work, WEEKLY)
    with alice.dav() as client:
        assert client.delete(row.dav_href).status_code in (200, 204)
    result = alice.ok("CalendarEvent/set", update={row.jmap_id: {"calendarIds": {home.jmap_id: True},
                                                                 "title": "Engine review at home"}})
    assert result["notUpdated"] is None, result["notUpdated"]
    row.refresh_from_db()
    assert row.calendar_id == home.pk and not row.destroyed
    assert "SUMMARY:Engine review at home" in _server_lines(alice, row)


def test_destroy_deletes_the_resource(alice: CalendarsPerson, work: Calendar) -> None:
    row = _create(alice, work, WEEKLY)
    result = alice.ok("CalendarEvent/set", destroy=[row.jmap_id])
    assert result["destroyed"] == [row.jmap_id]
    assert alice.dav_text(row.dav_href) is None
    assert alice.ok("CalendarEvent/get", ids=[row.jmap_id])["notFound"] == [row.jmap_id]


def test_a_change_made_elsewhere_meanwhile_is_a_set_error_and_a_resync(
    alice: CalendarsPerson, work: Calendar
) -> None:
    row = _create(alice, work, WEEKLY)
    text = alice.dav_text(row.dav_href)
    assert text is not None
    with alice.dav() as client:
        answer = client.put(row.dav_href, content=text.replace("SUMMARY:Engine review", "SUMMARY:Changed elsewhere"),
                            headers={"Content-Type": "text/calendar; charset=utf-8"})
    assert answer.status_code in (201, 204), answer.text
    result = alice.ok("CalendarEvent/set", update={row.jmap_id: {"title": "Mine"}})
    assert result["notUpdated"][row.jmap_id]["type"] == "stateMismatch"
    # Nothing lost: the server keeps the other client's change, and the cache now shows it.
    assert "SUMMARY:Changed elsewhere" in _server_lines(alice, row)
    assert alice.event(row.jmap_id)["title"] == "Changed elsewhere"


def test_invalid_jscalendar_names_every_property(alice: CalendarsPerson, work: Calendar) -> None:
    bad = {**WEEKLY, "calendarIds": {work.jmap_id: True}, "duration": "one hour", "priority": 42,
           "recurrenceRules": [{"frequency": "fortnightly"}]}
    result = alice.ok("CalendarEvent/set", create={"bad": bad})
    error = result["notCreated"]["bad"]
    assert error["type"] == "invalidProperties"
    assert {"duration", "priority"} <= set(error["properties"])
    assert any(name.startswith("recurrenceRules") for name in error["properties"])
    assert CalendarEvent.objects.filter(account=alice.account).count() == 0


def test_a_sync_after_our_writes_finds_nothing_new(alice: CalendarsPerson, work: Calendar) -> None:
    """What this proxy wrote is what the cache holds (ETag included): the next sync
    changes no event and raises no CalendarEventNotification (those are for changes
    made by others)."""
    from backends.caldav import caldav_account_sync

    row = _create(alice, work, WEEKLY)
    occurrence = occurrence_id_make(row.jmap_id, "2026-12-16T10:00:00")
    done = alice.ok("CalendarEvent/set", update={row.jmap_id: {"title": "Engine review (new)"}}, destroy=[occurrence])
    assert done["notUpdated"] is None and done["notDestroyed"] is None, done
    state = alice.ok("CalendarEvent/get", ids=[])["state"]
    caldav_account_sync(account=alice.account)
    changes = alice.ok("CalendarEvent/changes", sinceState=state)
    assert (changes["created"], changes["updated"], changes["destroyed"]) == ([], [], [])
    assert not CalendarEventNotification.objects.filter(account=alice.account).exists()
    assert alice.event(row.jmap_id)["title"] == "Engine review (new)"


def test_a_destroy_after_a_change_elsewhere_keeps_the_event(alice: CalendarsPerson, work: Calendar) -> None:
    """DELETE with If-Match (RFC 7232 §3.1): an event changed by another client since
    the last sync is not removed; stateMismatch, and the cache shows the change."""
    row = _create(alice, work, WEEKLY)
    text = alice.dav_text(row.dav_href)
    assert text is not None
    with alice.dav() as client:
        answer = client.put(row.dav_href, content=text.replace("SUMMARY:Engine review", "SUMMARY:Still needed"),
                            headers={"Content-Type": "text/calendar; charset=utf-8"})
    assert answer.status_code in (201, 204), answer.text
    result = alice.ok("CalendarEvent/set", destroy=[row.jmap_id])
    assert result["notDestroyed"][row.jmap_id]["type"] == "stateMismatch"
    assert "SUMMARY:Still needed" in _server_lines(alice, row)
    assert alice.event(row.jmap_id)["title"] == "Still needed"
