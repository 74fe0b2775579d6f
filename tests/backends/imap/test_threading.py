"""Threads from Message-ID/In-Reply-To/References only (never the subject alone),
and merging: the older thread id survives, the other thread's emails are
destroyed and created again with new ids (RFC 8621 §3)."""
from __future__ import annotations

import datetime as dt

from jmapcore.models.mail import Email, MailboxMessage, Thread
from tests.backends.imap.conftest import Mailstore, message

DAY = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def _thread(store: Mailstore, subject: str) -> str:
    return store.email_by_subject(subject).thread_id


def test_a_reply_chain_is_one_thread_whatever_arrives_first(alice_mail: Mailstore) -> None:
    # Appended oldest first, fetched newest first: replies come before originals.
    alice_mail.append(message("Plans", message_id="<p1@example.test>"))
    alice_mail.append(message("Re: Plans", message_id="<p2@example.test>", in_reply_to="<p1@example.test>",
                              references="<p1@example.test>"), mailbox="Sent")
    alice_mail.append(message("Re: Plans", message_id="<p3@example.test>", in_reply_to="<p2@example.test>",
                              references="<p1@example.test> <p2@example.test>"))
    alice_mail.append(message("Unrelated", message_id="<u1@example.test>"))
    alice_mail.sync()
    emails = Email.objects.filter(account=alice_mail.account, message_id_first__startswith="p")
    assert emails.count() == 3
    assert len({email.thread_id for email in emails}) == 1
    assert _thread(alice_mail, "Unrelated") != emails[0].thread_id
    inbox = alice_mail.mailbox("INBOX")
    assert (inbox.total_emails, inbox.total_threads) == (3, 2)
    assert set(MailboxMessage.objects.filter(email__in=emails).values_list("thread_id", flat=True)) == {
        emails[0].thread_id
    }


def test_a_later_reply_joins_the_existing_thread(alice_mail: Mailstore) -> None:
    alice_mail.append(message("Lunch", message_id="<l1@example.test>"))
    alice_mail.sync()
    thread_id = _thread(alice_mail, "Lunch")
    thread = Thread.objects.get(account=alice_mail.account, jmap_id=thread_id)
    alice_mail.append(message("Re: Lunch?", message_id="<l2@example.test>", references="<l1@example.test>"))
    alice_mail.sync()
    assert _thread(alice_mail, "Re: Lunch?") == thread_id
    updated = Thread.objects.get(pk=thread.pk)
    assert updated.updated_modseq > thread.updated_modseq  # Thread/changes reports the new email


def test_the_subject_alone_never_joins_a_thread(alice_mail: Mailstore) -> None:
    # RFC 8621 §3: a thread is made of Message-ID links; the same subject is no link.
    alice_mail.append(message("Invoice", message_id="<i1@example.test>", date=DAY), when=DAY)
    alice_mail.append(message("Invoice", message_id="<i2@example.test>", date=DAY), when=DAY)
    alice_mail.append(message("Re: Invoice", message_id="<i3@example.test>", date=DAY),
                      when=DAY + dt.timedelta(hours=1))  # looks like a reply, refers to nothing
    alice_mail.append(message("RE: Hello", message_id="<h1@example.test>"), when=DAY)
    alice_mail.append(message("Hello", message_id="<h2@example.test>"), when=DAY + dt.timedelta(hours=2))
    alice_mail.append(message("This is a test", message_id="<t1@example.test>"))
    alice_mail.append(message("This is a test", message_id="<t2@example.test>"))
    alice_mail.sync()
    threads = [email.thread_id for email in alice_mail.emails()]
    assert len(threads) == 7
    assert len(set(threads)) == 7
    alice_mail.append(message("Invoice", message_id="<i4@example.test>"), when=DAY + dt.timedelta(days=1))
    alice_mail.sync()
    assert len({email.thread_id for email in alice_mail.emails()}) == 8


def test_a_reply_with_the_same_subject_joins_only_its_own_parent(alice_mail: Mailstore) -> None:
    alice_mail.append(message("Hello", message_id="<hello-a@example.test>"))
    alice_mail.append(message("Hello", message_id="<hello-b@example.test>"))
    alice_mail.append(message("Re: Hello", message_id="<hello-c@example.test>", in_reply_to="<hello-b@example.test>"))
    alice_mail.sync()
    by_id = {email.message_id_first: email.thread_id for email in alice_mail.emails()}
    assert by_id["hello-c@example.test"] == by_id["hello-b@example.test"]
    assert by_id["hello-a@example.test"] != by_id["hello-b@example.test"]


def test_threads_merge_into_the_older_one(alice_mail: Mailstore) -> None:
    alice_mail.append(message("Part A", message_id="<a@example.test>"))
    alice_mail.sync()
    alice_mail.append(message("Part B", message_id="<b@example.test>"))
    alice_mail.sync()
    older = Thread.objects.get(account=alice_mail.account, jmap_id=_thread(alice_mail, "Part A"))
    younger = Thread.objects.get(account=alice_mail.account, jmap_id=_thread(alice_mail, "Part B"))
    b_before = alice_mail.email_by_subject("Part B")
    assert older.jmap_id != younger.jmap_id
    alice_mail.append(message("Both", message_id="<c@example.test>", references="<a@example.test> <b@example.test>"))
    alice_mail.sync()
    for subject in ("Part A", "Part B", "Both"):
        assert _thread(alice_mail, subject) == older.jmap_id
    younger.refresh_from_db()
    assert younger.destroyed
    b_after = alice_mail.email_by_subject("Part B")
    # threadId is immutable (RFC 8621 §3): the email moved as a new one.
    assert b_after.jmap_id != b_before.jmap_id
    assert b_after.created_modseq > b_before.created_modseq
    assert b_after.blob_id == b_before.blob_id
    gone = Email.objects.get(pk=b_before.pk)
    assert gone.destroyed and gone.thread_id == younger.jmap_id and gone.updated_modseq == b_after.created_modseq
    assert list(MailboxMessage.objects.filter(email=gone)) == []
    assert MailboxMessage.objects.filter(email=b_after).count() == 1
    a_email = alice_mail.email_by_subject("Part A")
    assert a_email.created_modseq < b_after.created_modseq  # the older thread's email keeps its id
    assert set(MailboxMessage.objects.filter(account=alice_mail.account).values_list("thread_id", flat=True)) == {
        older.jmap_id
    }
    assert alice_mail.mailbox("INBOX").total_threads == 1


def test_a_message_moved_by_another_client_keeps_up_with_a_merge(alice_mail: Mailstore) -> None:
    alice_mail.append(message("Part A", message_id="<ma@example.test>"))
    alice_mail.sync()
    alice_mail.append(message("Part B", message_id="<mb@example.test>"))
    alice_mail.sync()
    a_email = alice_mail.email_by_subject("Part A")
    # Another client moves B to Archive; in the same folder arrives the message linking A and B.
    with alice_mail.client() as client:
        client.select_folder("INBOX")
        [b_uid] = client.search(["SUBJECT", "Part B"])
        client.move([b_uid], "Archive")
    alice_mail.append(message("Both", message_id="<mc@example.test>", references="<ma@example.test> <mb@example.test>"),
                      mailbox="Archive")
    alice_mail.sync()
    by_subject = {email.subject: email for email in alice_mail.emails()}
    assert set(by_subject) == {"Part A", "Part B", "Both"}
    assert {email.thread_id for email in by_subject.values()} == {a_email.thread_id}
    for email in by_subject.values():
        assert MailboxMessage.objects.filter(email=email).count() == 1, email.subject
    assert not MailboxMessage.objects.filter(account=alice_mail.account, email__destroyed=True).exists()
    assert alice_mail.mailbox("Archive").total_emails == 2


def test_a_merge_recounts_the_threads_of_other_mailboxes(alice_mail: Mailstore) -> None:
    alice_mail.append(message("Part A", message_id="<ca@example.test>"), mailbox="Archive")
    alice_mail.append(message("Part B", message_id="<cb@example.test>"), mailbox="Archive")
    alice_mail.sync()
    assert alice_mail.mailbox("Archive").total_threads == 2
    before = alice_mail.mailbox("Archive").updated_modseq
    alice_mail.append(message("Both", message_id="<cc@example.test>", references="<ca@example.test> <cb@example.test>"))
    alice_mail.sync()
    archive = alice_mail.mailbox("Archive")
    assert (archive.total_emails, archive.total_threads) == (2, 1)
    assert archive.updated_modseq > before  # Mailbox/changes reports the new count
    assert alice_mail.mailbox("INBOX").total_threads == 1
