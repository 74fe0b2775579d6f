"""Per-pool concurrency slots shared by every web process (RFC 8620 §2:
maxConcurrentRequests, maxConcurrentUpload).

A pool has `limit` numbered slots per scope, each a Django cache key. Taking a
slot is `cache.add` (atomic: SET NX on Redis, a unique insert in the database
cache), so two processes never hold the same slot. Every slot expires after
SLOT_TTL seconds: a process that dies while holding one cannot keep it
forever. A counter (add + incr) would be simpler but the database cache's incr
is a read-modify-write that is not atomic across processes and resets the
expiry on every increment, so a crashed process's count could linger; slots
have neither problem.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.core.cache import cache

# Longer than any sane request; a slot outliving its request is only possible
# when the process died, and then it frees itself after this long.
SLOT_TTL = 180


@dataclass(frozen=True)
class Slot:
    """A held slot; give it back with slot_release."""

    key: str
    owner: str


def _slot_key(scope: str, pool_id: int, index: int) -> str:
    return f"jmap:slot:{scope}:{pool_id}:{index}"


def slot_acquire(*, scope: str, pool_id: int, limit: int) -> Slot | None:
    """Take one of the pool's `limit` slots in `scope`, or None when all are held."""
    owner = secrets.token_hex(8)
    # Start at a random slot so that concurrent requests rarely race for the same key.
    start = secrets.randbelow(limit) if limit > 0 else 0
    for offset in range(limit):
        key = _slot_key(scope, pool_id, (start + offset) % limit)
        if cache.add(key, owner, timeout=SLOT_TTL):
            return Slot(key=key, owner=owner)
    return None


def slot_release(*, slot: Slot) -> None:
    """Give a slot back, unless it already expired and someone else took it."""
    if cache.get(slot.key) == slot.owner:
        cache.delete(slot.key)
