"""The error card_write raises for a JSContact card it cannot write."""
from __future__ import annotations


class CardInvalid(ValueError):
    """A JSContact card (RFC 9553) that breaks the format's rules.

    `properties` names every offending property as a JSON-pointer-like path
    relative to the card ("emails/e1/address"), so that a JMAP method can answer
    SetError invalidProperties (RFC 8620 §5.3) naming all of them at once.
    """

    def __init__(self, properties: list[str], description: str) -> None:
        super().__init__(description)
        self.properties = properties
        self.description = description
