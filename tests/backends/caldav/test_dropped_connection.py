"""A CalDAV server that drops the connection mid-sync: a transient BackendError,
and a cache that stays as it was (the next sync completes the work).

Radicale only: the relay that cuts the connection (tests/servers/tcp_relay.py)
must see the request bytes, which Xandikos's HTTPS hides."""
from __future__ import annotations

from typing import Any

import pytest

from backends.base import BackendError
from backends.caldav.sync import caldav_account_sync
from jmapcore.models.calendars import Calendar, CalendarEvent, CalendarEventNotification
from tests.backends.caldav.conftest import caldav_account, ical, put

pytestmark = pytest.mark.django_db


def test_a_dropped_connection_is_transient_and_leaves_the_cache_consistent(
    radicale: Any, tcp_relay_factory: Any
) -> None:
    relay = tcp_relay_factory(target_host="127.0.0.1", target_port=radicale.port)
    alice = caldav_account(server=radicale, persona="alice")
    put(radicale, alice, "one.ics", ical("one", "One"))
    alice.caldav_url = alice.caldav_url.replace(f":{radicale.port}/", f":{relay.port}/")
    alice.save()
    caldav_account_sync(account=alice)
    calendar = Calendar.objects.get(account=alice, destroyed=False)
    token = calendar.dav_sync_token
    for name in ("two", "three"):
        put(radicale, alice, f"{name}.ics", ical(name, name.title()))

    relay.cut_when(b"calendar-multiget")
    alice.refresh_from_db()
    with pytest.raises(BackendError) as failed:
        caldav_account_sync(account=alice)
    assert failed.value.permanent is False
    assert relay.cuts >= 1
    calendar.refresh_from_db()
    assert calendar.dav_sync_token == token
    assert sorted(CalendarEvent.objects.filter(account=alice, destroyed=False).values_list("uid", flat=True)) == [
        "one"]
    assert not CalendarEventNotification.objects.filter(account=alice).exists()

    relay.cut_when(None)
    alice.refresh_from_db()
    caldav_account_sync(account=alice)
    assert sorted(CalendarEvent.objects.filter(account=alice, destroyed=False).values_list("uid", flat=True)) == [
        "one", "three", "two"]
    calendar.refresh_from_db()
    assert calendar.dav_sync_token != token
    assert sorted(CalendarEventNotification.objects.filter(account=alice).values_list("change_type", flat=True)) == [
        "created", "created"]
