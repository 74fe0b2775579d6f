"""The order of an account's first sync (issue 9), observed through what is
committed, never through timing:

1. every folder, with its counts from STATUS, before any message;
2. the newest page (FIRST_PAGE) of the inbox, in one commit, before the rest
   of the inbox and before any other folder;
3. the rest, folder by folder; an interrupted first sync resumes without
   refetching or duplicating, and the counts end exact.
"""
from __future__ import annotations

import pytest

from accounts.models import Account
from backends.imap.messages import FIRST_PAGE, SyncStopped
from jmapcore.models.mail import Email, MailboxMessage
from tests.backends.imap.conftest import LockLostAfter, Mailstore, message

INBOX_COUNT = FIRST_PAGE + 12
INBOX_SEEN = 15
ARCHIVE_COUNT = 5
ARCHIVE_SEEN = 3



def seed(mail: Mailstore) -> None:
    """alice's INBOX (INBOX_COUNT messages, the oldest INBOX_SEEN read) and
    Archive (ARCHIVE_COUNT, ARCHIVE_SEEN read), appended by another client."""
    with mail.client() as client:
        if not client.folder_exists("Archive"):
            client.create_folder("Archive")
        for number in range(1, INBOX_COUNT + 1):
            flags = ("\\Seen",) if number <= INBOX_SEEN else ()
            client.append("INBOX", message(f"Inbox {number:03d}"), flags=flags)
        for number in range(1, ARCHIVE_COUNT + 1):
            flags = ("\\Seen",) if number <= ARCHIVE_SEEN else ()
            client.append("Archive", message(f"Archive {number:03d}"), flags=flags)


def stopped_sync(mail: Mailstore, *, batches: int) -> None:
    lock = LockLostAfter(account_id=mail.account.pk, batches=batches)
    assert lock.acquire()
    try:
        with pytest.raises(SyncStopped):
            mail.sync(lock=lock)
    finally:
        lock.release()


def test_mailboxes_and_their_counts_are_visible_before_any_message(alice_mail: Mailstore) -> None:
    seed(alice_mail)
    stopped_sync(alice_mail, batches=0)  # stops before the first fetch

    assert Email.objects.filter(account=alice_mail.account).count() == 0
    inbox, archive = alice_mail.mailbox("INBOX"), alice_mail.mailbox("Archive")
    assert (inbox.total_emails, inbox.unread_emails) == (INBOX_COUNT, INBOX_COUNT - INBOX_SEEN)
    assert (archive.total_emails, archive.unread_emails) == (ARCHIVE_COUNT, ARCHIVE_COUNT - ARCHIVE_SEEN)
    # Committed as a change of its own, after the mailboxes were created.
    assert inbox.updated_modseq > inbox.created_modseq


def test_the_newest_inbox_page_comes_first_and_an_interrupted_sync_resumes(alice_mail: Mailstore) -> None:
    seed(alice_mail)
    stopped_sync(alice_mail, batches=1)  # the first page, then stopped

    first_page = list(range(INBOX_COUNT - FIRST_PAGE + 1, INBOX_COUNT + 1))
    assert alice_mail.uids("INBOX") == first_page
    assert alice_mail.uids("Archive") == []
    progress = Account.objects.get(pk=alice_mail.account.pk).sync_progress
    assert progress["state"] == "running" and progress["messages"] == FIRST_PAGE
    assert progress["total"] == INBOX_COUNT + ARCHIVE_COUNT and progress["folder"] == "INBOX"
    # Counts stay the server's while the folder is incomplete, not the page's.
    inbox = alice_mail.mailbox("INBOX")
    assert (inbox.total_emails, inbox.unread_emails) == (INBOX_COUNT, INBOX_COUNT - INBOX_SEEN)
    page_emails = set(MailboxMessage.objects.filter(mailbox=inbox).values_list("email_id", flat=True))

    alice_mail.sync()
    assert alice_mail.uids("INBOX") == list(range(1, INBOX_COUNT + 1))
    assert alice_mail.uids("Archive") == list(range(1, ARCHIVE_COUNT + 1))
    emails = Email.objects.filter(account=alice_mail.account)
    assert emails.filter(destroyed=False).count() == INBOX_COUNT + ARCHIVE_COUNT
    assert not emails.filter(destroyed=True).exists()
    # The first page was not fetched again: its emails are the same rows.
    assert page_emails <= set(MailboxMessage.objects.filter(mailbox=inbox).values_list("email_id", flat=True))
    progress = Account.objects.get(pk=alice_mail.account.pk).sync_progress
    assert progress["state"] == "done"
    assert progress["messages"] == INBOX_COUNT + ARCHIVE_COUNT - FIRST_PAGE
    inbox, archive = alice_mail.mailbox("INBOX"), alice_mail.mailbox("Archive")
    assert inbox.synced_uid == INBOX_COUNT
    expected = (INBOX_COUNT, INBOX_COUNT - INBOX_SEEN, INBOX_COUNT, INBOX_COUNT - INBOX_SEEN)
    assert (inbox.total_emails, inbox.unread_emails, inbox.total_threads, inbox.unread_threads) == expected
    assert (archive.total_emails, archive.unread_emails) == (ARCHIVE_COUNT, ARCHIVE_COUNT - ARCHIVE_SEEN)


def test_commits_go_mailboxes_then_the_inbox_page_then_the_rest(alice_mail: Mailstore) -> None:
    seed(alice_mail)
    alice_mail.sync()

    inbox, archive = alice_mail.mailbox("INBOX"), alice_mail.mailbox("Archive")

    def created(mailbox_pk: int) -> dict[int, int]:
        return dict(MailboxMessage.objects.filter(mailbox_id=mailbox_pk).values_list("uid", "email__created_modseq"))

    in_inbox, in_archive = created(inbox.pk), created(archive.pk)
    newest = {modseq for uid, modseq in in_inbox.items() if uid > INBOX_COUNT - FIRST_PAGE}
    older = {modseq for uid, modseq in in_inbox.items() if uid <= INBOX_COUNT - FIRST_PAGE}
    assert len(newest) == 1, "the newest page is one commit"
    page_modseq = newest.pop()
    assert max(inbox.created_modseq, archive.created_modseq) < page_modseq
    assert page_modseq < min(older)
    assert max(older) < min(in_archive.values()), "the inbox before the other folders"
