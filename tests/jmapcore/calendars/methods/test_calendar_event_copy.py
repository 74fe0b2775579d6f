"""CalendarEvent/copy (draft-ietf-jmap-calendars-33 §5.12, RFC 8620 §5.4) between two
accounts of one login, each on its own CalDAV user of Radicale, checked on the server."""
from __future__ import annotations

from typing import Any

import pytest

from jmapcore.models.calendars import Calendar, CalendarEvent
from tests.jmapcore.calendars.methods.calendar_event_people import CalendarsPerson, unfolded_lines

LUNCH: dict[str, Any] = {
    "@type": "Event", "uid": "lunch-copy@example.test", "title": "Lunch with Grace",
    "start": "2026-12-03T12:00:00", "timeZone": "Europe/London", "duration": "PT1H",
}  # fmt: skip



@pytest.fixture
def alice(db: None, radicale: Any) -> CalendarsPerson:
    return CalendarsPerson.on(radicale, persona="alice")


@pytest.fixture
def alice_work(alice: CalendarsPerson, radicale: Any) -> CalendarsPerson:
    """A second account in alice's login, on a CalDAV user of its own."""
    work = CalendarsPerson.on(radicale, persona="alice")
    work.account.pool = alice.account.pool
    work.account.save(update_fields=["pool"])
    return work


def _lunch(person: CalendarsPerson, calendar: Calendar) -> str:
    result = person.ok("CalendarEvent/set", create={"l": {**LUNCH, "calendarIds": {calendar.jmap_id: True}}})
    assert result["notCreated"] is None, result["notCreated"]
    return str(result["created"]["l"]["id"])


def test_copy_writes_the_event_into_the_other_account(alice: CalendarsPerson, alice_work: CalendarsPerson) -> None:
    home = alice.server_calendar("calendar", "Calendar")
    target = alice_work.server_calendar("calendar", "Calendar")
    lunch = _lunch(alice, home)
    responses = alice.request([
        "CalendarEvent/copy",
        {"fromAccountId": alice.account_id, "accountId": alice_work.account_id, "onSuccessDestroyOriginal": True,
         "create": {"copy": {"id": lunch, "calendarIds": {target.jmap_id: True}, "title": "Lunch (copy)"}}},
        "c0",
    ])  # fmt: skip
    assert [name for name, _, _ in responses] == ["CalendarEvent/copy", "CalendarEvent/set"]
    [(_, result, _), (_, implicit, _)] = responses
    assert result["notCreated"] is None, result["notCreated"]
    assert implicit["accountId"] == alice.account_id and implicit["destroyed"] == [lunch]
    copy_id = result["created"]["copy"]["id"]
    row = CalendarEvent.objects.get(jmap_id=copy_id, account=alice_work.account)
    lines = unfolded_lines(alice_work.dav_text(row.dav_href) or "")
    assert "SUMMARY:Lunch (copy)" in lines and "UID:lunch-copy@example.test" in lines
    # onSuccessDestroyOriginal: the implicit CalendarEvent/set follows (RFC 8620 §5.4).
    original = CalendarEvent.objects.get(jmap_id=lunch)
    assert original.destroyed
    assert alice.dav_text(original.dav_href) is None


def test_copy_refusals(alice: CalendarsPerson, alice_work: CalendarsPerson) -> None:
    home = alice.server_calendar("calendar", "Calendar")
    lunch = _lunch(alice, home)
    result = alice.ok(
        "CalendarEvent/copy", fromAccountId=alice.account_id, accountId=alice_work.account_id,
        create={"nobook": {"id": lunch}, "missing": {"id": "enothere", "calendarIds": {"k1": True}}},
    )  # fmt: skip
    assert result["notCreated"]["nobook"]["type"] == "invalidProperties"
    assert result["notCreated"]["missing"]["type"] == "notFound"
    same = alice.error("CalendarEvent/copy", fromAccountId=alice.account_id, create={})
    assert same["type"] == "invalidArguments"
