"""Email/set create (RFC 8621 §4.6) against Dovecot: one Message-ID whatever
part carries it, and non-text leaves given by partId with their own type."""
from __future__ import annotations

import re
from typing import Any

from django.test import Client

from tests.jmapcore.mail.conftest import MailUser


def _raw_messages(user: MailUser, folder: str) -> list[bytes]:
    with user.imap() as imap:
        imap.select_folder(folder, readonly=True)
        fetched = imap.fetch(imap.search("ALL"), ["BODY.PEEK[]"])
        return [data[b"BODY[]"] for data in fetched.values()]


def _header_count(raw: bytes, name: bytes) -> int:
    head = raw.split(b"\r\n\r\n", 1)[0]
    return len(re.findall(rb"(?im)^" + name + rb"[ \t]*:", head))


def _create(user: MailUser, email: dict[str, Any]) -> dict[str, Any]:
    drafts = user.mailboxes()["drafts"]["id"]
    result = user.ok("Email/set", create={"k": {"mailboxIds": {drafts: True}, **email}})
    assert result["notCreated"] is None, result["notCreated"]
    return dict(result["created"]["k"])


def test_a_message_id_on_the_single_text_part_is_the_only_one(alice_mail: MailUser) -> None:
    alice_mail.sync()
    created = _create(alice_mail, {
        "subject": "one id",
        "bodyValues": {"t": {"value": "hello"}},
        "bodyStructure": {"partId": "t", "type": "text/plain", "header:Message-Id": " <given-1@example.org>"},
    })
    _create(alice_mail, {
        "subject": "one id too",
        "bodyValues": {"t": {"value": "hello"}},
        "textBody": [{"partId": "t", "type": "text/plain", "header:Message-ID:asMessageIds": ["given-2@example.org"],
                      "header:Date:asDate": "2026-11-30T08:00:00Z"}],
    })
    _create(alice_mail, {"subject": "generated", "bodyValues": {"t": {"value": "x"}}, "textBody": [{"partId": "t"}]})
    raws = _raw_messages(alice_mail, "Drafts")
    assert len(raws) == 3
    for raw in raws:
        assert _header_count(raw, b"Message-ID") == 1, raw
        assert _header_count(raw, b"Date") == 1, raw
        assert _header_count(raw, b"MIME-Version") == 1, raw
    [got] = alice_mail.ok("Email/get", ids=[created["id"]], properties=["messageId"])["list"]
    assert got["messageId"] == ["given-1@example.org"]


def test_a_non_text_leaf_given_by_part_id(alice_mail: MailUser, jmap_client: Client) -> None:
    alice_mail.sync()
    svg = '<svg xmlns="http://www.w3.org/2000/svg"><circle r="1"/></svg>'
    calendar = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    created = _create(alice_mail, {
        "subject": "with a drawing",
        "bodyValues": {"t": {"value": "see the drawing"}, "img": {"value": svg}, "cal": {"value": calendar}},
        "bodyStructure": {"type": "multipart/mixed", "subParts": [
            {"partId": "t", "type": "text/plain"},
            {"partId": "img", "type": "image/svg+xml", "disposition": "attachment", "name": "dot.svg"},
            {"partId": "cal", "type": "application/ics", "name": "invite.ics"},
        ]},
    })
    [raw] = _raw_messages(alice_mail, "Drafts")
    assert b"Content-Type: image/svg+xml; name=dot.svg" in raw
    assert b"charset" not in raw.split(b"image/svg+xml", 1)[1].split(b"\r\n", 1)[0]
    [email] = alice_mail.ok("Email/get", ids=[created["id"]], properties=["attachments", "textBody"])["list"]
    by_name = {part["name"]: part for part in email["attachments"]}
    assert by_name["dot.svg"]["type"] == "image/svg+xml"
    assert by_name["invite.ics"]["type"] == "application/ics"
    download = jmap_client.get(
        f"/download/{alice_mail.account_id}/{by_name['dot.svg']['blobId']}/dot.svg?accept=image/svg%2Bxml",
        HTTP_AUTHORIZATION=alice_mail.auth,
    )
    assert download.status_code == 200
    assert b"".join(download) == svg.encode()
    assert email["textBody"][0]["type"] == "text/plain"


def test_a_part_id_leaf_still_refuses_a_charset(alice_mail: MailUser) -> None:
    alice_mail.sync()
    drafts = alice_mail.mailboxes()["drafts"]["id"]
    result = alice_mail.ok("Email/set", create={"k": {
        "mailboxIds": {drafts: True},
        "bodyValues": {"img": {"value": "<svg/>"}},
        "bodyStructure": {"partId": "img", "type": "image/svg+xml", "charset": "utf-8"},
    }})
    assert result["notCreated"]["k"]["type"] == "invalidProperties"
    assert result["notCreated"]["k"]["properties"] == ["bodyStructure/charset"]
