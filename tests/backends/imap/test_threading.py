"""Threads from Message-ID/In-Reply-To/References, the subject fallback for
broken chains, and merging (the older thread id survives)."""
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


def test_a_broken_chain_falls_back_to_the_subject(alice_mail: Mailstore) -> None:
    alice_mail.append(message("Quarterly report", message_id="<q1@example.test>", date=DAY), when=DAY)
    alice_mail.append(message("RE: Quarterly report", message_id="<q2@example.test>", date=DAY),
                      when=DAY + dt.timedelta(days=2))
    alice_mail.append(message("Re: Quarterly report", message_id="<q3@example.test>"),
                      when=DAY + dt.timedelta(days=200))  # too late for the subject window
    alice_mail.append(message("Quarterly report", message_id="<q4@example.test>"),
                      when=DAY + dt.timedelta(days=1))  # same subject but not a reply: its own thread
    alice_mail.sync()
    by_id = {email.message_id_first: email.thread_id for email in alice_mail.emails()}
    assert by_id["q1@example.test"] == by_id["q2@example.test"]
    assert by_id["q3@example.test"] != by_id["q1@example.test"]
    assert by_id["q4@example.test"] != by_id["q1@example.test"]


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
    assert b_after.updated_modseq > b_before.updated_modseq
    assert set(MailboxMessage.objects.filter(account=alice_mail.account).values_list("thread_id", flat=True)) == {
        older.jmap_id
    }
    assert alice_mail.mailbox("INBOX").total_threads == 1
