"""JSCalendar → iCalendar (the mapping of draft-ietf-calext-jscalendar-icalendar-30
in reverse), as a minimal change of the previous object when there is one.

Every property and sub-component the writers make belongs to a slot (see
context). Given the previous iCalendar text, it is read again (the same
deterministic reading that produced the cached event, so map ids match) and,
per component:
- a slot whose JSCalendar value did not change keeps its previous lines (and
  sub-components), byte for byte and where they were;
- a changed slot is regenerated in the place of its first previous line; a
  regenerated line equal in meaning to one it replaces keeps that line's bytes;
- a removed slot loses its lines, a new slot is appended.
Around the event, the object keeps what it had: VCALENDAR properties, the
VTIMEZONEs, other components (a VTODO, events of another UID, X- components);
an override whose occurrence did not change keeps its whole component.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
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
from jmapcore.calendars.jscalendar.context import Slot, WriteContext, Writer, as_map
from jmapcore.calendars.jscalendar.convert_read import (
    NOT_PATCHED,
    ComponentReading,
    ObjectReading,
    text_read,
    vtimezones_of,
)
from jmapcore.calendars.jscalendar.ical_model import IcalComponent, IcalProperty
from jmapcore.calendars.jscalendar.ical_syntax import ical_serialize
from jmapcore.calendars.jscalendar.vtimezone_write import vtimezone_component

PRODID = "-//jmap-proxy//JMAP Calendars//EN"
WRITERS: list[Writer] = [
    properties.write_properties, times.write_start, recurrence_map.write_rules, recurrence_map.write_dates,
    participants.write_participants, locations.write_locations, links.write_links, alerts.write_alerts,
    jsprop.write_jsprops, preservation.write_kept,
]
# What a slot's lines depend on besides its own property.
DEPENDS = {"start": ("start", "duration", "timeZone", "showWithoutTime"),
           "recurrenceRules": ("recurrenceRules", "timeZone", "showWithoutTime"),
           "excludedRecurrenceRules": ("excludedRecurrenceRules", "timeZone", "showWithoutTime"),
           "title": ("title", "locale")}


def _normal(value: Any) -> Any:
    """A value for comparison: @type members are optional (RFC 8984 §1.4.1 "@type")."""
    if isinstance(value, dict):
        return {key: _normal(item) for key, item in value.items() if key != "@type"}
    if isinstance(value, list):
        return [_normal(item) for item in value]
    return value


def slot_value(event: dict[str, Any], slot: Slot) -> Any:
    head = slot[0]
    if head == preservation.KEY:
        return slot          # the slot is the kept entry's content
    if head == "exdates":
        return [recurrence_map.exdate_keys(event), event.get("timeZone"), event.get("showWithoutTime")]
    if head == "rdates":
        return [recurrence_map.rdate_keys(event), event.get("timeZone"), event.get("showWithoutTime")]
    if head == "recurrenceId":
        return slot
    if head == "jsprop":
        return _normal(event.get(slot[1]))
    if head == "replyTo":
        # ORGANIZER: the reply address and what the owners' entries say of the organizer.
        people = as_map(event.get("participants"))
        owners = {pid: entry for pid, entry in people.items()
                  if isinstance(entry, dict) and isinstance(entry.get("roles"), dict) and entry["roles"].get("owner")}
        return _normal([event.get("replyTo"), owners])
    if head == "alerts" and len(slot) == 2:
        alert = as_map(event.get("alerts")).get(slot[1])
        # A display alarm's DESCRIPTION is the title (alerts.alarm_component) unless the alert
        # keeps its own: then a new title is a new DESCRIPTION too.
        return [_normal(alert), event.get("title") if alerts.title_described(alert) else None]
    if len(slot) == 2:
        value = event.get(head)
        return _normal(value.get(slot[1])) if isinstance(value, dict) else None
    return _normal([event.get(key) for key in DEPENDS.get(head, (head,))])


def generate(event: dict[str, Any], *, is_override: bool = False) -> WriteContext:
    ctx = WriteContext(event=event, is_override=is_override)
    for writer in WRITERS:
        writer(ctx, event)
    return ctx


# Parameters that say what their absence says (RFC 5545 §3.2: RELATED=START, VALUE of the
# property's default type, ROLE=REQ-PARTICIPANT, RSVP=FALSE, CUTYPE=INDIVIDUAL…): a line that
# has them means the same as one written without them.
DEFAULT_PARAMS = {("RELATED", ("START",)), ("VALUE", ("DURATION",)), ("VALUE", ("DATE-TIME",)),
                  ("VALUE", ("URI",)), ("ROLE", ("REQ-PARTICIPANT",)), ("RSVP", ("FALSE",)),
                  ("CUTYPE", ("INDIVIDUAL",))}


def _meaning(prop: IcalProperty) -> tuple[Any, ...]:
    params = sorted((param.name.upper(), tuple(value.upper() if param.name.upper() in ("RELATED", "VALUE", "ROLE",
                                                                                       "RSVP", "CUTYPE") else value
                                                     for value in param.values))
                    for param in prop.params)
    params = [param for param in params if param not in DEFAULT_PARAMS]
    return prop.name.upper(), prop.value, json.dumps(params)


def _component_meaning(component: IcalComponent) -> str:
    return ical_serialize(_fresh(component))


def _fresh(component: IcalComponent) -> IcalComponent:
    """A copy written from its fields (raw lines dropped), for comparing meanings."""
    return IcalComponent(name=component.name,
                         properties=[IcalProperty(name=p.name, value=p.value, params=p.params, raw=None)
                                     for p in component.properties],
                         components=[_fresh(c) for c in component.components])


def _keep_equal(old: IcalComponent, new: IcalComponent) -> IcalComponent:
    """`new`, with each line equal in meaning to a line of `old` written as `old` had it."""
    pool: dict[tuple[Any, ...], list[IcalProperty]] = {}
    for prop in old.properties:
        pool.setdefault(_meaning(prop), []).append(prop)
    props = []
    for prop in new.properties:
        same = pool.get(_meaning(prop))
        props.append(same.pop(0) if same else prop)
    return IcalComponent(name=new.name, properties=props, components=new.components)


def merge(previous: ComponentReading, previous_event: dict[str, Any], event: dict[str, Any],
          generated: WriteContext, *, keep_first: tuple[str, ...] = ()) -> IcalComponent:
    """The component for `event`, a minimal change of `previous` (see the module's docstring)."""
    ctx = previous.context
    new_by_slot: dict[Slot, list[IcalProperty]] = {}
    for slot, prop in generated.out:
        new_by_slot.setdefault(slot, []).append(prop)
    old_by_slot: dict[Slot, list[int]] = {}
    for index, slot in sorted(ctx.slot_of.items()):
        old_by_slot.setdefault(slot, []).append(index)
    out: list[IcalProperty] = []
    pending: dict[Slot, list[IcalProperty]] = {}
    for index, prop in enumerate(previous.component.properties):
        found = ctx.slot_of.get(index)
        if found is None or found[0] in keep_first or slot_value(previous_event, found) == slot_value(event, found):
            out.append(prop)
            continue
        slot = found
        # A changed slot: each old line is replaced in place by the new line of the same
        # name (kept as it was when equal in meaning); what is left comes after the slot's
        # last old line; an old line with no successor goes.
        waiting = pending.setdefault(slot, list(new_by_slot.get(slot, [])))
        successor = next((new for new in waiting if new.name == prop.name), None)
        if successor is not None:
            waiting.remove(successor)
            out.append(prop if _meaning(prop) == _meaning(successor) else successor)
        if index == old_by_slot[slot][-1]:
            out.extend(waiting)
            waiting.clear()
    for slot, props in new_by_slot.items():
        if slot not in old_by_slot and slot_value(previous_event, slot) != slot_value(event, slot):
            out.extend(props)
    # Sub-components: the same, one slot at a time.
    new_components: dict[Slot, list[IcalComponent]] = {}
    for slot, component in generated.components:
        new_components.setdefault(slot, []).append(component)
    old_components: dict[Slot, list[int]] = {}
    for index, slot in sorted(ctx.component_slot_of.items()):
        old_components.setdefault(slot, []).append(index)
    subs: list[IcalComponent] = []
    placed: set[Slot] = set()
    for index, component in enumerate(previous.component.components):
        found = ctx.component_slot_of.get(index)
        if found is None or slot_value(previous_event, found) == slot_value(event, found):
            subs.append(component)
            continue
        slot = found
        if slot in placed:
            continue
        placed.add(slot)
        olds = [previous.component.components[i] for i in old_components[slot]]
        for position, new in enumerate(new_components.get(slot, [])):
            subs.append(_keep_equal(olds[position], new) if position < len(olds) and olds[position].name == new.name
                        else new)
    for slot, components in new_components.items():
        if slot not in old_components and slot_value(previous_event, slot) != slot_value(event, slot):
            subs.extend(components)
    return IcalComponent(name=previous.component.name, properties=out, components=subs)


def fresh_component(generated: WriteContext, *, recurrence_id: IcalProperty | None = None) -> IcalComponent:
    props = [prop for _slot, prop in generated.out]
    if recurrence_id is not None:
        at = next((i for i, p in enumerate(props) if p.name == "DTSTART"), len(props))
        props.insert(at, recurrence_id)
    return IcalComponent(name="VEVENT", properties=props, components=[c for _slot, c in generated.components])


def patch_apply(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """`base` with a PatchObject applied (RFC 8984 §1.4.9: JSON pointers, null removes)."""
    result = json.loads(json.dumps(base))
    for path, value in patch.items():
        parts = [part.replace("~1", "/").replace("~0", "~") for part in path.split("/")]
        target = result
        for part in parts[:-1]:
            nxt = target.get(part)
            if not isinstance(nxt, dict):
                nxt = {}
                target[part] = nxt
            target = nxt
        if value is None:
            target.pop(parts[-1], None)
        else:
            target[parts[-1]] = json.loads(json.dumps(value))
    return result


def instance_event(master: dict[str, Any], key: str, patch: dict[str, Any]) -> dict[str, Any]:
    """The full event of one overridden occurrence."""
    base = {name: value for name, value in master.items() if name not in NOT_PATCHED or name in ("uid", "@type")}
    full = patch_apply(base, {path: value for path, value in patch.items() if path not in ("iCalRange", "excluded")})
    full.setdefault("start", key)
    if "start" not in patch:
        full["start"] = key
    return full


def recurrence_id_prop(master: dict[str, Any], key: str, ctx: WriteContext, patch: dict[str, Any]) -> IcalProperty:
    moment = times.local_parse(key)
    assert moment is not None
    is_date = times.all_day(master)
    params, utc = times.time_params(master, ctx, is_date=is_date)
    value = times.local_value(moment, is_date=is_date, utc=utc, zone=times.event_zone(master))
    if patch.get("iCalRange") == "thisandfuture":
        from jmapcore.calendars.jscalendar.ical_model import IcalParam

        params.append(IcalParam(name="RANGE", values=["THISANDFUTURE"]))
    return IcalProperty(name="RECURRENCE-ID", value=value, params=params)


def _written_overrides(event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The overrides that need a component: not excluded, not a bare added date."""
    overrides = event.get("recurrenceOverrides")
    if not isinstance(overrides, dict):
        return {}
    found = {}
    rdates: set[str] | None = None
    for key, patch in overrides.items():
        if not isinstance(patch, dict) or patch.get("excluded") or not patch:
            continue
        if set(patch) == {"duration"}:
            if rdates is None:
                rdates = {date for date, _duration in recurrence_map.rdate_keys(event)}
            if key in rdates:
                continue        # an added date: its RDATE PERIOD carries the duration
        found[key] = patch
    return found


def event_components(event: dict[str, Any], previous: ObjectReading | None,
                     tzids: set[str]) -> list[IcalComponent]:
    """The master and override components of `event`, minimal against `previous`."""
    master_ctx = generate(event)
    tzids |= master_ctx.tzids
    components: list[IcalComponent] = []
    previous_master = previous.master if previous is not None else None
    if previous_master is not None and previous is not None and previous.event is not None:
        components.append(merge(previous_master, previous.event, event, master_ctx))
    else:
        recurrence_id = None
        if isinstance(event.get("recurrenceId"), str):
            recurrence_id = recurrence_id_prop(event, event["recurrenceId"], master_ctx, {})
        components.append(fresh_component(master_ctx, recurrence_id=recurrence_id))
    previous_event = previous.event if previous is not None and previous.event is not None else {}
    previous_overrides = _written_overrides(previous_event)
    for key, patch in sorted(_written_overrides(event).items()):
        full = instance_event(event, key, patch)
        ctx = generate(full, is_override=True)
        tzids |= ctx.tzids
        old = previous.overrides.get(key) if previous is not None else None
        if old is not None and key in previous_overrides:
            old_full = instance_event(previous_event, key, previous_overrides[key])
            same_range = previous_overrides[key].get("iCalRange") == patch.get("iCalRange")
            if _normal(old_full) == _normal(full) and same_range:
                components.append(old.component)
                continue
            components.append(merge(old, old.event, full, ctx, keep_first=("recurrenceId",)))
            continue
        components.append(fresh_component(ctx, recurrence_id=recurrence_id_prop(event, key, ctx, patch)))
    return components


def _tzids_used(component: IcalComponent) -> set[str]:
    found = {value for prop in component.properties for value in prop.param("TZID")}
    for sub in component.components:
        if sub.name != "VTIMEZONE":
            found |= _tzids_used(sub)
    return found


def calendar_build(event: dict[str, Any], *, previous_text: str | None) -> IcalComponent:
    """The VCALENDAR for `event` (already validated), minimal against `previous_text`."""
    previous = text_read(previous_text) if previous_text else None
    if previous is not None and (previous.root is None or previous.event is None
                                 or previous.uid != event.get("uid")):
        previous = None     # not this event's object (a UID cannot change, RFC 4791 §4.1): written anew
    if times.utc_parse(event.get("updated")) is None and (previous is None or "updated" in (previous.event or {})):
        # Every VEVENT needs a DTSTAMP (RFC 5545 §3.6.1): one time for the master and its
        # overrides, or they would read back as overrides of "updated". (A previous object
        # whose DTSTAMP could not be read keeps that line as it was.)
        event = dict(event, updated=times.utc_format(datetime.now(UTC).replace(microsecond=0)))
    previous_root = previous.root if previous is not None else None
    tzids: set[str] = set()
    own = event_components(event, previous, tzids)
    if previous_root is not None:
        mine = {id(c) for c in (previous.own if previous is not None else [])}
        subs: list[IcalComponent] = []
        inserted = False
        for component in previous_root.components:
            if id(component) in mine:
                if not inserted:
                    subs.extend(own)
                    inserted = True
                continue
            subs.append(component)
        if not inserted:
            subs.extend(own)
        root = IcalComponent(name="VCALENDAR", properties=list(previous_root.properties), components=subs)
        if root.first("VERSION") is None:
            root.properties.insert(0, IcalProperty(name="VERSION", value="2.0"))
    else:
        root = IcalComponent(name="VCALENDAR", properties=[IcalProperty(name="VERSION", value="2.0"),
                                                           IcalProperty(name="PRODID", value=PRODID)],
                             components=list(own))
    # The TZIDs the written components use (an unchanged line keeps its own TZID).
    tzids = {value for component in own for value in _tzids_used(component)}
    have = set(vtimezones_of(root))
    if previous is not None:
        # A TZID the object already used without defining it stays as it was: adding a
        # VTIMEZONE for it would change more than the client changed.
        have |= {value for component in previous.own for prop in component.properties
                 for value in prop.param("TZID")}
    missing = sorted(tz for tz in tzids if tz not in have)
    first_event = next((i for i, c in enumerate(root.components) if c.name in ("VEVENT", "VTODO", "VJOURNAL")), 0)
    start = times.local_parse(event.get("start")) or datetime(2000, 1, 1)
    for tzid in reversed(missing):
        made = vtimezone_component(tzid, start=start)
        if made is not None:
            root.components.insert(first_event, made)
    return root


def event_serialize(event: dict[str, Any], *, previous_text: str | None) -> str:
    return ical_serialize(calendar_build(event, previous_text=previous_text))
