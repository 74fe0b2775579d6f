"""Calendar/set (draft-ietf-jmap-calendars-33 §4.3) against real CalDAV servers
(Radicale and Xandikos): each write is checked on the server with a plain
WebDAV client, and each refusal leaves server and cache as they were."""
from __future__ import annotations

from typing import Any

import pytest

from backends.caldav import caldav_account_sync
from jmapcore.models.calendars import Calendar, CalendarEvent
from tests.jmapcore.calendars.methods.calendar_event_people import CalendarsPerson, ical
from tests.jmapcore.calendars.methods.calendar_people import calendars, dav_calendar_properties, dav_event_put


@pytest.fixture(params=["radicale", "xandikos"])
def dav_server(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(request.param)


def _sync(person: CalendarsPerson) -> None:
    caldav_account_sync(account=person.account)


@pytest.fixture
def alice(db: None, dav_server: Any) -> CalendarsPerson:
    person = CalendarsPerson.on(dav_server, persona="alice")
    _sync(person)
    return person


def _href(person: CalendarsPerson, calendar_id: str) -> str:
    return Calendar.objects.get(account=person.account, jmap_id=calendar_id).dav_href


def test_create_makes_a_calendar_collection(alice: CalendarsPerson) -> None:
    before = alice.ok("Calendar/get", ids=[])["state"]
    result = alice.ok("Calendar/set", create={"w": {
        "name": "Büro & Termine", "description": "from the office", "color": "#ff8800", "sortOrder": 7,
        "isVisible": False, "includeInAvailability": "attending", "timeZone": "Europe/Berlin",
    }})  # fmt: skip
    created = result["created"]["w"]
    assert set(created) >= {"id", "isDefault", "myRights", "isSubscribed", "shareWith", "defaultAlertsWithTime"}
    assert created["id"].startswith("k") and created["isDefault"] is False and created["shareWith"] is None
    assert created["myRights"]["mayWriteAll"] is True and created["myRights"]["mayShare"] is False
    assert result["oldState"] == before and result["newState"] != before
    properties = dav_calendar_properties(alice, _href(alice, created["id"]))
    assert properties is not None
    assert (properties["displayname"], properties["description"]) == ("Büro & Termine", "from the office")
    assert properties["color"].lower().startswith("#ff8800") and properties["order"] == "7"
    assert "TZID:Europe/Berlin" in properties["timezone"].replace("\r\n", "\n")
    # The next sync finds the collection this proxy made: same calendar, same id, cache-only values kept.
    _sync(alice)
    found = calendars(alice)
    assert [name for name in found].count("Büro & Termine") == 1
    again = found["Büro & Termine"]
    assert again["id"] == created["id"]
    assert (again["isVisible"], again["includeInAvailability"], again["timeZone"]) == (
        False, "attending", "Europe/Berlin",
    )  # fmt: skip


def test_rename_description_color_order_and_zone_go_to_the_server(alice: CalendarsPerson) -> None:
    calendar = calendars(alice)["Calendar"]
    changes = {"name": "Private", "description": "Mine", "color": "#123456", "sortOrder": 3,
               "timeZone": "America/New_York"}  # fmt: skip
    result = alice.ok("Calendar/set", update={calendar["id"]: changes})
    assert calendar["id"] in result["updated"]
    properties = dav_calendar_properties(alice, _href(alice, calendar["id"]))
    assert properties is not None
    assert (properties["displayname"], properties["description"]) == ("Private", "Mine")
    assert properties["color"].lower().startswith("#123456") and properties["order"] == "3"
    assert "TZID:America/New_York" in properties["timezone"].replace("\r\n", "\n")
    _sync(alice)
    again = calendars(alice)["Private"]
    assert (again["description"], again["color"].lower()[:7], again["sortOrder"]) == ("Mine", "#123456", 3)
    assert again["timeZone"] == "America/New_York"
    # null clears a property on the server too.
    alice.ok("Calendar/set", update={calendar["id"]: {"color": None, "description": None, "timeZone": None}})
    _sync(alice)
    again = calendars(alice)["Private"]
    assert (again["description"], again["color"], again["timeZone"]) == (None, None, None)
    properties = dav_calendar_properties(alice, _href(alice, calendar["id"]))
    assert properties is not None and "VTIMEZONE" not in properties["timezone"]


def test_destroy_an_empty_calendar_removes_the_collection(alice: CalendarsPerson) -> None:
    made = alice.ok("Calendar/set", create={"x": {"name": "Short-lived"}})["created"]["x"]
    href = _href(alice, made["id"])
    result = alice.ok("Calendar/set", destroy=[made["id"]])
    assert result["destroyed"] == [made["id"]]
    assert dav_calendar_properties(alice, href) is None
    assert "Short-lived" not in calendars(alice)


def test_a_calendar_with_events_is_kept_without_on_destroy_remove_events(alice: CalendarsPerson) -> None:
    calendar = calendars(alice)["Calendar"]
    href = _href(alice, calendar["id"])
    # A task, not an event, written by another client and not synced yet: it counts too.
    todo = "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//other client//EN", "BEGIN:VTODO", "UID:todo-1@example.test",
        "DTSTAMP:20260101T000000Z", "SUMMARY:Buy milk", "END:VTODO", "END:VCALENDAR", "",
    ])  # fmt: skip
    dav_event_put(alice, href, todo)
    result = alice.ok("Calendar/set", destroy=[calendar["id"]])
    assert result["notDestroyed"][calendar["id"]]["type"] == "calendarHasEvent"
    assert dav_calendar_properties(alice, href) is not None

    dav_event_put(alice, href, ical("DTSTART:20261207T090000Z", "DTEND:20261207T100000Z", "SUMMARY:Lunch"))
    events_state = alice.ok("CalendarEvent/get", ids=[])["state"]
    _sync(alice)
    assert CalendarEvent.objects.filter(calendar__jmap_id=calendar["id"], destroyed=False).count() == 2
    removed = alice.ok("Calendar/set", destroy=[calendar["id"]], onDestroyRemoveEvents=True)
    assert removed["destroyed"] == [calendar["id"]]
    assert dav_calendar_properties(alice, href) is None
    assert not CalendarEvent.objects.filter(calendar__jmap_id=calendar["id"], destroyed=False).exists()
    assert alice.ok("CalendarEvent/changes", sinceState=events_state)["newState"] != events_state


def test_on_success_set_is_default_with_a_creation_reference(alice: CalendarsPerson) -> None:
    old = calendars(alice)["Calendar"]
    assert old["isDefault"] is True
    result = alice.ok("Calendar/set", create={"n": {"name": "New default"}}, onSuccessSetIsDefault="#n")
    new_id = result["created"]["n"]["id"]
    assert result["created"]["n"]["isDefault"] is True
    assert result["updated"][old["id"]] == {"isDefault": False}
    found = calendars(alice)
    assert [name for name, item in found.items() if item["isDefault"]] == ["New default"]
    assert found["New default"]["id"] == new_id


def test_a_calendar_removed_by_another_client(alice: CalendarsPerson) -> None:
    made = alice.ok("Calendar/set", create={"g": {"name": "Gone soon"}})["created"]["g"]
    href = _href(alice, made["id"])
    with alice.dav() as client:
        assert client.delete(href).status_code in (200, 204)
    before = alice.ok("Calendar/get", ids=[])["state"]
    result = alice.ok("Calendar/set", update={made["id"]: {"name": "Too late"}})
    assert result["notUpdated"][made["id"]]["type"] in {"notFound", "serverFail"}
    assert result["newState"] == before
    assert Calendar.objects.get(account=alice.account, jmap_id=made["id"]).name == "Gone soon"
    # A destroy looks at the server first: the calendar is gone there, so it is
    # notFound (nothing sent) and leaves the cache.
    gone = alice.ok("Calendar/set", destroy=[made["id"]])
    assert gone["notDestroyed"][made["id"]]["type"] == "notFound"
    assert "Gone soon" not in calendars(alice)


def test_mallory_cannot_touch_alices_calendars(alice: CalendarsPerson, dav_server: Any) -> None:
    calendar = calendars(alice)["Calendar"]
    mallory = CalendarsPerson.on(dav_server, persona="mallory")
    error = mallory.error("Calendar/set", accountId=alice.account_id, destroy=[calendar["id"]])
    assert error["type"] == "accountNotFound"
    updated = mallory.ok("Calendar/set", update={calendar["id"]: {"name": "pwned"}})
    assert updated["notUpdated"][calendar["id"]]["type"] == "notFound"
    destroyed = mallory.ok("Calendar/set", destroy=[calendar["id"]], onDestroyRemoveEvents=True)
    assert destroyed["notDestroyed"][calendar["id"]]["type"] == "notFound"
    properties = dav_calendar_properties(alice, _href(alice, calendar["id"]))
    assert properties is not None and properties["displayname"] == "Calendar"
