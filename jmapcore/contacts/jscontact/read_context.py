"""The state of one vCard → JSContact conversion, shared by the per-area readers.

Besides the card it builds, it records which vCard properties each JSContact
"slot" came from (a slot is a top-level property, or one entry of a map such as
("emails", "e1")). card_write uses these slots for a minimal change: the lines
of a slot whose JSContact value did not change are written back as they were.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jmapcore.contacts.jscontact.vcard_model import VCardProperty
from jmapcore.contacts.jscontact.vcard_syntax import value_unescape

Slot = tuple[str, ...]


@dataclass
class ReadContext:
    """One conversion: `version` is "3.0" or "4.0" (2.1 is read as 3.0)."""

    version: str
    properties: list[VCardProperty]
    card: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    slot_of: dict[int, Slot] = field(default_factory=dict)
    # Apple's itemN.X-ABLabel: group (upper-cased) → (index, label text).
    labels: dict[str, tuple[int, str]] = field(default_factory=dict)
    # What a reader has seen once and must not take twice (e.g. "N": a second N is kept aside).
    seen: set[str] = field(default_factory=set)
    # JSPROPs pointing into the card (RFC 9555), applied once everything else is read:
    # (property index, pointer tokens, value).
    deferred: list[tuple[int, list[str], Any]] = field(default_factory=list)
    # How many identical vCardProps entries were kept so far (see preservation.vcard_props_slot).
    kept: dict[str, int] = field(default_factory=dict)
    _counters: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for index, prop in enumerate(self.properties):
            # A label with parameters says more than a label: it is kept as it is.
            # (an empty label says nothing either, and JSContact has no empty label).
            if prop.name == "X-ABLABEL" and prop.group and not prop.params and prop.value \
                    and prop.group.upper() not in self.labels:
                self.labels[prop.group.upper()] = (index, value_unescape(prop.value))

    def claim(self, slot: Slot, index: int) -> None:
        """Property `index` is (part of) what `slot` was read from."""
        self.slot_of[index] = slot

    def label_of(self, prop: VCardProperty) -> tuple[int, str] | None:
        """The X-ABLabel in the group of `prop` not yet given to another property."""
        if not prop.group:
            return None
        found = self.labels.get(prop.group.upper())
        if found is None or found[0] in self.slot_of:
            return None
        return found

    def id_new(self, key: str, target: dict[str, Any], prefix: str, prop_id: str | None) -> str:
        """The id of the next entry of map `key`: its PROP-ID when free, else prefix + its
        position ("e1", "e2", …, what a writer leaves without PROP-ID), else a fresh number
        above every one tried so far (so colliding PROP-IDs cannot make this quadratic)."""
        count = self._counters.get(key, 0) + 1
        self._counters[key] = count
        if prop_id and prop_id not in target:
            return prop_id
        entry_id = f"{prefix}{count}"
        probe = self._counters.get(f"{key} probe", count)
        while entry_id in target:
            probe = max(probe, count) + 1
            entry_id = f"{prefix}{probe}"
        self._counters[f"{key} probe"] = probe
        return entry_id

    def entry_add(self, key: str, prefix: str, index: int, entry: dict[str, Any], prop_id: str | None,
                  *, take_label: bool = True) -> str:
        """Put `entry` into the map card[key] under a new id (id_new), claim the
        property, and attach an Apple group label."""
        target = self.card.setdefault(key, {})
        entry_id = self.id_new(key, target, prefix, prop_id)
        prop = self.properties[index]
        if take_label:
            label = self.label_of(prop)
            if label is not None:
                entry["label"] = label[1]
                self.claim((key, entry_id), label[0])
        target[entry_id] = entry
        self.claim((key, entry_id), index)
        return entry_id

    def problem(self, text: str) -> None:
        self.problems.append(text)


Reader = Callable[[ReadContext, int, VCardProperty], bool]
