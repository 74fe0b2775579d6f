"""The dashboard's account states (accounts.sync_state): every account in
exactly one, the query and the per-account rule agreeing, the lag threshold's
edge, the lag summary, and sync_progress read leniently."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings

from accounts.models import Account, Pool
from accounts.sync_state import (
    SyncProgress,
    SyncState,
    account_sync_state,
    lag_threshold_seconds,
    sync_lag_summary,
    sync_progress_parse,
    sync_state_q,
)
from tests.personas import Persona, make_persona


def account_set(persona: Persona, **fields: object) -> Account:
    Account.objects.filter(pk=persona.account.pk).update(**fields)
    return Account.objects.select_related("pool").get(pk=persona.account.pk)


@pytest.fixture
def now() -> datetime:
    return timezone.now()


@pytest.fixture
def one_of_each(db: None, now: datetime) -> dict[SyncState, Account]:
    """alice in sync, bob initial, carol lagging, dave failing, erin paused."""
    threshold = timedelta(seconds=lag_threshold_seconds())
    erin = make_persona("erin")
    Pool.objects.filter(pk=erin.pool.pk).update(is_active=False)
    return {
        SyncState.IN_SYNC: account_set(make_persona("alice"), last_sync_at=now - timedelta(seconds=5)),
        SyncState.INITIAL: account_set(make_persona("bob"), last_sync_at=None),
        SyncState.LAGGING: account_set(make_persona("carol"), last_sync_at=now - 2 * threshold),
        SyncState.FAILING: account_set(
            make_persona("dave"), last_sync_at=now - timedelta(hours=2), last_sync_error="LOGIN failed",
            last_sync_error_at=now - timedelta(seconds=30),
        ),
        # Paused wins over a stale error: nothing syncs a disabled login.
        SyncState.PAUSED: account_set(erin, last_sync_error="old error", last_sync_at=None),
    }  # fmt: skip


def test_every_account_is_in_exactly_one_state(one_of_each: dict[SyncState, Account], now: datetime) -> None:
    for state in SyncState:
        matched = set(Account.objects.filter(sync_state_q(state=state, now=now)).values_list("accountid", flat=True))
        assert matched == {one_of_each[state].accountid}, state


def test_the_per_account_rule_agrees_with_the_query(one_of_each: dict[SyncState, Account], now: datetime) -> None:
    assert {state: account_sync_state(account=a, now=now) for state, a in one_of_each.items()} == {
        state: state for state in one_of_each
    }


def test_a_failing_account_that_never_synced_is_failing_not_initial(alice: Persona, now: datetime) -> None:
    account = account_set(alice, last_sync_at=None, last_sync_error="connection refused", last_sync_error_at=now)
    assert account_sync_state(account=account, now=now) is SyncState.FAILING
    assert Account.objects.filter(sync_state_q(state=SyncState.INITIAL, now=now)).count() == 0


def test_lagging_starts_at_the_threshold(alice: Persona, now: datetime, settings: Settings) -> None:
    settings.JMAP_SYNC_INTERVAL = 100
    assert lag_threshold_seconds() == 300  # three intervals
    just_in = account_set(alice, last_sync_at=now - timedelta(seconds=299))
    assert account_sync_state(account=just_in, now=now) is SyncState.IN_SYNC
    assert Account.objects.filter(sync_state_q(state=SyncState.IN_SYNC, now=now)).count() == 1
    just_out = account_set(alice, last_sync_at=now - timedelta(seconds=301))
    assert account_sync_state(account=just_out, now=now) is SyncState.LAGGING
    assert Account.objects.filter(sync_state_q(state=SyncState.LAGGING, now=now)).count() == 1


def test_a_short_interval_keeps_a_minute_of_slack(settings: Settings) -> None:
    settings.JMAP_SYNC_INTERVAL = 2
    assert lag_threshold_seconds() == 60


def test_lag_summary_worst_and_median_over_active_logins(db: None, now: datetime) -> None:
    lags = {"alice": 10, "bob": 20, "carol": 3000}
    for name, seconds in lags.items():
        account_set(make_persona(name), last_sync_at=now - timedelta(seconds=seconds))
    # Never synced: counts from its creation (about now); paused: not counted at all.
    make_persona("dave")
    erin = make_persona("erin")
    account_set(erin, last_sync_at=now - timedelta(days=9))
    Pool.objects.filter(pk=erin.pool.pk).update(is_active=False)
    summary = sync_lag_summary(now=now)
    assert summary is not None
    assert summary.accounts == 4
    assert summary.worst == pytest.approx(3000, abs=1)
    # Sorted by lag: dave (~0), alice 10, bob 20, carol 3000; the median is the upper middle.
    assert summary.median == pytest.approx(10, abs=1)


def test_lag_summary_without_accounts_is_none(db: None) -> None:
    assert sync_lag_summary(now=timezone.now()) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"state": "running", "mailboxes": 5, "done": 2, "messages": 120, "total": 480}, SyncProgress(2, 5, 120, 480)),
        ({"messages": 1, "total": 2, "folder": "Archive/2024"}, SyncProgress(None, None, 1, 2, "Archive/2024")),
        ({"folder": "x" * 500}, SyncProgress(folder="x" * 80)),
        ({"folder": 7}, SyncProgress()),
        ({}, SyncProgress()),
        ("garbage", SyncProgress()),
        ({"messages": -1, "total": True, "mailboxes": "5", "done": 1.5}, SyncProgress()),
    ],
)
def test_progress_is_read_leniently(raw: object, expected: SyncProgress) -> None:
    assert sync_progress_parse(raw) == expected


def test_progress_percent() -> None:
    assert SyncProgress(2, 5, 120, 480).percent == 25
    assert SyncProgress(messages=10, total=0).percent is None
    assert SyncProgress(messages=600, total=480).percent == 100
