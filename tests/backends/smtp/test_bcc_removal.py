"""Bcc never leaves (RFC 5322 §3.6.3, DESIGN.md "Security"): message_without_bcc
removes the blind-copy fields and nothing else, and a message sent through the
real SMTP server carries no Bcc while its Bcc recipient still gets it."""
from __future__ import annotations

import secrets

from backends.smtp.client import smtp_send
from backends.smtp.envelope import envelope_from_headers, message_without_bcc
from tests.backends.smtp.conftest import inbox_messages
from tests.personas import Persona
from tests.servers.smtp import SmtpServer, account_smtp_point


def test_bcc_fields_removed_rest_byte_identical() -> None:
    raw = (
        b"From: alice@example.test\r\n"
        b"To: bob@example.test\r\n"
        b"Bcc: mallory@example.test,\r\n"
        b"\tcarol@example.test\r\n"
        b"Subject: hi\r\n"
        b"BCC: second@example.test\r\n"
        b"Resent-Bcc: third@example.test\r\n"
        b"X-Bcc-Note: kept, not a Bcc field\r\n"
        b"\r\n"
        b"Bcc: this line is body text and stays\r\n"
    )
    assert message_without_bcc(raw) == (
        b"From: alice@example.test\r\n"
        b"To: bob@example.test\r\n"
        b"Subject: hi\r\n"
        b"X-Bcc-Note: kept, not a Bcc field\r\n"
        b"\r\n"
        b"Bcc: this line is body text and stays\r\n"
    )


def test_without_bcc_unchanged() -> None:
    raw = b"From: a@example.test\nTo: b@example.test\n\nbody  \r\nwith odd\rline ends\n"
    assert message_without_bcc(raw) == raw


def test_empty_bcc_and_header_only_message() -> None:
    assert message_without_bcc(b"From: a@example.test\r\nBcc:\r\n") == b"From: a@example.test\r\n"
    assert message_without_bcc(b"Bcc: x@example.test\r\n\r\n") == b"\r\n"


def test_bcc_recipient_gets_the_message_without_the_header(
    alice: Persona, smtp_tls_trust: SmtpServer
) -> None:
    server = smtp_tls_trust
    account_smtp_point(account=alice.account, server=server, ssl_mode=3)
    marker = f"blind-{secrets.token_hex(6)}"
    raw = (
        "From: Alice <alice@example.test>\r\n"
        "To: Bob <bob@example.test>\r\n"
        "Bcc: Mallory <mallory@example.test>\r\n"
        f"Subject: {marker}\r\n"
        "\r\n"
        "Only bob should see who else got this.\r\n"
    ).encode()
    mail_from, recipients = envelope_from_headers(raw)
    outgoing = message_without_bcc(raw)

    result = smtp_send(account=alice.account, mail_from=mail_from, recipients=recipients, message=outgoing)

    assert result.accepted == ["bob@example.test", "mallory@example.test"]
    [seen] = server.transmissions_containing(marker.encode())
    assert seen.rcpt_tos == ("bob@example.test", "mallory@example.test")
    assert seen.data == outgoing
    assert b"bcc" not in seen.data.lower()
    assert b"mallory" not in seen.data.lower()
    [bobs_copy] = inbox_messages(server.dovecot, "bob@example.test", marker.encode())
    assert b"mallory" not in bobs_copy.lower()
    [mallorys_copy] = inbox_messages(server.dovecot, "mallory@example.test", marker.encode())
    assert b"\nbcc:" not in mallorys_copy.lower()
    assert mallorys_copy.endswith(outgoing)  # Dovecot only prepends its trace fields
