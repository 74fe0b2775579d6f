"""Counting failed logins per client address and per login, across processes.

Two limits, of different strength, so that they cannot be turned against a user:

- per client address (JMAP_AUTH_MAX_FAILURES_PER_ADDRESS): past it the address
  is blocked (429) whatever login and password it sends -- it is the
  attacker's own address;
- per login (JMAP_AUTH_MAX_FAILURES_PER_LOGIN): past it the login is "under
  attack", which only slows guessing down: an address that has itself failed
  for that login in the window is refused (429), but an address without
  failures for it still has its password checked. A guesser then needs a fresh
  address for every further guess (each of which also counts against that
  address), while the owner, logging in from her usual address with the right
  password, is never locked out by someone else's failures.

The client address is jmapsite.client_address's (X-Forwarded-For only from
JMAP_TRUSTED_PROXIES), so a client cannot pick a fresh address per request by
writing a header.

Counters live in the Django cache (DatabaseCache in the embedded setup, Redis
with REDIS_URL), so every web process sees the same numbers. Each counter covers
one clock-aligned window (the key carries the window number, so counters never
need resetting and stale ones simply expire); a check weighs the current and the
previous window, which approximates a sliding window.

Limits (overridable in Django settings, e.g. for tests):
- JMAP_AUTH_WINDOW (seconds, default 300);
- JMAP_AUTH_MAX_FAILURES_PER_LOGIN (default 10);
- JMAP_AUTH_MAX_FAILURES_PER_ADDRESS (default 30).

A password check is counted as a failure before it runs (attempt_count) and
un-counted if it succeeds, so guesses sent together cannot all slip through
between reading the counters and recording their failures.

Reading the counters before every password login (failures_blocked) is a
cache round trip on every Basic-authenticated request -- most of them answered
from the password memo without any password check. So each process remembers,
for CLEAR_MEMO_SECONDS and at most CLEAR_MEMO_USES checks, that an
(address, login) was far from every limit (each sliding estimate at most half
of its limit, no failure of that address for that login): the checks in
between are answered from memory. Anything nearer a limit is read from the
cache every time, and any attempt this process counts forgets the memo at
once (and voids a read that overlapped it: a generation number); failures
counted by other processes are seen at the latest CLEAR_MEMO_SECONDS or
CLEAR_MEMO_USES checks later.

Why this lets no guess through: the memo only spares failures_blocked's read.
attempt_count, the gate before every password check, always increments and
reads the shared counters and judges the attempt by them, so however many
processes hold a memo, no more passwords are checked than the limits allow.
What a memo can delay, by at most its bound, is the 429 of a request that
needs no password check at all (its password is the one accounts.password_memo
verified moments ago) from an address other processes have just blocked.

Logins are hashed into the cache key: a key never carries user input verbatim.
With DatabaseCache the increment is not atomic, so two simultaneous failures may
count once; the limit is approximate there, exact with Redis.
"""
from __future__ import annotations

import hashlib
import ipaddress
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

_KEY_PREFIX = "jmap:authfail"
# How long, and for how many checks, a process trusts counters it read far from every limit (module doc).
CLEAR_MEMO_SECONDS = 2.0
CLEAR_MEMO_USES = 64
_CLEAR_MEMO_MAX = 4096
_clear_memo: OrderedDict[tuple[str, str | None, Limits], tuple[float, int]] = OrderedDict()
_clear_memo_lock = threading.Lock()
# Bumped by every forget: counters read before a forget are never remembered after it.
_clear_memo_generation = 0


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


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _key(kind: str, value: str, number: int) -> str:
    return f"{_KEY_PREFIX}:{kind}:{_digest(value)}:{number}"


def _count(key: str) -> int:
    return int(cache.get(key, 0) or 0)


def _sliding_estimate(current: int, previous: int, *, now: float, number: int, length: int) -> float:
    """Failures in the last `length` seconds, estimated: window `number`'s count plus the previous
    window's, weighted by how much of it still overlaps them (_wait)."""
    return current + previous * (1 - (now - number * length) / length)


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
    if _sliding_estimate(current, previous, now=now, number=number, length=length) < limit:
        return None
    until: float
    if current >= limit:
        until = (number + 1) * length
    else:  # the previous window's share must fade until the estimate drops below the limit
        until = number * length + length * (1 - (limit - current) / previous)
    return max(1, math.ceil(until - now))


def _address_bucket(address: str) -> str:
    """What one client is, for counting: an IPv4 address, or the /64 of an IPv6
    one (a single host usually holds a whole /64, so counting its addresses one
    by one would give an attacker 2^64 fresh starts)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _pair(login: str, address: str) -> str:
    return f"{login}\n{address}"


def _checks(*, address: str, login: str | None, current: Limits | None = None) -> list[tuple[str, str, int]]:
    """(kind, value, limit) of every counter that applies to an attempt (under `current` limits)."""
    if current is None:
        current = limits()
    checks: list[tuple[str, str, int]] = []
    if address:
        checks.append(("addr", address, current.per_address))
    if login is not None:
        checks.append(("login", login, current.per_login))
        if address:
            # "Has this address failed for this login?": a limit of one failure.
            checks.append(("pair", _pair(login, address), 1))
    return checks


def _blocked(
    checks: list[tuple[str, str, int]], counts: dict[str, int], now: float, *, length: int | None = None
) -> int | None:
    """The wait that `counts` impose on an attempt (see failures_blocked), or None."""
    if length is None:
        length = limits().window
    waits = {kind: _wait(kind, value, limit, length, now, counts=counts) for kind, value, limit in checks}
    blocked: list[int] = []
    address_wait, login_wait = waits.get("addr"), waits.get("login")
    if address_wait is not None:
        blocked.append(address_wait)
    if login_wait is not None and ("pair" not in waits or waits["pair"] is not None):
        blocked.append(login_wait)
    return max(blocked) if blocked else None


def _normalised(address: str, login: str | None) -> tuple[str, str | None]:
    return (_address_bucket(address) if address else address), (login.lower() if login is not None else None)


def failures_blocked(*, address: str, login: str | None) -> int | None:
    """Seconds to wait before this attempt may be checked, or None if it may now.

    Blocked when the address is over its limit, or when the login is over its
    limit and this address has failed for this login itself (or is unknown:
    then nothing distinguishes it from the attacker). See the module doc.

    Runs before every password check, successful or not, so it costs at most one
    cache round trip: all (up to six) counters are read with one get_many, and
    none while this process's memo of an (address, login) far from every limit
    holds (module doc).
    """
    now = time.time()
    current = limits()  # read once: settings lookups are a measurable share of this per-request check
    number = int(now // current.window)
    address, folded = _normalised(address, login)
    checks = _checks(address=address, login=folded, current=current)
    if not checks:
        return None
    memo_key = (address, folded, current)
    if _clear_memo_use(memo_key):
        return None
    generation = _clear_memo_generation  # before the read: a failure counted meanwhile voids it
    keys = [_key(kind, value, n) for kind, value, _ in checks for n in (number, number - 1)]
    found = cache.get_many(keys)
    counts = {key: int(found.get(key, 0) or 0) for key in keys}
    blocked = _blocked(checks, counts, now, length=current.window)
    if blocked is None and _far_from_limits(checks, counts, now, number=number, length=current.window):
        _clear_memo_remember(memo_key, generation=generation)
    return blocked


def _far_from_limits(
    checks: list[tuple[str, str, int]], counts: dict[str, int], now: float, *, number: int, length: int
) -> bool:
    """Every sliding estimate at most half its limit, and no failure of this address for this login."""
    for kind, value, limit in checks:
        estimate = _sliding_estimate(counts[_key(kind, value, number)], counts[_key(kind, value, number - 1)],
                                     now=now, number=number, length=length)  # fmt: skip
        if estimate > (0 if kind == "pair" else limit / 2):
            return False
    return True


def _clear_memo_use(key: tuple[str, str | None, Limits]) -> bool:
    """Whether `key` was found far from its limits lately (and may skip the cache read once more)."""
    with _clear_memo_lock:
        entry = _clear_memo.get(key)
        if entry is None:
            return False
        until, uses = entry
        if until < time.monotonic() or uses <= 0:
            del _clear_memo[key]
            return False
        _clear_memo[key] = (until, uses - 1)
        return True


def _clear_memo_remember(key: tuple[str, str | None, Limits], *, generation: int) -> None:
    """Remember `key` as far from its limits, unless a forget ran since its counters were read
    (`generation` read before them): those counters may predate a failure."""
    with _clear_memo_lock:
        if generation != _clear_memo_generation:
            return
        _clear_memo[key] = (time.monotonic() + CLEAR_MEMO_SECONDS, CLEAR_MEMO_USES)
        _clear_memo.move_to_end(key)
        while len(_clear_memo) > _CLEAR_MEMO_MAX:
            _clear_memo.popitem(last=False)


def clear_memo_forget() -> None:
    """Forget every remembered far-from-limits verdict (a failure was counted; tests)."""
    global _clear_memo_generation
    with _clear_memo_lock:
        _clear_memo_generation += 1
        _clear_memo.clear()


def _incr(key: str, timeout: int) -> int:
    """Add one to a counter and return its new value (atomic with Redis)."""
    if cache.add(key, 1, timeout=timeout):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=timeout)
        return 1


def failure_record(*, address: str, login: str | None) -> None:
    """Count one failed login for the address, the login and the pair of both."""
    clear_memo_forget()
    length = limits().window
    number = int(time.time() // length)
    address, folded = _normalised(address, login)
    for kind, value, _ in _checks(address=address, login=folded):
        _incr(_key(kind, value, number), length * 2)


@dataclass(frozen=True)
class Attempt:
    """A password attempt counted as a failure before its password is checked.

    `keys` are the counters it raised; `retry_after` is set when the attempts
    counted before it had already used the limits up (then it was un-counted
    again and must be refused without a check).
    """

    keys: tuple[str, ...]
    retry_after: int | None


def attempt_count(*, address: str, login: str | None) -> Attempt:
    """Count an attempt as a failure up front, then see whether it may be checked.

    failures_blocked reads the counters before a password check that takes a
    PBKDF2's time; guesses sent at once would all read the same counts and all
    be checked. Counting first closes that gap: each attempt takes its own
    number from the counters (INCR, atomic with Redis) and is judged by the
    attempts counted before it, so no more guesses than the limits allow reach
    the password check, however many arrive together. A refused attempt is
    un-counted (refusals never counted), and a success is un-counted by
    attempt_succeeded, so the counters still count failures only.
    """
    # Counted as a failure until it succeeds: checks answered from memory must see it.
    clear_memo_forget()
    length = limits().window
    now = time.time()
    number = int(now // length)
    address, folded = _normalised(address, login)
    checks = _checks(address=address, login=folded)
    if not checks:
        return Attempt(keys=(), retry_after=None)
    current_keys = [_key(kind, value, number) for kind, value, _ in checks]
    counts = {key: _incr(key, length * 2) - 1 for key in current_keys}
    # Again once counted: a check that read the counters between the first forget and the
    # increments (and found them clear) must not be remembered.
    clear_memo_forget()
    previous_keys = [_key(kind, value, number - 1) for kind, value, _ in checks]
    found = cache.get_many(previous_keys)
    counts.update({key: int(found.get(key, 0) or 0) for key in previous_keys})
    retry_after = _blocked(checks, counts, now)
    attempt = Attempt(keys=tuple(current_keys), retry_after=retry_after)
    if retry_after is not None:
        _uncount(attempt)
    return attempt


def _uncount(attempt: Attempt) -> None:
    for key in attempt.keys:
        try:
            cache.decr(key)
        except ValueError:  # the counter expired meanwhile: nothing left to take back
            pass


def attempt_succeeded(attempt: Attempt) -> None:
    """Take back the failure attempt_count counted: the password was right."""
    _uncount(attempt)
