"""Validation of ContactCard/set creates and updates (RFC 9610 §3.5, RFC 8620 §5.3).

Turns a client's create object or PatchObject into the complete JSContact Card
to write and the address book it goes to, or raises SetErrorException naming
every bad property at once. Nothing here talks to the server.

- ``addressBookIds`` must name exactly one existing address book of the account
  (maxAddressBooksPerCard is 1: a vCard is one resource in one collection);
  "#creationId" keys refer to address books created earlier in the request.
- A create without ``uid`` gets a random UUID (RFC 9553 §2.1.9): as the URN
  "urn:uuid:..." in a vCard 4.0 address book (RFC 6350 §6.7.6), bare in a 3.0
  one, as Apple Contacts writes them there. The 3.0 group form names members as
  "urn:uuid:" + the member's UID (X-ADDRESSBOOKSERVER-MEMBER), which the
  converter reads back without the prefix: only a bare UID lets such a group
  name the card again by its uid. Without ``kind`` a card is "individual"
  (§2.1.4); "@type"/"version" are set as §2.1.1-2.1.2 ask.
- ``uid`` never changes after creation: CardDAV keys a resource on it
  (RFC 6352 §5.1, no-uid-conflict), so a patch of it is invalidProperties.
- A Media object may give ``blobId`` instead of ``uri`` (RFC 9610 §3): the
  blob is inlined as a data: URI (contact_card_media).
- An update patch is applied to the stored card (contact_card_patch), so
  everything the client did not touch, including what only the vCard
  could express (vCardProps, RFC 9555), is kept.
"""
from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from typing import Any

from accounts.models import Account
from jmapcore.contacts.contact_card_media import card_media_blobs_inline
from jmapcore.contacts.contact_card_patch import card_patch_apply
from jmapcore.contacts.contact_card_read import JMAP_CARD_PROPERTIES, contact_card_json
from jmapcore.contacts.contact_card_shape import card_shape_problems, card_too_large
from jmapcore.context import CallContext
from jmapcore.datatypes.standard import reference_resolve
from jmapcore.models.contacts import AddressBook, ContactCard
from jmapcore.protocol.arguments import is_id
from jmapcore.protocol.errors import SetError, SetErrorException

JSCONTACT_VERSION = "1.0"


def _invalid(problems: dict[str, str]) -> SetErrorException:
    description = "; ".join(f"{name[:64]}: {why}" for name, why in sorted(problems.items()))
    return SetErrorException(SetError("invalidProperties", description, properties=sorted(problems)))


def _book_from_ids(ctx: CallContext, account: Account, value: object, problems: dict[str, str]) -> AddressBook | None:
    """The one address book an addressBookIds value names; records a problem otherwise."""
    if not isinstance(value, dict) or not value:
        problems["addressBookIds"] = "must map exactly one AddressBook id to true"
        return None
    if len(value) != 1:
        problems["addressBookIds"] = "a card is in exactly one address book here (maxAddressBooksPerCard 1)"
        return None
    [(raw_id, flag)] = value.items()
    if flag is not True or not isinstance(raw_id, str):
        problems["addressBookIds"] = "must map exactly one AddressBook id to true"
        return None
    real = reference_resolve(ctx, raw_id) if raw_id.startswith("#") else raw_id
    if real is None or not is_id(real):
        problems["addressBookIds"] = "not an AddressBook id (or an unknown creation id)"
        return None
    book = AddressBook.objects.filter(account=account, jmap_id=real, destroyed=False).first()
    if book is None:
        problems["addressBookIds"] = f"no address book {real}"
    return book


def card_uid_new(book: AddressBook) -> str:
    """A fresh uid for a card created in `book` (see the module docstring)."""
    fresh = str(uuid.uuid4())
    return fresh if book.vcard_version == "3.0" else f"urn:uuid:{fresh}"


@dataclass
class CardCreate:
    """A checked create: the card to write (without id/addressBookIds) and its book."""

    book: AddressBook
    card: dict[str, Any]
    given: dict[str, Any] = field(default_factory=dict)

    def created_json(self, row: ContactCard) -> dict[str, Any]:
        """The `created` entry: id plus every property the server set or changed
        (a generated uid, a default, a value the vCard round trip normalised)."""
        names = set(self.given)
        stored: dict[str, Any] = row.card if isinstance(row.card, dict) else {}
        result: dict[str, Any] = {"id": row.jmap_id}
        for name, value in stored.items():
            if name not in names or self.given.get(name) != value:
                result[name] = value
        for name in names - set(stored) - JMAP_CARD_PROPERTIES:
            result[name] = None  # the client gave it, the vCard could not keep it
        return result


def card_create_prepare(ctx: CallContext, *, account: Account, raw: object) -> CardCreate:
    """Check one create object (RFC 8620 §5.3 invalidProperties, tooLarge)."""
    if not isinstance(raw, dict):
        raise SetErrorException(SetError("invalidProperties", "a create must be an object", properties=[]))
    problems: dict[str, str] = {}
    if "id" in raw:
        problems["id"] = "set by the server"
    if "addressBookIds" not in raw:
        problems["addressBookIds"] = "required"
        book = None
    else:
        book = _book_from_ids(ctx, account, raw["addressBookIds"], problems)
    # A copy: the checks below fill in defaults and inline blobs without touching the request.
    card = copy.deepcopy({name: value for name, value in raw.items() if name not in JMAP_CARD_PROPERTIES})
    problems.update(card_shape_problems(card))
    if "media" not in problems:
        card_media_blobs_inline(account=account, card=card, problems=problems)
    if problems:
        raise _invalid(problems)
    assert book is not None
    if card_too_large(card):
        raise SetErrorException(SetError("tooLarge", "the card is too large"))
    card.setdefault("@type", "Card")
    card.setdefault("version", JSCONTACT_VERSION)
    card.setdefault("uid", card_uid_new(book))
    card.setdefault("kind", "individual")
    if ContactCard.objects.filter(account=account, address_book=book, uid=card["uid"], destroyed=False).exists():
        raise _invalid({"uid": "the address book already has a card with this uid"})
    return CardCreate(book=book, card=card, given=dict(raw))


@dataclass
class CardUpdate:
    """A checked update: the whole card after the patch and its (maybe new) book."""

    book: AddressBook
    card: dict[str, Any]

    def changes_anything(self, row: ContactCard) -> bool:
        return self.card != row.card or self.book.pk != row.address_book_id

    def updated_json(self, row: ContactCard) -> dict[str, Any] | None:
        """The `updated` entry: properties whose stored value differs from what
        the patch asked for (normalised by the vCard round trip); null when none."""
        stored: dict[str, Any] = row.card if isinstance(row.card, dict) else {}
        changed = {
            name: stored.get(name)
            for name in set(stored) | set(self.card)
            if stored.get(name) != self.card.get(name)
        }
        return changed or None


def card_update_prepare(ctx: CallContext, *, account: Account, row: ContactCard, patch: object) -> CardUpdate:
    """Apply a PatchObject to the stored card and check the result."""
    current = contact_card_json(row)
    patched, touched = card_patch_apply(current, patch)
    problems: dict[str, str] = {}
    if patched.get("id") != row.jmap_id:
        problems["id"] = "set by the server"
    book: AddressBook | None = row.address_book
    if "addressBookIds" in touched:
        book = _book_from_ids(ctx, account, patched.get("addressBookIds"), problems)
    card = {name: value for name, value in patched.items() if name not in JMAP_CARD_PROPERTIES}
    problems.update({name: why for name, why in card_shape_problems(card).items() if name in touched})
    if "media" in touched and "media" not in problems:
        card_media_blobs_inline(account=account, card=card, problems=problems)
    stored_uid = (row.card or {}).get("uid") if isinstance(row.card, dict) else None
    if "uid" in touched and card.get("uid") != stored_uid:
        problems["uid"] = "cannot be changed"
    if problems:
        raise _invalid(problems)
    assert book is not None
    if card_too_large(card):
        raise SetErrorException(SetError("tooLarge", "the card is too large"))
    return CardUpdate(book=book, card=card)
