"""A vCard resource as the columns of its ContactCard row (jmapcore.models.contacts).

card_columns() reads the vCard with jmapcore.contacts.jscontact (card_read,
card_search_fields) and never raises: a vCard the converter cannot read at all
(a bug there, or input beyond what it tolerates) is cached as a minimal Card
with the reason in parse_problems, so one broken card never stops a sync and
is still listed (issue 10: "the card is served with what can be read and
reported on the account").

A card without a UID gets a stable one derived from its href (RFC 9553 §2.1.9
requires uid), urn:uuid:<uuid5 of the href>, so it is the same at every sync.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger("jmap.sync.carddav")

PROBLEM_MAX = 300
# ContactCard fields card_search_fields may fill (anything else it returns is ignored).
SEARCH_FIELDS = frozenset({
    "uid", "kind", "created", "updated", "members", "search_text", "search_name", "search_name_given",
    "search_name_surname", "search_name_surname2", "search_nickname", "search_organization", "search_email",
    "search_phone", "search_online_service", "search_address", "search_note", "sort_name_given",
    "sort_name_surname", "sort_name_surname2",
})
# The model's limits (max_length) on CharFields card_search_fields fills.
_MAX_LENGTH = {"uid": 1024, "kind": 32, "sort_name_given": 255, "sort_name_surname": 255,
               "sort_name_surname2": 255}


@dataclass
class CardColumns:
    """What a ContactCard row holds for one vCard resource."""

    uid: str
    card: dict[str, Any]
    problems: list[str]
    fields: dict[str, Any] = field(default_factory=dict)

    def apply(self, row: Any) -> None:
        """Set the columns on a ContactCard instance (not saved)."""
        row.uid = self.uid
        row.card = self.card
        row.parse_problems = self.problems
        for name, value in self.fields.items():
            setattr(row, name, value)


def uid_for_href(href: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, href)}"


def card_columns(*, text: str, href: str) -> CardColumns:
    """The ContactCard columns for the vCard `text` stored at `href` (see module doc)."""
    from jmapcore.contacts import jscontact

    try:
        reading = jscontact.card_read(text)
        card = dict(reading.card)
        problems = [str(problem)[:PROBLEM_MAX] for problem in reading.problems]
    except Exception as exc:  # the converter promises not to raise; a sync must survive if it does
        log.warning("vCard at %s could not be converted: %s", href, type(exc).__name__)
        card = {"@type": "Card", "version": "1.0"}
        problems = [f"the vCard could not be read ({type(exc).__name__})"]
    card.pop("id", None)
    card.pop("addressBookIds", None)
    uid = card.get("uid")
    if not isinstance(uid, str) or not uid:
        uid = uid_for_href(href)
        card["uid"] = uid
    try:
        found = jscontact.card_search_fields(card)
    except Exception as exc:
        log.warning("vCard at %s: search fields failed: %s", href, type(exc).__name__)
        problems.append(f"search fields could not be derived ({type(exc).__name__})")
        found = {"uid": uid}
    fields: dict[str, Any] = {}
    for name, value in found.items():
        if name not in SEARCH_FIELDS:
            continue
        if name in ("created", "updated"):
            fields[name] = value if isinstance(value, datetime) else None
            continue
        text_value = "" if value is None else str(value)
        limit = _MAX_LENGTH.get(name)
        fields[name] = text_value[:limit] if limit else text_value
    fields["uid"] = uid[:1024]
    if not fields.get("kind"):
        fields["kind"] = str(card.get("kind") or "individual")[:32]
    return CardColumns(uid=uid[:1024], card=card, problems=problems, fields=fields)
