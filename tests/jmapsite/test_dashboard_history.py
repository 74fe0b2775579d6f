"""The dashboard's last hour (jmapsite.dashboard_history): real requests
counted per minute, the lag sampled once per minute whichever process comes
first, both series bounded, gaps left as gaps, the hook-ups to Django's
requests and Celery's tasks, and the same store on Redis (scale-out)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from jmapsite.celery import app as celery_app
from jmapsite.dashboard_history import (
    HISTORY_MINUTES,
    KEY_SECONDS,
    LAG_PREFIX,
    REQUESTS_PREFIX,
    SAMPLER,
    MinuteSampler,
    dashboard_history_read,
    dashboard_lag_record,
    dashboard_requests_add,
    minute_of,
)
from tests.jmapsite.dashboard_fleet import fleet_make
from tests.servers.redis import RedisServer

# A fixed hour long ago: keys of these minutes cannot collide with what the
# process's own sampler writes for the real current minute.
T0 = 1_700_000_000 // 60 * 60.0


@pytest.fixture
def empty_cache(db: None) -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def dashboard_rows(prefix: str) -> int:
    """Rows of the database cache holding keys of this series (expired or not)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM jmap_cache WHERE cache_key LIKE %s", [f"%{prefix}%"])
        return int(cursor.fetchone()[0])


def test_real_requests_are_counted_in_their_minute(empty_cache: None, jmap_client: Client) -> None:
    sampler = MinuteSampler()
    sampler.tick(now=T0 + 5)  # the baseline
    for _ in range(3):
        jmap_client.get("/.well-known/jmap")  # counted as jmap_http_requests{endpoint="well-known"}
    assert sampler.pending(now=T0 + 30) == 3
    sampler.tick(now=T0 + 65)  # the first request of the next minute adds them
    assert cache.get(f"{REQUESTS_PREFIX}{minute_of(T0)}") == 3
    jmap_client.get("/.well-known/jmap")
    history = dashboard_history_read(now=T0 + 90, minutes=3)
    assert history.minutes == [minute_of(T0) - 1, minute_of(T0), minute_of(T0) + 1]
    # Nothing sampled before T0; 3 in T0's minute; the next one has the lag sample of
    # the tick and this process's pending request is not in the shared count yet.
    assert history.requests[:2] == [None, 3]


def test_two_processes_add_up_in_one_minute(empty_cache: None) -> None:
    dashboard_requests_add(minute=minute_of(T0), count=4)
    dashboard_requests_add(minute=minute_of(T0), count=5)
    dashboard_requests_add(minute=minute_of(T0), count=0)
    assert cache.get(f"{REQUESTS_PREFIX}{minute_of(T0)}") == 9


def test_the_current_minute_includes_what_this_process_has_not_added(empty_cache: None, jmap_client: Client) -> None:
    for _attempt in range(3):  # a new minute between the requests adds them to the cache: try again
        SAMPLER.reset()
        jmap_client.get("/.well-known/jmap")  # the tick (baseline) runs before this request is counted
        jmap_client.get("/.well-known/jmap")
        jmap_client.get("/.well-known/jmap")
        now = datetime.now(tz=UTC).timestamp()
        if minute_of(now) == SAMPLER.last_minute:
            break
    assert SAMPLER.pending(now=now) == 3
    assert dashboard_history_read(now=now, minutes=1).requests == [3]


def test_the_lag_is_sampled_once_per_minute(empty_cache: None) -> None:
    fleet = fleet_make(now=timezone.now())
    at = fleet.now
    assert dashboard_lag_record(now=at)
    # The end of the same minute (at + 10 s crossed into the next one when the test ran in a minute's last 10 s).
    assert not dashboard_lag_record(now=at.replace(second=59, microsecond=999_999))  # already there
    worst, median = cache.get(f"{LAG_PREFIX}{minute_of(at.timestamp())}")
    assert worst == pytest.approx(3 * 3600, abs=2)  # mallory: no success for 3 h
    history = dashboard_history_read(now=at.timestamp(), minutes=2)
    assert history.lag_worst[-1] == pytest.approx(worst)
    assert history.lag_median[-1] == pytest.approx(median)
    assert history.lag_worst[0] is None  # the minute before: nobody sampled


def test_both_series_stay_within_the_hour(empty_cache: None) -> None:
    fleet_make(now=timezone.now())
    start = datetime.fromtimestamp(T0, tz=UTC)
    for minute in range(2 * HISTORY_MINUTES + 10):
        dashboard_requests_add(minute=minute_of(T0) + minute, count=1)
        assert dashboard_lag_record(now=start + timedelta(minutes=minute))
    # The hour shown plus the minute being written, whatever the cache keeps expired.
    assert dashboard_rows(LAG_PREFIX) <= HISTORY_MINUTES + 1
    assert dashboard_rows(REQUESTS_PREFIX) <= HISTORY_MINUTES + 1
    history = dashboard_history_read(now=(start + timedelta(minutes=2 * HISTORY_MINUTES + 9)).timestamp())
    assert len(history.requests) == HISTORY_MINUTES
    assert all(value is not None for value in history.lag_worst)


def test_a_management_request_samples_the_lag(empty_cache: None, mgmt_client: Client) -> None:
    fleet_make(now=timezone.now())
    SAMPLER.reset()
    mgmt_client.get("/healthz")
    now = datetime.now(tz=UTC)
    sampled = SAMPLER.last_minute
    assert sampled is not None
    assert minute_of(now.timestamp()) - 1 <= sampled <= minute_of(now.timestamp())
    found = cache.get(f"{LAG_PREFIX}{sampled}")
    assert isinstance(found, list) and len(found) == 2, found


def test_a_finished_task_samples_the_lag(empty_cache: None) -> None:
    """The worker keeps the lag series going when no one uses the web ports."""
    from jmapsite.tasks import blobs_purge_task

    fleet_make(now=timezone.now())
    SAMPLER.reset()
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        blobs_purge_task.delay()
    finally:
        celery_app.conf.task_always_eager = previous
    sampled = SAMPLER.last_minute
    assert sampled is not None
    assert isinstance(cache.get(f"{LAG_PREFIX}{sampled}"), list)


def test_the_store_works_on_redis(redis_server: RedisServer, empty_cache: None) -> None:
    location = redis_server.database_new()
    redis = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}}
    with override_settings(CACHES=redis):
        from django.core.cache import caches

        assert "Redis" in type(caches["default"]).__name__
        fleet_make(now=timezone.now())
        dashboard_requests_add(minute=minute_of(T0), count=4)
        dashboard_requests_add(minute=minute_of(T0), count=5)
        assert dashboard_lag_record(now=datetime.fromtimestamp(T0, tz=UTC))
        history = dashboard_history_read(now=T0, minutes=1)
        assert history.requests == [9]
        assert history.lag_worst[0] is not None
        # The increment kept the key's expiry (a key without one would outlive the hour).
        import redis as redis_client

        raw = redis_client.Redis.from_url(location)
        try:
            assert 0 < int(raw.ttl(f":1:{REQUESTS_PREFIX}{minute_of(T0)}")) <= KEY_SECONDS
        finally:
            raw.close()
