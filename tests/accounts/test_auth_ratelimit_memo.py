"""The per-process memo of failure counters far from every limit (accounts.ratelimit).

alice's client sends Basic credentials with every request; reading the shared
counters each time was a cache round trip per request. Once they were read
far from the limits, the next checks are answered from memory, for at most
CLEAR_MEMO_USES checks (and CLEAR_MEMO_SECONDS); a failure this process counts
is seen at once; counters near a limit are read every time. The memo spares
only that read: mallory's guesses are still judged by the shared counters
before any password check, whatever the memo says.
"""
from __future__ import annotations

import base64
import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings

from accounts import ratelimit
from accounts.auth import AuthenticationFailed, authenticate_request
from accounts.ratelimit import (
    CLEAR_MEMO_USES,
    _clear_memo_remember,
    _key,
    attempt_count,
    clear_memo_forget,
    failure_record,
    failures_blocked,
)
from tests.personas import Persona

PER_LOGIN = 10
PER_ADDRESS = 30
WINDOW = 300
ALICE_ADDRESS = "192.0.2.31"
MALLORY_ADDRESS = "192.0.2.66"


@pytest.fixture(autouse=True)
def default_limits(settings: Settings, clean_cache: None) -> None:
    settings.JMAP_AUTH_WINDOW = WINDOW
    settings.JMAP_AUTH_MAX_FAILURES_PER_LOGIN = PER_LOGIN
    settings.JMAP_AUTH_MAX_FAILURES_PER_ADDRESS = PER_ADDRESS
    clear_memo_forget()


def _cache_reads(login: str, address: str, times: int) -> tuple[list[int | None], int]:
    """`times` checks of alice's counters: their answers and the queries they cost."""
    with CaptureQueriesContext(connection) as queries:
        answers = [failures_blocked(address=address, login=login) for _ in range(times)]
    return answers, len(queries.captured_queries)


def test_clear_counters_are_read_once_for_many_checks(alice: Persona) -> None:
    answers, reads = _cache_reads(alice.login, ALICE_ADDRESS, 10)
    assert answers == [None] * 10
    assert reads == 1  # the first check's get_many; the other nine from memory


def test_a_failure_counted_here_is_seen_at_once(alice: Persona) -> None:
    assert failures_blocked(address=MALLORY_ADDRESS, login=alice.login) is None
    for _ in range(PER_LOGIN):
        failure_record(address=MALLORY_ADDRESS, login=alice.login)
    assert failures_blocked(address=MALLORY_ADDRESS, login=alice.login) is not None
    # alice's own clean address is still let through (the login limit binds failing addresses only).
    assert failures_blocked(address=ALICE_ADDRESS, login=alice.login) is None


def test_counters_near_a_limit_are_read_every_time(alice: Persona) -> None:
    for index in range(PER_LOGIN // 2 + 1):  # past half the login's limit, from other addresses
        failure_record(address=f"198.51.100.{index + 1}", login=alice.login)
    answers, reads = _cache_reads(alice.login, ALICE_ADDRESS, 5)
    assert answers == [None] * 5
    assert reads == 5


def test_failures_counted_elsewhere_are_seen_within_the_memo_bound(alice: Persona) -> None:
    """Another process's failures (written to the shared cache directly) are seen after
    at most CLEAR_MEMO_USES checks answered from memory."""
    assert failures_blocked(address=MALLORY_ADDRESS, login=alice.login) is None
    number = int(time.time() // WINDOW)
    cache.set(_key("addr", MALLORY_ADDRESS, number), PER_ADDRESS, timeout=WINDOW * 2)
    answers = [failures_blocked(address=MALLORY_ADDRESS, login=alice.login) for _ in range(CLEAR_MEMO_USES + 1)]
    assert answers[:CLEAR_MEMO_USES] == [None] * CLEAR_MEMO_USES
    assert answers[CLEAR_MEMO_USES] is not None


def test_an_expired_memo_reads_the_counters_again(alice: Persona, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "CLEAR_MEMO_SECONDS", 0.0)
    assert failures_blocked(address=MALLORY_ADDRESS, login=alice.login) is None
    number = int(time.time() // WINDOW)
    cache.set(_key("addr", MALLORY_ADDRESS, number), PER_ADDRESS, timeout=WINDOW * 2)
    assert failures_blocked(address=MALLORY_ADDRESS, login=alice.login) is not None


def _basic_status(login: str, password: str, address: str) -> int:
    """What authenticate_request answers a Basic login from `address` (200 when it succeeds)."""
    value = base64.b64encode(f"{login}:{password}".encode()).decode()
    try:
        authenticate_request(RequestFactory().get("/jmap/session", HTTP_AUTHORIZATION=f"Basic {value}",
                                                  REMOTE_ADDR=address))
    except AuthenticationFailed as exc:
        return exc.status
    return 200


def test_guesses_are_gated_by_the_shared_counters_whatever_the_memo_says(alice: Persona) -> None:
    """mallory's address is clear in this process's memo; other processes then count it past its
    limit. Her next guess is refused (429) before its password is checked, not answered 401."""
    assert failures_blocked(address=MALLORY_ADDRESS, login=alice.login) is None  # remembered as clear
    number = int(time.time() // WINDOW)
    cache.set(_key("addr", MALLORY_ADDRESS, number), PER_ADDRESS, timeout=WINDOW * 2)
    assert [_basic_status(alice.login, f"guess-{n}", MALLORY_ADDRESS) for n in range(3)] == [429] * 3
    # Refusals are not counted: the address holds what the other processes counted.
    assert cache.get(_key("addr", MALLORY_ADDRESS, number)) == PER_ADDRESS
    # alice, from her own clean address, still logs in.
    assert _basic_status(alice.login, alice.password, ALICE_ADDRESS) == 200


def test_a_login_under_attack_elsewhere_gets_no_extra_guess_from_the_memo(alice: Persona) -> None:
    """The login's limit reached by other processes: an address remembered as clear still has
    its password checked (the owner is never locked out), each check counted as before."""
    assert failures_blocked(address=MALLORY_ADDRESS, login=alice.login) is None
    number = int(time.time() // WINDOW)
    cache.set(_key("login", alice.login.lower(), number), PER_LOGIN, timeout=WINDOW * 2)
    assert _basic_status(alice.login, "guess-1", MALLORY_ADDRESS) == 401
    # That failure made this address one that failed for alice: refused from now on, memo or not.
    assert _basic_status(alice.login, "guess-2", MALLORY_ADDRESS) == 429
    assert _basic_status(alice.login, alice.password, MALLORY_ADDRESS) == 429


def test_counters_read_across_a_counted_attempt_are_not_remembered(alice: Persona) -> None:
    """A check that read the counters before an attempt was counted (another thread's guess
    racing it) must not keep that stale verdict: the attempt voids it."""
    generation = ratelimit._clear_memo_generation  # a check starts reading the counters here...
    attempt_count(address=MALLORY_ADDRESS, login=alice.login)  # ...mallory's guess is counted...
    key = (MALLORY_ADDRESS, alice.login.lower(), ratelimit.limits())
    _clear_memo_remember(key, generation=generation)  # ...and the check would remember what it read
    assert key not in ratelimit._clear_memo
    # Read afresh, the counted attempt is seen: a failure of this address for alice.
    _, reads = _cache_reads(alice.login, MALLORY_ADDRESS, 2)
    assert reads == 2
