"""The "carddav" sync part (backends.carddav.part) in the account's sync
(accounts.sync): mail and contacts sync side by side under one lock, each
failure recorded on its own side, and the shorter poll while a client listens
(backends.carddav.poll)."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Account
from accounts.secrets import seal
from accounts.sync import account_sync
from backends.carddav.part import carddav_part_applies
from backends.carddav.poll import carddav_watched_poll
from jmapcore.models.contacts import ContactCard
from jmapcore.models.push_watch import PushWatch
from jmapcore.state import on_state_change, state_change_unsubscribe
from jmapsite.celery import app as celery_app
from tests.backends.carddav.conftest import other_client, vcard
from tests.backends.carddav.dav_people import DavServer, carddav_account
from tests.personas import make_persona

pytestmark = pytest.mark.django_db(transaction=True)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _uids(account: Account) -> set[str]:
    return set(ContactCard.objects.filter(account=account, destroyed=False).values_list("uid", flat=True))


@pytest.fixture
def celery_eager() -> Iterator[None]:
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def test_mail_and_contacts_sync_together(dav_server: DavServer, dovecot: Any) -> None:
    alice = carddav_account(server=dav_server, persona="alice", dovecot=dovecot)
    with other_client(dav_server, alice) as http:
        http.put(alice.dav_user.addressbook_url + "b.vcf", content=vcard("bob", "Bob"),  # type: ignore[attr-defined]
                 headers={"Content-Type": "text/vcard"})
    account_sync(account_id=alice.pk)
    alice.refresh_from_db()
    assert alice.last_sync_error == "" and alice.last_sync_at is not None
    assert _uids(alice) == {"bob"}
    progress = alice.sync_progress
    assert progress.get("state") == "done"  # the IMAP sync's own progress
    assert progress["carddav"].get("syncedAt") and "error" not in progress["carddav"]
    # The next mail sync rewrites its progress; the contacts part keeps its key.
    account_sync(account_id=alice.pk)
    alice.refresh_from_db()
    assert "homes" in alice.sync_progress["carddav"]


def test_a_mail_failure_does_not_stop_contacts(dav_server: DavServer) -> None:
    alice = carddav_account(server=dav_server, persona="alice")
    Account.objects.filter(pk=alice.pk).update(imap_port=_closed_port())
    with other_client(dav_server, alice) as http:
        http.put(alice.dav_user.addressbook_url + "c.vcf", content=vcard("carol", "Carol"),  # type: ignore[attr-defined]
                 headers={"Content-Type": "text/vcard"})
    account_sync(account_id=alice.pk)
    alice.refresh_from_db()
    assert alice.last_sync_error  # mail failed
    assert _uids(alice) == {"carol"}  # contacts did not
    assert "error" not in alice.sync_progress["carddav"]


def test_a_contacts_failure_is_not_the_accounts_mail_error(dav_server: DavServer, dovecot: Any) -> None:
    alice = carddav_account(server=dav_server, persona="alice", dovecot=dovecot)
    Account.objects.filter(pk=alice.pk).update(carddav_url=f"http://127.0.0.1:{_closed_port()}/alice/")
    account_sync(account_id=alice.pk)
    alice.refresh_from_db()
    assert alice.last_sync_error == "" and alice.last_sync_error_at is None
    carddav = alice.sync_progress["carddav"]
    assert "cannot connect" in carddav["error"] and carddav["errorAt"]
    assert alice.dav_user.password not in carddav["error"]  # type: ignore[attr-defined]


def test_while_a_client_listens_a_change_by_another_client_is_polled_and_pushed(
    dav_server: DavServer, celery_eager: None, settings: Any
) -> None:
    settings.JMAP_DAV_POLL_LISTENING = 15
    alice = carddav_account(server=dav_server, persona="alice")
    bob = carddav_account(server=dav_server, persona="bob")
    now = timezone.now()
    PushWatch.objects.create(account=alice, holder="test:1:a", expires_at=now + timedelta(minutes=5))
    # Nobody listens to bob: his books wait for the ordinary sync.
    assert carddav_watched_poll(now=now) == 1
    alice.refresh_from_db()
    assert alice.sync_progress["carddav"].get("syncedAt")
    assert carddav_watched_poll(now=timezone.now()) == 0  # synced a moment ago: not due yet

    pushed: list[tuple[str, dict[str, str]]] = []

    def record(account: Account, changed: dict[str, str]) -> None:
        pushed.append((account.accountid, changed))

    on_state_change(record)
    try:
        with other_client(dav_server, alice) as http:
            http.put(alice.dav_user.addressbook_url + "n.vcf", content=vcard("new", "Newcomer"),  # type: ignore[attr-defined]
                     headers={"Content-Type": "text/vcard"})
        assert carddav_watched_poll(now=timezone.now() + timedelta(seconds=20)) == 1
    finally:
        state_change_unsubscribe(record)
    assert _uids(alice) == {"new"}
    assert any(who == alice.accountid and "ContactCard" in changed for who, changed in pushed)
    bob.refresh_from_db()
    assert "carddav" not in bob.sync_progress


def test_an_account_without_carddav_url_on_a_host_without_carddav_is_left_alone(dovecot: Any) -> None:
    """RFC 6764 discovery at https://<imap host>/.well-known/carddav finds nothing on
    the test machine: no contacts error, nothing written, and the host is not probed
    again at the next sync."""
    bob = make_persona("bob").account
    dovecot.user_add("bob-mail@example.test", "bob-mail-secret")
    Account.objects.filter(pk=bob.pk).update(username="bob-mail@example.test", password=seal("bob-mail-secret"),
                                             imap_host=dovecot.host, imap_port=dovecot.imap_port, imap_ssl=0)
    bob.refresh_from_db()
    assert bob.carddav_url == "" and carddav_part_applies(bob)
    account_sync(account_id=bob.pk)
    bob.refresh_from_db()
    assert bob.last_sync_error == ""
    assert "carddav" not in bob.sync_progress
    assert not carddav_part_applies(bob)
