"""The change feed: one async interface over both ways StateChanges reach a web
process (DESIGN.md "Push", "Processes and ports").

    async with feed_subscribe(accounts={pk: "alice"}) as subscription:
        change = await subscription.next()      # a coalesced StateChange

or simply ``async for change in account_changes(accounts=...)``.

Each process has one ChangeHub (per event loop). It keeps the subscriptions,
tells a source which accounts are watched, and fans what the source reports
out to the subscriptions of that account. The source is chosen by the
channel layer:

- a process-local layer (embedded mode: InMemoryChannelLayer, no Redis):
  `source_poll.PollSource` polls the watched accounts' modseq, because syncs
  commit in the Celery worker process, not here;
- any other layer (REDIS_URL: channels_redis): `source_channels.ChannelsSource`
  joins one group per watched account; every process that writes publishes
  to it after commit (jmapcore.push.publish).

Passthrough accounts (kind "jmap") have no local modseq: their changes come
from the upstream through the relay (jmapcore.push.relayed) and are delivered
by accountId (`deliver_by_id`), with the upstream's state strings.

A source runs only while someone is subscribed. Several quick changes
coalesce: a subscription waits COALESCE_SECONDS after the first pending
change before handing them out as one StateChange (RFC 8620 §7.1).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import connections

from jmapcore.push.changes import StateChange, push_state_encode
from jmapcore.push.positions import account_positions, types_moved

logger = logging.getLogger("jmap.push")

COALESCE_SECONDS = 0.1
T = TypeVar("T")


class ChangeSource(Protocol):
    """Where a hub's changes come from; it calls hub.deliver for each."""

    async def watch(self, positions: Mapping[int, int]) -> None:
        """Start following these accounts (pk -> modseq now)."""

    async def unwatch(self, account_pks: set[int]) -> None:
        """Stop following these accounts."""

    async def close(self) -> None:
        """Stop everything; the hub has no subscriptions left."""

    def poke(self, account_pk: int) -> None:
        """A hint that this process just committed a change of the account."""


class SubscriptionClosed(Exception):
    """The subscription was closed (its credential was revoked): no more changes."""


class ChangeSubscription:
    """One listener's view of the feed: its accounts, pending changes, pushState.

    `accounts` maps Account pk -> accountId; only those accounts are ever
    reported, so a pool never hears of a foreign account. close() ends it:
    next() then raises SubscriptionClosed (jmapcore.push.revocation).
    """

    def __init__(self, *, hub: ChangeHub, accounts: Mapping[int, str], coalesce: float) -> None:
        self.hub = hub
        self.accounts = dict(accounts)
        self.coalesce = coalesce
        # accountId -> the modseq this listener knows about (for pushState).
        self.positions: dict[str, int] = {}
        self._pending = StateChange()
        self._ready = asyncio.Event()
        self.closed = False

    @property
    def push_state(self) -> str:
        """The pushState / event id covering every account of the subscription (RFC 8620 §7.3)."""
        return push_state_encode(self.positions)

    def offer(self, *, account_pk: int, modseq: int | None, types: Mapping[str, str]) -> None:
        account_id = self.accounts.get(account_pk)
        if account_id is None or not types:
            return
        if modseq is not None and modseq > self.positions.get(account_id, -1):
            self.positions[account_id] = modseq
        self._pending.merge(account_id, types)
        self._ready.set()

    def offer_by_id(self, *, account_pk: int, changed: Mapping[str, Mapping[str, str]]) -> None:
        """A relayed change of a passthrough account, keyed by its proxy accountIds
        (jmapcore.push.relayed); only a subscription that includes the account hears it."""
        if account_pk not in self.accounts:
            return
        for account_id, types in changed.items():
            self._pending.merge(account_id, types)
        if self._pending:
            self._ready.set()

    def close(self) -> None:
        """End the subscription: a waiting or later next() raises SubscriptionClosed."""
        self.closed = True
        self._ready.set()

    async def next(self) -> StateChange:
        """The next (coalesced) StateChange. Safe to cancel: nothing pending is lost.

        Raises SubscriptionClosed once close() was called.
        """
        while True:
            await self._ready.wait()
            if self.closed:
                raise SubscriptionClosed("the subscription was closed")
            if self.coalesce > 0:
                await asyncio.sleep(self.coalesce)
            self._ready.clear()
            change, self._pending = self._pending, StateChange()
            if change:
                return change

    async def changes_since(self, positions: Mapping[str, int]) -> StateChange:
        """What changed after `positions` (accountId -> modseq, e.g. from a pushState)."""
        by_pk = {pk: positions[acc] for pk, acc in self.accounts.items() if acc in positions}
        moved = await self.hub.db(types_moved, since=by_pk)
        change = StateChange()
        for pk, types in moved.items():
            change.merge(self.accounts[pk], types)
        return change

    def __aiter__(self) -> ChangeSubscription:
        return self

    async def __anext__(self) -> StateChange:
        return await self.next()


class ChangeHub:
    """The process-local registry of subscriptions (one per event loop)."""

    def __init__(self, *, source_factory: Callable[[ChangeHub], ChangeSource]) -> None:
        self.loop = asyncio.get_running_loop()
        self._source_factory = source_factory
        self._source: ChangeSource | None = None
        self._by_account: dict[int, set[ChangeSubscription]] = {}
        self._lock = asyncio.Lock()
        # One thread for the feed's own queries: one database connection, reused.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jmap-push-db")
        # The cross-process registry the IMAP IDLE listener reads (jmapcore.push.watch).
        from jmapcore.push.watch import WatchBeat

        self._beat = WatchBeat(hub=self)

    async def db(self, fn: Callable[..., T], **kwargs: Any) -> T:
        """Run a synchronous ORM function on the feed's database thread."""

        def call() -> T:
            try:
                return fn(**kwargs)
            except Exception:
                # A broken connection must not stay around for the next poll.
                connections.close_all()
                raise

        return await self.loop.run_in_executor(self._executor, call)

    @property
    def watched(self) -> set[int]:
        return set(self._by_account)

    async def add(self, subscription: ChangeSubscription) -> None:
        async with self._lock:
            positions = await self.db(account_positions, account_pks=subscription.accounts.keys())
            subscription.positions = {subscription.accounts[pk]: modseq for pk, modseq in positions.items()}
            new = {pk: modseq for pk, modseq in positions.items() if pk not in self._by_account}
            for pk in subscription.accounts:
                self._by_account.setdefault(pk, set()).add(subscription)
            if self._source is None:
                self._source = self._source_factory(self)
            if new:
                await self._source.watch(new)
                await self._beat.hold(set(new))

    def remove(self, subscription: ChangeSubscription) -> None:
        """Forget a subscription (synchronous: safe in a cancelled task's cleanup)."""
        gone: set[int] = set()
        for pk in subscription.accounts:
            subs = self._by_account.get(pk)
            if subs is None:
                continue
            subs.discard(subscription)
            if not subs:
                del self._by_account[pk]
                gone.add(pk)
        if gone:
            self.loop.create_task(self._release(gone))

    async def _release(self, gone: set[int]) -> None:
        async with self._lock:
            source = self._source
            if source is None:
                return
            gone = {pk for pk in gone if pk not in self._by_account}
            try:
                if gone:
                    await source.unwatch(gone)
                    await self._beat.release(gone)
                if not self._by_account:
                    self._source = None
                    await source.close()
                    await self._beat.close()
                    await self.db(connections.close_all)
            except Exception:
                logger.exception("releasing push accounts failed")

    def deliver(self, *, account_pk: int, modseq: int | None, types: Mapping[str, str]) -> None:
        """Hand a committed change of one account to its subscriptions."""
        for subscription in list(self._by_account.get(account_pk, ())):
            subscription.offer(account_pk=account_pk, modseq=modseq, types=types)

    def deliver_by_id(self, *, account_pk: int, changed: Mapping[str, Mapping[str, str]]) -> None:
        """Hand a relayed change of a passthrough account (proxy accountId -> type states) to
        the subscriptions of that account; the states are the upstream's, passed on as they are."""
        if not changed:
            return
        for subscription in list(self._by_account.get(account_pk, ())):
            subscription.offer_by_id(account_pk=account_pk, changed=changed)

    def poke(self, account_pk: int) -> None:
        if self._source is not None and account_pk in self._by_account:
            self._source.poke(account_pk)


def feed_uses_channels() -> bool:
    """True when the channel layer reaches other processes (channels_redis)."""
    layer = get_channel_layer()
    return layer is not None and not isinstance(layer, InMemoryChannelLayer)


def _default_source(hub: ChangeHub) -> ChangeSource:
    if feed_uses_channels():
        from jmapcore.push.source_channels import ChannelsSource

        return ChannelsSource(hub=hub, layer=get_channel_layer())
    from jmapcore.push.source_poll import PollSource

    return PollSource(hub=hub)


_HUB: ChangeHub | None = None


def hub_get() -> ChangeHub:
    """This process's hub, bound to the running event loop."""
    global _HUB
    loop = asyncio.get_running_loop()
    if _HUB is None or _HUB.loop is not loop:
        _HUB = ChangeHub(source_factory=_default_source)
    return _HUB


def feed_poke(*, account_pk: int) -> None:
    """Thread-safe: this process committed a change of the account; look now."""
    hub = _HUB
    if hub is None or hub.loop.is_closed():
        return
    try:
        hub.loop.call_soon_threadsafe(hub.poke, account_pk)
    except RuntimeError:  # the loop closed meanwhile
        pass


@asynccontextmanager
async def feed_subscribe(
    *, accounts: Mapping[int, str], coalesce: float = COALESCE_SECONDS
) -> AsyncIterator[ChangeSubscription]:
    """Subscribe to the changes of `accounts` (Account pk -> accountId).

    Every change committed after this returns is delivered (RFC 8620 §7:
    some may be coalesced, none silently skipped while the process is up).
    """
    hub = hub_get()
    subscription = ChangeSubscription(hub=hub, accounts=accounts, coalesce=coalesce)
    try:
        await hub.add(subscription)
        yield subscription
    finally:
        hub.remove(subscription)


async def account_changes(*, accounts: Mapping[int, str]) -> AsyncIterator[StateChange]:
    """The StateChanges of `accounts`, forever (close the generator to stop)."""
    async with feed_subscribe(accounts=accounts) as subscription:
        while True:
            yield await subscription.next()
