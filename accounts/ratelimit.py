"""Counting failed logins per client address and per login, across processes.

Counters live in the Django cache (DatabaseCache in the embedded setup, Redis
with REDIS_URL), so every web process sees the same numbers. Each counter covers
one clock-aligned window (the key carries the window number, so counters never
need resetting and stale ones simply expire); a check weighs the current and the
previous window, which approximates a sliding window.

Limits (overridable in Django settings, e.g. for tests):
- JMAP_AUTH_WINDOW (seconds, default 300);
- JMAP_AUTH_MAX_FAILURES_PER_LOGIN (default 10);
- JMAP_AUTH_MAX_FAILURES_PER_ADDRESS (default 30).

Logins are hashed into the cache key: a key never carries user input verbatim.
With DatabaseCache the increment is not atomic, so two simultaneous failures may
count once; the limit is approximate there, exact with Redis.
"""
from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

_KEY_PREFIX = "jmap:authfail"


@dataclass(frozen=True)
class Limits:
    window: int
    per_login: int
    per_address: int


def limits() -> Limits:
    return Limits(
        window=int(getattr(settings, "JMAP_AUTH_WINDOW", 300)),
        per_login=int(getattr(settings, "JMAP_AUTH_MAX_FAILURES_PER_LOGIN", 10)),
        per_address=int(getattr(settings, "JMAP_AUTH_MAX_FAILURES_PER_ADDRESS", 30)),
    )


def client_address(request: HttpRequest) -> str:
    """The client's IP address.

    REMOTE_ADDR, unless the peer is a loopback or private address (the reverse
    proxy the README puts in front) and sent X-Forwarded-For: then the rightmost
    valid address in that header, the one our own proxy appended. A client on the
    internet cannot choose it. Returns "" when no address is known.
    """
    remote = str(request.META.get("REMOTE_ADDR") or "")
    try:
        peer = ipaddress.ip_address(remote)
    except ValueError:
        return ""
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    if forwarded and (peer.is_loopback or peer.is_private):
        for candidate in reversed(forwarded.split(",")):
            try:
                return str(ipaddress.ip_address(candidate.strip()))
            except ValueError:
                continue
    return str(peer)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _key(kind: str, value: str, number: int) -> str:
    return f"{_KEY_PREFIX}:{kind}:{_digest(value)}:{number}"


def _count(key: str) -> int:
    return int(cache.get(key, 0) or 0)


def _wait(
    kind: str, value: str, limit: int, length: int, now: float, *, counts: dict[str, int] | None = None
) -> int | None:
    """Seconds until (kind, value) is under ``limit`` again, or None if it is now.

    Sliding-window estimate: this window's count plus the previous window's,
    weighted by how much of it still overlaps the last ``length`` seconds. This
    avoids both a doubled burst across a boundary and a block that ends one
    second after it started. ``counts`` are counters already read (by key);
    a key missing there is read from the cache.
    """
    number = int(now // length)
    current_key, previous_key = _key(kind, value, number), _key(kind, value, number - 1)
    if counts is None:
        counts = {}
    current = counts[current_key] if current_key in counts else _count(current_key)
    previous = counts[previous_key] if previous_key in counts else _count(previous_key)
    elapsed = (now - number * length) / length
    if current + previous * (1 - elapsed) < limit:
        return None
    until: float
    if current >= limit:
        until = (number + 1) * length
    else:  # the previous window's share must fade until the estimate drops below the limit
        until = number * length + length * (1 - (limit - current) / previous)
    return max(1, math.ceil(until - now))


def failures_blocked(*, address: str, login: str | None) -> int | None:
    """Seconds to wait if this address or login is over its limit, else None.

    Runs before every password check, successful or not, so it costs one cache
    round trip: all (up to four) counters are read with one get_many.
    """
    current = limits()
    now = time.time()
    number = int(now // current.window)
    checks: list[tuple[str, str, int]] = []
    if address:
        checks.append(("addr", address, current.per_address))
    if login is not None:
        checks.append(("login", login.lower(), current.per_login))
    if not checks:
        return None
    keys = [_key(kind, value, n) for kind, value, _ in checks for n in (number, number - 1)]
    found = cache.get_many(keys)
    counts = {key: int(found.get(key, 0) or 0) for key in keys}
    waits = [_wait(kind, value, limit, current.window, now, counts=counts) for kind, value, limit in checks]
    blocked = [wait for wait in waits if wait is not None]
    return max(blocked) if blocked else None


def failure_record(*, address: str, login: str | None) -> None:
    """Count one failed login for the address and (if given) the login."""
    length = limits().window
    number = int(time.time() // length)
    timeout = length * 2
    keys = [_key("login", login.lower(), number)] if login is not None else []
    if address:
        keys.append(_key("addr", address, number))
    for key in keys:
        if not cache.add(key, 1, timeout=timeout):
            try:
                cache.incr(key)
            except ValueError:  # expired between add() and incr()
                cache.add(key, 1, timeout=timeout)
