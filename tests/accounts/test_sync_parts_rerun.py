"""A full sync asked for while only the sync parts run (the DAV poll of a
watched account holds the account's lock) is not lost: account_sync_parts runs
it once the parts are done (accounts.sync). Found when an account's first sync,
queued as it was created, met the poll and waited for the next beat tick."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from accounts.models import Account
from accounts.sync import (
    SYNC_PARTS,
    SYNCERS,
    AccountSyncLock,
    account_sync,
    account_sync_parts,
    sync_part_register,
)
from tests.personas import Persona


@pytest.fixture
def recorded() -> Iterator[list[str]]:
    """A recording mail syncer and a "probe" part that asks for a full sync while it runs."""
    saved_syncers, saved_parts = dict(SYNCERS), dict(SYNC_PARTS)
    calls: list[str] = []

    def mail(*, account: Account, lock: AccountSyncLock | None) -> None:
        calls.append("mail")

    def probe(*, account: Account, lock: AccountSyncLock | None) -> None:
        calls.append("part")
        if calls.count("part") == 1:
            account_sync(account_id=account.pk)  # the first sync, queued meanwhile: finds the lock taken

    SYNCERS["imap"] = mail
    SYNC_PARTS.clear()
    sync_part_register(name="probe", applies=lambda account: True, run=probe)
    cache.clear()
    yield calls
    SYNCERS.clear()
    SYNCERS.update(saved_syncers)
    SYNC_PARTS.clear()
    SYNC_PARTS.update(saved_parts)
    cache.clear()


def test_a_sync_asked_for_during_the_parts_poll_runs_after_it(alice: Persona, recorded: list[str]) -> None:
    assert account_sync_parts(account_id=alice.account.pk, names=["probe"]) is True
    # The poll's part, then the full sync it had to turn away (mail, then its parts again).
    assert recorded == ["part", "mail", "part"]


def test_no_sync_asked_for_means_none_runs(alice: Persona, recorded: list[str]) -> None:
    recorded.append("part")  # the probe part asks only on its first run: this makes it quiet
    assert account_sync_parts(account_id=alice.account.pk, names=["probe"]) is True
    assert recorded == ["part", "part"]
