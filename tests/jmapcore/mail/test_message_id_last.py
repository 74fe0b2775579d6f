"""A message with several Message-ID fields: messageId is
header:Message-ID:asMessageIds, the last instance (RFC 8621 §4.1.3), both
from the cache (Email/get of list properties) and from the message itself."""
from __future__ import annotations

from tests.jmapcore.mail.conftest import MailUser, message


def test_message_id_is_the_last_of_several(alice_mail: MailUser) -> None:
    raw = message(subject="two ids", message_id="<first@example.org>",
                  extra_headers="Message-ID: <second@example.org>\r\n")
    assert raw.count(b"Message-ID:") == 2
    alice_mail.deliver(raw)
    alice_mail.sync()
    [email_id] = alice_mail.ok("Email/query")["ids"]
    [cached] = alice_mail.ok("Email/get", ids=[email_id], properties=["messageId"])["list"]
    assert cached["messageId"] == ["second@example.org"]
    [parsed] = alice_mail.ok(
        "Email/get", ids=[email_id],
        properties=["header:Message-ID:asMessageIds", "header:Message-ID:asMessageIds:all"],
    )["list"]
    assert parsed["header:Message-ID:asMessageIds"] == ["second@example.org"]
    assert parsed["header:Message-ID:asMessageIds:all"] == [["first@example.org"], ["second@example.org"]]
