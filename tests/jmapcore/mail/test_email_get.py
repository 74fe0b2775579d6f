"""Email/get (RFC 8621 §4.2): cached list properties, and the message-derived
ones fetched from the real server."""
from __future__ import annotations

import json

from django.test import Client

from tests.jmapcore.mail.conftest import MailUser, message

MULTIPART = (
    "From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.org>\r\n"
    "To: alice@example.test, \"Bob B.\" <bob@example.test>\r\n"
    "Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n"
    "Message-ID: <multi@example.org>\r\n"
    "Date: Mon, 30 Nov 2026 08:15:00 +0100\r\n"
    "List-Id: Friends <friends.example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
    "--outer\r\n"
    "Content-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n"
    "--inner\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    "Gr=C3=BC=C3=9Fe aus K=C3=B6ln!\r\n"
    "--inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln!</p>\r\n"
    "--inner--\r\n"
    "--outer\r\nContent-Type: application/pdf; name=\"plan.pdf\"\r\nContent-Disposition: attachment; "
    "filename=\"plan.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
    "--outer--\r\n"
).encode("latin-1")


def test_list_properties_from_cache(alice_mail: MailUser) -> None:
    alice_mail.deliver(MULTIPART, flags=("\\Seen", "$Important"))
    alice_mail.sync()
    [email_id] = alice_mail.ok("Email/query")["ids"]
    [email] = alice_mail.ok(
        "Email/get",
        ids=[email_id],
        properties=["subject", "from", "to", "keywords", "preview", "hasAttachment", "receivedAt", "mailboxIds",
                    "threadId", "messageId", "size", "sentAt"],
    )["list"]
    assert email["subject"] == "Grüße aus Köln"
    assert email["from"] == [{"name": "Jürgen Müller", "email": "juergen@example.org"}]
    assert email["to"][1] == {"name": "Bob B.", "email": "bob@example.test"}
    assert email["keywords"] == {"$seen": True, "$important": True}
    assert email["hasAttachment"] is True
    assert "Grüße aus Köln" in email["preview"]
    assert email["messageId"] == ["multi@example.org"]
    assert list(email["mailboxIds"]) == [alice_mail.mailboxes()["inbox"]["id"]]
    assert email["size"] == len(MULTIPART)
    assert email["sentAt"] == "2026-11-30T08:15:00+01:00"
    assert email["receivedAt"].endswith("Z")


def test_body_parts_headers_and_values(alice_mail: MailUser) -> None:
    alice_mail.deliver(MULTIPART)
    alice_mail.sync()
    [email_id] = alice_mail.ok("Email/query")["ids"]
    [email] = alice_mail.ok(
        "Email/get",
        ids=[email_id],
        properties=["textBody", "htmlBody", "attachments", "bodyValues", "header:List-Id:asText",
                    "header:To:asAddresses", "header:Subject", "bodyStructure"],
        fetchAllBodyValues=True,
        maxBodyValueBytes=8,
    )["list"]
    [text] = email["textBody"]
    [html] = email["htmlBody"]
    [pdf] = email["attachments"]
    assert text["type"] == "text/plain" and html["type"] == "text/html"
    assert pdf["name"] == "plan.pdf" and pdf["type"] == "application/pdf"
    value = email["bodyValues"][text["partId"]]
    assert value["isTruncated"] is True and "Grüße aus Köln!".startswith(value["value"])
    assert len(value["value"].encode()) <= 8
    assert email["header:List-Id:asText"] == "Friends <friends.example.org>"
    assert email["header:To:asAddresses"][0]["email"] == "alice@example.test"
    assert email["header:Subject"].startswith(" =?UTF-8?B?")
    assert email["bodyStructure"]["type"] == "multipart/mixed"


def test_blobs_download_whole_message_and_part(alice_mail: MailUser, jmap_client: Client) -> None:
    alice_mail.deliver(MULTIPART)
    alice_mail.sync()
    [email_id] = alice_mail.ok("Email/query")["ids"]
    [email] = alice_mail.ok("Email/get", ids=[email_id], properties=["blobId", "attachments"])["list"]
    whole = jmap_client.get(
        f"/download/{alice_mail.account_id}/{email['blobId']}/m.eml?accept=message/rfc822",
        HTTP_AUTHORIZATION=alice_mail.auth,
    )
    assert whole.status_code == 200
    assert b"".join(whole) == MULTIPART
    pdf = email["attachments"][0]
    part = jmap_client.get(
        f"/download/{alice_mail.account_id}/{pdf['blobId']}/plan.pdf?accept=application/pdf",
        HTTP_AUTHORIZATION=alice_mail.auth,
    )
    assert part.status_code == 200
    assert b"".join(part) == b"%PDF-1.4\n"


def test_unknown_property_and_foreign_ids(alice_mail: MailUser, bob_mail: MailUser) -> None:
    bob_mail.deliver(message(subject="bob's secret"))
    bob_mail.sync()
    [bobs] = bob_mail.ok("Email/query")["ids"]
    assert alice_mail.error("Email/get", ids=[], properties=["colour"])["type"] == "invalidArguments"
    assert alice_mail.error("Email/get", ids=[], properties=["header:From:asColour"])["type"] == "invalidArguments"
    alice_mail.sync()
    result = alice_mail.ok("Email/get", ids=[bobs], properties=["subject"])
    assert result["list"] == [] and result["notFound"] == [bobs]
    assert "bob's secret" not in json.dumps(result)
