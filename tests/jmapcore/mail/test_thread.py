"""Thread/get and Thread/changes (RFC 8621 §3)."""
from __future__ import annotations

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
