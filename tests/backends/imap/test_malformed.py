"""Malformed messages never break the sync: broken MIME, raw 8-bit headers,
huge headers, bad dates, unknown charsets, no headers at all."""
from __future__ import annotations

from jmapcore.models.mail import Email
from tests.backends.imap.conftest import Mailstore, message

BROKEN_MIME = (
    b"From: bob@example.test\r\nSubject: broken mime\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"missing\"\r\n\r\nno boundary ever comes\r\n"
)
EIGHT_BIT = (
    b"From: J\xf6rg M\xfcller <jorg@example.test>\r\nSubject: Gr\xfc\xdfe aus K\xf6ln\r\n"
    b"To: \xc3\xa9milie <emilie@example.test>\r\n\r\nBody \xe9\r\n"
)
HUGE_HEADERS = (
    b"From: bob@example.test\r\nSubject: huge\r\nReferences: "
    + b" ".join(b"<ref%d@example.test>" % number for number in range(6000))
    + b"\r\nX-Filler: " + b"x" * 200_000 + b"\r\n\r\nbody\r\n"
)
BAD_VALUES = (
    b"From: =?x-unknown?q?nobody?= <@>, \"unterminated <x@y\r\nDate: the day after tomorrow\r\n"
    b"Subject: =?utf-8?b?!!!notbase64?=\r\nMessage-ID: no-brackets-here\r\n"
    b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\nbody\r\n"
)
NO_HEADERS = b"\r\njust a body, no header at all\r\n"


def test_malformed_messages_are_synced(any_mail: Mailstore) -> None:
    for raw in (BROKEN_MIME, EIGHT_BIT, HUGE_HEADERS, BAD_VALUES, NO_HEADERS):
        any_mail.append(raw)
    any_mail.append(message("Fine"))
    any_mail.sync()

    emails = {email.subject: email for email in Email.objects.filter(account=any_mail.account, destroyed=False)}
    assert len(emails) == 6 and "Fine" in emails
    assert emails["broken mime"].from_addr == [{"name": None, "email": "bob@example.test"}]
    eight_bit = emails["Grüße aus Köln"]
    assert eight_bit.from_addr == [{"name": "Jörg Müller", "email": "jorg@example.test"}]
    assert eight_bit.to == [{"name": "émilie", "email": "emilie@example.test"}]
    huge = emails["huge"]
    assert huge.references and huge.references[0] == "ref0@example.test"
    bad = Email.objects.get(account=any_mail.account, message_id_first="no-brackets-here")
    assert bad.sent_at is None and bad.from_addr is not None
    bare = Email.objects.get(account=any_mail.account, subject="", message_id_first="")
    assert bare.from_addr is None and bare.message_id is None and "just a body" in bare.preview
    assert any_mail.mailbox("INBOX").total_emails == 6
    # Everything is in; a second sync is quiet.
    any_mail.sync()
    assert Email.objects.filter(account=any_mail.account).count() == 6
