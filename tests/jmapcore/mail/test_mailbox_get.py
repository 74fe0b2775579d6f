"""Mailbox/get and Mailbox/changes over a real Dovecot (RFC 8621 §2.1, §2.2)."""
from __future__ import annotations

from tests.jmapcore.mail.conftest import MailUser, message


def test_folders_appear_with_roles_and_counts(alice_mail: MailUser) -> None:
    alice_mail.deliver(message(subject="one"))
    alice_mail.deliver(message(subject="two"), flags=("\\Seen",))
    alice_mail.sync()
    boxes = alice_mail.mailboxes()
    assert {"inbox", "drafts", "sent", "trash", "junk", "archive"} <= set(boxes)
    inbox = boxes["inbox"]
    assert inbox["parentId"] is None
    assert (inbox["totalEmails"], inbox["unreadEmails"]) == (2, 1)
    assert (inbox["totalThreads"], inbox["unreadThreads"]) == (2, 1)
    assert inbox["myRights"]["mayDelete"] is False and inbox["myRights"]["mayAddItems"] is True
    assert boxes["sent"]["isSubscribed"] is True


def test_count_only_change_reports_updated_properties(alice_mail: MailUser) -> None:
    alice_mail.sync()
    before = alice_mail.state("Mailbox")
    alice_mail.deliver(message(subject="new"))
    alice_mail.sync()
    changes = alice_mail.ok("Mailbox/changes", sinceState=before)
    inbox_id = alice_mail.mailboxes()["inbox"]["id"]
    assert changes["updated"] == [inbox_id]
    assert changes["updatedProperties"] == ["totalEmails", "unreadEmails", "totalThreads", "unreadThreads"]


def test_nested_folder_with_non_ascii_name(alice_mail: MailUser) -> None:
    with alice_mail.imap() as imap:
        imap.create_folder("Projekte")
        imap.create_folder("Projekte/Übersicht")
    alice_mail.sync()
    boxes = alice_mail.mailboxes()
    assert boxes["Übersicht"]["parentId"] == boxes["Projekte"]["id"]


def test_foreign_account_is_not_found(alice_mail: MailUser, bob_mail: MailUser) -> None:
    bob_mail.sync()
    result = alice_mail.error("Mailbox/get", accountId=bob_mail.account_id, ids=None)
    assert result["type"] == "accountNotFound"
