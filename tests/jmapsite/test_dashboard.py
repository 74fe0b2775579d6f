"""The dashboard's figures (jmapsite.dashboard) against real data: accounts
in every state in the test database, a real sync lock, real messages in the
task queue, the push registry, an IMAP IDLE listener holding a real
connection to Dovecot, and a real Dovecot whose answers a relay turns hostile."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from accounts.models import Account, SslMode
from accounts.sync import AccountSyncLock, account_sync, account_sync_enqueue
from accounts.sync_state import SyncState
from backends.imap.idle import ImapListener
from backends.imap.pool import imap_pool_close_all
from backends.management.commands.imap_listener import listener_status_file
from jmapcore.models import PushSubscription
from jmapcore.push.watch import push_watch_hold
from jmapsite.dashboard import (
    INITIAL_ROWS,
    dashboard_figures_read,
    duration_label,
    idle_account_pks,
    syncing_account_pks,
)
from tests.backends.imap.conftest import mailstore_make
from tests.backends.imap_idle.conftest import PROCTITLE, idle_sessions, wait_until
from tests.jmapsite.dashboard_fleet import BOB_PROGRESS, HOSTILE_ERROR, Fleet, fleet_make
from tests.personas import Persona
from tests.servers.dovecot import DovecotFactory
from tests.servers.rewriting_relay import RewritingRelay


@pytest.fixture
def fleet(db: None) -> Fleet:
    cache.clear()  # no sync locks or IDLE claims left by earlier tests
    return fleet_make(now=timezone.now())


def test_counts_by_state(fleet: Fleet) -> None:
    figures = dashboard_figures_read(now=fleet.now)
    assert {s.state: s.count for s in figures.states} == {
        SyncState.INITIAL: 2,
        SyncState.IN_SYNC: 1,
        SyncState.LAGGING: 1,
        SyncState.FAILING: 1,
        SyncState.PAUSED: 1,
    }
    assert figures.total == 6
    assert (figures.initial_count, figures.failing_count) == (2, 1)


def test_initial_sync_rows_carry_progress_oldest_first(fleet: Fleet) -> None:
    rows = dashboard_figures_read(now=fleet.now).initial
    assert [row.accountid for row in rows] == ["bob", "carol"]
    bob, carol = rows
    assert (bob.progress.messages, bob.progress.total, bob.progress.folders_done, bob.progress.folders) == (
        BOB_PROGRESS["messages"], BOB_PROGRESS["total"], BOB_PROGRESS["done"], BOB_PROGRESS["mailboxes"],
    )  # fmt: skip
    assert bob.progress.percent == 25
    assert not carol.progress.known
    assert not bob.running and not carol.running


def test_initial_sync_rows_are_bounded(db: None) -> None:
    from tests.personas import make_persona

    for number in range(INITIAL_ROWS + 3):
        make_persona(f"new{number:02d}")
    figures = dashboard_figures_read(now=timezone.now())
    assert len(figures.initial) == INITIAL_ROWS
    assert figures.initial_count == INITIAL_ROWS + 3


def test_failing_rows_say_what_when_and_since_when(fleet: Fleet) -> None:
    (row,) = dashboard_figures_read(now=fleet.now).failing
    assert row.accountid == "mallory"
    assert row.error == HOSTILE_ERROR  # kept as text; the template escapes it
    assert row.failed_label == "20 s"
    assert row.ok_label == "3 h 00 min"
    assert not row.never_synced


def test_worst_lags_skip_paused_logins(fleet: Fleet) -> None:
    rows = dashboard_figures_read(now=fleet.now).worst_lags
    assert [row.accountid for row in rows][:2] == ["mallory", "dave"]
    assert "erin" not in [row.accountid for row in rows]
    assert rows[0].state is SyncState.FAILING and rows[1].state is SyncState.LAGGING
    assert rows[0].lag_label == "3 h 00 min"


def test_a_held_sync_lock_counts_as_running(fleet: Fleet) -> None:
    lock = AccountSyncLock(account_id=fleet.bob.account.pk)
    assert lock.acquire()
    try:
        figures = dashboard_figures_read(now=fleet.now)
        assert figures.syncs_running == 1
        assert syncing_account_pks() == {fleet.bob.account.pk}
        assert [row.running for row in figures.initial] == [True, False]
    finally:
        lock.release()
    assert dashboard_figures_read(now=fleet.now).syncs_running == 0


def test_queue_depth_counts_the_messages_waiting(fleet: Fleet) -> None:
    before = dashboard_figures_read(now=fleet.now).queue_depth
    assert before is not None
    account_sync_enqueue(account=fleet.carol.account)
    account_sync_enqueue(account=fleet.bob.account)
    figures = dashboard_figures_read(now=fleet.now)
    assert figures.queue_depth == before + 2
    assert figures.queue_error == ""


def test_push_listeners_and_subscriptions(fleet: Fleet) -> None:
    push_watch_hold(holder="web-a", account_pks=[fleet.alice.account.pk, fleet.bob.account.pk], ttl=60)
    push_watch_hold(holder="web-b", account_pks=[fleet.alice.account.pk], ttl=60)
    push_watch_hold(holder="web-dead", account_pks=[fleet.dave.account.pk], ttl=-1)  # expired
    PushSubscription.objects.create(
        pool=fleet.carol.pool, jmap_id="ps1", device_client_id="phone", url="https://push.example.test/x",
        verification_code="c", verified=True, expires=fleet.now + timedelta(days=1),
    )  # fmt: skip
    PushSubscription.objects.create(
        pool=fleet.dave.pool, jmap_id="ps2", device_client_id="phone", url="https://push.example.test/y",
        verification_code="c", verified=False, expires=fleet.now + timedelta(days=1),
    )  # fmt: skip
    push = dashboard_figures_read(now=fleet.now).push
    assert (push.listening_accounts, push.web_processes, push.subscriptions) == (2, 2, 1)
    assert push.watched_accounts == 3  # alice, bob listened to; carol subscribed


def test_duration_labels() -> None:
    assert [duration_label(s) for s in (0, 59.9, 60, 3599, 3600, 3660, 86400 * 2 + 3600 * 4)] == [
        "0 s", "59 s", "1 min", "59 min", "1 h 00 min", "1 h 01 min", "2 d 4 h",
    ]  # fmt: skip


# --- IMAP IDLE: a real listener, a real Dovecot ------------------------------


@pytest.fixture
def listener(transactional_db: None) -> Iterator[ImapListener]:
    cache.clear()
    status_file = listener_status_file(datadir=Path(settings.DATADIR), pid=os.getpid())
    made = ImapListener(status_file=status_file)
    try:
        yield made
    finally:
        made.close()
        imap_pool_close_all()
        cache.clear()


def test_idle_connections_of_a_real_listener(
    listener: ImapListener, dovecot_factory: DovecotFactory, alice: Persona, bob: Persona
) -> None:
    mail = mailstore_make(dovecot_factory(PROCTITLE), alice)
    push_watch_hold(holder="web-a", account_pks=[alice.account.pk], ttl=60)

    def idling() -> bool:
        listener.tick()
        return idle_sessions(mail.login) == 1 and dashboard_figures_read(now=timezone.now()).idle.states == {"idle": 1}

    assert wait_until(idling, timeout=15, interval=0.2), listener.status()
    idle = dashboard_figures_read(now=timezone.now()).idle
    assert idle.connections == 1
    assert idle.problems == []
    assert idle_account_pks() == {alice.account.pk}


# --- a hostile server's error, recorded by a real sync ------------------------


@contextlib.contextmanager
def hostile_server(dovecot_factory: DovecotFactory, mallory: Persona) -> Iterator[None]:
    """mallory's account points at a relay to a real Dovecot that refuses her
    login with HOSTILE_ERROR (HTML that must never run in the dashboard)."""
    mail = mailstore_make(dovecot_factory(PROCTITLE), mallory)
    relay = RewritingRelay(target_host=mail.server.host, target_port=mail.server.imap_port)

    def hostile(line: bytes) -> bytes:
        tag, _, rest = line.partition(b" ")
        return tag + b" NO " + HOSTILE_ERROR.encode() + b"\r\n" if rest.startswith(b"NO ") else line

    relay.rewrite = staticmethod(hostile)
    try:
        Account.objects.filter(pk=mallory.account.pk).update(
            imap_port=relay.port, imap_ssl=SslMode.PLAIN, password="wrong-password"
        )
        yield
    finally:
        relay.stop()
        imap_pool_close_all()


def test_a_hostile_server_error_is_recorded_as_text(
    dovecot_factory: DovecotFactory, mallory: Persona, transactional_db: None
) -> None:
    with hostile_server(dovecot_factory, mallory):
        account_sync(account_id=mallory.account.pk)
    (row,) = dashboard_figures_read(now=timezone.now()).failing
    assert row.accountid == "mallory"
    assert "<script>window.__pwned = 1</script>" in row.error
    assert row.never_synced


def test_the_chart_ends_with_the_lag_now(fleet: Fleet) -> None:
    """Even when no process sampled this minute yet (a fresh start), the last point is now's lag."""
    history = dashboard_figures_read(now=fleet.now).history
    assert history.lag_worst[-1] == pytest.approx(3 * 3600, abs=2)  # mallory: no success for 3 h
    assert history.lag_median[-1] is not None
    assert len(history.minutes) == len(history.requests) == len(history.lag_worst) == 60


def test_an_idle_connection_refused_by_a_hostile_server_is_shown_as_text(
    listener: ImapListener, dovecot_factory: DovecotFactory, mallory: Persona, mgmt_client: Client
) -> None:
    """mallory's watcher cannot log in: her server's hostile answer is listed
    as the reason it is reconnecting, and the page shows it as text."""
    from django.contrib.auth.models import User

    with hostile_server(dovecot_factory, mallory):
        push_watch_hold(holder="web-a", account_pks=[mallory.account.pk], ttl=60)

        def reconnecting() -> list[Any]:
            listener.tick()
            return dashboard_figures_read(now=timezone.now()).idle.problems

        problems = wait_until(reconnecting, timeout=20, interval=0.2)
        assert problems, listener.status()
        assert [p.accountid for p in problems] == [mallory.account_id]
        assert "<script>window.__pwned = 1</script>" in problems[0].error
        User.objects.create_superuser("operator", "operator@example.test", "operator-password-1")
        mgmt_client.force_login(User.objects.get(username="operator"))
        html = mgmt_client.get("/").content.decode()
        note = html[html.index('id="jmap-idle-problems"') : html.index('id="jmap-requests-chart"')]
        assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in note
        assert "<script>" not in note and "<img" not in note
