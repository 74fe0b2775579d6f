"""The initial sync is resumable: newest first in batches, progress on the
account, a sync that lost its lock stops between batches and the next one
continues without duplicates. The syncer is registered for kind "imap"."""
from __future__ import annotations

import pytest

from accounts.models import Account
from accounts.sync import SYNCERS, account_sync
from backends.imap.messages import SyncStopped
from backends.imap.sync import imap_account_sync
from jmapcore.models.mail import Email, MailboxMessage
from tests.backends.imap.conftest import LockLostAfter, Mailstore, message


def test_the_imap_syncer_is_registered() -> None:
    assert SYNCERS["imap"] is imap_account_sync


def test_an_interrupted_initial_sync_resumes_without_duplicates(alice_mail: Mailstore) -> None:
    for number in range(1, 24):
        alice_mail.append(message(f"Message {number:02d}"))
    lock = LockLostAfter(account_id=alice_mail.account.pk, batches=2)
    assert lock.acquire()
    with pytest.raises(SyncStopped):
        alice_mail.sync(lock=lock, batch_size=5)
    lock.release()

    # Two batches of five, newest first, are in; the progress says so.
    assert alice_mail.uids("INBOX") == list(range(14, 24))
    progress = Account.objects.get(pk=alice_mail.account.pk).sync_progress
    assert progress["state"] == "running"
    assert progress["messages"] == 10 and progress["total"] == 23
    assert alice_mail.mailbox("INBOX").synced_uid == 0

    alice_mail.sync(batch_size=5)
    assert alice_mail.uids("INBOX") == list(range(1, 24))
    assert Email.objects.filter(account=alice_mail.account, destroyed=False).count() == 23
    assert Email.objects.filter(account=alice_mail.account, destroyed=True).count() == 0
    inbox = alice_mail.mailbox("INBOX")
    assert inbox.synced_uid == 23 and inbox.total_emails == 23
    progress = Account.objects.get(pk=alice_mail.account.pk).sync_progress
    assert progress["state"] == "done" and progress["total"] == 13 and progress["messages"] == 13


def test_account_sync_runs_the_imap_sync(alice_mail: Mailstore) -> None:
    alice_mail.append(message("Through account_sync"))
    account_sync(account_id=alice_mail.account.pk)
    account = Account.objects.get(pk=alice_mail.account.pk)
    assert account.last_sync_error == "" and account.last_sync_at is not None
    assert MailboxMessage.objects.filter(account=account).count() == 1
    assert Email.objects.get(account=account).subject == "Through account_sync"


def test_a_server_failure_is_recorded_and_keeps_the_cache(alice_mail: Mailstore) -> None:
    alice_mail.append(message("Kept"))
    alice_mail.sync()
    Account.objects.filter(pk=alice_mail.account.pk).update(password="wrong")
    account_sync(account_id=alice_mail.account.pk)
    account = Account.objects.get(pk=alice_mail.account.pk)
    assert "login rejected" in account.last_sync_error
    assert Email.objects.filter(account=account, destroyed=False).count() == 1
