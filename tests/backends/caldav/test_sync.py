"""The CalDAV sync into the calendars cache (backends.caldav.sync) against Radicale and Xandikos."""
from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Account
from backends.caldav.sync import caldav_account_sync, caldav_calendar_sync
from jmapcore.models.calendars import Calendar, CalendarEvent, CalendarEventNotification
from jmapcore.state import type_state_get
from tests.backends.caldav.conftest import delete, ical, new_uid, other_client, put
from tests.backends.carddav.conftest import RequestLog

pytestmark = pytest.mark.django_db(transaction=True)

MKCALENDAR = ('<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
              "<D:set><D:prop><D:displayname>{name}</D:displayname></D:prop></D:set></C:mkcalendar>")


def events(account: Account) -> dict[str, CalendarEvent]:
    return {row.uid: row for row in CalendarEvent.objects.filter(account=account, destroyed=False)}


def calendars(account: Account) -> dict[str, Calendar]:
    return {row.name: row for row in Calendar.objects.filter(account=account, destroyed=False)}


def notifications(account: Account) -> list[tuple[str, str]]:
    return sorted((row.change_type, row.calendar_event_id)
                  for row in CalendarEventNotification.objects.filter(account=account, destroyed=False))


def test_initial_sync_caches_calendars_and_events(alice: Account, dav_server: Any) -> None:
    weekly = new_uid()
    put(dav_server, alice, "weekly.ics", ical(weekly, "Weekly review", extra=("RRULE:FREQ=WEEKLY;COUNT=5",)))
    task = new_uid()
    put(dav_server, alice, "task.ics", ical(task, "A task", component="VTODO"))
    caldav_account_sync(account=alice)
    found = calendars(alice)
    assert list(found) == ["Calendar"]
    calendar = found["Calendar"]
    assert calendar.jmap_id.startswith("k") and calendar.is_default
    assert calendar.dav_href == alice.calendar_url  # type: ignore[attr-defined]
    assert calendar.dav_sync_token or calendar.dav_ctag
    assert {"read", "write-content", "bind", "unbind"} <= set(calendar.dav_privileges)
    rows = events(alice)
    assert set(rows) == {weekly, task}
    event = rows[weekly]
    assert event.jmap_id.startswith("e") and event.component == "VEVENT" and event.is_recurring
    assert event.event["title"] == "Weekly review" and "id" not in event.event
    assert event.event["recurrenceRules"][0]["frequency"] == "weekly"
    assert event.utc_start is not None and event.utc_end is not None and event.utc_end > event.utc_start
    assert "weekly review" in event.search_title and event.dav_etag
    # A VTODO in the same collection is kept (with its text), never served as an event.
    assert rows[task].component == "VTODO" and rows[task].event == {} and "SUMMARY:A task" in rows[task].ical
    # A first sync is no news: no notifications.
    assert notifications(alice) == []
    alice.refresh_from_db()
    assert alice.sync_progress["caldav"]["homes"]


def test_a_sync_that_finds_nothing_new_costs_one_request_per_home(
    alice: Account, dav_server: Any, dav_requests: RequestLog
) -> None:
    home = alice.calendar_url.rstrip("/").rsplit("/", 1)[0] + "/"  # type: ignore[attr-defined]
    with other_client(dav_server, alice) as http:
        made = http.request("MKCALENDAR", home + "work/", content=MKCALENDAR.format(name="Work"),
                            headers={"Content-Type": "application/xml"})
        assert made.status_code == 201, made.text
    put(dav_server, alice, "a.ics", ical(new_uid(), "Ann"))
    put(dav_server, alice, "w.ics", ical(new_uid(), "Walt"), calendar=home + "work/")
    caldav_account_sync(account=alice)
    assert set(calendars(alice)) == {"Calendar", "Work"}
    state = type_state_get(account=alice, type_name="CalendarEvent")
    dav_requests.clear()
    alice.refresh_from_db()
    caldav_account_sync(account=alice)
    assert [method for method, _ in dav_requests.requests] == ["PROPFIND"], dav_requests.requests
    assert type_state_get(account=alice, type_name="CalendarEvent") == state


@pytest.mark.parametrize("use_sync_collection", [True, False], ids=["sync-collection", "ctag-etag"])
def test_changes_by_another_client_arrive_with_push_and_notifications(
    alice: Account, dav_server: Any, dav_requests: RequestLog, published: list[dict[str, str]],
    use_sync_collection: bool,
) -> None:
    one, two, three = new_uid(), new_uid(), new_uid()
    first = put(dav_server, alice, "one.ics", ical(one, "One"))
    put(dav_server, alice, "two.ics", ical(two, "Two"))
    caldav_account_sync(account=alice, use_sync_collection=use_sync_collection)
    ids = {uid: row.jmap_id for uid, row in events(alice).items()}
    state = type_state_get(account=alice, type_name="CalendarEvent")
    published.clear()

    put(dav_server, alice, "three.ics", ical(three, "Three"))
    put(dav_server, alice, "two.ics", ical(two, "Two moved", start="20260106T100000Z"))
    delete(dav_server, alice, first)
    dav_requests.clear()
    alice.refresh_from_db()
    caldav_account_sync(account=alice, use_sync_collection=use_sync_collection)

    rows = events(alice)
    assert set(rows) == {two, three}
    assert rows[two].jmap_id == ids[two] and rows[two].event["title"] == "Two moved"
    assert CalendarEvent.objects.get(account=alice, jmap_id=ids[one]).destroyed
    assert type_state_get(account=alice, type_name="CalendarEvent") != state
    assert any("CalendarEvent" in change and "CalendarEventNotification" in change for change in published)
    # One multiget with the two changed objects (plus the sync-collection report).
    reports = [url for method, url in dav_requests.requests if method == "REPORT"]
    assert len(reports) == (2 if use_sync_collection else 1)
    found = {row.change_type: row for row in CalendarEventNotification.objects.filter(account=alice)}
    assert set(found) == {"created", "updated", "destroyed"}
    assert found["created"].calendar_event_id == rows[three].jmap_id and found["created"].event["title"] == "Three"
    assert found["updated"].calendar_event_id == ids[two]
    assert found["updated"].event_patch["title"] == "Two moved" and "start" in found["updated"].event_patch
    assert found["updated"].event["title"] == "Two"  # the event before the update (draft -33 §7)
    assert found["destroyed"].calendar_event_id == ids[one] and found["destroyed"].event["title"] == "One"
    assert all(row.jmap_id.startswith("n") for row in found.values())


def test_an_event_moved_by_another_client_keeps_its_id(alice: Account, dav_server: Any) -> None:
    home = alice.calendar_url.rstrip("/").rsplit("/", 1)[0] + "/"  # type: ignore[attr-defined]
    with other_client(dav_server, alice) as http:
        assert http.request("MKCALENDAR", home + "other/", content=MKCALENDAR.format(name="Other"),
                            headers={"Content-Type": "application/xml"}).status_code == 201
    uid = new_uid()
    href = put(dav_server, alice, "m.ics", ical(uid, "Moving"))
    caldav_account_sync(account=alice)
    before = events(alice)[uid].jmap_id
    text = ical(uid, "Moving")
    delete(dav_server, alice, href)
    put(dav_server, alice, "m.ics", text, calendar=home + "other/")
    alice.refresh_from_db()
    caldav_account_sync(account=alice)
    row = events(alice)[uid]
    assert row.jmap_id == before and row.calendar.name == "Other"


def test_a_calendar_removed_on_the_server_becomes_a_tombstone_with_its_events(alice: Account,
                                                                              dav_server: Any) -> None:
    put(dav_server, alice, "x.ics", ical(new_uid(), "X"))
    caldav_account_sync(account=alice)
    calendar = calendars(alice)["Calendar"]
    with other_client(dav_server, alice) as http:
        assert http.delete(alice.calendar_url).status_code in (200, 204)  # type: ignore[attr-defined]
    alice.refresh_from_db()
    caldav_account_sync(account=alice)
    calendar.refresh_from_db()
    assert calendar.destroyed and not calendar.is_default
    assert not CalendarEvent.objects.filter(calendar=calendar, destroyed=False).exists()


def test_calendar_sync_brings_one_calendar_up_to_date_and_tombstones_a_gone_one(
    alice: Account, dav_server: Any
) -> None:
    caldav_account_sync(account=alice)
    calendar = calendars(alice)["Calendar"]
    uid = new_uid()
    put(dav_server, alice, "late.ics", ical(uid, "Late"))
    caldav_calendar_sync(account=alice, calendar=calendar)
    assert uid in events(alice)
    with other_client(dav_server, alice) as http:
        assert http.delete(alice.calendar_url).status_code in (200, 204)  # type: ignore[attr-defined]
    caldav_calendar_sync(account=alice, calendar=calendar)
    calendar.refresh_from_db()
    assert calendar.destroyed and not events(alice)


BROKEN = [
    # An unknown TZID, an invalid date and an RRULE whose UNTIL has the wrong form.
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:broken-1\r\nDTSTAMP:20260101T000000Z\r\n"
    "SUMMARY:Bad zone\r\nDTSTART;TZID=Nowhere/Special:20260105T090000\r\nDURATION:PT1H\r\n"
    "RRULE:FREQ=DAILY;UNTIL=20260110\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:broken-2\r\nDTSTAMP:20260101T000000Z\r\n"
    "SUMMARY:Bad date\r\nDTSTART:20260105T090000Z\r\nDTEND:20261345T250000Z\r\nX-THING;FOO=bar:kept\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n",
]


def test_broken_icalendar_never_breaks_a_sync_and_is_reported(alice: Account, dav_server: Any) -> None:
    fine = new_uid()
    put(dav_server, alice, "fine.ics", ical(fine, "Fine"))
    stored = 0
    with other_client(dav_server, alice) as http:
        for number, text in enumerate(BROKEN, 1):
            answer = http.put(alice.calendar_url + f"broken-{number}.ics", content=text,  # type: ignore[attr-defined]
                              headers={"Content-Type": "text/calendar"})
            stored += answer.status_code in (201, 204)
    # Radicale keeps at least the first, Xandikos both: what a server keeps must not break the sync.
    assert stored >= 1
    caldav_account_sync(account=alice)
    rows = events(alice)
    assert fine in rows and len(rows) == 1 + stored
    alice.refresh_from_db()
    progress: dict[str, Any] = alice.sync_progress["caldav"]
    broken = {row.dav_href for uid, row in rows.items() if uid.startswith("broken-")}
    reported = {item["href"] for item in progress["parseProblems"]}
    assert broken and broken <= reported and progress["parseProblemCount"] >= len(broken)
    assert all(rows[uid].parse_problems for uid in rows if uid.startswith("broken-"))
    assert not rows[fine].parse_problems


def test_what_this_proxy_wrote_is_not_fetched_again_nor_notified(alice: Account, dav_server: Any,
                                                                 dav_requests: RequestLog) -> None:
    from jmapcore.calendars.calendar_event_write import calendar_event_create

    caldav_account_sync(account=alice)
    calendar = calendars(alice)["Calendar"]
    uid = new_uid()
    row = calendar_event_create(account=alice, calendar=calendar, event={
        "@type": "Event", "uid": uid, "title": "Mine", "start": "2026-01-05T09:00:00", "timeZone": "Europe/Berlin",
        "duration": "PT1H"})
    dav_requests.clear()
    alice.refresh_from_db()
    caldav_account_sync(account=alice)
    # The sync-collection report lists the new object with the ETag the write
    # stored: no calendar-multiget follows (one REPORT only), no notification.
    assert [method for method, _ in dav_requests.requests if method == "REPORT"] == ["REPORT"]
    assert events(alice)[uid].jmap_id == row.jmap_id
    assert notifications(alice) == []
