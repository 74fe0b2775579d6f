"""The parsed form of a vCard: what jscontact.vcard_syntax reads and writes.

A property keeps its value as it was on the wire (unfolded, still escaped):
only the converter that knows the property's value type may split or unescape
it (RFC 6350 §3.4: which characters are escaped depends on the property), and
a property nobody changed is written back exactly as it came.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class VCardParam:
    """One parameter (RFC 6350 §5): NAME=value,value. `name` is upper-cased;
    `values` are unquoted and RFC 6868 (^n ^^ ^') decoded. A vCard 2.1/3.0
    parameter without a name (TEL;HOME:…) is read as TYPE=HOME."""

    name: str
    values: list[str]


@dataclass
class VCardProperty:
    """One content line (RFC 6350 §3.3): [group.]NAME;params:value.

    `name` is upper-cased, `group` kept as written ('' when none). `value` is
    the raw value text after unfolding, escapes (\\, \\; \\n) still in place.
    `raw` is the unfolded line as read, or None for a property made here; a
    serializer writes `raw` back unchanged when it is set, so that a card
    round-trips byte for byte except where it was changed. Whoever changes
    name, value, params or group of a read property must set `raw` to None.
    """

    name: str
    value: str
    params: list[VCardParam] = field(default_factory=list)
    group: str = ""
    raw: str | None = None

    def param(self, name: str) -> list[str]:
        """Every value of parameter `name` (case-insensitive), in order; [] if absent."""
        wanted = name.upper()
        return [value for param in self.params if param.name == wanted for value in param.values]


@dataclass
class VCard:
    """One BEGIN:VCARD … END:VCARD. `properties` excludes BEGIN and END, keeps
    VERSION, and keeps the order of the input. `problems` says, in plain words
    for an operator, what could not be read (bad folding, unknown encoding, a
    line without a colon, no FN, …)."""

    properties: list[VCardProperty] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def version(self) -> str:
        """The VERSION value ('2.1', '3.0', '4.0'), or '' when the card has none."""
        for prop in self.properties:
            if prop.name == "VERSION":
                return prop.value.strip()
        return ""

    def all(self, name: str) -> list[VCardProperty]:
        """Every property called `name` (case-insensitive), in order."""
        wanted = name.upper()
        return [prop for prop in self.properties if prop.name == wanted]
