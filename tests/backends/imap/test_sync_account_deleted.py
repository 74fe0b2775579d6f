"""An account deleted while its sync runs (the management API's DELETE, the
admin) ends that sync quietly: its rows went with it, so the step that finds
them gone fails, and that is no crash to log with a traceback (accounts.sync)."""
from __future__ import annotations

import logging

import pytest

from accounts.models import Account
from accounts.sync import AccountSyncLock, _kind_sync
from tests.backends.imap.conftest import Mailstore, message


class DeletedAtFirstCheck(AccountSyncLock):
    """A real sync lock; the sync's first check between steps finds the account deleted meanwhile."""

    def __init__(self, *, account_id: int) -> None:
        super().__init__(account_id=account_id)
        self.account_id = account_id

    def extend(self) -> bool:
        Account.objects.filter(pk=self.account_id).delete()
        return super().extend()


def test_an_account_deleted_during_its_sync_ends_it_without_a_crash(
    alice_mail: Mailstore, caplog: pytest.LogCaptureFixture
) -> None:
    for number in range(30):
        alice_mail.append(message(f"Topic {number}", message_id=f"<t{number}@example.test>"))
    account = Account.objects.select_related("pool").get(pk=alice_mail.account.pk)
    lock = DeletedAtFirstCheck(account_id=account.pk)
    assert lock.acquire()
    try:
        with caplog.at_level(logging.INFO, logger="jmap.sync"):
            _kind_sync(account=account, lock=lock)
    finally:
        lock.release()
    assert not Account.objects.filter(pk=account.pk).exists()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert any("deleted during its sync" in r.getMessage() for r in caplog.records)
