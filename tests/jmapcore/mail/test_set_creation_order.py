"""Creates of one Mailbox/set ordered by their "#creationId" references,
whatever order the request lists them in (RFC 8620 §5.3), against Dovecot;
a reference cycle answers a SetError instead of hanging."""
from __future__ import annotations

from tests.jmapcore.mail.conftest import MailUser


def _folders(user: MailUser) -> set[str]:
    with user.imap() as imap:
        return {name for _flags, _sep, name in imap.list_folders()}


def test_a_child_listed_before_its_parent(alice_mail: MailUser) -> None:
    alice_mail.sync()
    result = alice_mail.ok(
        "Mailbox/set",
        create={
            "grandchild": {"name": "Q3", "parentId": "#child"},
            "child": {"name": "Invoices", "parentId": "#top"},
            "top": {"name": "Work"},
        },
    )
    assert result["notCreated"] is None, result["notCreated"]
    created = result["created"]
    assert {"Work", "Work/Invoices", "Work/Invoices/Q3"} <= _folders(alice_mail)
    boxes = {box["id"]: box for box in alice_mail.ok("Mailbox/get", ids=None)["list"]}
    assert boxes[created["grandchild"]["id"]]["parentId"] == created["child"]["id"]
    assert boxes[created["child"]["id"]]["parentId"] == created["top"]["id"]


def test_a_reference_cycle_is_refused(alice_mail: MailUser) -> None:
    alice_mail.sync()
    before = _folders(alice_mail)
    result = alice_mail.ok(
        "Mailbox/set",
        create={
            "a": {"name": "Loop A", "parentId": "#b"},
            "b": {"name": "Loop B", "parentId": "#a"},
            "me": {"name": "Myself", "parentId": "#me"},
            "fine": {"name": "Fine"},
        },
    )
    for creation_id in ("a", "b", "me"):
        error = result["notCreated"][creation_id]
        assert error["type"] == "invalidProperties"
        assert error["properties"] == ["parentId"]
    assert set(result["created"]) == {"fine"}
    assert _folders(alice_mail) - before == {"Fine"}
