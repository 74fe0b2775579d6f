"""iCalendar → JSCalendar (RFC 8984 §5.1 Event; the mapping of
draft-ietf-calext-jscalendar-icalendar-30): one pass over a component's
properties, each handed to the reader of its name; what no reader takes is
kept in iCalComponent (preservation). Then the object: the master VEVENT of
the resource's UID, its RECURRENCE-ID components as recurrenceOverrides
patches (RFC 8984 §4.3.5), what else the object holds left for event_write to
keep.

Linear in the size of the object. Never raises: a property whose reader fails
is kept as it is and the failure is reported in the problems.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from jmapcore.calendars.jscalendar import (
    alerts,
    jsprop,
    links,
    locations,
    participants,
    preservation,
    properties,
    recurrence_map,
    times,
)
from jmapcore.calendars.jscalendar.context import ReadContext, Reader
from jmapcore.calendars.jscalendar.ical_model import IcalComponent, IcalProperty
from jmapcore.calendars.jscalendar.ical_syntax import ical_parse, text_unescape

READERS: dict[str, Reader] = {
    **properties.READERS, "DTSTART": times.read_start, "DTEND": times.read_end, "DURATION": times.read_end,
    **recurrence_map.READERS, **participants.READERS, **locations.READERS, **links.READERS, **jsprop.READERS,
}
# Properties of the event that an override does not have its own value of (RFC 8984 §4.3.5).
NOT_PATCHED = {"@type", "uid", "recurrenceRules", "excludedRecurrenceRules", "recurrenceOverrides", "recurrenceId",
               "method", "prodId", "relatedTo"}
MAIN_COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL")


@dataclass
class ComponentReading:
    """One component read: its event and what minimal-change writing needs."""

    event: dict[str, Any]
    context: ReadContext
    component: IcalComponent


def component_convert(component: IcalComponent, vtimezones: dict[str, IcalComponent]) -> ComponentReading:
    """One VEVENT (master or override) as a JSCalendar Event, with its slots."""
    ctx = ReadContext(component=component, vtimezones=vtimezones)
    for index, prop in enumerate(component.properties):
        if prop.name == "RECURRENCE-ID":
            if "recurrence_id" not in ctx.pending:
                ctx.pending["recurrence_id"] = prop
                ctx.claim(("recurrenceId",), index)
            continue
        reader = READERS.get(prop.name)
        if reader is None:
            continue
        try:
            reader(ctx, index, prop)
        except Exception as exc:   # a reader bug must not lose the event: the line is kept as it is
            ctx.problem(f"{prop.name} could not be converted ({type(exc).__name__}); kept as it is")
            ctx.slot_of.pop(index, None)
    finishers = [times.read_finish, properties.read_finish, participants.read_finish, locations.read_finish]
    for finish in finishers:
        try:
            finish(ctx)
        except Exception as exc:
            ctx.problem(f"{finish.__module__.rsplit('.', 1)[-1]} could not be completed ({type(exc).__name__})")
    late: list[tuple[int, IcalProperty]] = []
    try:
        recurrence_map.read_finish(ctx, lambda index, prop: late.append((index, prop)))
    except Exception as exc:
        ctx.problem(f"the recurrence could not be read ({type(exc).__name__})")
    seen: dict[str, int] = {}
    for index, prop in enumerate(component.properties):
        if index not in ctx.slot_of:
            preservation.keep_property(ctx, index, prop, seen)
    seen = {}
    for index, sub in enumerate(component.components):
        taken = False
        try:
            if sub.name == "VALARM":
                taken = alerts.read_alarm(ctx, index, sub)
            elif sub.name == "VLOCATION":
                taken = locations.read_vlocation(ctx, index, sub)
        except Exception as exc:
            ctx.problem(f"{sub.name} could not be converted ({type(exc).__name__}); kept as it is")
            taken = False
        if not taken:
            preservation.keep_component(ctx, index, sub, seen)
    event: dict[str, Any] = {"@type": "Event"}
    if "uid" in ctx.event:
        event["uid"] = ctx.event.pop("uid")
    event.update(ctx.event)
    ctx.event = event
    return ComponentReading(event=event, context=ctx, component=component)


def component_uid(component: IcalComponent) -> str:
    prop = component.first("UID")
    return text_unescape(prop.value).strip() if prop is not None else ""


def override_key(prop: IcalProperty, master: ReadContext) -> str | None:
    """The recurrenceOverrides key of a RECURRENCE-ID: its time in the master's zone."""
    parsed = times.time_of(prop, master)
    if parsed is None:
        return None
    return times.local_format(times.to_local(parsed, master))


def _normal(value: Any) -> Any:
    return json.loads(json.dumps(value))


def override_patch(master: dict[str, Any], instance: dict[str, Any], key: str) -> dict[str, Any]:
    """The PatchObject (RFC 8984 §1.4.9) that turns the master into this instance,
    one top-level property at a time; the start is implied by the key."""
    patch: dict[str, Any] = {}
    for name in sorted(set(master) | set(instance)):
        if name in NOT_PATCHED:
            continue
        if name == "start" and instance.get("start") == key:
            continue
        if name not in instance:
            patch[name] = None
        elif master.get(name) != instance[name]:
            patch[name] = _normal(instance[name])
    return patch


@dataclass
class ObjectReading:
    """A calendar object resource read: the event (or None), the master's reading,
    the overrides' readings by key, and the whole parsed object."""

    event: dict[str, Any] | None
    component: str
    uid: str
    problems: list[str] = field(default_factory=list)
    root: IcalComponent | None = None
    master: ComponentReading | None = None
    overrides: dict[str, ComponentReading] = field(default_factory=dict)
    # The VEVENTs of the event's UID (master and overrides), by identity, in the object.
    own: list[IcalComponent] = field(default_factory=list)


def vtimezones_of(root: IcalComponent) -> dict[str, IcalComponent]:
    found: dict[str, IcalComponent] = {}
    for component in root.subcomponents("VTIMEZONE"):
        prop = component.first("TZID")
        if prop is not None and prop.value.strip():
            found.setdefault(prop.value.strip(), component)
    return found


def object_read(root: IcalComponent | None, problems: list[str], *, uid: str | None = None) -> ObjectReading:
    """The event of one calendar object (the VCALENDAR `root`): the first main
    component's UID (or `uid`), its master and overrides."""
    if root is None:
        return ObjectReading(event=None, component="", uid="", problems=[*problems, "no iCalendar object was found"])
    if root.name != "VCALENDAR":
        root = IcalComponent(name="VCALENDAR", components=[root])
        problems = [*problems, "the object is not in a VCALENDAR; read as if it were"]
    mains = [c for c in root.components if c.name in MAIN_COMPONENTS]
    if not mains:
        return ObjectReading(event=None, component="", uid="", problems=[*problems, "the object has no VEVENT"],
                             root=root)
    # A VEVENT is the object's event even when a VTODO comes first (RFC 4791 §4.1 allows one
    # component type per resource; what else is there is kept by event_write).
    events = [c for c in mains if c.name == "VEVENT"] or mains
    first = events[0] if uid is None else next((c for c in events if component_uid(c) == uid), events[0])
    the_uid = component_uid(first)
    if first.name != "VEVENT":
        return ObjectReading(event=None, component=first.name, uid=the_uid, problems=list(problems), root=root)
    own = [c for c in mains if c.name == "VEVENT" and component_uid(c) == the_uid]
    other_uids = {component_uid(c) for c in mains if c.name == "VEVENT"} - {the_uid}
    problems = list(problems)
    if other_uids:
        problems.append(f"the object holds {len(other_uids)} more event UID(s); only {the_uid[:60]!r} is read, "
                        "the others are kept as they are")
    vtimezones = vtimezones_of(root)
    master_component = next((c for c in own if c.first("RECURRENCE-ID") is None), None)
    instances = [c for c in own if c.first("RECURRENCE-ID") is not None]
    reading = ObjectReading(event=None, component="VEVENT", uid=the_uid, problems=problems, root=root, own=[])
    if master_component is None:
        # Only instances (an invitation to one occurrence, RFC 6638 §3.2): the first is read as
        # the event with its recurrenceId; the other instances are kept as they are.
        master_component = instances.pop(0)
        if instances:
            problems.append(f"{len(instances)} more occurrence(s) without a master are kept as they are")
        instances = []
    master = component_convert(master_component, vtimezones)
    problems.extend(master.context.problems)
    reading.master = master
    reading.own.append(master_component)
    event = master.event
    recurrence_id = master.context.pending.get("recurrence_id")
    if recurrence_id is not None:
        key = override_key(recurrence_id, master.context)
        if key is not None:
            event["recurrenceId"] = key
    for instance in instances:
        prop = instance.first("RECURRENCE-ID")
        assert prop is not None
        key = override_key(prop, master.context)
        if key is None:
            problems.append(f"RECURRENCE-ID {prop.value[:40]!r} is not a date or date-time; that component is "
                            "kept as it is")
            continue
        if key in reading.overrides:
            problems.append(f"two components override {key}; the second is kept as it is")
            continue
        converted = component_convert(instance, vtimezones)
        problems.extend(f"override {key}: {text}" for text in converted.context.problems)
        patch = override_patch(event, converted.event, key)
        range_value = (prop.param_first("RANGE") or "").upper()
        if range_value == "THISANDFUTURE":
            # RFC 5545 §3.8.4.4: the change applies to this and every later occurrence. JSCalendar
            # patches one occurrence; the range is kept so the component is written back as it was.
            patch["iCalRange"] = "thisandfuture"
        overrides = event.setdefault("recurrenceOverrides", {})
        if overrides.get(key, {}).get("excluded"):
            problems.append(f"the occurrence {key} is both excluded and overridden; it is read as excluded")
            continue
        overrides[key] = patch
        reading.overrides[key] = converted
        reading.own.append(instance)
    reading.event = event
    return reading


def text_read(text: str) -> ObjectReading:
    parsed = ical_parse(text if isinstance(text, str) else "")
    problems = list(parsed.problems)
    if parsed.more:
        problems.append(f"{len(parsed.more)} more top-level component(s) after the first are ignored")
    return object_read(parsed.root, problems)
