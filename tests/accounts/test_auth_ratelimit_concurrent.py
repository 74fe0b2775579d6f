"""Guesses sent at once cannot all pass the failed-login limits
(accounts.ratelimit.attempt_count): each attempt is counted before its slow
password check and judged by the attempts counted before it, so no more than
the limit reach the check. Run on Redis, the cache of scale-out, where the
counter's INCR is atomic across processes (threads stand in for them)."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache
from pytest_django.fixtures import Settings

from accounts.ratelimit import Attempt, _key, attempt_count, attempt_succeeded

LIMIT = 5
GUESSES = 12
WINDOW = 300


@pytest.fixture
def redis_counters(settings: Settings, redis_url: str, db: None) -> Iterator[None]:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    settings.JMAP_AUTH_WINDOW = WINDOW
    settings.JMAP_AUTH_MAX_FAILURES_PER_ADDRESS = LIMIT
    settings.JMAP_AUTH_MAX_FAILURES_PER_LOGIN = LIMIT
    cache.clear()
    yield
    cache.clear()


def _together(guess: object, count: int) -> list[Attempt]:
    barrier = threading.Barrier(count)

    def one(index: int) -> Attempt:
        barrier.wait(timeout=30)
        return guess(index)  # type: ignore[operator]

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_mallory_sending_guesses_at_once_gets_only_the_limit_checked(redis_counters: None) -> None:
    # mallory tries twelve logins from one address at the same instant: the address limit is five.
    attempts = _together(lambda i: attempt_count(address="192.0.2.90", login=f"victim{i}@example.test"), GUESSES)
    checked = [attempt for attempt in attempts if attempt.retry_after is None]
    assert len(checked) == LIMIT
    refused = [attempt for attempt in attempts if attempt.retry_after is not None]
    assert all(1 <= (attempt.retry_after or 0) <= WINDOW for attempt in refused)
    # Refused attempts were un-counted: the address holds exactly the five that were checked.
    number = int(time.time() // WINDOW)
    assert int(cache.get(_key("addr", "192.0.2.90", number)) or 0) == LIMIT


def test_one_login_guessed_at_once_gets_only_the_login_limit_checked(
    redis_counters: None, settings: Settings
) -> None:
    # Twelve simultaneous guesses for alice from one address, whose own limit is out of the way.
    settings.JMAP_AUTH_MAX_FAILURES_PER_ADDRESS = 100
    attempts = _together(lambda _: attempt_count(address="192.0.2.91", login="alice@example.test"), GUESSES)
    assert sum(attempt.retry_after is None for attempt in attempts) == LIMIT


def test_a_success_takes_its_count_back(redis_counters: None) -> None:
    number = int(time.time() // WINDOW)
    attempt = attempt_count(address="192.0.2.92", login="alice@example.test")
    assert attempt.retry_after is None
    assert int(cache.get(_key("addr", "192.0.2.92", number)) or 0) == 1
    attempt_succeeded(attempt)
    assert int(cache.get(_key("addr", "192.0.2.92", number)) or 0) == 0
    assert int(cache.get(_key("login", "alice@example.test", number)) or 0) == 0
