"""Email/set create: JMAP Email -> RFC 5322 (RFC 8621 §4.6), and the round trip
through message_parse."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from jmapcore.mime import BlobNotFound, EmailInvalid, email_build, message_parse

from .samples import blob_id

ALICE = {"name": "Alice Liddell", "email": "alice@example.com"}
BOB = {"name": "Bob \"the builder\" Smith", "email": "bob@example.org"}
ZOE = {"name": "Zoë Ünicode-Ñame, Jr.", "email": "zoe@example.net"}
MALLORY = {"name": None, "email": "mallory@example.com"}
LOGO = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
REPORT = b"%PDF-1.4\n" + bytes(range(256)) * 20
BLOBS: dict[str, tuple[bytes, str]] = {"logo": (LOGO, "image/png"), "report": (REPORT, "application/pdf")}
NOW = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def build(email: dict[str, Any]) -> bytes:
    return email_build(email, blob_content=BLOBS.get, now=NOW)


def draft(**extra: Any) -> dict[str, Any]:
    email: dict[str, Any] = {
        "mailboxIds": {"drafts": True},
        "keywords": {"$draft": True},
        "from": [ALICE],
        "to": [BOB, ZOE],
        "subject": "Réunion — ordre du jour très détaillé pour la semaine prochaine, avec annexes",
        "textBody": [{"partId": "text", "type": "text/plain"}],
        "bodyValues": {"text": {"value": "Bonjour Bob,\n\nça va ?\n"}},
    }
    email.update(extra)
    return email


def test_round_trip_headers_and_text_body() -> None:
    raw = build(draft(cc=[MALLORY], replyTo=[ALICE], inReplyTo=["m0@example.com"],
                      references=["r@example.com", "m0@example.com"], sentAt="2024-04-30T18:00:00+02:00"))
    message = message_parse(raw)
    meta = message.metadata()
    assert meta["from"] == [ALICE]
    assert meta["to"] == [BOB, ZOE]
    assert meta["cc"] == [MALLORY]
    assert meta["replyTo"] == [ALICE]
    assert meta["subject"] == draft()["subject"]
    assert meta["sentAt"] == "2024-04-30T18:00:00+02:00"
    assert meta["inReplyTo"] == ["m0@example.com"]
    assert meta["references"] == ["r@example.com", "m0@example.com"]
    assert meta["messageId"] is not None and meta["messageId"][0].endswith("@example.com")
    text = message.text_body(blob_id)
    assert [p["type"] for p in text] == ["text/plain"]
    assert message.body_values(["1"])["1"]["value"] == "Bonjour Bob,\n\nça va ?\n"
    assert message.header("MIME-Version", "Text") == "1.0"


def test_output_is_ascii_with_short_lines() -> None:
    long_text = "Long line: " + "é" * 3000 + "\n" + "x" * 5000
    raw = build(draft(bodyValues={"text": {"value": long_text}}, subject="ü" * 500))
    assert raw.isascii()
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")
    message = message_parse(raw)
    assert message.metadata()["subject"] == "ü" * 500
    assert message.body_values(["1"])["1"]["value"] == long_text


def test_date_and_message_id_are_added_when_absent() -> None:
    message = message_parse(build(draft()))
    assert message.metadata()["sentAt"] == "2024-05-01T09:30:00Z"
    assert len(message.header("Message-ID", all=True)) == 1
    given = message_parse(build(draft(messageId=["mine@example.com"], sentAt="2020-01-01T00:00:00Z")))
    assert given.metadata()["messageId"] == ["mine@example.com"]
    assert given.header("Date", all=True) == [" Wed, 01 Jan 2020 00:00:00 +0000"]


def test_text_html_and_attachments_structure() -> None:
    raw = build(draft(
        htmlBody=[{"partId": "html", "type": "text/html"}],
        bodyValues={"text": {"value": "Hi Bob"}, "html": {"value": '<p>Hi <img src="cid:logo@x"></p>'}},
        attachments=[
            {"blobId": "logo", "type": "image/png", "cid": "logo@x", "name": "logo.png"},
            {"blobId": "report", "type": "application/pdf", "name": "Überweisung März 2024 — ein sehr langer "
                                                                    "Dateiname mit vielen Wörtern.pdf"},
        ]))
    message = message_parse(raw)
    tree = message.body_structure(blob_id, ["type", "subParts", "partId"])
    assert tree["type"] == "multipart/mixed"
    alternative, report = tree["subParts"]
    assert report["type"] == "application/pdf" and report["partId"] == "2"
    assert alternative["type"] == "multipart/alternative"
    assert [p["type"] for p in alternative["subParts"]] == ["text/plain", "multipart/related"]
    assert [p["type"] for p in alternative["subParts"][1]["subParts"]] == ["text/html", "image/png"]
    assert [p["type"] for p in message.text_body(blob_id)] == ["text/plain"]
    assert [p["type"] for p in message.html_body(blob_id)] == ["text/html"]
    attachments = message.attachments(blob_id)
    assert [(a["type"], a["disposition"], a["cid"]) for a in attachments] == [
        ("image/png", "inline", "logo@x"), ("application/pdf", "attachment", None)]
    assert attachments[1]["name"] == "Überweisung März 2024 — ein sehr langer Dateiname mit vielen Wörtern.pdf"
    assert message.part_content(attachments[0]["partId"]) == (LOGO, "image/png")
    assert message.part_content(attachments[1]["partId"]) == (REPORT, "application/pdf")
    assert message.has_attachment is True


def test_body_structure_with_header_properties() -> None:
    raw = build({
        "from": [ALICE], "to": [BOB], "subject": "structured",
        "header:X-Mailer:asText": "Tëst client",
        "header:Resent-To:asAddresses:all": [[MALLORY], [BOB]],
        "header:List-Post:asURLs": ["mailto:list@example.org"],
        "bodyStructure": {"type": "multipart/mixed", "subParts": [
            {"partId": "a", "type": "text/plain", "header:X-Part:asText": "one", "language": ["en"]},
            {"blobId": "report", "type": "application/pdf", "disposition": "attachment", "name": "r.pdf",
             "location": "https://example.com/r.pdf"},
        ]},
        "bodyValues": {"a": {"value": "body"}},
    })
    message = message_parse(raw)
    assert message.header("X-Mailer", "Text") == "Tëst client"
    assert message.header("Resent-To", "Addresses", all=True) == [[MALLORY], [BOB]]
    assert message.header("List-Post", "URLs") == ["mailto:list@example.org"]
    text, pdf = message.body_structure(blob_id, ["subParts", "header:X-Part:asText", "language", "name",
                                                 "location", "type"])["subParts"]
    assert text["header:X-Part:asText"] == "one" and text["language"] == ["en"]
    assert pdf["name"] == "r.pdf" and pdf["location"] == "https://example.com/r.pdf"


def test_grouped_addresses_and_raw_headers() -> None:
    raw = build(draft(**{
        "to": None,
        "header:To:asGroupedAddresses": [{"name": "Friends", "addresses": [BOB, ZOE]},
                                         {"name": None, "addresses": [MALLORY]}],
        "header:X-Raw": " kept  as\r\n  given",
    }))
    message = message_parse(raw)
    assert message.header("To", "GroupedAddresses") == [{"name": "Friends", "addresses": [BOB, ZOE]},
                                                        {"name": None, "addresses": [MALLORY]}]
    assert message.header("X-Raw") == " kept  as\r\n  given"


def _invalid(email: dict[str, Any]) -> EmailInvalid:
    with pytest.raises(EmailInvalid) as info:
        build(email)
    return info.value


@pytest.mark.parametrize(("email", "properties"), [
    (draft(**{"header:From:asAddresses": [BOB]}), ["from", "header:From:asAddresses"]),
    (draft(**{"header:subject": " twice"}), ["subject", "header:subject"]),
    (draft(**{"header:Content-Type": " text/plain"}), ["header:Content-Type"]),
    (draft(**{"header:Received:asDate": "2024-01-01T00:00:00Z"}), ["header:Received:asDate"]),
    (draft(**{"header:X:asBogus": "x"}), ["header:X:asBogus"]),
    (draft(headers=[{"name": "X", "value": "y"}]), ["headers"]),
    (draft(bodyStructure={"partId": "text"}), ["bodyStructure", "textBody"]),
    (draft(textBody=[{"partId": "text", "type": "text/html"}]), ["textBody/0/type"]),
    (draft(textBody=[{"partId": "text"}, {"partId": "text"}]), ["textBody"]),
    (draft(htmlBody=[{"partId": "text", "type": "text/plain"}]), ["htmlBody/0/type"]),
    (draft(textBody=[{"partId": "missing"}]), ["textBody/0/partId"]),
    (draft(textBody=[{"partId": "text", "blobId": "logo"}]), ["textBody/0/partId", "textBody/0/blobId"]),
    (draft(textBody=[{"partId": "text", "charset": "utf-8"}]), ["textBody/0/charset"]),
    (draft(textBody=[{"partId": "text", "size": 3}]), ["textBody/0/size"]),
    (draft(bodyValues={"text": {"value": "x", "isTruncated": True}}), ["bodyValues/text/isTruncated"]),
    (draft(bodyValues={"text": {"value": "x", "isEncodingProblem": True}}), ["bodyValues/text/isEncodingProblem"]),
    (draft(textBody=[{"partId": "text", "header:Content-Transfer-Encoding": " base64"}]),
     ["textBody/0/header:Content-Transfer-Encoding"]),
    (draft(textBody=[{"partId": "text", "type": "text/plain", "header:Content-Type": " text/plain"}]),
     ["textBody/0/type", "textBody/0/header:Content-Type"]),
    (draft(textBody=None, bodyStructure={"type": "multipart/mixed", "subParts": []}), ["bodyStructure/subParts"]),
    (draft(textBody=None, bodyStructure={"type": "text/plain", "subParts": [{"partId": "text"}]}),
     ["bodyStructure/type"]),
    (draft(textBody=None, bodyStructure={"partId": "text", "header:Subject": " clash"}),
     ["bodyStructure/header:Subject"]),
    (draft(to=[{"name": "x", "email": "a@b>\r\nBcc: evil@example.com"}]), ["to"]),
    (draft(**{"header:X-Inject": " a\r\nBcc: evil@example.com"}), ["header:X-Inject"]),
    (draft(sentAt="yesterday"), ["sentAt"]),
    (draft(messageId=["has space@x"]), ["messageId"]),
])
def test_invalid_emails_name_the_offending_properties(email: dict[str, Any], properties: list[str]) -> None:
    error = _invalid(email)
    assert error.properties == properties
    assert error.description


def test_unknown_blobs_are_reported_together() -> None:
    with pytest.raises(BlobNotFound) as info:
        build(draft(attachments=[{"blobId": "nope1"}, {"blobId": "logo"}, {"blobId": "nope2"}]))
    assert info.value.not_found == ["nope1", "nope2"]
    assert info.value.properties == ["attachments/0/blobId", "attachments/2/blobId"]


def test_empty_draft_is_an_empty_text_message() -> None:
    message = message_parse(email_build({"mailboxIds": {"d": True}}, blob_content=BLOBS.get, now=NOW))
    assert message.metadata()["from"] is None
    assert message.body_values(message.fetch_parts("all")) == {
        "1": {"value": "", "isEncodingProblem": False, "isTruncated": False}}


def test_text_blob_keeps_its_octets() -> None:
    blobs = {"t": ("a\nb\r\nc\u00e9".encode(), "text/plain"), "m": (b"From: x@y\r\n\r\nhi\r\n", "message/rfc822")}
    raw = email_build({"attachments": [{"blobId": "t"}, {"blobId": "m"}]}, blob_content=blobs.get, now=NOW)
    message = message_parse(raw)
    parts = message.attachments(blob_id)
    assert [p["type"] for p in parts] == ["text/plain", "message/rfc822"]
    assert parts[0]["charset"] == "utf-8"
    assert message.part_content(parts[0]["partId"]) == (blobs["t"][0], "text/plain")
    assert message.part_content(parts[1]["partId"]) == (blobs["m"][0], "message/rfc822")
