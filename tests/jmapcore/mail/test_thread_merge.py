"""A late message that links two threads, seen through the JMAP API after a
real Dovecot sync: threadId is immutable (RFC 8621 §3), so the younger
thread's emails are destroyed and created again in the older thread, and
Email/changes and Thread/changes say so."""
from __future__ import annotations

from typing import Any

from tests.jmapcore.mail.conftest import MailUser, message


def _email(user: MailUser, subject: str) -> dict[str, Any]:
    ids = user.ok("Email/query", filter={"subject": subject})["ids"]
    [found] = user.ok("Email/get", ids=ids, properties=["threadId", "subject", "blobId"])["list"]
    return found


def test_linking_two_threads_recreates_the_younger_threads_emails(alice_mail: MailUser) -> None:
    alice_mail.deliver(message(subject="Part A", message_id="<merge-a@example.org>"))
    alice_mail.sync()
    alice_mail.deliver(message(subject="Part B", message_id="<merge-b@example.org>"))
    alice_mail.sync()
    a_before, b_before = _email(alice_mail, "Part A"), _email(alice_mail, "Part B")
    assert a_before["threadId"] != b_before["threadId"]
    email_state, thread_state = alice_mail.state("Email"), alice_mail.state("Thread")

    alice_mail.deliver(message(
        subject="Both parts", message_id="<merge-c@example.org>",
        extra_headers="References: <merge-a@example.org> <merge-b@example.org>\r\n",
    ))
    alice_mail.sync()
    a_after, b_after, both = (_email(alice_mail, subject) for subject in ("Part A", "Part B", "Both parts"))
    assert a_after["id"] == a_before["id"]
    assert b_after["id"] != b_before["id"]
    assert b_after["blobId"] == b_before["blobId"]
    assert {a_after["threadId"], b_after["threadId"], both["threadId"]} == {a_before["threadId"]}

    changes = alice_mail.ok("Email/changes", sinceState=email_state)
    assert changes["destroyed"] == [b_before["id"]]
    assert sorted(changes["created"]) == sorted([b_after["id"], both["id"]])
    assert changes["updated"] == []
    thread_changes = alice_mail.ok("Thread/changes", sinceState=thread_state)
    assert thread_changes["destroyed"] == [b_before["threadId"]]
    assert thread_changes["updated"] == [a_before["threadId"]]
    assert thread_changes["created"] == []

    gone = alice_mail.ok("Email/get", ids=[b_before["id"]], properties=["threadId"])
    assert gone["notFound"] == [b_before["id"]]
    [thread] = alice_mail.ok("Thread/get", ids=[a_before["threadId"]])["list"]
    assert sorted(thread["emailIds"]) == sorted([a_after["id"], b_after["id"], both["id"]])
    assert alice_mail.ok("Thread/get", ids=[b_before["threadId"]])["notFound"] == [b_before["threadId"]]


def test_same_subject_strangers_stay_in_their_own_threads(alice_mail: MailUser) -> None:
    for subject in ("Invoice", "Invoice", "Re: Invoice", "This is a test", "This is a test"):
        alice_mail.deliver(message(subject=subject))
    alice_mail.sync()
    ids = alice_mail.ok("Email/query")["ids"]
    listed = alice_mail.ok("Email/get", ids=ids, properties=["threadId"])["list"]
    assert len({item["threadId"] for item in listed}) == 5
    collapsed = alice_mail.ok("Email/query", collapseThreads=True)["ids"]
    assert len(collapsed) == 5
