"""The contacts cache (RFC 9610 objects as cached from CardDAV; DESIGN.md "The cache and state").

- `AddressBook`: one CardDAV address-book collection. JMAP properties plus what
  sync needs to resume: the collection's href, its sync-token (RFC 6578) or
  CTag, the server's privileges and the vCard version the collection holds.
- `ContactCard`: one vCard resource (one href) as a JSContact Card (RFC 9553).
  The raw vCard text and its ETag are kept, so that a write from a JMAP client
  is a minimal change of the stored vCard sent with If-Match (RFC 9555, RFC 7232),
  and `card` holds the JSContact form clients read. The `search_*` columns are
  lower-cased text extracted from the card for the ContactCard/query filters
  (RFC 9610 §3.3.1); `sort_*` the keys of its sorts (§3.3.2).

The CardDAV server is the truth: every row is rebuilt from it by sync
(backends.carddav), and JMAP writes reach the server before they touch a row.
"""
from __future__ import annotations

from typing import ClassVar

from django.db import models

from jmapcore.datatypes.orm import JmapObject

__all__ = ["AddressBook", "ContactCard"]


class AddressBook(JmapObject):
    """A CardDAV address book as a JMAP AddressBook (RFC 9610 §2)."""

    jmap_type: ClassVar[str] = "AddressBook"

    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    sort_order = models.PositiveIntegerField(default=0)
    is_default = models.BooleanField(default=False)
    is_subscribed = models.BooleanField(default=True)
    # RFC 9610 §2 shareWith: {principal id: AddressBookRights}; {} when not shared.
    share_with = models.JSONField(default=dict, blank=True)

    # -- the CardDAV side ------------------------------------------------------
    dav_href = models.TextField(help_text="absolute URL of the collection on the CardDAV server")
    dav_sync_token = models.TextField(blank=True, default="", help_text="RFC 6578 sync-token of the last sync")
    dav_ctag = models.TextField(blank=True, default="", help_text="getctag (or ETag) at the last sync")
    # Privileges of current-user-privilege-set (RFC 3744 §5.4), e.g. ["read", "write-content", "bind", "unbind"].
    dav_privileges = models.JSONField(default=list, blank=True)
    # "3.0" or "4.0": what the collection holds, so writes keep the server's own version.
    vcard_version = models.CharField(max_length=8, blank=True, default="")

    class Meta(JmapObject.Meta):
        indexes = [*JmapObject.Meta.indexes]

    def __str__(self) -> str:
        return self.name or self.dav_href


class ContactCard(JmapObject):
    """One vCard on the server as a JSContact Card (RFC 9553, RFC 9610 §3)."""

    jmap_type: ClassVar[str] = "ContactCard"

    address_book = models.ForeignKey(AddressBook, on_delete=models.CASCADE, related_name="cards")
    uid = models.CharField(max_length=1024, blank=True, default="", help_text="the card's UID")
    kind = models.CharField(max_length=32, blank=True, default="individual")
    # The JSContact Card (RFC 9553) as clients read it, without id/addressBookIds.
    card = models.JSONField(default=dict)
    created = models.DateTimeField(null=True, blank=True, help_text="JSContact created")
    updated = models.DateTimeField(null=True, blank=True, help_text="JSContact updated (vCard REV)")

    # -- the CardDAV side ------------------------------------------------------
    dav_href = models.TextField(help_text="absolute URL of the vCard resource")
    dav_etag = models.TextField(blank=True, default="")
    vcard = models.TextField(help_text="the vCard text as the server returned it")
    # What could not be read in the vCard; the card is served with the rest.
    parse_problems = models.JSONField(default=list, blank=True)

    # -- query support (RFC 9610 §3.3): lower-cased, newline-separated values --
    # members: "\n" + member uids joined by "\n" + "\n", for hasMember (exact match on a whole line).
    members = models.TextField(blank=True, default="")
    search_text = models.TextField(blank=True, default="", help_text="every text the `text` filter looks at")
    search_name = models.TextField(blank=True, default="")
    search_name_given = models.TextField(blank=True, default="")
    search_name_surname = models.TextField(blank=True, default="")
    search_name_surname2 = models.TextField(blank=True, default="")
    search_nickname = models.TextField(blank=True, default="")
    search_organization = models.TextField(blank=True, default="")
    search_email = models.TextField(blank=True, default="")
    search_phone = models.TextField(blank=True, default="")
    search_online_service = models.TextField(blank=True, default="")
    search_address = models.TextField(blank=True, default="")
    search_note = models.TextField(blank=True, default="")
    sort_name_given = models.CharField(max_length=255, blank=True, default="")
    sort_name_surname = models.CharField(max_length=255, blank=True, default="")
    sort_name_surname2 = models.CharField(max_length=255, blank=True, default="")

    class Meta(JmapObject.Meta):
        indexes = [
            *JmapObject.Meta.indexes,
            models.Index(fields=["account", "uid"], name="contactcard_account_uid_idx"),
            models.Index(fields=["address_book", "dav_href"], name="contactcard_book_href_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.jmap_id} {self.uid}"
