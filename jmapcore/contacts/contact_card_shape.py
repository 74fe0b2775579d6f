"""The checks a ContactCard from a client passes before the converter sees it.

The converter (jscontact.card_write) judges the meaning of every property and
raises CardInvalid for what it cannot write; this module only makes sure the
top-level shape is what RFC 9553 §2 says (a string where a String goes, a map
where an Id[...] map goes) and that the object is of a size and depth a
contact can have, so hostile input answers invalidProperties at once instead
of reaching deep recursion or a huge vCard.
"""
from __future__ import annotations

import json
from typing import Any

from jmapcore.contacts.contact_card_read import JMAP_CARD_PROPERTIES, card_property_known

# A vCard with a large photo inlined is some hundred kB; a card past 1 MB of
# JSON is not a contact (the PUT would be refused by most CardDAV servers).
MAX_CARD_JSON = 1024 * 1024
# Card > emails > id > contexts > key is depth 5; localizations patch objects a few more.
MAX_CARD_DEPTH = 12

_STRING_PROPERTIES = frozenset({"version", "created", "kind", "language", "prodId", "uid", "updated"})
# RFC 9553 §2: properties whose value is a map (Id[...], String[Boolean], or an object).
_MAP_PROPERTIES = frozenset(
    {
        "members", "relatedTo", "name", "nicknames", "organizations", "speakToAs", "titles", "emails",
        "onlineServices", "phones", "preferredLanguages", "calendars", "schedulingAddresses", "addresses",
        "cryptoKeys", "directories", "links", "media", "localizations", "anniversaries", "keywords",
        "notes", "personalInfo",
    }
)
# RFC 9553 §2.1.4 kind values (lower case; vendor kinds have a ":" in them).
CARD_KINDS = frozenset({"individual", "group", "org", "location", "device", "application"})
MAX_UID = 1024


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether `value` nests deeper than `limit`, without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


def card_shape_problems(card: dict[str, Any]) -> dict[str, str]:
    """{property: why} for every top-level property of `card` (id and
    addressBookIds excluded) that is not of the right JSON type; {} when fine."""
    problems: dict[str, str] = {}
    for name, value in card.items():
        if name in JMAP_CARD_PROPERTIES:
            continue
        if not card_property_known(name):
            problems[name] = "unknown property"
        elif name == "@type":
            if value != "Card":
                problems[name] = 'must be "Card"'
        elif name in _STRING_PROPERTIES:
            if not isinstance(value, str):
                problems[name] = "must be a String"
        elif name in _MAP_PROPERTIES and not isinstance(value, dict):
            problems[name] = "must be an object"
        elif name == "vCardProps" and not isinstance(value, list):
            problems[name] = "must be an array (RFC 9555 §3.1)"
        if name not in problems and _depth_exceeds(value, MAX_CARD_DEPTH):
            problems[name] = f"nested more than {MAX_CARD_DEPTH} levels deep"
    uid = card.get("uid")
    if isinstance(uid, str) and (not uid or len(uid) > MAX_UID or any(ord(char) < 0x20 for char in uid)):
        problems["uid"] = f"must be 1 to {MAX_UID} characters without control characters"
    kind = card.get("kind")
    if isinstance(kind, str) and kind not in CARD_KINDS and ":" not in kind:
        problems["kind"] = "must be individual, group, org, location, device, application or a vendor kind"
    members = card.get("members")
    if isinstance(members, dict) and not all(value is True for value in members.values()):
        problems["members"] = "must map uids to true"
    return problems


def card_too_large(card: dict[str, Any]) -> bool:
    """Whether the card is past MAX_CARD_JSON octets of JSON (SetError tooLarge).
    Call after card_shape_problems found nothing (its depth check bounds the walk)."""
    return len(json.dumps(card, ensure_ascii=False).encode()) > MAX_CARD_JSON
