"""Where an account's sync stands, as the operator's dashboard shows it.

Every account is in exactly one state at a given moment, decided by its own
columns only (so the admin's list filter and the dashboard's counts always
agree, and one aggregate query counts them all):

- ``paused``: its login (pool) is disabled; nothing syncs it (accounts.sync
  queues only accounts of active pools);
- ``failing``: its last sync attempt failed (``last_sync_error`` is set; the
  error stays until a sync succeeds, accounts.sync);
- ``initial``: it has never completed a sync and its last attempt (if any) did
  not fail: the first sync is queued or running, its progress is in
  ``sync_progress`` (backends.imap.sync);
- ``lagging``: it synced, but longer ago than ``lag_threshold_seconds()``:
  the periodic sync should have run several times since;
- ``in-sync``: it synced within that time.

A sync lag is counted like the product's ``jmap_account_last_sync_age_seconds``
metric (jmapsite.monitoring): seconds since the last successful sync, or since
the account was created when it never synced.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db.models import Count, Min, Q
from django.db.models.functions import Coalesce

from accounts.models import Account

# An account is lagging once this many sync intervals passed without a success:
# one interval is normal, a second one is a slow queue, a third one is a problem.
LAG_INTERVALS = 3
# ... but never below this: with a very short JMAP_SYNC_INTERVAL (tests, trials)
# a busy queue would otherwise flag every account.
LAG_MIN_SECONDS = 60
# A folder name is shown in a table cell; the account page has the whole progress.
FOLDER_CHARS = 80


class SyncState(StrEnum):
    """The states of the module doc; the values are the admin filter's URL values."""

    INITIAL = "initial"
    IN_SYNC = "in-sync"
    LAGGING = "lagging"
    FAILING = "failing"
    PAUSED = "paused"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    SyncState.INITIAL: "initial sync",
    SyncState.IN_SYNC: "in sync",
    SyncState.LAGGING: "lagging",
    SyncState.FAILING: "failing",
    SyncState.PAUSED: "login disabled",
}


def lag_threshold_seconds() -> int:
    """Seconds without a successful sync after which an account is lagging."""
    return max(LAG_MIN_SECONDS, LAG_INTERVALS * int(settings.JMAP_SYNC_INTERVAL))


def sync_state_q(*, state: SyncState, now: datetime) -> Q:
    """The filter (on Account) that selects the accounts in `state` at `now`.

    The five filters partition the accounts: each account matches exactly one.
    """
    active = Q(pool__is_active=True)
    clean = active & Q(last_sync_error="")
    cutoff = now - timedelta(seconds=lag_threshold_seconds())
    if state is SyncState.PAUSED:
        return Q(pool__is_active=False)
    if state is SyncState.FAILING:
        return active & ~Q(last_sync_error="")
    if state is SyncState.INITIAL:
        return clean & Q(last_sync_at__isnull=True)
    if state is SyncState.LAGGING:
        return clean & Q(last_sync_at__lt=cutoff)
    return clean & Q(last_sync_at__gte=cutoff)


@dataclass(frozen=True)
class SyncProgress:
    """An initial sync's progress as the IMAP sync records it in
    Account.sync_progress (backends.imap.sync); None where it says nothing."""

    folders_done: int | None = None
    folders: int | None = None
    messages: int | None = None
    total: int | None = None
    # The folder of the last batch fetched (a name from the remote server: shown escaped).
    folder: str | None = None

    @property
    def percent(self) -> int | None:
        """Messages fetched of those to fetch, 0-100; None before the total is known."""
        if self.messages is None or not self.total:
            return None
        return max(0, min(100, self.messages * 100 // self.total))

    @property
    def known(self) -> bool:
        return self.folders is not None or self.total is not None


def sync_progress_parse(raw: object) -> SyncProgress:
    """Read Account.sync_progress leniently: it is written by whichever sync
    ran last, and a value of an unexpected shape shows as "no progress yet"."""
    if not isinstance(raw, dict):
        return SyncProgress()

    def count(name: str) -> int | None:
        value = raw.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None

    folder = raw.get("folder")
    return SyncProgress(
        folders_done=count("done"),
        folders=count("mailboxes"),
        messages=count("messages"),
        total=count("total"),
        folder=folder[:FOLDER_CHARS] if isinstance(folder, str) and folder else None,
    )


def account_sync_state(*, account: Account, now: datetime) -> SyncState:
    """The state of one loaded account: the same rules as sync_state_q (the
    account's pool is read, so load it with select_related("pool"))."""
    if not account.pool.is_active:
        return SyncState.PAUSED
    if account.last_sync_error:
        return SyncState.FAILING
    if account.last_sync_at is None:
        return SyncState.INITIAL
    if account.last_sync_at < now - timedelta(seconds=lag_threshold_seconds()):
        return SyncState.LAGGING
    return SyncState.IN_SYNC


@dataclass(frozen=True)
class SyncLagSummary:
    """Sync lags (seconds) over the accounts of active logins at one moment."""

    accounts: int
    worst: float
    median: float


def sync_lag_since() -> Coalesce:
    """The moment an account's lag counts from: its last successful sync, else its creation."""
    return Coalesce("last_sync_at", "created_at")


def sync_lag_summary(*, now: datetime) -> SyncLagSummary | None:
    """The worst and the median sync lag at `now` over accounts of active logins
    (paused ones are not synced, so their lag says nothing); None without any.
    Two queries whatever the number of accounts: a count, then the median row."""
    rows = Account.objects.filter(pool__is_active=True).annotate(lag_since=sync_lag_since())
    agg = rows.aggregate(n=Count("pk"), oldest=Min("lag_since"))
    count, oldest = int(agg["n"] or 0), agg["oldest"]
    if count == 0 or oldest is None:
        return None
    middle = rows.order_by("lag_since", "pk").values_list("lag_since", flat=True)[count // 2]
    return SyncLagSummary(
        accounts=count,
        worst=max(0.0, (now - oldest).total_seconds()),
        median=max(0.0, (now - middle).total_seconds()),
    )
