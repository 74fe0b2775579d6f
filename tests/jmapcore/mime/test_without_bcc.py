"""message_without_bcc: Bcc never leaves in a sent message (DESIGN "Security")."""
from __future__ import annotations

from jmapcore.mime import message_parse, message_without_bcc


def test_every_bcc_field_is_removed_and_nothing_else_changes() -> None:
    raw = (b"From: alice@example.com\r\n"
           b"Bcc: mallory@example.com,\r\n\tbob@example.org\r\n"
           b"To: bob@example.org\r\n"
           b"BCC : second@example.com\r\n"
           b"Subject: hi\r\n"
           b"\r\n"
           b"Bcc: this line is body text\r\n")
    expected = (b"From: alice@example.com\r\n"
                b"To: bob@example.org\r\n"
                b"Subject: hi\r\n"
                b"\r\n"
                b"Bcc: this line is body text\r\n")
    stripped = message_without_bcc(raw)
    assert stripped == expected
    assert message_parse(stripped).metadata()["bcc"] is None


def test_message_without_bcc_is_identity_otherwise() -> None:
    raw = b"From: a@b\nX-Bcc-Note: keep\n\nbody"
    assert message_without_bcc(raw) == raw
    assert message_without_bcc(b"") == b""
    assert message_without_bcc(b"Bcc: x@y") == b""
