"""Helpers for the SMTP client tests: messages with a unique marker, and
reading what arrived in Dovecot."""
from __future__ import annotations

import secrets

import imapclient

from tests.servers.dovecot import DovecotServer


def message_make(*, sender: str, to: str, subject_prefix: str = "test", extra_headers: str = "") -> tuple[bytes, bytes]:
    """(raw message, unique marker in its Subject)."""
    marker = f"{subject_prefix}-{secrets.token_hex(6)}"
    raw = (
        f"From: {sender}\r\nTo: {to}\r\n{extra_headers}Subject: {marker}\r\n"
        f"Message-ID: <{marker}@example.test>\r\n\r\nHello from the SMTP tests.\r\n"
    ).encode()
    return raw, marker.encode()


def inbox_messages(dovecot: DovecotServer, login: str, marker: bytes) -> list[bytes]:
    """The raw INBOX messages of `login` whose Subject contains `marker` (IMAP login as that user)."""
    with imapclient.IMAPClient(dovecot.host, dovecot.imap_port, ssl=False, timeout=10) as client:
        client.login(login, dovecot.users[login])
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["HEADER", "Subject", marker.decode()])
        fetched = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
    return [item[b"BODY[]"] for item in fetched.values()]
