"""CalendarEvent/parse (draft-ietf-jmap-calendars-33 §5.13, capability
urn:ietf:params:jmap:calendars:parse): uploaded blobs read as iCalendar files."""
from __future__ import annotations

import pytest

from jmapcore import blobs
from jmapcore.calendars.capability import CALENDARS_CAPABILITY
from jmapcore.calendars.methods.calendar_event import CALENDARS_PARSE_CAPABILITY
from jmapcore.limits import CORE_CAPABILITY
from tests.jmapcore.calendars.methods.calendar_event_people import CalendarsPerson, ical
from tests.personas import Persona

PARSE_USING = [CORE_CAPABILITY, CALENDARS_CAPABILITY, CALENDARS_PARSE_CAPABILITY]
TWO_EVENTS = ical(
    "SUMMARY:Concert",
    "DTSTART;TZID=Europe/Berlin:20261212T200000",
    "DURATION:PT2H",
    uid="concert@example.test",
    extra=(
        "BEGIN:VEVENT",
        "UID:dentist@example.test",
        "DTSTAMP:20260101T000000Z",
        "SUMMARY:Dentist",
        "DTSTART:20261214T080000Z",
        "RRULE:FREQ=MONTHLY;COUNT=3",
        "END:VEVENT",
    ),
)


@pytest.fixture
def alice_calendars(alice: Persona) -> CalendarsPerson:
    return CalendarsPerson.of(alice)


def _blob(person: CalendarsPerson, data: bytes) -> str:
    return str(blobs.blob_store(account=person.account, data=data, type="text/calendar").blob_id)


def test_parse_reads_every_event_of_a_blob(alice_calendars: CalendarsPerson) -> None:
    good = _blob(alice_calendars, TWO_EVENTS.encode())
    junk = _blob(alice_calendars, b"this is not a calendar")
    result = alice_calendars.ok("CalendarEvent/parse", using=PARSE_USING, blobIds=[good, junk, "Bnothere"])
    events = result["parsed"][good]
    assert [event["uid"] for event in events] == ["concert@example.test", "dentist@example.test"]
    assert events[0]["title"] == "Concert"
    assert events[0]["timeZone"] == "Europe/Berlin"
    assert events[1]["recurrenceRules"][0]["count"] == 3
    assert result["notParsable"] == [junk]
    assert result["notFound"] == ["Bnothere"]


def test_parse_properties_limit_each_event(alice_calendars: CalendarsPerson) -> None:
    good = _blob(alice_calendars, TWO_EVENTS.encode())
    result = alice_calendars.ok("CalendarEvent/parse", using=PARSE_USING, blobIds=[good], properties=["title"])
    assert result["parsed"][good] == [{"title": "Concert"}, {"title": "Dentist"}]


def test_parse_needs_its_capability(alice_calendars: CalendarsPerson) -> None:
    error = alice_calendars.error("CalendarEvent/parse", blobIds=[])
    assert error["type"] == "unknownMethod"


def test_another_accounts_blob_is_not_found(alice: Persona, bob: Persona) -> None:
    alice_calendars, bob_calendars = CalendarsPerson.of(alice), CalendarsPerson.of(bob)
    bobs = _blob(bob_calendars, TWO_EVENTS.encode())
    result = alice_calendars.ok("CalendarEvent/parse", using=PARSE_USING, blobIds=[bobs])
    assert result["notFound"] == [bobs]
    assert result["parsed"] is None
