"""The IMAP IDLE listener (DESIGN.md "Processes and ports", "Sync"): changes
made by other IMAP clients start a sync at once, for the accounts someone is
listening to.

`ImapListener` runs in `manage.py imap_listener` (started by runproxy). Every
REGISTRY_POLL_SECONDS it reads the registry of watched accounts
(jmapcore.push.watch: live EventSource/WebSocket listeners in any web
process, enabled verified PushSubscriptions) and keeps one `AccountWatcher`
thread per watched IMAP account. A watcher holds one connection:

- where the server offers NOTIFY (RFC 5465), it ENABLEs CONDSTORE (RFC 7162,
  so that flag changes in unselected mailboxes are reported as STATUS
  HIGHESTMODSEQ, §5.2 of RFC 5465) and asks for MessageNew, MessageExpunge,
  FlagChange, MailboxName and SubscriptionChange of every personal mailbox,
  then IDLEs (RFC 2177) without selecting anything: one connection sees
  every folder;
- otherwise it EXAMINEs INBOX and IDLEs there (EXISTS, EXPUNGE, FETCH).

Any such response (not the server's "* OK Still here" keepalive) queues a sync
through accounts.sync.account_sync_enqueue, DEBOUNCE_SECONDS after the first
response of a burst, so one APPEND (EXISTS + RECENT + FETCH …) costs one sync.
A sync is also queued whenever a watcher (re)connects or becomes watched
again, since changes may have happened while nobody looked. IDLE is renewed
every IDLE_RENEW_SECONDS (RFC 2177 §3: before the server's 30-minute
inactivity timeout); a failure reconnects with exponential backoff.

When nobody watches an account any more its watcher goes *dormant*: it keeps
the connection but ignores what it hears, and closes it (LOGOUT) once it has
been unwatched for $JMAP_IDLE_TIMEOUT seconds (0: never). Watched again
before that, it wakes up without reconnecting.

Several listeners (one per worker node in scale-out) share the work: a
watcher runs only on the listener holding the account's claim in the Django
cache (shared across processes and machines), refreshed every
CLAIM_REFRESH_SECONDS and lost CLAIM_SECONDS after its listener died.
Resources are bounded: at most MAX_WATCHERS threads and connections per
listener; accounts beyond that keep the periodic sync only.
"""
from __future__ import annotations

import imaplib
import json
import logging
import os
import secrets
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connections
from django.utils import timezone
from imapclient import IMAPClient

from accounts.models import Account
from accounts.sync import account_sync_enqueue
from backends.base import BackendError
from backends.imap.connection import imap_close
from backends.imap.pool import imap_account_open
from backends.status_file import status_file_replace

log = logging.getLogger("jmap.imap.idle")

REGISTRY_POLL_SECONDS = 0.5
DEBOUNCE_SECONDS = 0.1
# RFC 2177 §3: re-issue IDLE at least every 29 minutes; shorter also notices
# a silently dead connection sooner (DONE must be answered).
IDLE_RENEW_SECONDS = 300.0
# Longest single wait for the server: also how soon a watcher notices stop/wake-up.
CHECK_SECONDS = 1.0
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 300.0
CLAIM_SECONDS = 15
CLAIM_REFRESH_SECONDS = 5.0
PURGE_SECONDS = 30.0
MAX_WATCHERS = 1000
# RFC 5465 §5: MessageNew and MessageExpunge must be asked for together;
# FlagChange needs both.
NOTIFY_EVENTS = b"SET (personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))"
# Responses in IDLE that mean "something changed" when there is no NOTIFY.
_CHANGE_WORDS = frozenset({b"EXISTS", b"EXPUNGE", b"FETCH", b"VANISHED", b"STATUS", b"LIST", b"RECENT"})

imaplib.Commands.setdefault("NOTIFY", ("AUTH", "SELECTED"))


class ConnectionLost(Exception):
    """The server closed the connection (BYE, EOF) while we were idling."""


def idle_timeout_seconds() -> int:
    return int(settings.JMAP_IDLE_TIMEOUT)


def response_is_change(response: tuple[Any, ...]) -> bool:
    """Does one parsed untagged IDLE response report a change? (Raises ConnectionLost on BYE.)"""
    if not response:
        return False
    head = response[0]
    if head == b"BYE":
        raise ConnectionLost(str(response[1:]))
    if head in (b"OK", b"NO", b"BAD"):  # "* OK Still here" and other chatter
        return False
    return any(isinstance(word, bytes) and word.upper() in _CHANGE_WORDS for word in response[:3])


def _peer_gone(client: IMAPClient) -> bool:
    """True when the server hung up (POLLRDHUP works for TLS sockets too)."""
    try:
        sock = client.socket()
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLRDHUP | select.POLLHUP | select.POLLERR)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


@dataclass
class WatcherStatus:
    accountid: str
    state: str  # connecting | idle | dormant | backoff | closed
    mode: str  # notify | inbox | ""
    connects: int
    syncs_queued: int
    error: str


class AccountWatcher:
    """One thread and one IDLE connection for one account (see the module doc)."""

    def __init__(
        self,
        *,
        account_pk: int,
        enqueue: Callable[[Account], None] = lambda account: account_sync_enqueue(account=account),
    ) -> None:
        self.account_pk = account_pk
        self._enqueue = enqueue
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._watched = True
        self._unwatched_since = 0.0
        self._kick = True  # queue a sync as soon as we are connected
        self.state = "connecting"
        self.mode = ""
        self.connects = 0
        self.syncs_queued = 0
        self.error = ""
        self._account: Account | None = None
        self._thread = threading.Thread(target=self._run, name=f"imap-idle-{account_pk}", daemon=True)

    # -- control (called from the listener's thread) ------------------------
    def start(self) -> None:
        self._thread.start()

    def watch(self) -> None:
        with self._lock:
            if not self._watched:
                self._watched = True
                self._kick = True

    def unwatch(self) -> None:
        with self._lock:
            if self._watched:
                self._watched = False
                self._unwatched_since = time.monotonic()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def watched(self) -> bool:
        return self._watched

    def status(self) -> WatcherStatus:
        accountid = self._account.accountid if self._account is not None else ""
        return WatcherStatus(accountid, self.state, self.mode, self.connects, self.syncs_queued, self.error)

    # -- the thread ---------------------------------------------------------
    def _expired(self) -> bool:
        """Unwatched for longer than JMAP_IDLE_TIMEOUT (0: never expires)."""
        timeout = idle_timeout_seconds()
        with self._lock:
            return not self._watched and timeout > 0 and time.monotonic() - self._unwatched_since >= timeout

    def _run(self) -> None:
        backoff = BACKOFF_FIRST_SECONDS
        try:
            while not self._stop.is_set() and not self._expired():
                client: IMAPClient | None = None
                self.state = "connecting"
                try:
                    client = self._connect()
                    backoff = BACKOFF_FIRST_SECONDS
                    self.error = ""
                    self._listen(client)
                except (BackendError, ConnectionLost, imaplib.IMAP4.error, OSError, EOFError) as exc:
                    self.error = str(exc) or type(exc).__name__
                    log.warning("account #%s: IMAP IDLE failed (%s); retrying in %.0fs", self.account_pk,
                                self.error, backoff)  # fmt: skip
                    self.state = "backoff"
                    with self._lock:
                        self._kick = True  # changes may be missed while disconnected
                    self._stop.wait(backoff)
                    backoff = min(BACKOFF_MAX_SECONDS, backoff * 2)
                except Exception:
                    log.exception("account #%s: IMAP IDLE watcher crashed", self.account_pk)
                    self.state = "backoff"
                    self._stop.wait(backoff)
                    backoff = min(BACKOFF_MAX_SECONDS, backoff * 2)
                finally:
                    if client is not None:
                        imap_close(client)
        finally:
            self.state = "closed"
            connections.close_all()  # this thread's database connection

    def _connect(self) -> IMAPClient:
        account = Account.objects.select_related("pool").filter(pk=self.account_pk).first()
        # The thread sleeps for minutes at a time: hold no database connection meanwhile.
        connections.close_all()
        if account is None:
            self._stop.set()
            raise BackendError("account deleted", permanent=True, kind="imap")
        self._account = account
        client = imap_account_open(account=account)
        self.connects += 1
        try:
            caps = {bytes(cap).upper() for cap in client.capabilities()}
            if b"NOTIFY" in caps:
                if b"ENABLE" in caps and caps & {b"CONDSTORE", b"QRESYNC"}:
                    client.enable("CONDSTORE")
                tag = client._imap._command("NOTIFY", NOTIFY_EVENTS)
                client._consume_until_tagged_response(tag, "NOTIFY")
                self.mode = "notify"
            else:
                client.select_folder("INBOX", readonly=True)
                self.mode = "inbox"
            if b"IDLE" not in caps:
                raise BackendError("the server does not offer IDLE (RFC 2177)", permanent=True, kind="imap")
        except BaseException:
            imap_close(client)
            raise
        return client

    def _fire(self) -> None:
        account = self._account
        if account is None:
            return
        self._enqueue(account)
        self.syncs_queued += 1

    def _listen(self, client: IMAPClient) -> None:
        """IDLE until stopped or expired; renew every IDLE_RENEW_SECONDS. Raises on connection loss."""
        due: float | None = None
        while True:
            client.idle()
            renew_at = time.monotonic() + IDLE_RENEW_SECONDS
            while True:
                with self._lock:
                    watched, kick, self._kick = self._watched, self._kick, False
                now = time.monotonic()
                self.state = "idle" if watched else "dormant"
                if kick and watched:
                    due = now
                if due is not None and now >= due:
                    due = None
                    self._fire()
                if self._stop.is_set() or self._expired() or now >= renew_at:
                    break
                wait = CHECK_SECONDS if due is None else max(0.0, due - now)
                started = time.monotonic()
                responses = client.idle_check(timeout=wait)
                changed = False
                for response in responses:
                    changed = response_is_change(response) or changed
                if not responses and time.monotonic() - started < wait / 2 and _peer_gone(client):
                    raise ConnectionLost("the server closed the connection")
                if changed and watched and due is None:
                    due = time.monotonic() + DEBOUNCE_SECONDS
            _, trailing = client.idle_done()
            if any(response_is_change(response) for response in trailing) and self._watched:
                self._fire()
                due = None
            if self._stop.is_set() or self._expired():
                return


def _claim_key(account_pk: int) -> str:
    return f"jmap:imap-idle-claim:{account_pk}"


class ImapListener:
    """Keeps one AccountWatcher per watched IMAP account this listener has claimed."""

    def __init__(self, *, status_file: Path | None = None) -> None:
        self.node = f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"
        self.watchers: dict[int, AccountWatcher] = {}
        self.status_file = status_file
        self._last_claim_refresh = 0.0
        self._last_purge = 0.0
        self._last_status = ""
        self._warned_full = False

    def tick(self) -> None:
        """One round: read the registry, start/wake/put to sleep watchers, reap closed ones."""
        from jmapcore.push.watch import push_watch_purge, watched_account_pks

        now = time.monotonic()
        try:
            watched = watched_account_pks(now=timezone.now(), kind=Account.Kind.IMAP)
            if now - self._last_purge >= PURGE_SECONDS:
                self._last_purge = now
                push_watch_purge(now=timezone.now())
        except Exception:
            log.exception("reading the registry of watched accounts failed")
            close_old_connections()
            connections.close_all()
            return
        for pk, watcher in list(self.watchers.items()):
            if not watcher.alive:
                del self.watchers[pk]
                self._unclaim(pk)
            elif pk in watched:
                watcher.watch()
            else:
                watcher.unwatch()
        for pk in sorted(watched - self.watchers.keys()):
            if len(self.watchers) >= MAX_WATCHERS:
                if not self._warned_full:
                    log.warning("IMAP IDLE listener full (%d accounts); others rely on the periodic sync", MAX_WATCHERS)
                    self._warned_full = True
                break
            if not cache.add(_claim_key(pk), self.node, timeout=CLAIM_SECONDS):
                continue  # another listener watches it
            watcher = AccountWatcher(account_pk=pk)
            self.watchers[pk] = watcher
            watcher.start()
        if now - self._last_claim_refresh >= CLAIM_REFRESH_SECONDS:
            self._last_claim_refresh = now
            self._claims_refresh()
        self._status_write()

    def _claims_refresh(self) -> None:
        for pk, watcher in list(self.watchers.items()):
            if cache.get(_claim_key(pk)) == self.node:
                cache.touch(_claim_key(pk), timeout=CLAIM_SECONDS)
            else:  # our claim expired (we stalled) and another listener may have it
                log.warning("account #%s: lost the IDLE claim; stopping its watcher", pk)
                watcher.stop()

    def _unclaim(self, pk: int) -> None:
        try:
            if cache.get(_claim_key(pk)) == self.node:
                cache.delete(_claim_key(pk))
        except Exception:
            log.exception("account #%s: releasing the IDLE claim failed", pk)

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "node": self.node,
            "watchers": {str(pk): w.status().__dict__ for pk, w in sorted(self.watchers.items())},
        }

    def _status_write(self) -> None:
        if self.status_file is None:
            return
        text = json.dumps(self.status(), sort_keys=True)
        if text == self._last_status:
            return
        self._last_status = text
        status_file_replace(self.status_file, text)

    def close(self) -> None:
        """Stop every watcher (LOGOUT), release the claims, remove the status file."""
        for watcher in self.watchers.values():
            watcher.stop()
        for pk, watcher in self.watchers.items():
            watcher.join(timeout=CHECK_SECONDS + 12)
            self._unclaim(pk)
        self.watchers.clear()
        if self.status_file is not None:
            self.status_file.unlink(missing_ok=True)


def imap_listener_run(*, stop: threading.Event, status_file: Path | None = None) -> None:
    """Run the listener until `stop` is set (see the module doc)."""
    listener = ImapListener(status_file=status_file)
    log.info("IMAP IDLE listener started (%s)", listener.node)
    try:
        while not stop.is_set():
            listener.tick()
            stop.wait(REGISTRY_POLL_SECONDS)
    finally:
        listener.close()
        log.info("IMAP IDLE listener stopped")
