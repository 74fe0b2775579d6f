"""The last hour of the dashboard's chart: requests per minute and sync lag.

Nothing else in the proxy keeps history: Prometheus counters live in each
process's memory (jmapsite.metrics) and the sync lag is computed when asked
(jmapsite.monitoring). So every process samples once a minute, into the Django
cache, which every process shares in both setups (the database cache of the
embedded SQLite mode, Redis in scale-out):

- ``jmap:dashboard:requests:<minute>``: JMAP-port HTTP requests counted during
  that minute (``jmap_http_requests``), summed over all web processes: each
  adds the growth of its own counter since its previous sample;
- ``jmap:dashboard:lag:<minute>``: [worst, median] sync lag in seconds at that
  minute (accounts.sync_state.sync_lag_summary); the first process to sample a
  minute writes it (cache ``add``), the others leave it.

``<minute>`` is the Unix time divided by 60. Each key lives a little over an
hour, and whoever writes a minute's lag deletes the keys of the hour before, so
each series holds at most about 60 entries even in the database cache, which
only drops expired rows when it is full.

A process samples at its first request (Django's ``request_started``) or first
finished Celery task (``task_postrun``: beat keeps the worker busy every few
seconds) of each minute: web processes bring their request counts, the worker
keeps the lag series going when no one uses the web ports. Sampling costs one
cache read and at most three cache writes and two small queries a minute per
process; it never fails a request or a task (a failure is logged, the minute
is missing from the chart).

Why the count of a minute is exact: a web process's counter grows between two
of its samples only through requests it received after the first, and the
second is taken at the first request of a later minute, so (but for requests
still running across the boundary) all of it belongs to the first sample's
minute.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.cache import cache

log = logging.getLogger("jmap.dashboard")

HISTORY_MINUTES = 60
# Keys outlive the hour they are shown for by a margin, then expire by themselves.
KEY_SECONDS = HISTORY_MINUTES * 60 + 600
REQUESTS_PREFIX = "jmap:dashboard:requests:"
LAG_PREFIX = "jmap:dashboard:lag:"


def minute_of(timestamp: float) -> int:
    """The minute (Unix time // 60) that `timestamp` falls in."""
    return int(timestamp // 60)


def requests_counted() -> int:
    """This process's ``jmap_http_requests`` total, over every endpoint label."""
    from jmapsite.metrics import HTTP_REQUESTS

    total = 0.0
    for family in HTTP_REQUESTS.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                total += sample.value
    return int(total)


def dashboard_requests_add(*, minute: int, count: int) -> None:
    """Add `count` requests to `minute`'s bucket (created if absent).

    Redis increments atomically, so any number of web processes may add to the
    same minute. The database cache's increment is a read and a write; the
    embedded setup that uses it has a single web process.
    """
    if count <= 0:
        return
    key = f"{REQUESTS_PREFIX}{minute}"
    if cache.add(key, count, timeout=KEY_SECONDS):
        return
    try:
        cache.incr(key, count)
    except ValueError:
        # The key expired between add and incr: this process is the only writer now.
        cache.add(key, count, timeout=KEY_SECONDS)
        return
    # The database cache's incr re-sets the value with the default timeout.
    cache.touch(key, timeout=KEY_SECONDS)


def dashboard_lag_record(*, now: datetime) -> bool:
    """Record the sync lag of `now`'s minute unless some process did already.

    Returns True when this call wrote it. The writer also deletes the keys of
    the hour before the shown one, which bounds both series (module doc).
    """
    from accounts.sync_state import sync_lag_summary

    minute = minute_of(now.timestamp())
    key = f"{LAG_PREFIX}{minute}"
    if cache.get(key) is not None:
        return False
    summary = sync_lag_summary(now=now)
    value = [summary.worst, summary.median] if summary is not None else []
    if not cache.add(key, value, timeout=KEY_SECONDS):
        return False
    stale = range(minute - 2 * HISTORY_MINUTES, minute - HISTORY_MINUTES)
    cache.delete_many([f"{prefix}{m}" for m in stale for prefix in (REQUESTS_PREFIX, LAG_PREFIX)])
    return True


class MinuteSampler:
    """Once a minute per process: this process's new requests, and the lag.

    `tick()` is called on every request and task; all but the first call of
    a minute return after one comparison.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._minute: int | None = None
        self._counted = 0

    def tick(self, *, now: float) -> None:
        minute = minute_of(now)
        if minute == self._minute:
            return
        with self._lock:
            if minute == self._minute:
                return
            previous, before = self._minute, self._counted
            counted = requests_counted()
            self._minute, self._counted = minute, counted
        try:
            if previous is not None:
                dashboard_requests_add(minute=previous, count=counted - before)
            dashboard_lag_record(now=datetime.fromtimestamp(now, tz=UTC))
        except Exception as exc:
            # The chart misses a point; the request or task must not fail for it.
            log.warning("dashboard sample of minute %s not recorded: %s: %s", minute, type(exc).__name__, exc)

    @property
    def last_minute(self) -> int | None:
        """The minute of this process's last sample (None before the first)."""
        return self._minute

    def reset(self) -> None:
        """Forget the last sample: the next tick only takes a new baseline
        (and records the lag of its minute if no one did)."""
        with self._lock:
            self._minute, self._counted = None, 0

    def pending(self, *, now: float) -> int:
        """Requests this process counted in `now`'s minute and has not added yet."""
        if self._minute != minute_of(now):
            return 0
        return max(0, requests_counted() - self._counted)


SAMPLER = MinuteSampler()


def _on_request_started(sender: object, **kwargs: Any) -> None:
    SAMPLER.tick(now=time.time())


def _on_task_postrun(sender: object = None, **kwargs: Any) -> None:
    SAMPLER.tick(now=time.time())


def dashboard_sampling_connect() -> None:
    """Sample at requests (web processes) and finished tasks (workers); idempotent."""
    from celery.signals import task_postrun
    from django.core.signals import request_started

    request_started.connect(_on_request_started, dispatch_uid="jmap-dashboard-sample")
    task_postrun.connect(_on_task_postrun, dispatch_uid="jmap-dashboard-sample", weak=False)


@dataclass(frozen=True)
class DashboardHistory:
    """One value (or None: no sample) per minute, oldest first, ending at the current minute."""

    minutes: list[int]
    requests: list[int | None]
    lag_worst: list[float | None]
    lag_median: list[float | None]


def dashboard_history_read(
    *, now: float, minutes: int = HISTORY_MINUTES, lag_now: tuple[float, float] | None = None
) -> DashboardHistory:
    """The last `minutes` minutes of both series, in one cache read.

    The current minute's request count is partial: what the web processes
    added so far plus what this process counted and has not added yet.
    `lag_now` (worst, median), when given, is the current minute's lag point:
    the sample of this minute may be almost a minute old (or missing: it was
    taken before the first account existed). A minute without requests reads
    0 when the lag series shows some process was sampling then, None (a gap)
    when nothing sampled at all.
    """
    current = minute_of(now)
    span = list(range(current - minutes + 1, current + 1))
    keys = [f"{prefix}{m}" for m in span for prefix in (REQUESTS_PREFIX, LAG_PREFIX)]
    found = cache.get_many(keys)
    requests: list[int | None] = []
    worst: list[float | None] = []
    median: list[float | None] = []
    for m in span:
        lag = found.get(f"{LAG_PREFIX}{m}")
        count = found.get(f"{REQUESTS_PREFIX}{m}")
        sampled = lag is not None or count is not None
        if m == current:
            count = int(count or 0) + SAMPLER.pending(now=now)
        requests.append(int(count) if count is not None else (0 if sampled else None))
        if m == current and lag_now is not None:
            lag = list(lag_now)
        pair = lag if isinstance(lag, list | tuple) and len(lag) == 2 else (None, None)
        worst.append(float(pair[0]) if pair[0] is not None else None)
        median.append(float(pair[1]) if pair[1] is not None else None)
    return DashboardHistory(minutes=span, requests=requests, lag_worst=worst, lag_median=median)
