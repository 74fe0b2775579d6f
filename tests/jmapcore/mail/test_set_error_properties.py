"""A SetError's `properties` names every invalid property of the object, not
only the first one found (RFC 8620 §5.3), for Email/set (create and update),
Email/import and Mailbox/set against Dovecot; nothing reaches the server."""
from __future__ import annotations

from tests.jmapcore.mail.conftest import MailUser, message


def _folders(user: MailUser) -> set[str]:
    with user.imap() as imap:
        return {name for _flags, _sep, name in imap.list_folders()}


def test_email_create_names_every_invalid_property(alice_mail: MailUser) -> None:
    alice_mail.sync()
    result = alice_mail.ok("Email/set", create={
        "k": {
            "mailboxIds": {},
            "keywords": {"bad keyword": True},
            "receivedAt": "yesterday",
            "size": 10,
            "threadId": "t1",
            "subject": 42,
        },
    })
    error = result["notCreated"]["k"]
    assert error["type"] == "invalidProperties"
    assert error["properties"] == ["keywords", "mailboxIds", "receivedAt", "size", "subject", "threadId"]
    with alice_mail.imap() as imap:
        assert imap.select_folder("Drafts", readonly=True)[b"EXISTS"] == 0


def test_email_import_names_every_invalid_property(alice_mail: MailUser) -> None:
    alice_mail.sync()
    result = alice_mail.ok("Email/import", emails={"i": {"mailboxIds": {"#nowhere": True}, "keywords": {"a b": True}}})
    error = result["notCreated"]["i"]
    assert error["type"] == "invalidProperties"
    assert error["properties"] == ["blobId", "keywords", "mailboxIds"]


def test_mailbox_create_and_update_name_every_invalid_property(alice_mail: MailUser) -> None:
    alice_mail.sync()
    before = _folders(alice_mail)
    result = alice_mail.ok("Mailbox/set", create={
        "a": {"name": "", "sortOrder": -1, "isSubscribed": "yes"},
        "b": {"name": "x/y", "role": "archive", "parentId": "mnosuchbox"},
    })
    assert result["notCreated"]["a"]["properties"] == ["isSubscribed", "name", "sortOrder"]
    assert result["notCreated"]["b"]["type"] == "invalidProperties"
    assert result["notCreated"]["b"]["properties"] == ["name", "parentId", "role"]
    assert _folders(alice_mail) == before

    inbox = alice_mail.mailboxes()["inbox"]["id"]
    updated = alice_mail.ok("Mailbox/set", update={inbox: {"colour": "red", "sortOrder": "first", "totalEmails": 9}})
    assert updated["notUpdated"][inbox]["type"] == "invalidProperties"
    assert updated["notUpdated"][inbox]["properties"] == ["colour", "sortOrder", "totalEmails"]


def test_email_update_names_every_invalid_property(alice_mail: MailUser) -> None:
    alice_mail.deliver(message(subject="keep me"), flags=("\\Seen",))
    alice_mail.sync()
    [email_id] = alice_mail.ok("Email/query")["ids"]
    result = alice_mail.ok("Email/set", update={email_id: {
        "subject": "changed", "size": 1, "keywords": {"bad keyword": True}, "keywords/$flagged": "yes",
    }})
    error = result["notUpdated"][email_id]
    assert error["type"] == "invalidProperties"
    assert error["properties"] == ["keywords", "size", "subject"]
    patch_only = alice_mail.ok("Email/set", update={email_id: {"keywords/$flagged": "yes"}})
    assert patch_only["notUpdated"][email_id]["type"] == "invalidPatch"
    [email] = alice_mail.ok("Email/get", ids=[email_id], properties=["subject", "keywords"])["list"]
    assert email == {"id": email_id, "subject": "keep me", "keywords": {"$seen": True}}


def test_mailbox_update_names_every_invalid_property_of_a_move(alice_mail: MailUser) -> None:
    alice_mail.sync()
    created = alice_mail.ok("Mailbox/set", create={"p": {"name": "Parent"}, "c": {"name": "Child", "parentId": "#p"}})
    parent, child = created["created"]["p"]["id"], created["created"]["c"]["id"]
    result = alice_mail.ok("Mailbox/set", update={parent: {"name": "a/b", "parentId": child, "role": "archive"}})
    error = result["notUpdated"][parent]
    assert error["type"] == "invalidProperties"
    assert error["properties"] == ["name", "parentId", "role"]
    assert {"Parent", "Parent/Child"} <= _folders(alice_mail)
