"""Email/import refusals (RFC 8621 §4.8): a blobId that does not exist is
invalidProperties naming blobId (not blobNotFound), a blob that is not an
RFC 5322 message is invalidEmail; neither reaches the server."""
from __future__ import annotations

import json

import pytest
from django.test import Client

from jmapcore.mail.email_set import message_shaped
from tests.jmapcore.mail.conftest import MailUser, message


def _upload(user: MailUser, client: Client, data: bytes, content_type: str) -> str:
    response = client.post(
        f"/upload/{user.account_id}/", data=data, content_type=content_type, HTTP_AUTHORIZATION=user.auth
    )
    assert response.status_code == 201, response.content
    return str(json.loads(response.content)["blobId"])


def _inbox_count(user: MailUser) -> int:
    with user.imap() as imap:
        return int(imap.select_folder("INBOX", readonly=True)[b"EXISTS"])


def test_unknown_blob_is_invalid_properties_on_blob_id(alice_mail: MailUser) -> None:
    alice_mail.sync()
    inbox = alice_mail.mailboxes()["inbox"]["id"]
    result = alice_mail.ok("Email/import", emails={"i": {"blobId": "Gnosuchblob", "mailboxIds": {inbox: True}}})
    error = result["notCreated"]["i"]
    assert error["type"] == "invalidProperties"
    assert error["properties"] == ["blobId"]
    assert result["created"] is None
    assert _inbox_count(alice_mail) == 0


def test_a_blob_that_is_no_message_is_invalid_email(alice_mail: MailUser, jmap_client: Client) -> None:
    alice_mail.sync()
    inbox = alice_mail.mailboxes()["inbox"]["id"]
    text = _upload(alice_mail, jmap_client, b"This is a test.\r\nNot a message at all.\r\n", "text/plain")
    binary = _upload(alice_mail, jmap_client, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png")
    good = _upload(alice_mail, jmap_client, message(subject="a real one"), "message/rfc822")
    result = alice_mail.ok(
        "Email/import",
        emails={name: {"blobId": blob, "mailboxIds": {inbox: True}}
                for name, blob in (("text", text), ("binary", binary), ("good", good))},
    )
    assert result["notCreated"]["text"]["type"] == "invalidEmail"
    assert result["notCreated"]["binary"]["type"] == "invalidEmail"
    assert set(result["created"]) == {"good"}
    assert _inbox_count(alice_mail) == 1


@pytest.mark.parametrize(
    ("raw", "shaped"),
    [
        (b"Subject: hi\r\n\r\nbody", True),
        (b"Subject: hi\r\nX-Long: a\r\n  folded\r\n\r\n", True),
        (b"Subject: only headers\n", True),
        (b"From: a@example.org\n\nbody: with a colon", True),
        (b"", False),
        (b"no colon here\r\n\r\n", False),
        (b"From a@example.org Mon Jan  1 00:00:00 2024\r\nSubject: mbox\r\n\r\n", False),
        (b" Subject: starts folded\r\n\r\n", False),
        (b"Subject: ok\r\nbroken line\r\n\r\n", False),
    ],
)
def test_message_shape(raw: bytes, shaped: bool) -> None:
    assert message_shaped(raw) is shaped
