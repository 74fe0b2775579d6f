"""Close push connections whose credential is gone (RFC 8620 §7.3, RFC 8887 §4).

An EventSource response or a WebSocket outlives the request that authenticated
it, so revoking its bearer token, deleting its login or the account it watches,
or disabling the login must end it, not just refuse the next request. Each open
connection registers its Credential (the pool, the ApiToken of a Bearer
connection, the accounts it sees) with this process's ConnectionGuard; the
guard calls the connection's close callback when a Revocation hits it.

Revocations reach the guard by the same ways StateChanges reach the change feed
(jmapcore.push.feed):

- in the process that commits the revocation, at once (revocation_publish,
  called after commit by the hooks at the bottom of this module);
- with a channel layer that reaches other processes (REDIS_URL), through the
  group REVOCATIONS_GROUP that every guard with connections joins;
- and in every mode by polling: while connections are open, the guard asks the
  database every POLL_SECONDS (one indexed query per kind) which of their tokens,
  logins and accounts are no longer valid. In embedded mode (no Redis) that is
  how a revocation committed by another process (``manage.py shell``, the worker)
  arrives; with Redis it is a backstop for a lost message and catches token
  expiry.

Basic-auth and cookie connections are tied to the login: deleting or disabling
the login closes them; revoking a token closes only the connections that
presented that token.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connections, transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from accounts.auth import token_hash
from accounts.models import Account, ApiToken, Pool
from accounts.tokens import tokens_revoked
from jmapcore.push.feed import feed_uses_channels
from jmapcore.push.source_channels import GROUP_REFRESH_SECONDS

logger = logging.getLogger("jmap.push")

REVOCATIONS_GROUP = "jmap.push.revocations"
REVOKED_MESSAGE = "jmap.credential_revoked"
# Embedded mode: the only way another process's revocation arrives; ~1 s budget.
POLL_SECONDS = 1.0
# With Redis revocations arrive as messages; polling only backs them up.
POLL_SECONDS_WITH_CHANNELS = 5.0
ERROR_BACKOFF_SECONDS = 2.0


@dataclass(frozen=True)
class Credential:
    """What an open connection authenticated with."""

    pool_pk: int
    token_pk: int | None
    account_pks: frozenset[int]


# Primary keys start at 1: no token row ever has this one.
TOKEN_GONE = 0


def connection_credential(*, pool: Pool, authorization: str | None, account_pks: Iterable[int]) -> Credential:
    """The Credential of a connection that authenticated as ``pool``.

    The token is found again from the Authorization header (already verified by
    accounts.auth), scoped to the pool. Synchronous: call it off the event loop.
    """
    token_pk: int | None = None
    if authorization and authorization[:7].lower() == "bearer ":
        found = (
            ApiToken.objects.filter(token_hash=token_hash(authorization[7:].strip()), pool_id=pool.pk)
            .values_list("pk", flat=True)
            .first()
        )
        # Deleted between authentication and here: a pk no token has, so that
        # the next poll finds it gone and closes the connection.
        token_pk = found if found is not None else TOKEN_GONE
    return Credential(pool_pk=pool.pk, token_pk=token_pk, account_pks=frozenset(account_pks))


@dataclass(frozen=True)
class Revocation:
    """Tokens, logins and accounts that no longer grant access."""

    token_pks: frozenset[int] = frozenset()
    pool_pks: frozenset[int] = frozenset()
    account_pks: frozenset[int] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.token_pks or self.pool_pks or self.account_pks)

    def hits(self, credential: Credential) -> bool:
        return (
            (credential.token_pk is not None and credential.token_pk in self.token_pks)
            or credential.pool_pk in self.pool_pks
            or not self.account_pks.isdisjoint(credential.account_pks)
        )

    def to_message(self) -> dict[str, Any]:
        """The channel-layer message (msgpack-able)."""
        return {
            "type": REVOKED_MESSAGE,
            "tokens": sorted(self.token_pks),
            "pools": sorted(self.pool_pks),
            "accounts": sorted(self.account_pks),
        }

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Revocation:
        """Raises (KeyError, TypeError, ValueError) on a malformed message."""
        return cls(
            token_pks=frozenset(int(pk) for pk in message["tokens"]),
            pool_pks=frozenset(int(pk) for pk in message["pools"]),
            account_pks=frozenset(int(pk) for pk in message["accounts"]),
        )


def revoked_among(*, token_pks: set[int], pool_pks: set[int], account_pks: set[int]) -> Revocation:
    """Which of these are no longer valid: tokens revoked, expired or deleted;
    logins disabled or deleted; accounts deleted. Synchronous (ORM)."""
    now = timezone.now()
    live_tokens = set(
        ApiToken.objects.filter(pk__in=token_pks, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .values_list("pk", flat=True)
    ) if token_pks else set()  # fmt: skip
    live_pools = set(Pool.objects.filter(pk__in=pool_pks, is_active=True).values_list("pk", flat=True))
    live_accounts = set(Account.objects.filter(pk__in=account_pks).values_list("pk", flat=True))
    return Revocation(
        token_pks=frozenset(token_pks - live_tokens),
        pool_pks=frozenset(pool_pks - live_pools),
        account_pks=frozenset(account_pks - live_accounts),
    )


OnRevoked = Callable[[], None]


@dataclass
class _Registration:
    credential: Credential
    on_revoked: OnRevoked


@dataclass
class ConnectionGuard:
    """The open connections of this process (one guard per event loop)."""

    loop: asyncio.AbstractEventLoop
    _connections: dict[int, _Registration] = field(default_factory=dict)
    _keys: itertools.count[int] = field(default_factory=itertools.count)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _receiver: asyncio.Task[None] | None = None
    _channel: str | None = None
    _executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="jmap-revocation-db")
    )

    def register(self, *, credential: Credential, on_revoked: OnRevoked) -> int:
        """Watch a connection; ``on_revoked`` runs once, on the loop, if its credential goes."""
        key = next(self._keys)
        self._connections[key] = _Registration(credential=credential, on_revoked=on_revoked)
        if not self._tasks:
            self._tasks.append(self.loop.create_task(self._poll(), name="jmap-revocation-poll"))
        if self._receiver is None and feed_uses_channels():
            # Started once and kept for the process's life: cancelling a task
            # blocked in channels_redis's receive() mid-read leaves the shared
            # Redis connection with an unread reply, and the change feed's own
            # receive then times out ("Timeout reading from ...").
            self._receiver = self.loop.create_task(self._receive(), name="jmap-revocation-receive")
        return key

    def unregister(self, key: int) -> None:
        """Forget a connection (synchronous: safe in a cancelled task's cleanup)."""
        self._connections.pop(key, None)
        self._stop_if_idle()

    def _stop_if_idle(self) -> None:
        if not self._connections and self._tasks:
            tasks, self._tasks = self._tasks, []
            for task in tasks:
                task.cancel()

    def apply(self, revocation: Revocation) -> int:
        """Close every connection the revocation hits; returns how many."""
        hit = [key for key, reg in self._connections.items() if revocation.hits(reg.credential)]
        for key in hit:
            registration = self._connections.pop(key)
            try:
                registration.on_revoked()
            except Exception:
                logger.exception("closing a revoked push connection failed")
        if hit:
            logger.info("closed %d push connection(s) whose credential was revoked", len(hit))
        self._stop_if_idle()
        return len(hit)

    async def _poll(self) -> None:
        interval = POLL_SECONDS_WITH_CHANNELS if feed_uses_channels() else POLL_SECONDS
        # The receiver outlives idle spells, and its membership may have expired
        # during one: renew it at the first poll, then every GROUP_REFRESH_SECONDS.
        joined = self.loop.time() - GROUP_REFRESH_SECONDS - 1
        while self._connections:
            await asyncio.sleep(interval)
            if self._channel is not None and self.loop.time() - joined > GROUP_REFRESH_SECONDS:
                # channels_redis forgets group members after group_expiry (a day).
                joined = self.loop.time()
                with contextlib.suppress(Exception):
                    await get_channel_layer().group_add(REVOCATIONS_GROUP, self._channel)
            credentials = [reg.credential for reg in self._connections.values()]
            query = {
                "token_pks": {c.token_pk for c in credentials if c.token_pk is not None},
                "pool_pks": {c.pool_pk for c in credentials},
                "account_pks": set().union(*(c.account_pks for c in credentials)),
            }
            try:
                revocation = await self.loop.run_in_executor(self._executor, _revoked_among_closing, query)
            except Exception:
                logger.exception("checking push connections' credentials failed")
                await asyncio.sleep(ERROR_BACKOFF_SECONDS)
                continue
            if revocation:
                self.apply(revocation)

    async def _receive(self) -> None:
        layer = get_channel_layer()
        # The change feed's prefix (source_channels): channels_redis lets one
        # coroutine at a time wait on Redis for all specific channels of a process,
        # and fetches only those sharing that waiter's prefix; another prefix
        # would wait for the feed's receive to time out.
        channel = await layer.new_channel(prefix="jmap-push.")
        self._channel = channel
        while True:
            try:
                await layer.group_add(REVOCATIONS_GROUP, channel)
                break
            except asyncio.CancelledError:
                raise
            except Exception:
                # Redis unreachable: polling still closes revoked connections meanwhile.
                logger.exception("joining the revocation group failed")
                await asyncio.sleep(ERROR_BACKOFF_SECONDS)
        try:
            while True:
                try:
                    message = await layer.receive(channel)
                    revocation = Revocation.from_message(message)
                except asyncio.CancelledError:
                    raise
                except (KeyError, TypeError, ValueError):
                    logger.warning("ignoring a malformed revocation message")
                    continue
                except Exception:
                    logger.exception("receiving revocation messages failed")
                    await asyncio.sleep(ERROR_BACKOFF_SECONDS)
                    continue
                self.apply(revocation)
        finally:
            self._channel = None
            with contextlib.suppress(Exception):
                await asyncio.shield(layer.group_discard(REVOCATIONS_GROUP, channel))


def _revoked_among_closing(query: dict[str, set[int]]) -> Revocation:
    try:
        return revoked_among(**query)
    except Exception:
        connections.close_all()  # a broken connection must not stay for the next poll
        raise


_GUARD: ConnectionGuard | None = None


def guard_get() -> ConnectionGuard:
    """This process's guard, bound to the running event loop."""
    global _GUARD
    loop = asyncio.get_running_loop()
    if _GUARD is None or _GUARD.loop is not loop:
        _GUARD = ConnectionGuard(loop=loop)
    return _GUARD


@contextlib.contextmanager
def connection_guarded(*, credential: Credential, on_revoked: OnRevoked) -> Any:
    """``with connection_guarded(...)``: the connection is watched inside the block."""
    guard = guard_get()
    key = guard.register(credential=credential, on_revoked=on_revoked)
    try:
        yield guard
    finally:
        guard.unregister(key)


def revocation_publish(revocation: Revocation) -> None:
    """Tell every process's connections (thread-safe; call after commit)."""
    if not revocation:
        return
    guard = _GUARD
    if guard is not None and not guard.loop.is_closed():
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            guard.loop.call_soon_threadsafe(guard.apply, revocation)
    if feed_uses_channels():
        try:
            async_to_sync(get_channel_layer().group_send)(REVOCATIONS_GROUP, revocation.to_message())
        except Exception:
            # The other processes' polling still finds it within POLL_SECONDS_WITH_CHANNELS.
            logger.exception("publishing a revocation failed")


def _after_commit(revocation: Revocation) -> None:
    transaction.on_commit(lambda: revocation_publish(revocation))


@receiver(tokens_revoked, dispatch_uid="jmap.push.revocation.tokens")
def _tokens_revoked(sender: Any, *, token_pks: Iterable[int], **kwargs: Any) -> None:
    _after_commit(Revocation(token_pks=frozenset(token_pks)))


@receiver(post_delete, sender=ApiToken, dispatch_uid="jmap.push.revocation.token_deleted")
def _token_deleted(sender: Any, instance: ApiToken, **kwargs: Any) -> None:
    _after_commit(Revocation(token_pks=frozenset({instance.pk})))


@receiver(post_delete, sender=Account, dispatch_uid="jmap.push.revocation.account_deleted")
def _account_deleted(sender: Any, instance: Account, **kwargs: Any) -> None:
    _after_commit(Revocation(account_pks=frozenset({instance.pk})))


@receiver(post_delete, sender=Pool, dispatch_uid="jmap.push.revocation.pool_deleted")
def _pool_deleted(sender: Any, instance: Pool, **kwargs: Any) -> None:
    _after_commit(Revocation(pool_pks=frozenset({instance.pk})))


@receiver(post_save, sender=Pool, dispatch_uid="jmap.push.revocation.pool_disabled")
def _pool_saved(sender: Any, instance: Pool, **kwargs: Any) -> None:
    if not instance.is_active:
        _after_commit(Revocation(pool_pks=frozenset({instance.pk})))
