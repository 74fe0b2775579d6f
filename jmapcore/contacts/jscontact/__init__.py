"""vCard (RFC 6350, RFC 2426) <-> JSContact (RFC 9553) by the rules of RFC 9555.

Pure format code: no Django, no I/O, linear time on any input. A vCard that
cannot be read completely is read as far as it goes, and what was lost is
reported in its `problems`; nothing here raises on bad input.

Public API (the contract with backends.carddav and the ContactCard methods):
- card_read(text) → CardReading(card, problems, version)
- card_write(card, previous_text=…, version=…) → vCard text, a minimal change
  of previous_text; CardInvalid for a card with properties of the wrong type
- card_search_fields(card) → the ContactCard cache's query columns
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jmapcore.contacts.jscontact.errors import CardInvalid
from jmapcore.contacts.jscontact.search_fields import card_search_fields

__all__ = ["CardInvalid", "CardReading", "card_read", "card_search_fields", "card_write"]


@dataclass
class CardReading:
    """A vCard read as a JSContact Card (RFC 9553; "@type": "Card", "version": "1.0").

    `problems` lists, for an operator, what the vCard's syntax and its conversion
    could not read; `version` is "3.0" or "4.0" (2.1 is read as 3.0).
    """

    card: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    version: str = "4.0"


def card_read(text: str) -> CardReading:
    """The JSContact card of one vCard resource (RFC 9555). Never raises: what
    cannot be read is kept (vCardProps) or reported in `problems`. A card without
    UID gets none here; the caller may assign one."""
    from jmapcore.contacts.jscontact.convert_read import vcard_text_convert

    try:
        result = vcard_text_convert(text if isinstance(text, str) else "")
    except Exception as exc:   # last resort: a sync must never stop on one card
        return CardReading(card={"@type": "Card", "version": "1.0"},
                           problems=[f"the vCard could not be read ({type(exc).__name__})"], version="4.0")
    return CardReading(card=result.card, problems=result.problems, version=result.version)


def card_write(card: dict[str, Any], *, previous_text: str | None, version: str) -> str:
    """The vCard text (VERSION `version`, "3.0" or "4.0") of a JSContact card.

    With `previous_text` (the vCard the server holds), a minimal change: lines
    whose JSContact counterpart did not change are written back byte for byte.
    Raises CardInvalid naming every property of the wrong type (RFC 9553).
    """
    from jmapcore.contacts.jscontact.convert_write import vcard_write
    from jmapcore.contacts.jscontact.validate import card_validate

    if version not in {"3.0", "4.0"}:
        raise ValueError(f"vCard version {version!r} cannot be written; 3.0 or 4.0")
    bad = card_validate(card)
    if bad:
        raise CardInvalid(bad, "invalid JSContact properties: " + ", ".join(bad[:20]))
    return vcard_write(card, version=version, previous_text=previous_text)
