"""CalDAV discovery (backends.caldav.discovery) against Radicale and Xandikos."""
from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Account
from backends.caldav.discovery import caldav_locate, calendars_list
from backends.caldav.freebusy import caldav_free_busy, free_busy_parse
from backends.caldav.sync import caldav_account_sync
from backends.caldav.writes import caldav_calendar_update
from backends.dav.client import DavClient
from backends.dav.hrefs import url_normalise
from jmapcore.models.calendars import Calendar
from tests.backends.caldav.conftest import caldav_account, ical, new_uid, put

pytestmark = pytest.mark.django_db(transaction=True)


def test_principal_home_and_every_calendar_property(alice: Account, dav_server: Any) -> None:
    with DavClient.for_account(alice) as client:
        found = caldav_locate(client=client, account=alice)
        assert found.principal == url_normalise(alice.caldav_url)
        assert alice.calendar_url.startswith(found.homes[0])  # type: ignore[attr-defined]
        infos = calendars_list(client=client, homes=found.homes)
    [info] = infos
    assert info.href == alice.calendar_url and info.name == "Calendar"  # type: ignore[attr-defined]
    assert info.sync_collection and (info.sync_token or info.ctag)
    assert {"read", "write", "write-content", "bind", "unbind"} <= set(info.privileges)
    # Both servers list free-busy-query (RFC 4791 §7.10) among their reports.
    assert info.free_busy_query


def test_color_order_description_and_time_zone_are_read(alice: Account, dav_server: Any) -> None:
    caldav_account_sync(account=alice)
    calendar = Calendar.objects.get(account=alice, destroyed=False)
    vtimezone = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"
                 "BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"
                 "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\n"
                 "DTSTART:19700329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"
                 "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n")
    caldav_calendar_update(account=alice, calendar=calendar, description="plans", color="#123456", sort_order=3,
                           timezone_ical=vtimezone)
    alice.refresh_from_db()
    caldav_account_sync(account=alice)
    calendar.refresh_from_db()
    assert (calendar.description, calendar.sort_order) == ("plans", 3)
    assert calendar.color.lower().startswith("#123456")
    assert calendar.time_zone == "Europe/Berlin" and "TZID:Europe/Berlin" in calendar.dav_timezone


def test_an_empty_caldav_url_is_discovered_from_the_host_well_known(db: None, radicale: Any) -> None:
    """RFC 6764 §5: with no caldavURL the proxy asks /.well-known/caldav on the
    account's host; the found URL is kept for the capability."""
    account = caldav_account(server=radicale, persona="alice", caldav_url="")
    # The test servers listen on plain HTTP; point discovery at the server's own origin.
    account.caldav_url = radicale.base_url + "/.well-known/caldav"
    account.save()
    caldav_account_sync(account=account)
    account.refresh_from_db()
    assert Calendar.objects.filter(account=account, destroyed=False, name="Calendar").exists()
    homes = account.sync_progress["caldav"]["homes"]
    assert account.calendar_url.startswith(homes[0])  # type: ignore[attr-defined]


def test_free_busy_query_gives_the_busy_periods(alice: Account, dav_server: Any) -> None:
    from datetime import UTC, datetime

    put(dav_server, alice, "busy.ics", ical(new_uid(), "Busy", start="20260105T090000Z"))
    put(dav_server, alice, "free.ics", ical(new_uid(), "Free", start="20260106T090000Z", extra=("TRANSP:TRANSPARENT",)))
    caldav_account_sync(account=alice)
    alice.refresh_from_db()
    after, before = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    periods = caldav_free_busy(account=alice, after=after, before=before)
    assert periods is not None
    assert [(p.utc_start, p.utc_end) for p in periods] == [
        (datetime(2026, 1, 5, 9, tzinfo=UTC), datetime(2026, 1, 5, 10, tzinfo=UTC))]


def test_free_busy_is_none_for_an_account_never_synced(alice: Account) -> None:
    from datetime import UTC, datetime

    after, before = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    assert caldav_free_busy(account=alice, after=after, before=before) is None


def test_a_free_busy_answer_is_read_into_busy_periods() -> None:
    from datetime import UTC, datetime

    text = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VFREEBUSY\r\nDTSTAMP:20260101T000000Z\r\n"
            "FREEBUSY;FBTYPE=BUSY-TENTATIVE:20260105T090000Z/PT1H,20260106T090000Z/20260106T100000Z\r\n"
            "FREEBUSY;FBTYPE=FREE:20260107T090000Z/PT1H\r\nFREEBUSY:20251231T230000Z/PT2H\r\n"
            "FREEBUSY:garbage\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n")
    after, before = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    periods = free_busy_parse(text, after=after, before=before)
    assert [(p.utc_start.isoformat(), p.utc_end.isoformat(), p.busy_status) for p in periods] == [
        ("2026-01-05T09:00:00+00:00", "2026-01-05T10:00:00+00:00", "tentative"),
        ("2026-01-06T09:00:00+00:00", "2026-01-06T10:00:00+00:00", "tentative"),
        ("2026-01-01T00:00:00+00:00", "2026-01-01T01:00:00+00:00", "confirmed"),
    ]
