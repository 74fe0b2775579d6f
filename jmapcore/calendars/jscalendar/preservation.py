"""What has no JSCalendar counterpart is kept: the event's iCalComponent
(draft-ietf-calext-jscalendar-icalendar-30, "iCalComponent" and the
ICalComponent / ICalProperty objects, which follow jCal, RFC 7265 §3).

Every property and sub-component no reader took is kept there, with its
parameters and its value exactly as it was on the wire (still escaped, value
type "unknown", RFC 7265 §5), so it is written back unchanged: X- properties,
a second SUMMARY, a DESCRIPTION with ALTREP, X-components, a VALARM's own
extra lines. JMAP clients may read and change it like any other property.
"""
from __future__ import annotations

import json
from typing import Any

from jmapcore.calendars.jscalendar.context import ReadContext, Slot, WriteContext
from jmapcore.calendars.jscalendar.ical_model import IcalComponent, IcalParam, IcalProperty

KEY = "iCalComponent"


def property_object(prop: IcalProperty) -> dict[str, Any]:
    """One property as an ICalProperty (jCal-like: lower-case names, RFC 7265 §3.4)."""
    params: dict[str, Any] = {}
    for param in prop.params:
        name = param.name.lower()
        values = list(param.values)
        if name in params:
            existing = params[name]
            values = (existing if isinstance(existing, list) else [existing]) + values
        params[name] = values[0] if len(values) == 1 else values
    entry: dict[str, Any] = {"@type": "ICalProperty", "name": prop.name.lower(), "valueType": "unknown",
                             "value": prop.value}
    if params:
        entry["parameters"] = params
    return entry


def component_object(component: IcalComponent) -> dict[str, Any]:
    """A whole component as an ICalComponent."""
    entry: dict[str, Any] = {"@type": "ICalComponent", "name": component.name.lower()}
    if component.properties:
        entry["properties"] = [property_object(prop) for prop in component.properties]
    if component.components:
        entry["components"] = [component_object(sub) for sub in component.components]
    return entry


def property_from(entry: Any) -> IcalProperty | None:
    """The IcalProperty of an ICalProperty object; None when it is not one."""
    if not (isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"]):
        return None
    value = entry.get("value")
    text = value if isinstance(value, str) else json.dumps(value)
    params: list[IcalParam] = []
    raw_params = entry.get("parameters")
    for key, item in (raw_params.items() if isinstance(raw_params, dict) else []):
        values = item if isinstance(item, list) else [item]
        params.append(IcalParam(name=str(key).upper(), values=[str(v) for v in values]))
    return IcalProperty(name=entry["name"].upper(), value=text, params=params, raw=None)


def component_from(entry: Any) -> IcalComponent | None:
    if not (isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"]):
        return None
    props = [p for p in (property_from(e) for e in entry.get("properties") or []) if p is not None] \
        if isinstance(entry.get("properties"), list) else []
    subs = [c for c in (component_from(e) for e in entry.get("components") or []) if c is not None] \
        if isinstance(entry.get("components"), list) else []
    return IcalComponent(name=entry["name"].upper(), properties=props, components=subs)


def entry_slot(kind: str, entry: Any, seen: dict[str, int]) -> Slot:
    """The slot of one kept entry: its content, and how many identical entries
    came before it (a removed duplicate must not shift the others)."""
    key = json.dumps(entry, sort_keys=True, ensure_ascii=False)
    count = seen.get(key, 0)
    seen[key] = count + 1
    return (KEY, kind, key, str(count))


def keep_property(ctx: ReadContext, index: int, prop: IcalProperty, seen: dict[str, int]) -> None:
    entry = property_object(prop)
    kept = ctx.event.setdefault(KEY, {"@type": "ICalComponent", "name": ctx.component.name.lower()})
    kept.setdefault("properties", []).append(entry)
    ctx.claim(entry_slot("p", entry, seen), index)


def keep_component(ctx: ReadContext, index: int, component: IcalComponent, seen: dict[str, int]) -> None:
    entry = component_object(component)
    kept = ctx.event.setdefault(KEY, {"@type": "ICalComponent", "name": ctx.component.name.lower()})
    kept.setdefault("components", []).append(entry)
    ctx.component_slot_of[index] = entry_slot("c", entry, seen)


def write_kept(ctx: WriteContext, event: dict[str, Any]) -> None:
    kept = event.get(KEY)
    if not isinstance(kept, dict):
        return
    seen: dict[str, int] = {}
    for entry in kept.get("properties") or [] if isinstance(kept.get("properties"), list) else []:
        prop = property_from(entry)
        if prop is not None:
            ctx.out.append((entry_slot("p", entry, seen), prop))
    seen = {}
    for entry in kept.get("components") or [] if isinstance(kept.get("components"), list) else []:
        component = component_from(entry)
        if component is not None:
            ctx.emit_component(entry_slot("c", entry, seen), component)
