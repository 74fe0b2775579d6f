"""How long the proxy watches (issue 4 item 4): with JMAP_IDLE_TIMEOUT=2, the
IDLE connection of an account whose listeners left is really closed within a
few seconds (Dovecot's own process list says so), and the registry rows of a
web process that was killed expire, so its accounts stop being watched."""
from __future__ import annotations

import datetime as dt
import os
import signal
import time

import httpx

from tests.backends.imap_idle.conftest import (
    account_synced,
    dovecot_person,
    idle_sessions,
    imap_sessions,
    registry_rows,
    supervisor_children,
    wait_until,
    watcher_of,
)
from tests.jmapcore.push.clients import eventsource
from tests.servers.dovecot import DovecotServer
from tests.servers.proxy import ProxyProcess

IDLE_TIMEOUT = 2.0  # impatient_proxy's JMAP_IDLE_TIMEOUT
WATCH_TTL = 6.0  # impatient_proxy's JMAP_PUSH_WATCH_TTL
# A wait bound, not a measure: the first sync is queued at creation and starts at once.
FIRST_SYNC_WAIT = 30.0
# Listener poll (0.5 s), its 1 s check interval, LOGOUT: on top of the timeout.
CLOSE_SLACK = 3.0


def _expired(expires_at: str) -> bool:
    moment = dt.datetime.fromisoformat(expires_at)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment <= dt.datetime.now(dt.UTC)


def test_watcher_closes_idle_timeout_after_listeners_left(
    impatient_proxy: ProxyProcess, idle_dovecot: DovecotServer
) -> None:
    carol = dovecot_person(impatient_proxy, idle_dovecot, "carol")
    # Her first sync may commit before a stream is in place, and a fresh stream hears
    # only later changes (RFC 8620 §7.3): so the account says when it synced.
    assert _first_sync(impatient_proxy, carol.account_id)
    with eventsource(carol):
        assert wait_until(lambda: idle_sessions(carol.login) == 1, timeout=5)
        assert len(registry_rows(impatient_proxy, carol.account_id)) == 1
    left = time.monotonic()
    # The hub deletes its row as soon as the last listener goes.
    assert wait_until(lambda: not registry_rows(impatient_proxy, carol.account_id), timeout=2)
    dormant = wait_until(lambda: (w := watcher_of(impatient_proxy, carol.account_id)) and w["state"] == "dormant",
                         timeout=2)  # fmt: skip
    assert dormant, "the watcher did not notice that nobody listens"
    assert idle_sessions(carol.login) == 1, "closed before JMAP_IDLE_TIMEOUT passed"
    # Every connection of hers (the listener's and the worker's pooled ones) is gone, server side.
    assert wait_until(lambda: not imap_sessions(carol.login), timeout=IDLE_TIMEOUT + CLOSE_SLACK), (
        imap_sessions(carol.login)
    )
    closed_after = time.monotonic() - left
    assert closed_after >= IDLE_TIMEOUT - 0.5, closed_after
    assert wait_until(lambda: watcher_of(impatient_proxy, carol.account_id) is None, timeout=2)

    # Someone listens again: a new connection.
    with eventsource(carol):
        assert wait_until(lambda: idle_sessions(carol.login) == 1, timeout=5)


def test_killed_web_process_rows_expire(impatient_proxy: ProxyProcess, idle_dovecot: DovecotServer) -> None:
    dave = dovecot_person(impatient_proxy, idle_dovecot, "dave")
    web_pid = supervisor_children(impatient_proxy)["web"]
    assert _first_sync(impatient_proxy, dave.account_id)
    stream = eventsource(dave).__enter__()
    try:
        assert wait_until(lambda: idle_sessions(dave.login) == 1, timeout=5)
        assert wait_until(lambda: _watcher_state(impatient_proxy, dave.account_id) == "idle", timeout=2)
        (holder, expires_at), = registry_rows(impatient_proxy, dave.account_id)
        assert holder.split(":")[1] == str(web_pid)
        assert not _expired(expires_at)

        os.kill(web_pid, signal.SIGKILL)  # no chance to release anything
        killed = time.monotonic()
        assert stream.ended.wait(10), "the EventSource did not end with its web process"
    finally:
        stream.close()
    # The row stays behind, un-refreshed, until it expires; then nobody watches dave.
    assert wait_until(lambda: _watcher_state(impatient_proxy, dave.account_id) != "idle", timeout=WATCH_TTL + 2)
    unwatched_after = time.monotonic() - killed
    assert unwatched_after > 1.0, "unwatched before the row expired?"
    rows = registry_rows(impatient_proxy, dave.account_id)
    assert all(_expired(expires) for _, expires in rows), rows
    assert wait_until(lambda: idle_sessions(dave.login) == 0, timeout=IDLE_TIMEOUT + CLOSE_SLACK)

    # The supervisor restarted web; the proxy serves push again.
    assert wait_until(lambda: supervisor_children(impatient_proxy).get("web", web_pid) != web_pid, timeout=15)
    assert wait_until(lambda: _web_answers(impatient_proxy), timeout=30)
    with eventsource(dave):
        assert wait_until(lambda: idle_sessions(dave.login) == 1, timeout=5)


def _first_sync(proxy: ProxyProcess, account_id: str) -> bool:
    """Wait for the account's first sync; it must have succeeded (an empty Dovecot user)."""
    shown = account_synced(proxy, account_id, timeout=FIRST_SYNC_WAIT)
    assert shown is not None, f"no first sync within {FIRST_SYNC_WAIT} s:\n{proxy.log_text()[-3000:]}"
    assert shown["lastSyncAt"] and not shown["lastSyncError"], shown
    return True


def _watcher_state(proxy: ProxyProcess, account_id: str) -> str:
    watcher = watcher_of(proxy, account_id)
    return str(watcher["state"]) if watcher is not None else "none"


def _web_answers(proxy: ProxyProcess) -> bool:
    try:
        return httpx.get(proxy.jmap_url + "/.well-known/jmap", timeout=1).status_code in (301, 302, 307, 308)
    except httpx.HTTPError:
        return False
