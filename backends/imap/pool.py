"""Reused, authenticated IMAP connections per account (DESIGN.md "Sync").

`imap_session(account=...)` lends a logged-in IMAPClient for the account. A
connection is used by one caller at a time; when the caller is done it goes
back to the account's idle list and is reused by the next caller of the same
process. A connection that raised mid-use is discarded, never handed out again
(its state is unknown). Idle connections older than $JMAP_IDLE_TIMEOUT seconds
are logged out by `imap_pool_reap()` (and lazily at the next checkout);
JMAP_IDLE_TIMEOUT=0 keeps them open.

Every failure to connect or log in is a BackendError (backends.imap.connection);
so is a dropped connection (transient) or a command the server refuses with
NO/BAD (permanent, with the server's words) inside the `with` block.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from backends.base import BackendError
from backends.imap.connection import KIND, imap_close, imap_open, server_text

if TYPE_CHECKING:
    from accounts.models import Account

# At most this many idle connections are kept per account.
MAX_IDLE_PER_ACCOUNT = 2


@dataclass
class _Idle:
    client: IMAPClient
    since: float
    # What the connection was opened with: a changed password or host must not
    # be served by an old connection.
    fingerprint: tuple[object, ...]


_lock = threading.Lock()
_idle: dict[int, list[_Idle]] = {}
_reaper: threading.Thread | None = None


def _fingerprint(account: Account) -> tuple[object, ...]:
    return (account.imap_host, account.imap_port, account.imap_ssl, account.username, account.password)


def _expired(entry: _Idle, now: float) -> bool:
    timeout = int(settings.JMAP_IDLE_TIMEOUT)
    return timeout > 0 and now - entry.since >= timeout


def imap_account_open(*, account: Account) -> IMAPClient:
    """A new logged-in connection for `account` (not pooled)."""
    from accounts.secrets import unseal

    return imap_open(
        host=account.imap_host,
        port=account.imap_port,
        ssl_mode=account.imap_ssl,
        username=account.username or account.email,
        password=unseal(account.password) if account.password else "",
        oauth_access_token=unseal(account.oauth_access_token) if account.oauth_access_token else "",
    )


def _checkout(account: Account) -> IMAPClient | None:
    now = time.monotonic()
    fingerprint = _fingerprint(account)
    stale: list[IMAPClient] = []
    found: IMAPClient | None = None
    with _lock:
        entries = _idle.get(account.pk, [])
        keep: list[_Idle] = []
        for entry in entries:
            if _expired(entry, now) or entry.fingerprint != fingerprint:
                stale.append(entry.client)
            elif found is None:
                found = entry.client
            else:
                keep.append(entry)
        _idle[account.pk] = keep
    for client in stale:
        imap_close(client)
    return found


def _reaper_loop() -> None:
    """Close expired idle connections even when nobody checks one out again."""
    while True:
        timeout = int(settings.JMAP_IDLE_TIMEOUT)
        # Short naps: an expired connection is closed within a few seconds of expiry.
        time.sleep(min(5.0, max(1.0, timeout / 4)) if timeout > 0 else 5.0)
        try:
            imap_pool_reap()
        except Exception:  # noqa: S112 - a failed LOGOUT must not stop the reaper
            continue


def _reaper_ensure() -> None:
    global _reaper
    with _lock:
        if _reaper is not None and _reaper.is_alive():
            return
        _reaper = threading.Thread(target=_reaper_loop, name="imap-pool-reaper", daemon=True)
        _reaper.start()


def _checkin(account: Account, client: IMAPClient) -> None:
    _reaper_ensure()
    with _lock:
        entries = _idle.setdefault(account.pk, [])
        if len(entries) < MAX_IDLE_PER_ACCOUNT:
            entries.append(_Idle(client=client, since=time.monotonic(), fingerprint=_fingerprint(account)))
            return
    imap_close(client)


@contextmanager
def imap_session(*, account: Account) -> Iterator[IMAPClient]:
    """Lend a logged-in connection for `account`; see the module docstring."""
    client = _checkout(account)
    if client is not None:
        try:
            client.noop()
        except Exception:
            # Dropped while idle (server timeout, restart): open a fresh one.
            imap_close(client)
            client = None
    if client is None:
        client = imap_account_open(account=account)
    try:
        yield client
    except (IMAPClientAbortError, OSError, EOFError) as exc:
        imap_close(client)
        raise BackendError(
            f"connection to {account.imap_host}:{account.imap_port} dropped: {server_text(exc) or type(exc).__name__}",
            permanent=False,
            kind=KIND,
        ) from None
    except IMAPClientError as exc:
        # A tagged NO or BAD: the server refused the command; the session is still usable
        # but is not trusted again.
        imap_close(client)
        raise BackendError(f"the server refused: {server_text(exc)}", permanent=True, kind=KIND) from None
    except BaseException:
        imap_close(client)
        raise
    else:
        # The next borrower SELECTs what it needs; the selected folder carries no meaning.
        _checkin(account, client)


def imap_pool_reap(*, now: float | None = None) -> int:
    """Log out idle connections older than JMAP_IDLE_TIMEOUT; returns how many."""
    moment = time.monotonic() if now is None else now
    closing: list[IMAPClient] = []
    with _lock:
        for account_id, entries in list(_idle.items()):
            keep = [entry for entry in entries if not _expired(entry, moment)]
            closing.extend(entry.client for entry in entries if _expired(entry, moment))
            _idle[account_id] = keep
    for client in closing:
        imap_close(client)
    return len(closing)


def imap_pool_close_all() -> None:
    """Log out every idle connection (tests, shutdown)."""
    with _lock:
        closing = [entry.client for entries in _idle.values() for entry in entries]
        _idle.clear()
    for client in closing:
        imap_close(client)


def imap_pool_idle_count(*, account: Account | None = None) -> int:
    with _lock:
        if account is not None:
            return len(_idle.get(account.pk, []))
        return sum(len(entries) for entries in _idle.values())
