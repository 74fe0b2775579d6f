"""The three per-folder sync paths (QRESYNC, CONDSTORE only, neither) against
real Dovecot variants: new mail, flag changes, expunges, \\Deleted, counts and
states, and what a sync that finds nothing new costs on the wire."""
from __future__ import annotations

from accounts.models import Account
from jmapcore.models.mail import Email, MailboxMessage, Thread
from jmapcore.state import type_state_position
from tests.backends.imap.conftest import CommandLog, Mailstore, message


def _modseq(store: Mailstore, type_name: str) -> int:
    return type_state_position(account=store.account, type_name=type_name)[0]


def test_initial_sync_fills_the_cache(any_mail: Mailstore) -> None:
    any_mail.append(message("First", body="The first message body.\r\n"))
    any_mail.append(message("Second", sender="=?utf-8?q?J=C3=B6rg?= <jorg@example.test>"), flags=("\\Seen",))
    any_mail.sync()

    inbox = any_mail.mailbox("INBOX")
    assert (inbox.total_emails, inbox.unread_emails, inbox.total_threads, inbox.unread_threads) == (2, 1, 2, 1)
    first = any_mail.email_by_subject("First")
    second = any_mail.email_by_subject("Second")
    assert first.mailbox_ids == {inbox.jmap_id: True}
    assert first.keywords == {}
    assert second.keywords == {"$seen": True}
    assert first.preview == "The first message body."
    assert second.from_addr == [{"name": "Jörg", "email": "jorg@example.test"}]
    assert second.from_text == "jörg <jorg@example.test>"
    assert first.blob_id.startswith("M") and first.blob_id != second.blob_id
    assert Thread.objects.filter(account=any_mail.account, jmap_id=first.thread_id, destroyed=False).exists()
    assert any_mail.uids("INBOX") == [1, 2]
    progress = Account.objects.get(pk=any_mail.account.pk).sync_progress
    assert progress["state"] == "done" and progress["messages"] == 2 and progress["total"] == 2


def test_new_mail_flag_changes_and_expunges_are_seen(any_mail: Mailstore) -> None:
    for subject in ("keep", "flag me", "expunge me", "delete-flag me"):
        any_mail.append(message(subject))
    any_mail.sync()
    keep = any_mail.email_by_subject("keep")
    flagged = any_mail.email_by_subject("flag me")
    expunged = any_mail.email_by_subject("expunge me")
    deleted = any_mail.email_by_subject("delete-flag me")
    email_state = _modseq(any_mail, "Email")

    with any_mail.client() as other:
        other.select_folder("INBOX")
        other.add_flags([2], ["\\Flagged", "\\Seen", "$Forwarded", "Custom"])
        other.add_flags([3], ["\\Deleted"])
        other.expunge()
        other.add_flags([4], ["\\Deleted"])  # not expunged: still "not there" for JMAP
    any_mail.append(message("new one"))
    any_mail.sync()

    flagged.refresh_from_db()
    assert flagged.keywords == {"$flagged": True, "$seen": True, "$forwarded": True, "custom": True}
    assert flagged.updated_modseq > email_state
    for gone in (expunged, deleted):
        gone.refresh_from_db()
        assert gone.destroyed and gone.updated_modseq > email_state
    keep.refresh_from_db()
    assert not keep.destroyed and keep.updated_modseq <= email_state
    assert any_mail.email_by_subject("new one").mailbox_ids == {any_mail.mailbox("INBOX").jmap_id: True}
    assert any_mail.uids("INBOX") == [1, 2, 5]
    inbox = any_mail.mailbox("INBOX")
    assert (inbox.total_emails, inbox.unread_emails) == (3, 2)
    # The expunged emails' threads had nobody else: they are tombstones now.
    assert Thread.objects.get(account=any_mail.account, jmap_id=expunged.thread_id).destroyed

    # Undeleting brings the message back as an email.
    with any_mail.client() as other:
        other.select_folder("INBOX")
        other.remove_flags([4], ["\\Deleted"])
    any_mail.sync()
    assert any_mail.uids("INBOX") == [1, 2, 4, 5]
    assert any_mail.email_by_subject("delete-flag me").jmap_id != deleted.jmap_id


def test_counts_move_without_touching_mailbox_properties(any_mail: Mailstore) -> None:
    any_mail.append(message("one"))
    any_mail.sync()
    inbox = any_mail.mailbox("INBOX")
    props_before, updated_before = inbox.props_modseq, inbox.updated_modseq
    with any_mail.client() as other:
        other.select_folder("INBOX")
        other.add_flags([1], ["\\Seen"])
    any_mail.sync()
    inbox.refresh_from_db()
    assert inbox.unread_emails == 0 and inbox.unread_threads == 0
    assert inbox.updated_modseq > updated_before
    assert inbox.props_modseq == props_before
    assert _modseq(any_mail, "Mailbox") == inbox.updated_modseq


def test_a_sync_that_finds_nothing_changes_nothing(any_mail: Mailstore) -> None:
    any_mail.append(message("one"))
    any_mail.sync()
    modseq = Account.objects.get(pk=any_mail.account.pk).modseq
    any_mail.sync()
    assert Account.objects.get(pk=any_mail.account.pk).modseq == modseq
    assert Email.objects.filter(account=any_mail.account).count() == 1
    assert MailboxMessage.objects.filter(account=any_mail.account).count() == 1


def test_nothing_new_costs_one_list_and_no_fetch(alice_mail: Mailstore, imap_commands: CommandLog) -> None:
    """QRESYNC server: one LIST-STATUS answers for every folder."""
    alice_mail.append(message("one"))
    alice_mail.append(message("two"), mailbox="Archive")
    alice_mail.sync()
    alice_mail.sync()  # warms the pool: the next run only reuses the connection
    imap_commands.caplog.clear()
    alice_mail.sync()
    sent = [command.split(" ")[0] for command in imap_commands.commands()]
    assert "LIST" in sent
    assert not any(word in sent for word in ("FETCH", "UID", "EXAMINE", "SELECT", "STATUS"))
    assert len(sent) <= 3  # NOOP (pool check), LIST, at most a CAPABILITY


def test_condstore_nothing_new_costs_one_list(dovecot_factory: object, alice: object,
                                              imap_commands: CommandLog) -> None:
    from tests.backends.imap.conftest import CONDSTORE_ONLY, mailstore_make

    store = mailstore_make(dovecot_factory(CONDSTORE_ONLY), alice)  # type: ignore[operator, arg-type]
    store.append(message("one"))
    store.sync()
    store.sync()
    imap_commands.caplog.clear()
    store.sync()
    sent = [command.split(" ")[0] for command in imap_commands.commands()]
    assert not any(word in sent for word in ("FETCH", "UID", "EXAMINE", "SELECT"))


def test_qresync_path_uses_vanished(alice_mail: Mailstore, imap_commands: CommandLog) -> None:
    for subject in ("a", "b", "c"):
        alice_mail.append(message(subject))
    alice_mail.sync()
    with alice_mail.client() as other:
        other.select_folder("INBOX")
        other.add_flags([2], ["\\Deleted"])
        other.expunge()
        other.add_flags([3], ["\\Answered"])
    imap_commands.caplog.clear()
    alice_mail.sync()
    sent = imap_commands.commands()
    assert any(command.startswith('EXAMINE "INBOX" (QRESYNC (') for command in sent)
    assert not any("SEARCH" in command for command in sent)
    assert alice_mail.uids("INBOX") == [1, 3]
    assert alice_mail.email_by_subject("c").keywords == {"$answered": True}


def test_condstore_path_uses_changedsince(dovecot_factory: object, alice: object,
                                          imap_commands: CommandLog) -> None:
    from tests.backends.imap.conftest import CONDSTORE_ONLY, mailstore_make

    store = mailstore_make(dovecot_factory(CONDSTORE_ONLY), alice)  # type: ignore[operator, arg-type]
    for subject in ("a", "b"):
        store.append(message(subject))
    store.sync()
    with store.client() as other:
        other.select_folder("INBOX")
        other.add_flags([1], ["\\Seen"])
        other.add_flags([2], ["\\Deleted"])
        other.expunge()
    imap_commands.caplog.clear()
    store.sync()
    sent = imap_commands.commands()
    assert any("CHANGEDSINCE" in command for command in sent)
    assert not any("QRESYNC" in command for command in sent)
    assert store.uids("INBOX") == [1]
    assert store.email_by_subject("a").keywords == {"$seen": True}
