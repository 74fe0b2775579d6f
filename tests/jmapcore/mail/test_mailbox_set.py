"""Mailbox/set and Mailbox/query against a real Dovecot (RFC 8621 §2.3, §2.5)."""
from __future__ import annotations

from tests.jmapcore.mail.conftest import MailUser, message


def _folders(user: MailUser) -> set[str]:
    with user.imap() as imap:
        return {name for _flags, _sep, name in imap.list_folders()}


def test_create_rename_move_and_destroy(alice_mail: MailUser) -> None:
    alice_mail.sync()
    created = alice_mail.ok("Mailbox/set", create={"p": {"name": "Reisen"}, "c": {"name": "Köln", "parentId": "#p"}})
    assert created["notCreated"] is None, created["notCreated"]
    parent, child = created["created"]["p"]["id"], created["created"]["c"]["id"]
    assert {"Reisen", "Reisen/Köln"} <= _folders(alice_mail)

    renamed = alice_mail.ok("Mailbox/set", update={parent: {"name": "Travel"}})
    assert renamed["notUpdated"] is None, renamed["notUpdated"]
    assert {"Travel", "Travel/Köln"} <= _folders(alice_mail)
    moved = alice_mail.ok("Mailbox/set", update={child: {"parentId": None}})
    assert moved["notUpdated"] is None, moved["notUpdated"]
    assert "Köln" in _folders(alice_mail)

    # The ids survive a full sync from the server.
    alice_mail.sync()
    boxes = alice_mail.mailboxes()
    assert boxes["Travel"]["id"] == parent and boxes["Köln"]["id"] == child

    destroyed = alice_mail.ok("Mailbox/set", destroy=[parent, child])
    assert sorted(destroyed["destroyed"]) == sorted([parent, child])
    assert not {"Travel", "Köln"} & _folders(alice_mail)


def test_refusals(alice_mail: MailUser) -> None:
    alice_mail.deliver(message(), mailbox="Archive")
    alice_mail.sync()
    boxes = alice_mail.mailboxes()
    result = alice_mail.ok(
        "Mailbox/set",
        create={"dup": {"name": "Archive"}, "slash": {"name": "a/b"}, "bad": {"name": "x", "totalEmails": 3}},
        destroy=[boxes["inbox"]["id"], boxes["archive"]["id"]],
    )
    assert set(result["notCreated"]) == {"dup", "slash", "bad"}
    assert result["notCreated"]["bad"]["properties"] == ["totalEmails"]
    assert result["notDestroyed"][boxes["inbox"]["id"]]["type"] == "forbidden"
    assert result["notDestroyed"][boxes["archive"]["id"]]["type"] == "mailboxHasEmail"
    # Nothing of that reached the server.
    assert "a/b" not in _folders(alice_mail) and "Archive" in _folders(alice_mail)

    parent = alice_mail.ok("Mailbox/set", create={"p": {"name": "P"}})["created"]["p"]["id"]
    alice_mail.ok("Mailbox/set", create={"c": {"name": "C", "parentId": parent}})
    refused = alice_mail.ok("Mailbox/set", destroy=[parent])
    assert refused["notDestroyed"][parent]["type"] == "mailboxHasChild"


def test_destroy_with_emails_removes_them(alice_mail: MailUser) -> None:
    alice_mail.deliver(message(subject="old"), mailbox="Archive")
    alice_mail.sync()
    archive = alice_mail.mailboxes()["archive"]["id"]
    email_ids = alice_mail.ok("Email/query", filter={"inMailbox": archive})["ids"]
    assert len(email_ids) == 1
    result = alice_mail.ok("Mailbox/set", destroy=[archive], onDestroyRemoveEmails=True)
    assert result["destroyed"] == [archive]
    assert alice_mail.ok("Email/get", ids=email_ids)["notFound"] == email_ids


def test_query_sort_as_tree_and_filter_as_tree(alice_mail: MailUser) -> None:
    with alice_mail.imap() as imap:
        for name in ("A", "A/x", "B", "B/y"):
            imap.create_folder(name)
    alice_mail.sync()
    boxes = alice_mail.mailboxes()
    tree = alice_mail.ok("Mailbox/query", sort=[{"property": "name"}], sortAsTree=True)["ids"]
    assert tree.index(boxes["A"]["id"]) + 1 == tree.index(boxes["x"]["id"])
    assert tree.index(boxes["B"]["id"]) + 1 == tree.index(boxes["y"]["id"])
    filtered = alice_mail.ok(
        "Mailbox/query", filter={"name": "y"}, filterAsTree=True, sortAsTree=True, calculateTotal=True
    )
    # "y" matches but its parent "B" does not: filterAsTree drops it.
    assert filtered["ids"] == [] and filtered["total"] == 0
    plain = alice_mail.ok("Mailbox/query", filter={"name": "y"})
    assert plain["ids"] == [boxes["y"]["id"]]
