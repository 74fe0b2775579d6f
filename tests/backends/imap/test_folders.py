"""Folders as Mailboxes: roles (SPECIAL-USE and names), hierarchy, modified
UTF-7 names, \\Noselect parents, subscriptions, renames keeping ids, deletions
becoming tombstones."""
from __future__ import annotations

import pytest

from backends.imap.folders import folders_roles
from backends.imap.sync_commands import FolderListing
from jmapcore.models.mail import Email, Mailbox
from tests.backends.imap.conftest import Mailstore, mailstore_make, message
from tests.personas import Persona
from tests.servers.dovecot import DovecotFactory, DovecotOptions

NO_SPECIAL_USE = DovecotOptions(tls=False, special_use_folders=False)


def _boxes(store: Mailstore) -> dict[str, Mailbox]:
    return {box.imap_name: box for box in Mailbox.objects.filter(account=store.account, destroyed=False)}


def test_special_use_roles_and_sort_order(alice_mail: Mailstore) -> None:
    alice_mail.sync()
    boxes = _boxes(alice_mail)
    assert {name: box.role for name, box in boxes.items()} == {
        "INBOX": "inbox", "Drafts": "drafts", "Sent": "sent", "Trash": "trash", "Junk": "junk", "Archive": "archive",
    }
    assert boxes["INBOX"].name == "Inbox" and boxes["INBOX"].sort_order == 1
    assert min(box.sort_order for box in boxes.values()) == boxes["INBOX"].sort_order
    assert all(box.parent_id == "" and box.is_selectable and box.is_subscribed for box in boxes.values())
    assert len({box.jmap_id for box in boxes.values()}) == 6


def test_hierarchy_utf7_names_and_noselect_parents(alice_mail: Mailstore) -> None:
    alice_mail.append(message("Grüße"), mailbox="Projekte/Entwürfe 2024")
    alice_mail.append(message("日本"), mailbox="日本語")
    with alice_mail.client() as other:
        other.create_folder("Lists")
        other.create_folder("Lists/python")
    alice_mail.sync()
    boxes = _boxes(alice_mail)
    parent, child = boxes["Projekte"], boxes["Projekte/Entwürfe 2024"]
    assert child.name == "Entwürfe 2024" and child.parent_id == parent.jmap_id
    assert not parent.is_selectable  # Dovecot lists the missing parent as \NonExistent
    assert boxes["日本語"].name == "日本語" and boxes["日本語"].total_emails == 1
    assert boxes["Lists/python"].parent_id == boxes["Lists"].jmap_id and boxes["Lists"].is_selectable
    assert child.total_emails == 1
    assert Email.objects.get(account=alice_mail.account, subject="Grüße").mailbox_ids == {child.jmap_id: True}
    assert all(box.role == "" and box.sort_order > 1 for name, box in boxes.items()
               if name.startswith(("Projekte", "日本", "Lists")))


def test_subscriptions(alice_mail: Mailstore) -> None:
    with alice_mail.client() as other:
        other.create_folder("Subscribed one")
        other.subscribe_folder("Subscribed one")
        other.create_folder("Not subscribed")
        other.unsubscribe_folder("Not subscribed")
    alice_mail.sync()
    boxes = _boxes(alice_mail)
    assert boxes["Subscribed one"].is_subscribed
    assert not boxes["Not subscribed"].is_subscribed


def test_rename_keeps_the_mailbox_id_and_its_emails(alice_mail: Mailstore) -> None:
    alice_mail.append(message("inside"), mailbox="Old name")
    alice_mail.sync()
    box = alice_mail.mailbox("Old name")
    email = alice_mail.email_by_subject("inside")
    with alice_mail.client() as other:
        other.rename_folder("Old name", "New name")
    alice_mail.sync()
    renamed = alice_mail.mailbox("New name")
    assert renamed.jmap_id == box.jmap_id
    assert renamed.name == "New name" and renamed.props_modseq > box.props_modseq
    assert not Mailbox.objects.filter(account=alice_mail.account, imap_name="Old name", destroyed=False).exists()
    email.refresh_from_db()
    assert not email.destroyed and email.mailbox_ids == {box.jmap_id: True}
    assert renamed.total_emails == 1


def test_a_deleted_folder_becomes_a_tombstone_and_its_emails_go(alice_mail: Mailstore) -> None:
    alice_mail.append(message("doomed"), mailbox="Doomed")
    alice_mail.sync()
    box = alice_mail.mailbox("Doomed")
    email = alice_mail.email_by_subject("doomed")
    with alice_mail.client() as other:
        other.delete_folder("Doomed")
    alice_mail.sync()
    box.refresh_from_db()
    email.refresh_from_db()
    assert box.destroyed and box.updated_modseq > box.created_modseq
    assert email.destroyed


def test_roles_by_name_without_special_use(dovecot_factory: DovecotFactory, alice: Persona) -> None:
    store = mailstore_make(dovecot_factory(NO_SPECIAL_USE), alice)
    with store.client() as other:
        for name in ("Sent Items", "Deleted Items", "SPAM", "drafts", "Archive", "Lists", "Lists/Sent"):
            other.create_folder(name)
    store.sync()
    roles = {name: box.role for name, box in _boxes(store).items()}
    assert roles == {
        "INBOX": "inbox", "Sent Items": "sent", "Deleted Items": "trash", "SPAM": "junk", "drafts": "drafts",
        "Archive": "archive", "Lists": "", "Lists/Sent": "",
    }


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        # An attribute wins over a name; a name only fills a role nobody has.
        ([("Sent", set()), ("Outbox", {"\\sent"})], {"INBOX": "inbox", "Outbox": "sent"}),
        ([("Sent", set()), ("Sent Items", set())], {"INBOX": "inbox", "Sent": "sent"}),
        ([("INBOX/Trash", set())], {"INBOX": "inbox", "INBOX/Trash": "trash"}),
        ([("All Mail", {"\\all"}), ("Starred", {"\\flagged"}), ("Important", {"\\important"})],
         {"INBOX": "inbox", "All Mail": "all", "Starred": "flagged", "Important": "important"}),
        ([("Junk", {"\\noselect"})], {"INBOX": "inbox"}),
    ],
)
def test_role_rules(names: list[tuple[str, set[str]]], expected: dict[str, str]) -> None:
    listings = [FolderListing(name="INBOX", delimiter="/", attributes=frozenset())] + [
        FolderListing(name=name, delimiter="/", attributes=frozenset(attributes)) for name, attributes in names
    ]
    assert folders_roles(listings) == expected
