"""CalendarEventNotification through the whole path (draft-ietf-jmap-calendars-33
§7): another CalDAV client creates, changes and removes an event on Radicale
or Xandikos; after sync the JMAP client finds one notification per change,
queries them by type and event, and destroys what it has seen."""
from __future__ import annotations

from typing import Any

import pytest

from backends.caldav import caldav_account_sync
from jmapcore.models.calendars import Calendar, CalendarEvent
from tests.jmapcore.calendars.methods.calendar_event_people import CalendarsPerson, ical
from tests.jmapcore.calendars.methods.calendar_people import calendars, dav_event_put


@pytest.fixture(params=["radicale", "xandikos"])
def dav_server(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(request.param)


def _sync(person: CalendarsPerson) -> None:
    caldav_account_sync(account=person.account)


def test_changes_by_another_client_become_notifications(db: None, dav_server: Any) -> None:
    alice = CalendarsPerson.on(dav_server, persona="alice")
    _sync(alice)
    calendar = calendars(alice)["Calendar"]
    href = Calendar.objects.get(account=alice.account, jmap_id=calendar["id"]).dav_href
    state = alice.ok("CalendarEventNotification/get", ids=[])["state"]
    uid = "standup-1@example.test"
    url = dav_event_put(alice, href, ical("DTSTART:20261207T090000Z", "DTEND:20261207T100000Z", "SUMMARY:Standup",
                                          uid=uid))  # fmt: skip
    _sync(alice)
    event_id = CalendarEvent.objects.get(account=alice.account, uid=uid, destroyed=False).jmap_id
    with alice.dav() as client:
        assert client.delete(url).status_code in (200, 204)
    _sync(alice)

    changes = alice.ok("CalendarEventNotification/changes", sinceState=state)
    assert len(changes["created"]) == 2
    listed = alice.ok("CalendarEventNotification/get", ids=changes["created"])["list"]
    assert sorted(item["type"] for item in listed) == ["created", "destroyed"]
    assert all(item["calendarEventId"] == event_id for item in listed)
    created = next(item for item in listed if item["type"] == "created")
    assert created["event"]["title"] == "Standup"

    query = alice.ok("CalendarEventNotification/query", filter={"type": "destroyed", "calendarEventIds": [event_id]})
    [destroyed_id] = query["ids"]
    result = alice.ok("CalendarEventNotification/set", destroy=[destroyed_id, created["id"]])
    assert sorted(result["destroyed"]) == sorted([destroyed_id, created["id"]])
    assert alice.ok("CalendarEventNotification/query", filter={"calendarEventIds": [event_id]})["ids"] == []
