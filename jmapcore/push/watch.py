"""Who is listening: the registry the IMAP IDLE listener reads (DESIGN.md
"Processes and ports", "Sync").

An account is *watched* when some web process has a live EventSource or
WebSocket listener for it (a PushWatch row that has not expired), or when its
pool has an enabled, verified, unexpired PushSubscription (RFC 8620 §7.2).

Each web process's ChangeHub owns a `WatchBeat`: when the hub starts
following an account it writes the row at once (so the listener hears of it
within its poll interval), refreshes `expires_at` every third of the TTL while
anyone listens, and deletes the row when the last listener of the account
goes. A process that dies leaves rows that expire after the TTL
(settings.JMAP_PUSH_WATCH_TTL, default 60 s) and are purged by the listener.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from accounts.models import Account
from jmapcore.models import PushSubscription, PushWatch

if TYPE_CHECKING:
    from jmapcore.push.feed import ChangeHub

logger = logging.getLogger("jmap.push")

WATCH_TTL_DEFAULT = 60.0


def push_watch_ttl() -> float:
    """Seconds a registry row lives without a heartbeat."""
    return float(getattr(settings, "JMAP_PUSH_WATCH_TTL", WATCH_TTL_DEFAULT))


def push_watch_holder_new() -> str:
    """An id for one web process's hub: host, pid and a nonce (pids get reused)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def push_watch_hold(*, holder: str, account_pks: Iterable[int], ttl: float) -> None:
    """Create or refresh `holder`'s rows for these accounts, valid `ttl` seconds from now."""
    wanted = set(account_pks)
    if not wanted:
        return
    expires = timezone.now() + timedelta(seconds=ttl)
    # An account deleted meanwhile must not break the heartbeat of the others.
    existing = Account.objects.filter(pk__in=wanted).values_list("pk", flat=True)
    PushWatch.objects.bulk_create(
        [PushWatch(account_id=pk, holder=holder, expires_at=expires) for pk in existing],
        update_conflicts=True,
        unique_fields=["account", "holder"],
        update_fields=["expires_at"],
    )


def push_watch_release(*, holder: str, account_pks: Iterable[int] | None = None) -> None:
    """Delete `holder`'s rows for these accounts (all of them when None)."""
    rows = PushWatch.objects.filter(holder=holder)
    if account_pks is not None:
        rows = rows.filter(account_id__in=set(account_pks))
    rows.delete()


def push_watch_purge(*, now: datetime) -> int:
    """Delete expired rows (of processes that died); returns how many."""
    deleted, _ = PushWatch.objects.filter(expires_at__lte=now).delete()
    return deleted


def watched_account_pks(*, now: datetime, kind: str | None = None) -> set[int]:
    """Accounts of active pools someone listens to at `now` (see the module doc)."""
    accounts = Account.objects.filter(pool__is_active=True)
    if kind is not None:
        accounts = accounts.filter(kind=kind)
    live = accounts.filter(push_watches__expires_at__gt=now)
    pools = PushSubscription.objects.filter(verified=True, disabled_at__isnull=True, expires__gt=now).values("pool_id")
    subscribed = accounts.filter(pool_id__in=pools)
    return set(live.values_list("pk", flat=True)) | set(subscribed.values_list("pk", flat=True))


class WatchBeat:
    """The registry rows of one hub (one web process): written on the hub's database thread."""

    def __init__(self, *, hub: ChangeHub) -> None:
        self.hub = hub
        self.holder = push_watch_holder_new()
        self._task: asyncio.Task[None] | None = None

    async def hold(self, account_pks: set[int]) -> None:
        """The hub started following these accounts."""
        try:
            await self.hub.db(push_watch_hold, holder=self.holder, account_pks=account_pks, ttl=push_watch_ttl())
        except Exception:
            # The listener merely starts later; the heartbeat retries.
            logger.exception("registering watched accounts failed")
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="jmap-push-watch")

    async def release(self, account_pks: set[int]) -> None:
        """The last listener of these accounts left."""
        try:
            await self.hub.db(push_watch_release, holder=self.holder, account_pks=account_pks)
        except Exception:
            logger.exception("releasing watched accounts failed")  # they expire anyway

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await self.hub.db(push_watch_release, holder=self.holder)
        except Exception:
            logger.exception("releasing watched accounts failed")  # they expire anyway

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(push_watch_ttl() / 3)
            watched = self.hub.watched
            if not watched:
                return
            try:
                await self.hub.db(push_watch_hold, holder=self.holder, account_pks=watched, ttl=push_watch_ttl())
            except Exception:
                logger.exception("refreshing watched accounts failed")
