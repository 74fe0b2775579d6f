"""Thread/get and Thread/changes (RFC 8621 §3)."""
from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.jmapcore.mail.conftest import MailUser, message


def test_reply_joins_the_thread(alice_mail: MailUser) -> None:
    alice_mail.deliver(message(subject="Plans", message_id="<p1@example.org>"))
    alice_mail.sync()
    [first] = alice_mail.ok("Email/query")["ids"]
    [email] = alice_mail.ok("Email/get", ids=[first], properties=["threadId"])["list"]
    state = alice_mail.state("Thread")
    alice_mail.deliver(message(subject="Re: Plans", message_id="<p2@example.org>",
                               extra_headers="In-Reply-To: <p1@example.org>\r\nReferences: <p1@example.org>\r\n"))
    alice_mail.sync()
    [thread] = alice_mail.ok("Thread/get", ids=[email["threadId"]])["list"]
    assert len(thread["emailIds"]) == 2 and thread["emailIds"][0] == first
    changes = alice_mail.ok("Thread/changes", sinceState=state)
    assert email["threadId"] in changes["updated"] + changes["created"]


def _thread_get_queries(user: MailUser, thread_ids: list[str]) -> tuple[list[dict[str, object]], int]:
    with CaptureQueriesContext(connection) as queries:
        found = user.ok("Thread/get", ids=thread_ids)["list"]
    return found, len(queries.captured_queries)


def test_thread_get_reads_email_ids_in_one_query_for_any_number_of_threads(alice_mail: MailUser) -> None:
    """Thread/get costs the same number of queries for one thread as for six:
    emailIds come from one query over all requested threads, not one per thread."""
    for topic in range(6):
        alice_mail.deliver(message(subject=f"Topic {topic}", message_id=f"<topic{topic}@example.org>"))
        alice_mail.deliver(message(subject=f"Re: Topic {topic}", message_id=f"<topic{topic}-reply@example.org>",
                                   extra_headers=f"In-Reply-To: <topic{topic}@example.org>\r\n"))
    alice_mail.sync()
    emails = alice_mail.ok("Email/get", ids=None, properties=["threadId", "receivedAt"])["list"]
    thread_ids = sorted({email["threadId"] for email in emails})
    assert len(thread_ids) == 6

    # A first request fills per-process memos (the login's sessionState, jmapcore.session_object): not per thread.
    _thread_get_queries(alice_mail, thread_ids[:1])
    one, queries_for_one = _thread_get_queries(alice_mail, thread_ids[:1])
    six, queries_for_six = _thread_get_queries(alice_mail, thread_ids)
    assert queries_for_six == queries_for_one
    assert [thread["id"] for thread in six] == thread_ids
    by_thread: dict[str, set[str]] = {}
    for email in emails:
        by_thread.setdefault(email["threadId"], set()).add(email["id"])
    for thread in six:
        email_ids = thread["emailIds"]
        assert isinstance(email_ids, list) and len(email_ids) == 2
        assert set(email_ids) == by_thread[str(thread["id"])]
    assert one == six[:1]
