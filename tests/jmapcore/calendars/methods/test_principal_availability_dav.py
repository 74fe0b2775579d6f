"""Principal/getAvailability against real CalDAV servers (Radicale and
Xandikos): an event another CalDAV client writes is busy time after the
next sync; the server's free-busy-query is looked for (neither offers it, so
the synced events answer), and a calendar the user leaves out of
availability is left out although the server knows nothing of that."""
from __future__ import annotations

from typing import Any

import pytest

from backends.caldav import caldav_account_sync
from jmapcore.calendars.capability import CALENDARS_CAPABILITY
from jmapcore.limits import CORE_CAPABILITY
from jmapcore.models.calendars import Calendar
from jmapcore.principals.availability import AVAILABILITY_CAPABILITY
from jmapcore.principals.capability import PRINCIPALS_CAPABILITY
from tests.jmapcore.calendars.methods.calendar_event_people import CalendarsPerson, ical
from tests.jmapcore.calendars.methods.calendar_people import calendars, dav_event_put

USING = [CORE_CAPABILITY, CALENDARS_CAPABILITY, PRINCIPALS_CAPABILITY, AVAILABILITY_CAPABILITY]
DAY = {"utcStart": "2026-12-07T00:00:00Z", "utcEnd": "2026-12-08T00:00:00Z"}


@pytest.fixture(params=["radicale", "xandikos"])
def dav_server(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(request.param)


def _sync(person: CalendarsPerson) -> None:
    caldav_account_sync(account=person.account)


def _busy(person: CalendarsPerson, **arguments: Any) -> list[tuple[str, str]]:
    [principal] = person.ok("Principal/get", ids=None, using=USING)["list"]
    result = person.ok("Principal/getAvailability", using=USING, id=principal["id"], **DAY, **arguments)
    return [(item["utcStart"], item["utcEnd"]) for item in result["list"]]


def test_events_of_another_client_are_busy_time(db: None, dav_server: Any) -> None:
    alice = CalendarsPerson.on(dav_server, persona="alice")
    _sync(alice)
    calendar = calendars(alice)["Calendar"]
    href = Calendar.objects.get(account=alice.account, jmap_id=calendar["id"]).dav_href
    dav_event_put(alice, href, ical("DTSTART:20261207T090000Z", "DTEND:20261207T100000Z", "SUMMARY:Dentist"))
    dav_event_put(alice, href, ical(
        "DTSTART;TZID=Europe/Berlin:20261201T180000", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;BYDAY=MO",
        "SUMMARY:Choir",
    ))  # fmt: skip
    _sync(alice)
    assert _busy(alice) == [("2026-12-07T09:00:00Z", "2026-12-07T10:00:00Z"),
                            ("2026-12-07T17:00:00Z", "2026-12-07T18:00:00Z")]  # fmt: skip
    [principal] = alice.ok("Principal/get", ids=None, using=USING)["list"]
    detailed = alice.ok("Principal/getAvailability", using=USING, id=principal["id"], showDetails=True,
                        eventProperties=["title", "calendarIds"], **DAY)["list"]  # fmt: skip
    assert [item["event"]["title"] for item in detailed] == ["Dentist", "Choir"]
    assert all(item["event"]["calendarIds"] == {calendar["id"]: True} for item in detailed)

    alice.ok("Calendar/set", update={calendar["id"]: {"includeInAvailability": "none"}})
    assert _busy(alice) == []
