"""The state of one JSContact → vCard conversion, shared by the per-area writers.

Every property a writer makes is tagged with the slot it belongs to (see
read_context), so that card_write can keep the unchanged slots of the previous
vCard byte for byte.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jmapcore.contacts.jscontact.read_context import Slot
from jmapcore.contacts.jscontact.vcard_model import VCardParam, VCardProperty
from jmapcore.contacts.jscontact.vcard_syntax import value_escape


@dataclass
class WriteContext:
    """One conversion into vCard `version` ("3.0" or "4.0")."""

    version: str
    out: list[tuple[Slot, VCardProperty]] = field(default_factory=list)
    used_groups: set[str] = field(default_factory=set)
    # ids of the properties written with a label of their own (and of their X-ABLabel lines)
    labelled: set[int] = field(default_factory=set)
    _next_group: int = 0

    def emit(self, slot: Slot, name: str, value: str, params: list[VCardParam] | None = None,
             group: str = "") -> VCardProperty:
        prop = VCardProperty(name=name, value=value, params=list(params or []), group=group)
        self.out.append((slot, prop))
        return prop

    def group_new(self) -> str:
        """A fresh Apple-style group name ("item1", "item2", …) not used in the card."""
        while True:
            self._next_group += 1
            candidate = f"item{self._next_group}"
            if candidate.upper() not in self.used_groups:
                self.used_groups.add(candidate.upper())
                return candidate

    def emit_labelled(self, slot: Slot, name: str, value: str, params: list[VCardParam], group: str,
                      label: Any) -> None:
        """A property with a JSContact `label`: written as Apple does, itemN.PROP and
        itemN.X-ABLabel in one group (RFC 9555 keeps groups; the label is the group's)."""
        if isinstance(label, str) and label:
            group = group or self.group_new()
            self.labelled.add(id(self.emit(slot, name, value, params, group)))
            self.labelled.add(id(self.emit(slot, "X-ABLabel", value_escape(label), [], group)))
        else:
            self.emit(slot, name, value, params, group)

    def label_groups_separate(self) -> None:
        """A property that kept its group but has no label of its own leaves a group
        that a labelled property uses: read back, an X-ABLabel labels its group, so
        the property would come back with the other one's label (found by hypothesis:
        item1.TEL and item1.EMAIL with one X-ABLabel)."""
        labelled_groups = {prop.group.upper() for _slot, prop in self.out if id(prop) in self.labelled and prop.group}
        for _slot, prop in self.out:
            if prop.group and prop.group.upper() in labelled_groups and id(prop) not in self.labelled:
                prop.group = ""
                prop.raw = None


Writer = Callable[[WriteContext, dict[str, Any]], None]
