"""The parsed form of an iCalendar object: what jscalendar.ical_syntax reads and writes.

A property keeps its value as it was on the wire (unfolded, escapes kept):
only the converter that knows the property's value type may split or unescape
it (RFC 5545 §3.3: TEXT escapes commas and semicolons, a RECUR or a URI does
not), and a property nobody changed is written back exactly as it came.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class IcalParam:
    """One parameter (RFC 5545 §3.2): NAME=value,value. `name` is upper-cased;
    `values` are unquoted and RFC 6868 (^n ^^ ^') decoded."""

    name: str
    values: list[str]


@dataclass
class IcalProperty:
    """One content line (RFC 5545 §3.1): NAME;params:value.

    `name` is upper-cased. `value` is the raw value text after unfolding,
    escapes (\\, \\; \\n) still in place. `raw` is the unfolded line as read,
    or None for a property made here; the serializer writes `raw` back
    unchanged when it is set, so that an object round-trips line for line
    except where it was changed. Whoever changes name, value or params of a
    read property must set `raw` to None.
    """

    name: str
    value: str
    params: list[IcalParam] = field(default_factory=list)
    raw: str | None = None

    def param(self, name: str) -> list[str]:
        """Every value of parameter `name` (case-insensitive), in order; [] if absent."""
        wanted = name.upper()
        return [value for param in self.params if param.name == wanted for value in param.values]

    def param_first(self, name: str) -> str | None:
        """The first value of parameter `name`, or None when absent."""
        values = self.param(name)
        return values[0] if values else None


@dataclass
class IcalComponent:
    """One BEGIN:NAME … END:NAME (RFC 5545 §3.4, §3.6). `name` is upper-cased
    ("VCALENDAR", "VEVENT", "VALARM", "X-FOO", …); `properties` and
    `components` keep the order of the input (BEGIN/END lines excluded)."""

    name: str
    properties: list[IcalProperty] = field(default_factory=list)
    components: list[IcalComponent] = field(default_factory=list)

    def all(self, name: str) -> list[IcalProperty]:
        """Every property called `name` (case-insensitive), in order."""
        wanted = name.upper()
        return [prop for prop in self.properties if prop.name == wanted]

    def first(self, name: str) -> IcalProperty | None:
        """The first property called `name` (case-insensitive), or None."""
        wanted = name.upper()
        for prop in self.properties:
            if prop.name == wanted:
                return prop
        return None

    def subcomponents(self, name: str) -> list[IcalComponent]:
        """Every direct subcomponent called `name` (case-insensitive), in order."""
        wanted = name.upper()
        return [component for component in self.components if component.name == wanted]


@dataclass
class IcalObject:
    """What ical_parse read: `root` is the first top-level component (normally
    the VCALENDAR; None when the text has none). `more` holds any further
    top-level components (a CalDAV resource has one, RFC 4791 §4.1, but an
    import file may concatenate several). `problems` says, in plain words for
    an operator, what could not be read and what was done about it."""

    root: IcalComponent | None
    problems: list[str] = field(default_factory=list)
    more: list[IcalComponent] = field(default_factory=list)
