"""The "caldav" sync part (backends.caldav.part) in the account's sync
(accounts.sync) and the shorter poll while a client listens (backends.dav.poll)."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Account
from accounts.sync import account_sync
from backends.dav.poll import dav_watched_poll
from jmapcore.models.calendars import CalendarEvent, CalendarEventNotification
from jmapcore.models.push_watch import PushWatch
from jmapcore.state import on_state_change, state_change_unsubscribe
from jmapsite.celery import app as celery_app
from tests.backends.caldav.conftest import caldav_account, ical, put

pytestmark = pytest.mark.django_db(transaction=True)


def _uids(account: Account) -> set[str]:
    return set(CalendarEvent.objects.filter(account=account, destroyed=False).values_list("uid", flat=True))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def celery_eager() -> Iterator[None]:
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def test_the_account_sync_runs_the_caldav_part(dav_server: Any) -> None:
    alice = caldav_account(server=dav_server, persona="alice")
    put(dav_server, alice, "a.ics", ical("uid-a", "A"))
    account_sync(account_id=alice.pk)
    alice.refresh_from_db()
    assert _uids(alice) == {"uid-a"}
    assert alice.sync_progress["caldav"].get("syncedAt") and "error" not in alice.sync_progress["caldav"]


def test_a_calendar_failure_is_recorded_on_its_part_without_the_password(dav_server: Any) -> None:
    alice = caldav_account(server=dav_server, persona="alice")
    Account.objects.filter(pk=alice.pk).update(caldav_url=f"http://127.0.0.1:{_closed_port()}/alice/")
    account_sync(account_id=alice.pk)
    alice.refresh_from_db()
    caldav = alice.sync_progress["caldav"]
    assert "cannot connect" in caldav["error"] and caldav["errorAt"]
    assert alice.dav_user.password not in caldav["error"]  # type: ignore[attr-defined]


def test_while_a_client_listens_a_change_by_another_client_is_polled_pushed_and_notified(
    dav_server: Any, celery_eager: None, settings: Any
) -> None:
    settings.JMAP_DAV_POLL_LISTENING = 15
    alice = caldav_account(server=dav_server, persona="alice")
    bob = caldav_account(server=dav_server, persona="bob")
    now = timezone.now()
    PushWatch.objects.create(account=alice, holder="test:1:a", expires_at=now + timedelta(minutes=5))
    # Nobody listens to bob: his calendars wait for the ordinary sync.
    assert dav_watched_poll(now=now) == 1
    alice.refresh_from_db()
    assert alice.sync_progress["caldav"].get("syncedAt")
    assert dav_watched_poll(now=timezone.now()) == 0  # synced a moment ago: not due yet

    pushed: list[tuple[str, dict[str, str]]] = []

    def record(account: Account, changed: dict[str, str]) -> None:
        pushed.append((account.accountid, changed))

    on_state_change(record)
    try:
        put(dav_server, alice, "n.ics", ical("uid-new", "Newcomer"))
        assert dav_watched_poll(now=timezone.now() + timedelta(seconds=20)) == 1
    finally:
        state_change_unsubscribe(record)
    assert _uids(alice) == {"uid-new"}
    assert any(who == alice.accountid and "CalendarEvent" in changed and "CalendarEventNotification" in changed
               for who, changed in pushed)
    [note] = CalendarEventNotification.objects.filter(account=alice)
    assert note.change_type == "created" and note.event["title"] == "Newcomer"
    bob.refresh_from_db()
    assert "caldav" not in bob.sync_progress
