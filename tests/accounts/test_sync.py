"""accounts.sync: the per-account lock, the recorded outcome, re-encryption on
sync, the syncer registry, queueing through the real (filesystem) broker, and a
real sync against Dovecot."""
from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from pytest_django.fixtures import Settings

from accounts.models import Account, SslMode
from accounts.secrets import seal, unseal
from accounts.sync import (
    SYNCERS,
    AccountSyncLock,
    Syncer,
    account_sync,
    account_sync_enqueue,
    accounts_sync_due,
    syncer_register,
)
from backends.base import BackendError
from jmapsite.celery import app as celery_app
from jmapsite.monitoring import queue_depth
from tests.accounts.conftest import HEX_KEY, SetEnv
from tests.personas import Persona, make_persona


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def point_at_closed_port(account: Account) -> int:
    port = closed_port()
    Account.objects.filter(pk=account.pk).update(imap_host="127.0.0.1", imap_port=port, imap_ssl=SslMode.PLAIN)
    return port


@pytest.fixture
def celery_eager() -> Iterator[None]:
    """Tasks run in the calling process (the worker's code path, no broker)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def empty_queue() -> Iterator[None]:
    def purge() -> None:
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_purge(celery_app.conf.task_default_queue)

    purge()
    yield
    purge()


@pytest.fixture
def registered_syncer() -> Iterator[None]:
    """Restore the registry after a test replaced a syncer."""
    saved = dict(SYNCERS)
    yield
    SYNCERS.clear()
    SYNCERS.update(saved)


# --- lock ------------------------------------------------------------------


def test_sync_is_skipped_while_another_holds_the_lock(alice: Persona) -> None:
    point_at_closed_port(alice.account)
    held = AccountSyncLock(account_id=alice.account.pk)
    assert held.acquire()
    try:
        account_sync(account_id=alice.account.pk)
        alice.account.refresh_from_db()
        assert alice.account.last_sync_error == ""
        assert alice.account.last_sync_error_at is None
        assert alice.account.last_sync_at is None
        # The skipped sync left the holder's lock alone.
        assert cache.get(held.key) == held.token
    finally:
        held.release()
    # Once released, the same call runs and records an outcome.
    account_sync(account_id=alice.account.pk)
    alice.account.refresh_from_db()
    assert "connection refused" in alice.account.last_sync_error


def test_lock_is_per_account(alice: Persona, bob: Persona) -> None:
    point_at_closed_port(bob.account)
    held = AccountSyncLock(account_id=alice.account.pk)
    assert held.acquire()
    try:
        account_sync(account_id=bob.account.pk)
    finally:
        held.release()
    bob.account.refresh_from_db()
    assert bob.account.last_sync_error_at is not None


def test_a_second_lock_cannot_be_taken_and_only_the_holder_releases(alice: Persona) -> None:
    first = AccountSyncLock(account_id=alice.account.pk)
    second = AccountSyncLock(account_id=alice.account.pk)
    assert first.acquire()
    assert not second.acquire()
    second.release()  # not the holder: no effect
    assert cache.get(first.key) == first.token
    assert first.extend()
    first.release()
    assert second.acquire()
    second.release()


def test_sync_releases_its_lock(alice: Persona) -> None:
    point_at_closed_port(alice.account)
    account_sync(account_id=alice.account.pk)
    assert AccountSyncLock(account_id=alice.account.pk).acquire()


# --- outcome ---------------------------------------------------------------


def test_failing_backend_records_the_error(alice: Persona) -> None:
    port = point_at_closed_port(alice.account)
    before = timezone.now()
    account_sync(account_id=alice.account.pk)
    alice.account.refresh_from_db()
    assert alice.account.last_sync_error == f"imap: connection refused to 127.0.0.1:{port}"
    assert alice.account.last_sync_error_at is not None and alice.account.last_sync_error_at >= before
    assert alice.account.last_sync_at is None


def test_a_failure_keeps_the_last_success_time(alice: Persona) -> None:
    synced = timezone.now() - timedelta(hours=2)
    Account.objects.filter(pk=alice.account.pk).update(last_sync_at=synced)
    point_at_closed_port(alice.account)
    account_sync(account_id=alice.account.pk)
    alice.account.refresh_from_db()
    assert alice.account.last_sync_at == synced
    assert alice.account.last_sync_error


def test_unreadable_credentials_are_reported(alice: Persona, set_env: SetEnv) -> None:
    set_env(secret_key=HEX_KEY, openbao_addr="")
    sealed = seal("some-password")
    Account.objects.filter(pk=alice.account.pk).update(password=sealed)
    set_env(secret_key="")  # the key went missing
    account_sync(account_id=alice.account.pk)
    alice.account.refresh_from_db()
    assert alice.account.last_sync_error.startswith("cannot read stored credentials")
    assert "JMAP_SECRET_KEY" in alice.account.last_sync_error
    assert alice.account.password == sealed


def test_a_missing_account_is_not_an_error(
    alice: Persona, bob: Persona, registered_syncer: None, caplog: pytest.LogCaptureFixture
) -> None:
    """A sync queued for an account deleted since: no syncer runs, nothing is
    recorded or created, the lock is released, and the log says so at INFO."""
    ran: list[int] = []

    def record(*, account: Account, lock: AccountSyncLock) -> None:
        ran.append(account.pk)

    for kind in Account.Kind.values:
        syncer_register(kind=kind, syncer=record)
    gone = alice.account.pk
    alice.account.delete()
    with caplog.at_level(logging.INFO, logger="jmap.sync"):
        account_sync(account_id=gone)
    assert ran == []
    assert not Account.objects.filter(pk=gone).exists()
    assert [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "jmap.sync"] == [
        (logging.INFO, f"account #{gone}: gone before its sync ran")
    ]
    assert AccountSyncLock(account_id=gone).acquire()
    # The same registry runs for an account that exists.
    account_sync(account_id=bob.account.pk)
    assert ran == [bob.account.pk]


# --- re-encryption ---------------------------------------------------------


def test_sync_reseals_plaintext_secrets_with_the_active_key(alice: Persona, aes_only: str) -> None:
    point_at_closed_port(alice.account)
    Account.objects.filter(pk=alice.account.pk).update(oauth_refresh_token="refresh-plain")
    assert not alice.account.password.startswith("enc1:")
    account_sync(account_id=alice.account.pk)
    alice.account.refresh_from_db()
    assert alice.account.password.startswith("enc1:")
    assert unseal(alice.account.password) == alice.password
    assert alice.account.oauth_refresh_token.startswith("enc1:")
    assert unseal(alice.account.oauth_refresh_token) == "refresh-plain"
    assert alice.account.oauth_access_token == ""  # "no secret" stays empty


# --- registry --------------------------------------------------------------


def test_a_registered_syncer_replaces_the_check(alice: Persona, registered_syncer: None) -> None:
    seen: list[tuple[str, bool]] = []

    def record(*, account: Account, lock: AccountSyncLock) -> None:
        seen.append((account.accountid, lock.held))

    syncer_register(kind="imap", syncer=record)
    point_at_closed_port(alice.account)  # the check would fail; the syncer doesn't connect
    account_sync(account_id=alice.account.pk)
    alice.account.refresh_from_db()
    assert seen == [("alice", True)]
    assert alice.account.last_sync_at is not None
    assert alice.account.last_sync_error == ""


def test_a_syncer_backend_error_is_recorded(alice: Persona, registered_syncer: None) -> None:
    def refuse(*, account: Account, lock: AccountSyncLock) -> None:
        raise BackendError("mailbox INBOX vanished", permanent=False, kind="imap")

    syncer_register(kind="imap", syncer=refuse)
    account_sync(account_id=alice.account.pk)
    alice.account.refresh_from_db()
    assert alice.account.last_sync_error == "imap: mailbox INBOX vanished"


def test_a_crashing_syncer_is_recorded_without_details_and_releases_the_lock(
    alice: Persona, registered_syncer: None
) -> None:
    def crash(*, account: Account, lock: AccountSyncLock) -> None:
        raise RuntimeError(f"bug while handling {alice.password}")

    crashing: Syncer = crash
    syncer_register(kind="imap", syncer=crashing)
    account_sync(account_id=alice.account.pk)
    alice.account.refresh_from_db()
    assert alice.account.last_sync_error == "internal error during sync (RuntimeError)"
    assert alice.password not in alice.account.last_sync_error
    assert AccountSyncLock(account_id=alice.account.pk).acquire()


def test_registering_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown account kind"):
        syncer_register(kind="gopher", syncer=SYNCERS["imap"])


# --- queueing --------------------------------------------------------------


def test_enqueue_runs_the_sync_task(alice: Persona, celery_eager: None) -> None:
    port = point_at_closed_port(alice.account)
    account_sync_enqueue(account=alice.account)
    alice.account.refresh_from_db()
    assert alice.account.last_sync_error == f"imap: connection refused to 127.0.0.1:{port}"


def test_enqueue_puts_a_message_on_the_broker(alice: Persona, empty_queue: None) -> None:
    account_sync_enqueue(account=alice.account)
    assert queue_depth() == 1
    alice.account.refresh_from_db()
    assert alice.account.last_sync_error == ""


@pytest.fixture
def broken_broker() -> Iterator[None]:
    """Make the filesystem broker unable to store messages: its queue directory
    is replaced by a plain file for the duration of the test."""
    queue_dir = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_out"])
    aside = queue_dir.with_name(queue_dir.name + ".aside")
    queue_dir.rename(aside)
    queue_dir.write_text("not a directory")
    try:
        yield
    finally:
        queue_dir.unlink()
        aside.rename(queue_dir)


def test_enqueue_never_raises_when_the_broker_fails(alice: Persona, broken_broker: None) -> None:
    account_sync_enqueue(account=alice.account)
    alice.account.refresh_from_db()
    assert alice.account.last_sync_error.startswith("could not queue a sync:")
    assert alice.account.last_sync_error_at is not None


def test_sync_due_queues_accounts_not_synced_within_the_interval(
    alice: Persona, bob: Persona, mallory: Persona, settings: Settings, empty_queue: None
) -> None:
    settings.JMAP_SYNC_INTERVAL = 60
    now = timezone.now()
    Account.objects.filter(pk=alice.account.pk).update(last_sync_at=now - timedelta(seconds=10))
    Account.objects.filter(pk=mallory.account.pk).update(last_sync_at=now - timedelta(seconds=61))
    # bob never synced. carol's login is disabled; dave failed a moment ago.
    carol = make_persona("carol")
    carol.pool.is_active = False
    carol.pool.save()
    dave = make_persona("dave")
    Account.objects.filter(pk=dave.account.pk).update(last_sync_error="x", last_sync_error_at=now)

    assert accounts_sync_due(now=now) == 2
    assert queue_depth() == 2
    # Already queued and not yet started: not queued again.
    assert accounts_sync_due(now=now) == 0
    assert queue_depth() == 2


def test_sync_due_queues_again_once_the_queued_sync_ran(
    bob: Persona, settings: Settings, empty_queue: None
) -> None:
    settings.JMAP_SYNC_INTERVAL = 60
    point_at_closed_port(bob.account)
    now = timezone.now()
    assert accounts_sync_due(now=now) == 1
    account_sync(account_id=bob.account.pk)  # what the worker does with the message
    # It failed just now: not due until the interval has passed.
    assert accounts_sync_due(now=timezone.now()) == 0
    assert accounts_sync_due(now=timezone.now() + timedelta(seconds=61)) == 1


def test_an_account_synced_just_after_the_last_tick_is_due_at_the_next(
    bob: Persona, settings: Settings, empty_queue: None
) -> None:
    """Beat ticks every interval; a sync that ended a moment after one tick is
    slightly less than an interval old at the next and must still run then."""
    settings.JMAP_SYNC_INTERVAL = 30
    now = timezone.now()
    Account.objects.filter(pk=bob.account.pk).update(last_sync_at=now - timedelta(seconds=12))
    assert accounts_sync_due(now=now) == 0
    Account.objects.filter(pk=bob.account.pk).update(last_sync_at=now - timedelta(seconds=29))
    assert accounts_sync_due(now=now) == 1


def test_sync_due_task_runs_the_service(bob: Persona, celery_eager: None, settings: Settings) -> None:
    from accounts.tasks import accounts_sync_due_task

    port = point_at_closed_port(bob.account)
    assert accounts_sync_due_task.delay().get() == 1
    bob.account.refresh_from_db()
    assert bob.account.last_sync_error == f"imap: connection refused to 127.0.0.1:{port}"


# --- a real backend --------------------------------------------------------


def test_sync_against_dovecot_records_success(alice: Persona, dovecot_tls_trust: object, no_encryption: None) -> None:
    server = dovecot_tls_trust
    login = "alice@example.test"
    Account.objects.filter(pk=alice.account.pk).update(
        imap_host=server.host,  # type: ignore[attr-defined]
        imap_port=server.imaps_port,  # type: ignore[attr-defined]
        imap_ssl=SslMode.TLS,
        username=login,
        password=server.users[login],  # type: ignore[attr-defined]
        last_sync_error="an older failure",
        last_sync_error_at=timezone.now() - timedelta(minutes=5),
    )
    before = timezone.now()
    account_sync(account_id=alice.account.pk)
    alice.account.refresh_from_db()
    assert alice.account.last_sync_error == ""
    assert alice.account.last_sync_error_at is None
    assert alice.account.last_sync_at is not None and alice.account.last_sync_at >= before


def test_sync_against_dovecot_with_a_wrong_password(
    alice: Persona, dovecot_tls_trust: object, no_encryption: None
) -> None:
    server = dovecot_tls_trust
    Account.objects.filter(pk=alice.account.pk).update(
        imap_host=server.host,  # type: ignore[attr-defined]
        imap_port=server.imaps_port,  # type: ignore[attr-defined]
        imap_ssl=SslMode.TLS,
        username="alice@example.test",
        password="not-the-password",
    )
    account_sync(account_id=alice.account.pk)
    alice.account.refresh_from_db()
    assert alice.account.last_sync_error.startswith("imap: IMAP login rejected for alice@example.test")
    assert "not-the-password" not in alice.account.last_sync_error
    assert alice.account.last_sync_at is None
