"""Per-pool concurrency slots (RFC 8620 §2: maxConcurrentRequests,
maxConcurrentUpload), exact in every deployment mode.

Two implementations behind one pair of functions, chosen by the Django setting
JMAP_CONCURRENCY_SLOTS (jmapsite/settings.py derives it from the mode):

- "cache" (scale-out: any number of web processes): a pool has `limit`
  numbered slots per scope, each a key in the shared Django cache (Redis).
  Taking a slot is `cache.add` (atomic: SET NX on Redis, a unique insert in the
  database cache), so two processes never hold the same slot. Every slot
  expires after SLOT_TTL seconds: a process that dies while holding one cannot
  keep it forever. A counter (add + incr) would be simpler, but the database
  cache's incr is a read-modify-write that is not atomic across processes and
  resets the expiry on every increment, so a crashed process's count could
  linger; slots have neither problem.
- "local" (embedded: exactly one web process): the same numbered slots in a
  dictionary behind a lock, shared by every thread and by the event loop of the
  process. Exact there, costs no database round trip (with the database cache
  each request paid two write transactions on SQLite), and a process that dies
  takes its slots with it, so nothing needs to expire.
"""
from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.core.cache import caches

# Longer than any sane request; a slot outliving its request is only possible
# when the process died, and then it frees itself after this long.
SLOT_TTL = 180

LOCAL = "local"
CACHE = "cache"


@dataclass(frozen=True)
class Slot:
    """A held slot; give it back with slot_release.

    `key` names the slot (a cache key for the "cache" implementation), `owner`
    is random per acquisition so that a late release never frees somebody
    else's slot.
    """

    key: str
    owner: str
    kind: str = CACHE


def _slot_key(scope: str, pool_id: int, index: int) -> str:
    return f"jmap:slot:{scope}:{pool_id}:{index}"


class SlotStore(Protocol):
    kind: str

    def acquire(self, *, scope: str, pool_id: int, limit: int) -> Slot | None: ...

    def release(self, *, slot: Slot) -> None: ...

    def renew(self, *, slot: Slot) -> None: ...


class CacheSlots:
    """Slots in a Django cache shared by every process (exact with Redis)."""

    kind = CACHE

    def __init__(self, cache: Any = None) -> None:
        # None: the "default" cache, looked up at each use (tests swap caches).
        self._cache = cache

    @property
    def cache(self) -> Any:
        return self._cache if self._cache is not None else caches["default"]

    def acquire(self, *, scope: str, pool_id: int, limit: int) -> Slot | None:
        owner = secrets.token_hex(8)
        # Start at a random slot so that concurrent requests rarely race for the same key.
        start = secrets.randbelow(limit) if limit > 0 else 0
        cache = self.cache
        for offset in range(limit):
            key = _slot_key(scope, pool_id, (start + offset) % limit)
            # SLOT_TTL is read at call time: tests shorten it.
            if cache.add(key, owner, timeout=SLOT_TTL):
                return Slot(key=key, owner=owner, kind=CACHE)
        return None

    def release(self, *, slot: Slot) -> None:
        cache = self.cache
        if cache.get(slot.key) == slot.owner:
            cache.delete(slot.key)

    def renew(self, *, slot: Slot) -> None:
        self.cache.touch(slot.key, SLOT_TTL)


class LocalSlots:
    """Slots in this process's memory: exact when only one process serves the API.

    A plain threading.Lock guards a dict; the critical sections are a few
    dictionary operations, so holding it from the event loop thread is fine.
    """

    kind = LOCAL

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, str] = {}

    def acquire(self, *, scope: str, pool_id: int, limit: int) -> Slot | None:
        owner = secrets.token_hex(8)
        with self._lock:
            for index in range(limit):
                key = _slot_key(scope, pool_id, index)
                if key not in self._held:
                    self._held[key] = owner
                    return Slot(key=key, owner=owner, kind=LOCAL)
        return None

    def release(self, *, slot: Slot) -> None:
        with self._lock:
            if self._held.get(slot.key) == slot.owner:
                del self._held[slot.key]

    def renew(self, *, slot: Slot) -> None:
        """Nothing to do: local slots do not expire."""

    def held(self) -> int:
        """How many slots are held now (for tests and debugging)."""
        with self._lock:
            return len(self._held)

    def clear(self) -> None:
        """Forget every slot (tests: the process outlives each test's database)."""
        with self._lock:
            self._held.clear()


_STORES: dict[str, SlotStore] = {CACHE: CacheSlots(), LOCAL: LocalSlots()}


def slot_store(kind: str | None = None) -> SlotStore:
    """The implementation named by `kind`, by default the configured one."""
    if kind is None:
        kind = str(getattr(settings, "JMAP_CONCURRENCY_SLOTS", CACHE))
    try:
        return _STORES[kind]
    except KeyError:
        raise ValueError(f"JMAP_CONCURRENCY_SLOTS must be {LOCAL!r} or {CACHE!r}, not {kind!r}") from None


def slot_acquire(*, scope: str, pool_id: int, limit: int) -> Slot | None:
    """Take one of the pool's `limit` slots in `scope`, or None when all are held."""
    return slot_store().acquire(scope=scope, pool_id=pool_id, limit=limit)


def slot_release(*, slot: Slot) -> None:
    """Give a slot back, unless it already expired and someone else took it."""
    slot_store(slot.kind).release(slot=slot)


def slot_renew(*, slot: Slot) -> None:
    """Push back the expiry of a slot held for a long time (a long upload)."""
    slot_store(slot.kind).renew(slot=slot)


@contextmanager
def request_slot(*, pool_id: int) -> Iterator[None]:
    """Hold one of the pool's maxConcurrentRequests API slots (RFC 8620 §2) for
    the block; RequestError "limit" (429) when all are taken. Used by the HTTP
    API and the WebSocket alike, so both count against one limit."""
    from jmapcore.limits import LIMITS
    from jmapcore.protocol.errors import RequestError

    slot = slot_acquire(scope="api", pool_id=pool_id, limit=LIMITS.maxConcurrentRequests)
    if slot is None:
        raise RequestError(
            "limit",
            f"more than {LIMITS.maxConcurrentRequests} concurrent requests for this login",
            limit="maxConcurrentRequests",
            status=429,
        )
    try:
        yield
    finally:
        slot_release(slot=slot)
