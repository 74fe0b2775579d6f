"""CalDAV writes (backends.caldav.writes) against Radicale and Xandikos, each
checked with a plain WebDAV client as another CalDAV client would see it."""
from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from accounts.models import Account
from backends.caldav.sync import caldav_account_sync
from backends.caldav.writes import (
    caldav_calendar_create,
    caldav_calendar_delete,
    caldav_calendar_update,
    caldav_event_delete,
    caldav_event_move,
    caldav_event_put,
)
from backends.dav.errors import DavConflict, DavRefused
from jmapcore.models.calendars import Calendar
from tests.backends.caldav.conftest import ical, new_uid, other_client, put

pytestmark = pytest.mark.django_db(transaction=True)

PROPS = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
         'xmlns:A="http://apple.com/ns/ical/"><D:prop><D:displayname/><C:calendar-description/>'
         "<A:calendar-color/><A:calendar-order/></D:prop></D:propfind>")


def _calendar(account: Account) -> Calendar:
    caldav_account_sync(account=account)
    return Calendar.objects.get(account=account, destroyed=False, name="Calendar")


def _get(server: Any, account: Account, href: str) -> tuple[int, str]:
    with other_client(server, account) as http:
        answer = http.get(href)
    return answer.status_code, answer.text


def _props(server: Any, account: Account, href: str) -> dict[str, str]:
    with other_client(server, account) as http:
        answer = http.request("PROPFIND", href, content=PROPS,
                              headers={"Depth": "0", "Content-Type": "application/xml"})
    assert answer.status_code == 207, answer.text
    root = etree.fromstring(answer.content)
    found: dict[str, str] = {}
    for propstat in root.iter("{DAV:}propstat"):
        if " 200 " not in (propstat.findtext("{DAV:}status") or ""):
            continue
        for prop in propstat.iter("{DAV:}prop"):
            for element in prop:
                found[etree.QName(element).localname] = "".join(element.itertext()).strip()
    return found


def test_put_creates_then_replaces_with_if_match_and_412_is_a_conflict(alice: Account, dav_server: Any) -> None:
    calendar = _calendar(alice)
    uid = new_uid()
    created = caldav_event_put(account=alice, calendar=calendar, ical_text=ical(uid, "First"))
    assert created.href == calendar.dav_href + f"{uid}.ics" and created.etag
    assert "SUMMARY:First" in _get(dav_server, alice, created.href)[1]
    # Creating again at the same href (If-None-Match: *) is a conflict.
    with pytest.raises(DavConflict):
        caldav_event_put(account=alice, calendar=calendar, ical_text=ical(uid, "Again"))
    replaced = caldav_event_put(account=alice, calendar=calendar, ical_text=ical(uid, "Second"),
                                href=created.href, etag=created.etag)
    assert replaced.href == created.href and replaced.etag != created.etag
    # The old ETag no longer matches: 412, and the server keeps the second version.
    with pytest.raises(DavConflict) as conflict:
        caldav_event_put(account=alice, calendar=calendar, ical_text=ical(uid, "Stale"), href=created.href,
                         etag=created.etag)
    assert conflict.value.status == 412
    assert "SUMMARY:Second" in _get(dav_server, alice, created.href)[1]


def test_delete_with_if_match(alice: Account, dav_server: Any) -> None:
    calendar = _calendar(alice)
    put_result = caldav_event_put(account=alice, calendar=calendar, ical_text=ical(new_uid(), "Gone soon"))
    with pytest.raises(DavConflict):
        caldav_event_delete(account=alice, href=put_result.href, etag='"not-the-etag"')
    assert _get(dav_server, alice, put_result.href)[0] == 200
    caldav_event_delete(account=alice, href=put_result.href, etag=put_result.etag)
    assert _get(dav_server, alice, put_result.href)[0] == 404
    with pytest.raises(DavRefused) as again:
        caldav_event_delete(account=alice, href=put_result.href, etag=None)
    assert again.value.status == 404


def test_mkcalendar_proppatch_move_and_delete_a_calendar(alice: Account, dav_server: Any) -> None:
    calendar = _calendar(alice)
    made = caldav_calendar_create(account=alice, name="Büro & Termine", description="from the office",
                                  color="#FF8800")
    assert made.href.startswith(calendar.dav_href.rstrip("/").rsplit("/", 1)[0])
    assert {"read", "write-content", "bind"} <= set(made.privileges)
    props = _props(dav_server, alice, made.href)
    assert props["displayname"] == "Büro & Termine" and props["calendar-description"] == "from the office"
    assert props["calendar-color"].upper().startswith("#FF8800")
    caldav_account_sync(account=alice)
    other = Calendar.objects.get(account=alice, destroyed=False, dav_href=made.href)
    assert other.name == "Büro & Termine" and other.color.upper().startswith("#FF8800")

    caldav_calendar_update(account=alice, calendar=other, name="Office", sort_order=4, color="#00ff00")
    props = _props(dav_server, alice, made.href)
    assert props["displayname"] == "Office" and props["calendar-order"] == "4"
    assert props["calendar-color"].lower().startswith("#00ff00")

    uid = new_uid()
    event = caldav_event_put(account=alice, calendar=calendar, ical_text=ical(uid, "Moving"))
    # A stale ETag stops the move (the servers ignore If-Match on MOVE: the backend checks first).
    with pytest.raises(DavConflict):
        caldav_event_move(account=alice, href=event.href, etag='"stale"', calendar=other)
    moved = caldav_event_move(account=alice, href=event.href, etag=event.etag, calendar=other)
    assert moved.href == other.dav_href + f"{uid}.ics" and moved.etag
    assert _get(dav_server, alice, event.href)[0] == 404
    assert "SUMMARY:Moving" in _get(dav_server, alice, moved.href)[1]

    caldav_calendar_delete(account=alice, calendar=other)
    with other_client(dav_server, alice) as http:
        gone = http.request("PROPFIND", made.href, headers={"Depth": "0"})
    # Xandikos says 404 inside a 207 for a missing resource.
    assert gone.status_code == 404 or (gone.status_code == 207 and b" 404 " in gone.content)


def test_hrefs_outside_the_accounts_calendars_are_refused_before_any_request(
    alice: Account, dav_server: Any, bob_caldav: Account
) -> None:
    calendar = _calendar(alice)
    bobs = _calendar(bob_caldav)
    href = put(dav_server, bob_caldav, "bob.ics", ical(new_uid(), "Bob's"))
    with pytest.raises(ValueError):
        caldav_event_delete(account=alice, href=href, etag=None)
    with pytest.raises(ValueError):
        caldav_event_put(account=alice, calendar=bobs, ical_text=ical(new_uid(), "Intruder"))
    with pytest.raises(ValueError):
        caldav_event_put(account=alice, calendar=calendar, ical_text=ical(new_uid(), "Elsewhere"), href=href)
    assert _get(dav_server, bob_caldav, href)[0] == 200


@pytest.fixture
def bob_caldav(db: None, dav_server: Any) -> Account:
    from tests.backends.caldav.conftest import caldav_account

    return caldav_account(server=dav_server, persona="bob")


def test_proppatch_outside_the_accounts_calendar_home_is_refused(alice: Account, dav_server: Any,
                                                                 bob_caldav: Account) -> None:
    _calendar(alice)
    bobs = _calendar(bob_caldav)
    # A Calendar row naming bob's collection, as an unsaved probe of alice's would.
    probe = Calendar(account=alice, dav_href=bobs.dav_href, name="probe")
    with pytest.raises(ValueError):
        caldav_calendar_update(account=alice, calendar=probe, name="Taken over")
    assert _props(dav_server, bob_caldav, bobs.dav_href)["displayname"] == "Calendar"
