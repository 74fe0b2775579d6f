"""Email/set, /import, /copy and /parse against the real server (RFC 8621 §4.6-§4.9)."""
from __future__ import annotations

import json

from django.test import Client

from tests.jmapcore.mail.conftest import MailUser, message


def _server_flags(user: MailUser, folder: str) -> list[set[bytes]]:
    with user.imap() as imap:
        imap.select_folder(folder, readonly=True)
        return [set(flags) for flags in imap.get_flags(imap.search("ALL")).values()]


def _server_subjects(user: MailUser, folder: str) -> list[str]:
    with user.imap() as imap:
        imap.select_folder(folder, readonly=True)
        fetched = imap.fetch(imap.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
        return sorted(
            data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip() for data in fetched.values()
        )


def test_keywords_reach_the_server(alice_mail: MailUser) -> None:
    alice_mail.deliver(message(subject="flag me"))
    alice_mail.sync()
    [email_id] = alice_mail.ok("Email/query")["ids"]
    result = alice_mail.ok("Email/set", update={email_id: {"keywords/$seen": True, "keywords/$flagged": True}})
    assert result["updated"] == {email_id: None}
    assert _server_flags(alice_mail, "INBOX") == [{b"\\Seen", b"\\Flagged"}]
    assert alice_mail.mailboxes()["inbox"]["unreadEmails"] == 0
    alice_mail.ok("Email/set", update={email_id: {"keywords": {"$flagged": True}}})
    assert _server_flags(alice_mail, "INBOX") == [{b"\\Flagged"}]
    alice_mail.sync()
    [email] = alice_mail.ok("Email/get", ids=[email_id], properties=["keywords"])["list"]
    assert email["keywords"] == {"$flagged": True}


def test_move_keeps_the_id_and_destroy_expunges(alice_mail: MailUser) -> None:
    alice_mail.deliver(message(subject="move me"))
    alice_mail.sync()
    boxes = alice_mail.mailboxes()
    [email_id] = alice_mail.ok("Email/query")["ids"]
    moved = alice_mail.ok("Email/set", update={email_id: {"mailboxIds": {boxes["archive"]["id"]: True}}})
    assert moved["updated"] == {email_id: None}, moved
    assert _server_subjects(alice_mail, "INBOX") == []
    assert _server_subjects(alice_mail, "Archive") == ["move me"]
    alice_mail.sync()
    assert alice_mail.ok("Email/query", filter={"inMailbox": boxes["archive"]["id"]})["ids"] == [email_id]
    refused = alice_mail.ok("Email/set", update={email_id: {"mailboxIds": {}}})
    assert refused["notUpdated"][email_id]["type"] == "invalidProperties"
    destroyed = alice_mail.ok("Email/set", destroy=[email_id])
    assert destroyed["destroyed"] == [email_id]
    assert _server_subjects(alice_mail, "Archive") == []


def test_create_draft_and_import(alice_mail: MailUser, jmap_client: Client) -> None:
    alice_mail.sync()
    drafts = alice_mail.mailboxes()["drafts"]["id"]
    created = alice_mail.ok(
        "Email/set",
        create={
            "d1": {
                "mailboxIds": {drafts: True},
                "keywords": {"$draft": True},
                "from": [{"name": "Alice", "email": alice_mail.login}],
                "to": [{"name": "Bob", "email": "bob@example.test"}],
                "subject": "Entwurf über Pläne",
                "bodyValues": {"b": {"value": "Hallo Bob,\nbis später."}},
                "textBody": [{"partId": "b", "type": "text/plain"}],
            }
        },
    )
    assert created["notCreated"] is None, created["notCreated"]
    draft = created["created"]["d1"]
    assert set(draft) >= {"id", "blobId", "threadId", "size"}
    assert len(_server_subjects(alice_mail, "Drafts")) == 1
    [got] = alice_mail.ok("Email/get", ids=[draft["id"]], properties=["subject", "keywords", "textBody",
                                                                     "bodyValues"], fetchTextBodyValues=True)["list"]
    assert got["subject"] == "Entwurf über Pläne" and got["keywords"] == {"$draft": True}
    assert got["bodyValues"][got["textBody"][0]["partId"]]["value"].startswith("Hallo Bob,")

    raw = message(subject="imported")
    upload = jmap_client.post(
        f"/upload/{alice_mail.account_id}/", data=raw, content_type="message/rfc822",
        HTTP_AUTHORIZATION=alice_mail.auth,
    )
    assert upload.status_code == 201, upload.content
    blob_id = json.loads(upload.content)["blobId"]
    inbox = alice_mail.mailboxes()["inbox"]["id"]
    parsed = alice_mail.ok("Email/parse", blobIds=[blob_id, "Bnope"], properties=["subject", "from"])
    assert parsed["parsed"][blob_id]["subject"] == "imported" and parsed["notFound"] == ["Bnope"]
    imported = alice_mail.ok(
        "Email/import",
        emails={"i": {"blobId": blob_id, "mailboxIds": {inbox: True}, "keywords": {"$seen": True},
                      "receivedAt": "2026-10-01T09:00:00Z"}},
    )
    assert imported["notCreated"] is None, imported["notCreated"]
    new_id = imported["created"]["i"]["id"]
    [email] = alice_mail.ok("Email/get", ids=[new_id], properties=["receivedAt", "subject"])["list"]
    assert email == {"id": new_id, "receivedAt": "2026-10-01T09:00:00Z", "subject": "imported"}
    assert _server_subjects(alice_mail, "INBOX") == ["imported"]


def test_invalid_creates_reach_nothing(alice_mail: MailUser) -> None:
    alice_mail.sync()
    inbox = alice_mail.mailboxes()["inbox"]["id"]
    result = alice_mail.ok(
        "Email/set",
        create={
            "nobox": {"subject": "x"},
            "serverset": {"mailboxIds": {inbox: True}, "size": 3},
            "badbox": {"mailboxIds": {"nope": True}, "subject": "y"},
        },
    )
    assert set(result["notCreated"]) == {"nobox", "serverset", "badbox"}
    assert result["notCreated"]["serverset"]["properties"] == ["size"]
    assert _server_subjects(alice_mail, "INBOX") == []
