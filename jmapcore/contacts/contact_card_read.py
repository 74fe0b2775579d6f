"""A cached ContactCard as JMAP JSON (RFC 9610 §3, §3.1).

The JSON is the JSContact Card (RFC 9553 §2) as the converter read it from the
vCard, plus the two properties JMAP adds: ``id`` and ``addressBookIds`` (a
vCard lives in exactly one CardDAV collection, so that map has one key).
"""
from __future__ import annotations

from collections.abc import Collection
from typing import Any

from jmapcore.models.contacts import ContactCard
from jmapcore.protocol.errors import MethodError

# RFC 9553 §2 (Card), RFC 9555 §3.1 (vCardProps): the Card properties a client may name in /get.
JSCONTACT_CARD_PROPERTIES = frozenset(
    {
        "@type", "version", "created", "kind", "language", "members", "prodId", "relatedTo", "uid",
        "updated", "name", "nicknames", "organizations", "speakToAs", "titles", "emails",
        "onlineServices", "phones", "preferredLanguages", "calendars", "schedulingAddresses",
        "addresses", "cryptoKeys", "directories", "links", "media", "localizations", "anniversaries",
        "keywords", "notes", "personalInfo", "vCardProps",
    }
)
# Added by RFC 9610 §3; the server sets id, the client sets addressBookIds.
JMAP_CARD_PROPERTIES = frozenset({"id", "addressBookIds"})


def card_property_known(name: str) -> bool:
    """A property a ContactCard may have: RFC 9553/9555/9610 ones, or a vendor
    extension, whose name has a ":" in it (RFC 9553 §1.3.3 "vendor-specific")."""
    return name in JSCONTACT_CARD_PROPERTIES or name in JMAP_CARD_PROPERTIES or (":" in name and len(name) <= 255)


def card_properties_read(raw: object) -> list[str] | None:
    """The /get `properties` argument: null (every property) or names a card may have.

    Unknown names are invalidArguments (RFC 8620 §5.1); duplicates count once.
    """
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        raise MethodError("invalidArguments", "properties must be null or a list of Strings")
    if len(raw) > 256:
        raise MethodError("invalidArguments", "properties: at most 256 names")
    unknown = sorted({name for name in raw if not card_property_known(name)})
    if unknown:
        shown = ", ".join(name[:64] for name in unknown[:10])
        raise MethodError("invalidArguments", f"properties: unknown {shown}")
    return list(dict.fromkeys(raw))


def contact_card_json(row: ContactCard, properties: Collection[str] | None = None) -> dict[str, Any]:
    """The ContactCard as JMAP returns it, limited to `properties` when given.

    ``id`` is always there. A JSContact property the card does not have is left
    out rather than given as null: in JSContact an absent property means its
    default, and null is not a valid value of most of them (RFC 9553 §1.3).
    `row.address_book` should be loaded with the row (select_related).
    """
    stored: dict[str, Any] = row.card if isinstance(row.card, dict) else {}
    result: dict[str, Any] = {"id": row.jmap_id}
    wanted = stored.keys() if properties is None else properties
    # No copy: `row.card` was decoded from the database for this request alone.
    for name in wanted:
        if name in JMAP_CARD_PROPERTIES:
            continue
        if name in stored:
            result[name] = stored[name]
    if properties is None or "addressBookIds" in properties:
        result["addressBookIds"] = {row.address_book.jmap_id: True}
    return result
