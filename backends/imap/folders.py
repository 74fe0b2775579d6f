"""IMAP folders as JMAP Mailboxes (RFC 8621 §2, RFC 3501 §6.3.8, RFC 6154).

`mailboxes_sync` brings the account's Mailbox rows in line with one LIST:

- identity: a folder keeps its Mailbox (and jmap id) when matched by MAILBOXID
  (RFC 8474 §4, where offered), else by full name, else — for a rename on a
  server without OBJECTID — by an UIDVALIDITY that only the vanished old
  folder and the new one share (Dovecot keeps UIDVALIDITY across RENAME);
- hierarchy: `name` is the last level of the server name split at its
  delimiter, `parent_id` the parent's jmap id. A parent the server does not
  list (or lists as \\NonExistent, RFC 5258 §3.4) becomes a non-selectable
  Mailbox so that the tree is complete;
- roles: INBOX; then SPECIAL-USE attributes (RFC 6154 §2: \\Drafts \\Sent
  \\Trash \\Junk \\Archive \\All \\Flagged, plus \\Important from RFC 8457);
  then, for a role no folder has, well-known names ("Sent Items", "Spam", ...,
  case-insensitive). A role is given to one folder only;
- sort_order: inbox first, then the other roles in a fixed order, then the rest;
- a folder gone from the server becomes a tombstone; its messages are detached
  (their emails lose that mailbox; an email left nowhere is destroyed at the end
  of the sync, unless it reappears elsewhere — see backends.imap.messages).

Names are decoded from modified UTF-7 (RFC 3501 §5.1.3) by sync_commands.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from accounts.models import Account
from backends.imap.sync_commands import FolderListing
from jmapcore.datatypes.orm import jmap_id_new
from jmapcore.models.mail import Mailbox, MailboxMessage
from jmapcore.state import state_change_atomic

MAILBOX_ID_PREFIX = "m"
# LIST attributes that say only whether new mail came since the last SELECT (RFC 3501 §7.2.2,
# RFC 9051 §7.3.1): Dovecot flips them on its own a few seconds after a folder is made, and no
# Mailbox property depends on them, so they are not stored (else every listener got an empty
# Mailbox StateChange at the next sync).
VOLATILE_ATTRIBUTES = frozenset({"\\marked", "\\unmarked"})
ATTRIBUTE_ROLES = {
    "\\drafts": "drafts",
    "\\sent": "sent",
    "\\trash": "trash",
    "\\junk": "junk",
    "\\archive": "archive",
    "\\all": "all",
    "\\flagged": "flagged",
    "\\important": "important",
}
# Folder names used by common servers and clients before SPECIAL-USE.
NAME_ROLES: dict[str, tuple[str, ...]] = {
    "drafts": ("drafts", "draft", "entwürfe"),
    "sent": ("sent", "sent items", "sent messages", "sent mail", "gesendet", "gesendete elemente"),
    "trash": ("trash", "deleted items", "deleted messages", "deleted", "bin", "papierkorb"),
    "junk": ("junk", "spam", "junk e-mail", "junk email", "bulk mail"),
    "archive": ("archive", "archives", "archiv"),
}
ROLE_ORDER = ("inbox", "drafts", "sent", "archive", "all", "flagged", "important", "junk", "trash")
SORT_OTHER = 100
# Mailbox columns that are JMAP properties (a change bumps props_modseq).
PROPERTY_FIELDS = ("name", "parent_id", "role", "sort_order", "is_subscribed")


@dataclass(frozen=True)
class FolderSyncResult:
    mailboxes: list[Mailbox]  # the live, listed mailboxes, parents before children
    detached_messages: int  # locations removed because their folder went away


def sort_order_of(role: str) -> int:
    return ROLE_ORDER.index(role) + 1 if role in ROLE_ORDER else SORT_OTHER


def _parent_name(name: str, delimiter: str) -> str:
    if not delimiter or delimiter not in name:
        return ""
    return name.rsplit(delimiter, 1)[0]


def _leaf_name(name: str, delimiter: str) -> str:
    return name.rsplit(delimiter, 1)[-1] if delimiter else name


def _is_inbox(name: str) -> bool:
    return name.upper() == "INBOX"


def folders_complete(listings: list[FolderListing]) -> list[FolderListing]:
    """The listing plus any parent the server left out, parents first; INBOX
    spelled "INBOX" (RFC 3501 §5.1: it is case-insensitive)."""
    by_name: dict[str, FolderListing] = {}
    for item in listings:
        if _is_inbox(item.name):
            item = replace(item, name="INBOX")
        if item.name:
            by_name.setdefault(item.name, item)
    for item in list(by_name.values()):
        parent = _parent_name(item.name, item.delimiter)
        while parent and parent not in by_name:
            by_name[parent] = FolderListing(
                name=parent, delimiter=item.delimiter, attributes=frozenset({"\\noselect", "\\nonexistent"})
            )
            parent = _parent_name(parent, item.delimiter)
    return sorted(by_name.values(), key=lambda item: (item.name.count(item.delimiter) if item.delimiter else 0,
                                                       item.name))


def folders_roles(listings: list[FolderListing]) -> dict[str, str]:
    """{folder name: role} (see the module docstring)."""
    roles: dict[str, str] = {}
    taken: set[str] = set()
    for item in listings:
        if _is_inbox(item.name):
            roles[item.name] = "inbox"
            taken.add("inbox")
    for item in listings:
        if item.name in roles or not item.selectable:
            continue
        for attribute in sorted(item.attributes):
            role = ATTRIBUTE_ROLES.get(attribute)
            if role and role not in taken:
                roles[item.name] = role
                taken.add(role)
                break
    for role, names in NAME_ROLES.items():
        if role in taken:
            continue
        for item in listings:
            if item.name in roles or not item.selectable:
                continue
            leaf = _leaf_name(item.name, item.delimiter).casefold()
            parent = _parent_name(item.name, item.delimiter)
            # Top level, or directly below INBOX (Courier/Cyrus "INBOX.Sent").
            if leaf in names and (not parent or _is_inbox(parent)):
                roles[item.name] = role
                taken.add(role)
                break
    return roles


def _match(existing: list[Mailbox], listings: list[FolderListing]) -> dict[str, Mailbox]:
    """{folder name: existing Mailbox it continues}."""
    matched: dict[str, Mailbox] = {}
    used: set[int] = set()
    by_object = {box.imap_object_id: box for box in existing if box.imap_object_id}
    by_name = {box.imap_name: box for box in existing}
    for item in listings:
        oid = item.status.mailboxid if item.status else ""
        box = by_object.get(oid) if oid else None
        if box is not None and box.pk not in used:
            matched[item.name] = box
            used.add(box.pk)
    for item in listings:
        if item.name in matched:
            continue
        box = by_name.get(item.name)
        if box is not None and box.pk not in used and not (box.imap_object_id and item.status
                                                            and item.status.mailboxid
                                                            and box.imap_object_id != item.status.mailboxid):
            matched[item.name] = box
            used.add(box.pk)
    # Renames without OBJECTID: a vanished folder and a new one with one shared UIDVALIDITY.
    listed = {item.name for item in listings}
    leftovers = [box for box in existing if box.pk not in used and box.imap_name not in listed and box.uidvalidity]
    new_items = [item for item in listings if item.name not in matched and item.status and item.status.uidvalidity]
    old_by_validity: dict[int, list[Mailbox]] = {}
    for box in leftovers:
        old_by_validity.setdefault(box.uidvalidity, []).append(box)
    new_by_validity: dict[int, list[FolderListing]] = {}
    for item in new_items:
        assert item.status is not None
        new_by_validity.setdefault(item.status.uidvalidity, []).append(item)
    all_validities = [item.status.uidvalidity for item in listings if item.status]
    for validity, olds in old_by_validity.items():
        news = new_by_validity.get(validity, [])
        if len(olds) == 1 and len(news) == 1 and all_validities.count(validity) == 1:
            matched[news[0].name] = olds[0]
            used.add(olds[0].pk)
    return matched


def mailboxes_sync(*, account: Account, listings: list[FolderListing]) -> FolderSyncResult:
    """Apply one LIST to the account's Mailbox rows (see the module docstring).

    Consumes a modseq only when something changed; property changes bump both
    updated_modseq and props_modseq.
    """
    folders = folders_complete(listings)
    roles = folders_roles(folders)
    existing = list(Mailbox.objects.filter(account=account, destroyed=False))
    matched = _match(existing, folders)

    jmap_ids: dict[str, str] = {}
    for item in folders:
        box = matched.get(item.name)
        jmap_ids[item.name] = box.jmap_id if box is not None else jmap_id_new(MAILBOX_ID_PREFIX)

    creates: list[Mailbox] = []
    updates: list[tuple[Mailbox, bool]] = []  # (box, props changed)
    result: list[Mailbox] = []
    for item in folders:
        parent = _parent_name(item.name, item.delimiter)
        role = roles.get(item.name, "")
        status = item.status
        values = {
            "name": "Inbox" if item.name == "INBOX" else _leaf_name(item.name, item.delimiter),
            "parent_id": jmap_ids.get(parent, "") if parent else "",
            "role": role,
            "sort_order": sort_order_of(role),
            "is_subscribed": item.subscribed or item.name == "INBOX",
            "imap_name": item.name,
            "imap_delimiter": item.delimiter or "",
            "imap_attributes": sorted(item.attributes - VOLATILE_ATTRIBUTES),
            "is_selectable": item.selectable,
        }
        if status and status.mailboxid:
            values["imap_object_id"] = status.mailboxid
        box = matched.get(item.name)
        if box is None:
            box = Mailbox(account=account, jmap_id=jmap_ids[item.name], created_modseq=0, updated_modseq=0, **values)
            creates.append(box)
        else:
            changed_props = any(getattr(box, key) != values[key] for key in PROPERTY_FIELDS)
            changed_any = changed_props or any(getattr(box, key) != value for key, value in values.items())
            for key, value in values.items():
                setattr(box, key, value)
            if changed_any:
                updates.append((box, changed_props))
        result.append(box)

    kept = {box.pk for box in matched.values()}
    gone = [box for box in existing if box.pk not in kept]
    if not (creates or updates or gone):
        return FolderSyncResult(mailboxes=result, detached_messages=0)

    detached = 0
    with state_change_atomic(account=account, type_names=["Mailbox", "Email"] if gone else ["Mailbox"]) as modseq:
        for box in creates:
            box.created_modseq = box.updated_modseq = box.props_modseq = modseq
        Mailbox.objects.bulk_create(creates)
        fields = ["name", "parent_id", "role", "sort_order", "is_subscribed", "imap_name", "imap_delimiter",
                  "imap_attributes", "is_selectable", "imap_object_id", "updated_modseq", "props_modseq"]
        for box, props in updates:
            if props:
                box.updated_modseq = box.props_modseq = modseq
        if updates:
            Mailbox.objects.bulk_update([box for box, _ in updates], fields)
        if gone:
            from backends.imap.message_store import locations_remove

            gone_ids = [box.pk for box in gone]
            for box in gone:
                box.destroyed = True
                box.updated_modseq = modseq
            Mailbox.objects.filter(pk__in=gone_ids).update(destroyed=True, updated_modseq=modseq)
            query = MailboxMessage.objects.filter(mailbox_id__in=gone_ids)
            detached = locations_remove(account=account, locations=query, modseq=modseq)
    return FolderSyncResult(mailboxes=result, detached_messages=detached)
