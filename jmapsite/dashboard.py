"""The figures of the operator's first look: the dashboard's home page.

`dashboard_figures_read()` gathers, for the management root (the Django admin
index, jmapsite.dashboard_views), what an operator asks first:

- accounts by sync state (accounts.sync_state): how many are in their initial
  sync (with its progress), in sync, lagging, failing (with the last error,
  when it happened and since when no sync succeeded), paused;
- the accounts with the worst sync lag;
- syncs running now and the depth of the task queue (jmapsite.monitoring);
- push listeners: accounts with a live EventSource/WebSocket listener in any
  web process, the web processes holding them, active PushSubscriptions
  (jmapcore.push.watch's registry);
- IMAP IDLE connections: the accounts some listener holds a claim for
  (backends.imap.idle; the claims live in the shared cache, so every web
  process sees all listeners), with the watcher states the listeners of this
  data directory report in their status files;
- the last hour of requests and sync lag (jmapsite.dashboard_history).

It lives in jmapsite, the top layer, because it reads every other one. Every
figure is computed from shared state (database, cache, broker), never from
this process's memory alone, so any web process shows the same page. A source
that fails (broker down) is shown as unavailable instead of failing the page.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from django.utils.text import Truncator

from accounts.models import Account
from accounts.sync_state import (
    SyncProgress,
    SyncState,
    account_sync_state,
    lag_threshold_seconds,
    sync_lag_since,
    sync_lag_summary,
    sync_progress_parse,
    sync_state_q,
)
from jmapsite.dashboard_history import DashboardHistory, dashboard_history_read

log = logging.getLogger("jmap.dashboard")

# How many rows each list shows; the "all" link leads to the filtered list.
INITIAL_ROWS = 10
FAILING_ROWS = 10
LAG_ROWS = 5
# Errors come from remote servers and may be long; the account page has them whole.
ERROR_CHARS = 300
# A cache get_many per this many accounts (as jmapsite.monitoring.syncs_running).
CACHE_BATCH = 1000


@dataclass(frozen=True)
class StateCount:
    state: SyncState
    count: int

    @property
    def label(self) -> str:
        return self.state.label


def duration_label(seconds: float) -> str:
    """A short human duration: "45 s", "12 min", "3 h 05 min", "2 d 4 h"."""
    s = int(max(0.0, seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


@dataclass(frozen=True)
class InitialSyncRow:
    pk: int
    accountid: str
    email: str
    created_at: datetime
    progress: SyncProgress
    running: bool
    age_seconds: float

    @property
    def age_label(self) -> str:
        return duration_label(self.age_seconds)


@dataclass(frozen=True)
class FailingRow:
    pk: int
    accountid: str
    email: str
    error: str
    failed_at: datetime | None
    # The last successful sync, or the creation when it never synced: the
    # account has been failing since some time after this.
    ok_since: datetime
    never_synced: bool
    failed_seconds: float | None
    ok_seconds: float

    @property
    def failed_label(self) -> str:
        return duration_label(self.failed_seconds or 0.0)

    @property
    def ok_label(self) -> str:
        return duration_label(self.ok_seconds)


@dataclass(frozen=True)
class LagRow:
    pk: int
    accountid: str
    email: str
    lag_seconds: float
    state: SyncState

    @property
    def lag_label(self) -> str:
        return duration_label(self.lag_seconds)


@dataclass(frozen=True)
class PushFigures:
    listening_accounts: int
    web_processes: int
    subscriptions: int
    watched_accounts: int


@dataclass(frozen=True)
class IdleProblem:
    accountid: str
    error: str


@dataclass(frozen=True)
class IdleFigures:
    connections: int
    states: dict[str, int] = field(default_factory=dict)
    problems: list[IdleProblem] = field(default_factory=list)


@dataclass(frozen=True)
class DashboardFigures:
    now: datetime
    total: int
    states: list[StateCount]
    lag_threshold_seconds: int
    initial: list[InitialSyncRow]
    failing: list[FailingRow]
    worst_lags: list[LagRow]
    syncs_running: int | None
    queue_depth: int | None
    queue_error: str
    push: PushFigures
    idle: IdleFigures
    history: DashboardHistory

    @property
    def lag_threshold_label(self) -> str:
        return duration_label(self.lag_threshold_seconds)

    def count(self, state: SyncState) -> int:
        return next((s.count for s in self.states if s.state is state), 0)

    @property
    def initial_count(self) -> int:
        return self.count(SyncState.INITIAL)

    @property
    def failing_count(self) -> int:
        return self.count(SyncState.FAILING)


# --- the sources -----------------------------------------------------------------


def sync_state_counts(*, now: datetime) -> list[StateCount]:
    """How many accounts are in each state, in one query (states partition accounts)."""
    agg = Account.objects.aggregate(
        **{state.name: Count("pk", filter=sync_state_q(state=state, now=now)) for state in SyncState}
    )
    return [StateCount(state=state, count=int(agg[state.name] or 0)) for state in SyncState]


def _cache_held(keys_by_pk: dict[int, str]) -> set[int]:
    """The pks whose key is present in the shared cache."""
    pks = list(keys_by_pk)
    held: set[int] = set()
    for start in range(0, len(pks), CACHE_BATCH):
        chunk = {keys_by_pk[pk]: pk for pk in pks[start : start + CACHE_BATCH]}
        held.update(chunk[key] for key in cache.get_many(list(chunk)))
    return held


def syncing_account_pks() -> set[int]:
    """Accounts whose sync runs now in any process (their sync lock is held)."""
    from accounts.sync import account_sync_lock_key

    pks = Account.objects.values_list("pk", flat=True)
    return _cache_held({pk: account_sync_lock_key(account_id=pk) for pk in pks})


def idle_account_pks() -> set[int]:
    """IMAP accounts for which some IDLE listener holds the claim, i.e. keeps
    a watcher and its connection (backends.imap.idle)."""
    from backends.imap.idle import _claim_key

    pks = Account.objects.filter(kind=Account.Kind.IMAP).values_list("pk", flat=True)
    return _cache_held({pk: _claim_key(pk) for pk in pks})


def push_watched_account_pks(*, now: datetime) -> set[int]:
    """Accounts someone listens to: a live EventSource/WebSocket listener or an
    active PushSubscription of their login (jmapcore.push.watch)."""
    from jmapcore.push.watch import watched_account_pks

    return watched_account_pks(now=now)


def push_figures(*, now: datetime) -> PushFigures:
    from jmapcore.models import PushSubscription, PushWatch

    live = PushWatch.objects.filter(expires_at__gt=now)
    return PushFigures(
        listening_accounts=live.values("account_id").distinct().count(),
        web_processes=live.values("holder").distinct().count(),
        subscriptions=PushSubscription.objects.filter(
            verified=True, disabled_at__isnull=True, expires__gt=now
        ).count(),
        watched_accounts=len(push_watched_account_pks(now=now)),
    )


def listener_status_files() -> list[Path]:
    """The status files of the IMAP IDLE listeners of this data directory
    (backends.management.commands.imap_listener names them by pid)."""
    from backends.management.commands.imap_listener import listener_status_file

    folder = listener_status_file(datadir=Path(settings.DATADIR), pid=0).parent
    return sorted(folder.glob("imap-listener-*.json"))


def idle_figures() -> IdleFigures:
    """Claims (cluster-wide) and the watcher states of live local listeners."""
    from jmapsite.monitoring import pid_alive

    states: dict[str, int] = {}
    problems: list[IdleProblem] = []
    for path in listener_status_files():
        try:
            status = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # being replaced right now, or left half-written by a crash
        if not isinstance(status, dict) or not pid_alive(int(status.get("pid") or 0)):
            continue
        watchers = status.get("watchers")
        for watcher in (watchers or {}).values() if isinstance(watchers, dict) else ():
            if not isinstance(watcher, dict):
                continue
            state = str(watcher.get("state") or "unknown")
            states[state] = states.get(state, 0) + 1
            error = str(watcher.get("error") or "")
            if error and state in ("backoff", "connecting"):
                problems.append(IdleProblem(str(watcher.get("accountid") or "?"), Truncator(error).chars(ERROR_CHARS)))
    return IdleFigures(connections=len(idle_account_pks()), states=dict(sorted(states.items())), problems=problems)


def initial_rows(*, now: datetime, running: set[int]) -> list[InitialSyncRow]:
    """The oldest accounts still in their initial sync, with their progress."""
    accounts = (
        Account.objects.filter(sync_state_q(state=SyncState.INITIAL, now=now))
        .order_by("created_at", "pk")
        .only("pk", "accountid", "email", "created_at", "sync_progress")[:INITIAL_ROWS]
    )
    return [
        InitialSyncRow(
            pk=a.pk,
            accountid=a.accountid,
            email=a.email,
            created_at=a.created_at,
            progress=sync_progress_parse(a.sync_progress),
            running=a.pk in running,
            age_seconds=(now - a.created_at).total_seconds(),
        )
        for a in accounts
    ]


def failing_rows(*, now: datetime) -> list[FailingRow]:
    """The accounts whose last sync failed, most recent failure first."""
    accounts = (
        Account.objects.filter(sync_state_q(state=SyncState.FAILING, now=now))
        .order_by("-last_sync_error_at", "pk")
        .only("pk", "accountid", "email", "created_at", "last_sync_at", "last_sync_error", "last_sync_error_at")[
            :FAILING_ROWS
        ]
    )
    return [
        FailingRow(
            pk=a.pk,
            accountid=a.accountid,
            email=a.email,
            error=Truncator(a.last_sync_error).chars(ERROR_CHARS),
            failed_at=a.last_sync_error_at,
            ok_since=a.last_sync_at or a.created_at,
            never_synced=a.last_sync_at is None,
            failed_seconds=(now - a.last_sync_error_at).total_seconds() if a.last_sync_error_at else None,
            ok_seconds=(now - (a.last_sync_at or a.created_at)).total_seconds(),
        )
        for a in accounts
    ]


def worst_lag_rows(*, now: datetime) -> list[LagRow]:
    """The accounts of active logins that have gone longest without a successful sync."""
    accounts = (
        Account.objects.filter(pool__is_active=True)
        .select_related("pool")
        .annotate(lag_since=sync_lag_since())
        .order_by("lag_since", "pk")[:LAG_ROWS]
    )
    return [
        LagRow(
            pk=a.pk,
            accountid=a.accountid,
            email=a.email,
            lag_seconds=max(0.0, (now - a.lag_since).total_seconds()),
            state=account_sync_state(account=a, now=now),
        )
        for a in accounts
    ]


def _queue_depth() -> tuple[int | None, str]:
    from jmapsite.monitoring import queue_depth

    try:
        return queue_depth(), ""
    except Exception as exc:
        log.warning("dashboard: cannot read the task queue depth: %s", exc)
        return None, type(exc).__name__


def dashboard_figures_read(*, now: datetime) -> DashboardFigures:
    """Every figure of the dashboard's home at `now` (see the module doc)."""
    try:
        running: set[int] | None = syncing_account_pks()
    except Exception as exc:
        log.warning("dashboard: cannot read the sync locks: %s", exc)
        running = None
    depth, queue_error = _queue_depth()
    states = sync_state_counts(now=now)
    lag = sync_lag_summary(now=now)
    return DashboardFigures(
        now=now,
        total=sum(s.count for s in states),
        states=states,
        lag_threshold_seconds=lag_threshold_seconds(),
        initial=initial_rows(now=now, running=running or set()),
        failing=failing_rows(now=now),
        worst_lags=worst_lag_rows(now=now),
        syncs_running=len(running) if running is not None else None,
        queue_depth=depth,
        queue_error=queue_error,
        push=push_figures(now=now),
        idle=idle_figures(),
        history=dashboard_history_read(now=now.timestamp(), lag_now=(lag.worst, lag.median) if lag else None),
    )
