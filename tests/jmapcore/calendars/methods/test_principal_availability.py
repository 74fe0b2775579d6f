"""Principal/get's calendars data and Principal/getAvailability
(draft-ietf-jmap-calendars-33 §1.5 and §2.1) over event rows read from real
iCalendar text by the real converter, as sync stores them."""
from __future__ import annotations

from typing import Any

import pytest

from jmapcore.calendars.capability import CALENDARS_CAPABILITY
from jmapcore.limits import CORE_CAPABILITY
from jmapcore.principals.availability import AVAILABILITY_CAPABILITY
from jmapcore.principals.capability import PRINCIPALS_CAPABILITY
from tests.jmapcore.calendars.methods.calendar_event_people import CalendarsPerson, event_row, ical
from tests.jmapcore.calendars.methods.calendar_people import calendar_make
from tests.personas import Persona

USING = [CORE_CAPABILITY, CALENDARS_CAPABILITY, PRINCIPALS_CAPABILITY, AVAILABILITY_CAPABILITY]
DAY = {"utcStart": "2026-12-07T00:00:00Z", "utcEnd": "2026-12-08T00:00:00Z"}


def _principal_id(person: CalendarsPerson) -> str:
    [principal] = person.ok("Principal/get", ids=None, using=USING)["list"]
    return str(principal["id"])


def _availability(person: CalendarsPerson, **arguments: Any) -> list[dict[str, Any]]:
    arguments.setdefault("id", _principal_id(person))
    return list(person.ok("Principal/getAvailability", using=USING, **{**DAY, **arguments})["list"])


def test_the_principal_states_its_calendars(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    [principal] = person.ok("Principal/get", ids=None, using=USING)["list"]
    assert principal["capabilities"][CALENDARS_CAPABILITY] == {
        "accountId": person.account_id, "mayGetAvailability": True, "mayShareWith": False,
        "calendarAddress": f"mailto:{alice.account.email}",
    }  # fmt: skip


def test_busy_periods_from_events_and_recurrences(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    work = calendar_make(person, "Work")
    single = event_row(person.account, work, ical("DTSTART:20261207T090000Z", "DTEND:20261207T100000Z",
                                                  "SUMMARY:Standup", "STATUS:CONFIRMED"))  # fmt: skip
    daily = event_row(person.account, work, ical(
        "DTSTART;TZID=Europe/Berlin:20261201T140000", "DURATION:PT30M", "RRULE:FREQ=DAILY;COUNT=30",
        "SUMMARY:Review", "STATUS:TENTATIVE",
    ))  # fmt: skip
    event_row(person.account, work, ical("DTSTART:20261207T110000Z", "DTEND:20261207T120000Z", "TRANSP:TRANSPARENT"))
    event_row(person.account, work, ical("DTSTART:20261207T150000Z", "DTEND:20261207T160000Z", "STATUS:CANCELLED"))
    event_row(person.account, work, ical("DTSTART:20261208T090000Z", "DTEND:20261208T100000Z"))  # another day
    periods = _availability(person)
    assert [(item["utcStart"], item["utcEnd"], item["busyStatus"], item["event"]) for item in periods] == [
        ("2026-12-07T09:00:00Z", "2026-12-07T10:00:00Z", "confirmed", None),
        ("2026-12-07T13:00:00Z", "2026-12-07T13:30:00Z", "tentative", None),
    ]
    detailed = _availability(person, showDetails=True, eventProperties=["title"])
    assert detailed[0]["event"] == {"id": single.jmap_id, "title": "Standup"}
    assert detailed[1]["event"]["title"] == "Review"
    assert detailed[1]["event"]["id"].startswith(daily.jmap_id + "_")


def test_calendar_settings_decide_what_counts(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    hidden = calendar_make(person, "Not counted", include_in_availability="none")
    unsubscribed = calendar_make(person, "Unsubscribed", is_subscribed=False)
    attending = calendar_make(person, "Attending only", include_in_availability="attending")
    for calendar in (hidden, unsubscribed):
        event_row(person.account, calendar, ical("DTSTART:20261207T090000Z", "DTEND:20261207T100000Z"))
    me = alice.account.email
    event_row(person.account, attending, ical(
        "DTSTART:20261207T120000Z", "DTEND:20261207T130000Z", "ORGANIZER:mailto:bob@example.test",
        f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{me}",
    ))  # fmt: skip
    event_row(person.account, attending, ical(
        "DTSTART:20261207T140000Z", "DTEND:20261207T150000Z", "ORGANIZER:mailto:bob@example.test",
        f"ATTENDEE;PARTSTAT=DECLINED:mailto:{me}",
    ))  # fmt: skip
    event_row(person.account, attending, ical("DTSTART:20261207T160000Z", "DTEND:20261207T170000Z"))
    periods = _availability(person)
    assert [item["utcStart"] for item in periods] == ["2026-12-07T12:00:00Z"]


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"utcStart": "tomorrow"}, "invalidArguments"),
        ({"utcEnd": "2026-12-06T00:00:00Z"}, "invalidArguments"),
        ({"utcEnd": "2028-12-06T00:00:00Z"}, "tooLarge"),
        ({"id": "pnobody"}, "notFound"),
        ({"id": 7}, "invalidArguments"),
        ({"showDetails": "yes"}, "invalidArguments"),
        ({"eventProperties": "title"}, "invalidArguments"),
    ],
)
def test_bad_arguments_are_errors(alice: Persona, arguments: dict[str, Any], error: str) -> None:
    person = CalendarsPerson.of(alice)
    arguments.setdefault("id", _principal_id(person))
    result = person.error("Principal/getAvailability", using=USING, **{**DAY, **arguments})
    assert result["type"] == error, result


def test_the_capability_is_needed_and_mallory_gets_nothing(alice: Persona, mallory: Persona) -> None:
    person = CalendarsPerson.of(alice)
    work = calendar_make(person, "Work")
    event_row(person.account, work, ical("DTSTART:20261207T090000Z", "DTEND:20261207T100000Z"))
    principal = _principal_id(person)
    without = person.error("Principal/getAvailability", using=USING[:3], id=principal, **DAY)
    assert without["type"] == "unknownMethod"
    intruder = CalendarsPerson.of(mallory)
    response_name, result = intruder.call("Principal/getAvailability", using=USING, accountId=person.account_id,
                                          id=principal, **DAY)  # fmt: skip
    assert (response_name, result["type"]) == ("error", "accountNotFound")
    assert intruder.error("Principal/getAvailability", using=USING, id=principal, **DAY)["type"] == "notFound"


def test_the_session_offers_principals_and_availability_with_calendars(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    session = person.client.get("/session", HTTP_AUTHORIZATION=person.auth).json()
    capabilities = session["accounts"][person.account_id]["accountCapabilities"]
    assert capabilities[AVAILABILITY_CAPABILITY] == {"maxAvailabilityDuration": "P366D"}
    assert capabilities[PRINCIPALS_CAPABILITY] == {"currentUserPrincipalId": _principal_id(person)}
    alice.account.caldav_url = ""
    alice.account.save(update_fields=["caldav_url"])
    session = person.client.get("/session", HTTP_AUTHORIZATION=person.auth).json()
    assert AVAILABILITY_CAPABILITY not in session["accounts"][person.account_id]["accountCapabilities"]
