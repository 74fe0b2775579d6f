"""An uploaded blob as an attachment of Email/set create, and a hostile message
that must not break Email/get (RFC 8621 §4.6, §4.2)."""
from __future__ import annotations

import json

from django.test import Client

from tests.jmapcore.mail.conftest import MailUser

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8

HOSTILE = (
    b"From: \xff\xfe broken <a@b>\r\nSubject: =?x-unknown?Q?caf=E9?= \xe9t\xe9\r\n"
    b"Content-Type: multipart/mixed; boundary=\"never-closed\"\r\n"
    b"X-Long: " + b"a" * 20000 + b"\r\n\r\n"
    b"--never-closed\r\nContent-Type: text/plain; charset=klingon\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"!!!not base64!!!\r\n"
    b"--never-closed\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>=ZZ=\r\n"
)


def test_uploaded_blob_becomes_an_attachment(alice_mail: MailUser, jmap_client: Client) -> None:
    alice_mail.sync()
    upload = jmap_client.post(
        f"/upload/{alice_mail.account_id}/", data=PDF, content_type="application/pdf",
        HTTP_AUTHORIZATION=alice_mail.auth,
    )
    assert upload.status_code == 201, upload.content
    blob_id = json.loads(upload.content)["blobId"]
    drafts = alice_mail.mailboxes()["drafts"]["id"]
    created = alice_mail.ok(
        "Email/set",
        create={
            "d": {
                "mailboxIds": {drafts: True},
                "subject": "with plan",
                "bodyValues": {"t": {"value": "See attached."}},
                "textBody": [{"partId": "t", "type": "text/plain"}],
                "attachments": [{"blobId": blob_id, "type": "application/pdf", "name": "plan.pdf"}],
            },
            "missing": {
                "mailboxIds": {drafts: True},
                "attachments": [{"blobId": "Bdoesnotexist", "type": "application/pdf"}],
            },
        },
    )
    assert created["notCreated"]["missing"]["type"] == "blobNotFound"
    assert created["notCreated"]["missing"]["notFound"] == ["Bdoesnotexist"]
    email_id = created["created"]["d"]["id"]
    [email] = alice_mail.ok("Email/get", ids=[email_id], properties=["attachments", "hasAttachment"])["list"]
    assert email["hasAttachment"] is True
    [pdf] = email["attachments"]
    assert pdf["name"] == "plan.pdf" and pdf["size"] == len(PDF)
    download = jmap_client.get(
        f"/download/{alice_mail.account_id}/{pdf['blobId']}/plan.pdf?type=application/pdf",
        HTTP_AUTHORIZATION=alice_mail.auth,
    )
    assert download.status_code == 200 and b"".join(download) == PDF


def test_hostile_message_is_served(alice_mail: MailUser) -> None:
    alice_mail.deliver(HOSTILE)
    alice_mail.sync()
    [email_id] = alice_mail.ok("Email/query")["ids"]
    [email] = alice_mail.ok(
        "Email/get", ids=[email_id],
        properties=["subject", "from", "bodyStructure", "textBody", "htmlBody", "bodyValues", "header:X-Long"],
        fetchAllBodyValues=True,
    )["list"]
    assert isinstance(email["subject"], str)
    values = email["bodyValues"]
    assert values and all(isinstance(value["value"], str) for value in values.values())
    assert any(value["isEncodingProblem"] for value in values.values())
    assert len(email["header:X-Long"]) > 19000
