"""Email ids survive what other clients do: a move between folders, a
UIDVALIDITY change (folder recreated); copies without OBJECTID are separate
emails."""
from __future__ import annotations

import datetime as dt

from jmapcore.models.mail import Email, Thread
from tests.backends.imap.conftest import Mailstore, message

WHEN = dt.datetime(2024, 3, 4, 5, 6, 7, tzinfo=dt.UTC)


def test_a_move_by_another_client_keeps_the_email_id(alice_mail: Mailstore) -> None:
    alice_mail.append(message("Movable", message_id="<move@example.test>"), when=WHEN)
    alice_mail.append(message("Stays"), when=WHEN)
    alice_mail.sync()
    email = alice_mail.email_by_subject("Movable")
    with alice_mail.client() as other:
        other.select_folder("INBOX")
        other.move([1], "Archive")
    alice_mail.sync()
    moved = alice_mail.email_by_subject("Movable")
    assert moved.jmap_id == email.jmap_id
    assert moved.thread_id == email.thread_id
    assert moved.mailbox_ids == {alice_mail.mailbox("Archive").jmap_id: True}
    assert moved.updated_modseq > email.updated_modseq
    assert alice_mail.uids("INBOX") == [2] and alice_mail.uids("Archive") == [1]
    assert Email.objects.filter(account=alice_mail.account, destroyed=True).count() == 0
    assert not Thread.objects.get(account=alice_mail.account, jmap_id=email.thread_id).destroyed
    assert (alice_mail.mailbox("INBOX").total_emails, alice_mail.mailbox("Archive").total_emails) == (1, 1)


def test_a_move_into_an_earlier_folder_keeps_the_id_too(alice_mail: Mailstore) -> None:
    alice_mail.append(message("From archive", message_id="<back@example.test>"), mailbox="Archive", when=WHEN)
    alice_mail.sync()
    email = alice_mail.email_by_subject("From archive")
    with alice_mail.client() as other:
        other.select_folder("Archive")
        other.move([1], "INBOX")
    alice_mail.sync()
    assert alice_mail.email_by_subject("From archive").jmap_id == email.jmap_id


def test_a_copy_without_objectid_is_a_second_email(alice_mail: Mailstore) -> None:
    alice_mail.append(message("Copied", message_id="<copy@example.test>"), when=WHEN)
    alice_mail.sync()
    original = alice_mail.email_by_subject("Copied")
    with alice_mail.client() as other:
        other.select_folder("INBOX")
        other.copy([1], "Archive")
    alice_mail.sync()
    copies = Email.objects.filter(account=alice_mail.account, destroyed=False, subject="Copied")
    assert copies.count() == 2
    assert original.jmap_id in {email.jmap_id for email in copies}
    # Same Message-ID: the copy joins the original's thread.
    assert {email.thread_id for email in copies} == {original.thread_id}


def test_uidvalidity_change_resyncs_and_keeps_ids(alice_mail: Mailstore) -> None:
    raw_one = message("Survivor", message_id="<s1@example.test>")
    raw_two = message("Lost", message_id="<s2@example.test>")
    alice_mail.append(raw_one, mailbox="Box", when=WHEN)
    alice_mail.append(raw_two, mailbox="Box", when=WHEN)
    alice_mail.sync()
    box = alice_mail.mailbox("Box")
    survivor = alice_mail.email_by_subject("Survivor")
    lost = alice_mail.email_by_subject("Lost")
    with alice_mail.client() as other:
        other.delete_folder("Box")
        other.create_folder("Box")
    alice_mail.append(message("Newcomer"), mailbox="Box", when=WHEN)
    alice_mail.append(raw_one, mailbox="Box", when=WHEN)
    alice_mail.sync()
    again = alice_mail.mailbox("Box")
    assert again.jmap_id == box.jmap_id and again.uidvalidity != box.uidvalidity
    assert alice_mail.email_by_subject("Survivor").jmap_id == survivor.jmap_id
    lost.refresh_from_db()
    assert lost.destroyed
    assert alice_mail.uids("Box") == [1, 2]
    assert again.total_emails == 2
