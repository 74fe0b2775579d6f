"""The state of one iCalendar component → JSCalendar conversion and of the way back.

Reading records which content lines (and which sub-components) each JSCalendar
"slot" came from: a slot is a top-level property (("title",)), a group of
properties that are written together (("start",): DTSTART with DTEND or
DURATION), or one entry of a map (("alerts", "a1"): one VALARM). event_write
uses the slots for a minimal change: a slot whose JSCalendar value did not
change keeps its previous lines byte for byte (see convert_write).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from jmapcore.calendars.jscalendar.ical_model import IcalComponent, IcalParam, IcalProperty

Slot = tuple[str, ...]


@dataclass
class ReadContext:
    """One VEVENT (or override) being read.

    `vtimezones` are the object's VTIMEZONE components by TZID (for tz
    resolution); `problems` are plain words for an operator.
    """

    component: IcalComponent
    vtimezones: dict[str, IcalComponent] = field(default_factory=dict)
    event: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    slot_of: dict[int, Slot] = field(default_factory=dict)
    # Slots of the sub-components (VALARM, VLOCATION, unknown ones), by position.
    component_slot_of: dict[int, Slot] = field(default_factory=dict)
    # The tzinfo of DTSTART (None: floating or UTC handled by `utc`), set by times.read_start.
    zone: tzinfo | None = None
    zone_utc: bool = False
    all_day: bool = False
    # What readers left for the finishers (e.g. the ORGANIZER for participants).
    pending: dict[str, Any] = field(default_factory=dict)
    _counters: dict[str, int] = field(default_factory=dict)

    @property
    def properties(self) -> list[IcalProperty]:
        return self.component.properties

    def claim(self, slot: Slot, index: int) -> None:
        """Property `index` is (part of) what `slot` was read from."""
        self.slot_of[index] = slot

    def next_id(self, key: str, prefix: str, wanted: str | None = None) -> str:
        """A map id for event[key]: `wanted` when it is a free JMAP Id, else prefix + position."""
        target = self.event.get(key) or {}
        if wanted and wanted not in target and id_valid(wanted):
            return wanted
        count = self._counters.get(key, 0) + 1
        candidate = f"{prefix}{count}"
        while candidate in target:
            count += 1
            candidate = f"{prefix}{count}"
        self._counters[key] = count
        return candidate

    def problem(self, text: str) -> None:
        self.problems.append(text)


def id_valid(value: str) -> bool:
    """A JMAP Id (RFC 8620 §1.2): 1-255 characters of A-Z a-z 0-9 - _."""
    return 0 < len(value) <= 255 and all(c.isascii() and (c.isalnum() or c in "-_") for c in value)


@dataclass
class WriteContext:
    """One JSCalendar Event (or override) being written as a component."""

    event: dict[str, Any]
    out: list[tuple[Slot, IcalProperty]] = field(default_factory=list)
    components: list[tuple[Slot, IcalComponent]] = field(default_factory=list)
    # TZIDs the written lines use, so that the object carries their VTIMEZONEs.
    tzids: set[str] = field(default_factory=set)
    is_override: bool = False

    def emit(self, slot: Slot, name: str, value: str, params: list[IcalParam] | None = None) -> IcalProperty:
        prop = IcalProperty(name=name, value=value, params=list(params or []), raw=None)
        self.out.append((slot, prop))
        return prop

    def emit_component(self, slot: Slot, component: IcalComponent) -> None:
        self.components.append((slot, component))


Reader = Callable[[ReadContext, int, IcalProperty], bool]
Writer = Callable[[WriteContext, dict[str, Any]], None]


def as_map(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one (bad input is read as absent)."""
    return value if isinstance(value, dict) else {}
