"""Places: ADR (with LABEL, GEO, TZ, CC parameters), GEO and TZ.

RFC 9555's rules for ADR (→ addresses), GEO (→ coordinates) and TZ (→ timeZone);
RFC 6350 §6.3.1, §6.5.1, §6.5.2; RFC 9554 for ADR's extra components and CC;
the Address object of RFC 9553.
A GEO or TZ property on its own becomes an Address with only coordinates or
only a time zone, and is written back as the same property.
"""
from __future__ import annotations

from typing import Any

from jmapcore.contacts.jscontact.property_params import params_read, params_write
from jmapcore.contacts.jscontact.read_context import ReadContext
from jmapcore.contacts.jscontact.vcard_model import VCardParam, VCardProperty
from jmapcore.contacts.jscontact.vcard_syntax import (
    value_components,
    value_components_join,
    value_escape,
    value_unescape,
)
from jmapcore.contacts.jscontact.write_context import WriteContext

# ADR positions (RFC 6350 §6.3.1, then RFC 9554's additions).
ADR_KINDS = ["postOfficeBox", "apartment", "name", "locality", "region", "postcode", "country",
             "room", "apartment", "floor", "number", "name", "building", "block", "subdistrict", "district",
             "landmark", "direction"]
BASE_POSITION = {"postOfficeBox": 0, "apartment": 1, "name": 2, "locality": 3, "region": 4, "postcode": 5,
                 "country": 6}
EXTENDED_POSITION = {"room": 7, "apartment": 8, "floor": 9, "number": 10, "name": 11, "building": 12, "block": 13,
                     "subdistrict": 14, "district": 15, "landmark": 16, "direction": 17}
# What goes into the street address (2) and extended address (1) for readers without RFC 9554.
STREET_KINDS = ("number", "name", "building", "block", "direction", "landmark", "subdistrict", "district")
EXTENDED_KINDS = ("room", "floor", "apartment")


def read_adr(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    reading = params_read(prop, handled={"LABEL", "GEO", "TZ", "CC"})
    parts = value_components(prop.value)
    if len(parts) > len(ADR_KINDS):
        ctx.problem(f"ADR has {len(parts)} components, at most {len(ADR_KINDS)} are defined; kept aside")
        return False
    # With RFC 9554's components present, the extended and street address (1, 2) are only
    # their summary for older readers: the detailed ones are read instead.
    detailed = any(value for values in parts[7:] for value in values)
    components = [{"kind": ADR_KINDS[position], "value": value}
                  for position, values in enumerate(parts) for value in values
                  if value and not (detailed and position in (1, 2))]
    entry: dict[str, Any] = {}
    if components:
        entry["components"] = components
    label = prop.param("LABEL")
    if label:
        entry["full"] = label[0]
    if prop.param("GEO"):
        entry["coordinates"] = prop.param("GEO")[0]
    if prop.param("TZ"):
        entry["timeZone"] = prop.param("TZ")[0]
    if prop.param("CC"):
        entry["countryCode"] = prop.param("CC")[0]
    if reading.contexts:
        entry["contexts"] = dict(reading.contexts)
    if reading.pref is not None:
        entry["pref"] = reading.pref
    if reading.vcard_params:
        entry["vCardParams"] = reading.vcard_params
    ctx.entry_add("addresses", "a", index, entry, reading.prop_id)
    return True


def geo_uri(value: str) -> str | None:
    """A 3.0 GEO ("37.38;-122.08") or 4.0 GEO ("geo:37.38,-122.08") as a geo: URI (RFC 5870)."""
    text = value.strip()
    if text.lower().startswith("geo:"):
        return "geo:" + text[4:]
    pieces = text.replace("\\;", ";").split(";")
    if len(pieces) == 2:
        try:
            float(pieces[0])
            float(pieces[1])
        except ValueError:
            return None
        return f"geo:{pieces[0].strip()},{pieces[1].strip()}"
    return None


def read_geo(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    uri = geo_uri(prop.value)
    if uri is None:
        ctx.problem(f"GEO value {prop.value[:60]!r} is not a position; kept aside")
        return False
    reading = params_read(prop)
    entry: dict[str, Any] = {"coordinates": uri}
    if reading.vcard_params:
        entry["vCardParams"] = reading.vcard_params
    ctx.entry_add("addresses", "a", index, entry, reading.prop_id)
    return True


def read_tz(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    reading = params_read(prop)
    entry: dict[str, Any] = {"timeZone": value_unescape(prop.value).strip()}
    if reading.vcard_params:
        entry["vCardParams"] = reading.vcard_params
    ctx.entry_add("addresses", "a", index, entry, reading.prop_id)
    return True


READERS = {"ADR": read_adr, "GEO": read_geo, "TZ": read_tz}


def _adr_value(components: list[dict[str, Any]], version: str) -> str:
    """ADR's value. Components beyond RFC 6350's seven go, in 4.0, to RFC 9554's positions,
    with the street and extended address as their summary; in 3.0 into that summary only."""
    kinds = {component.get("kind") for component in components}
    detailed = any(kind in EXTENDED_POSITION and kind not in BASE_POSITION for kind in kinds)
    positions: list[list[str]] = [[] for _ in range(len(ADR_KINDS))]
    for component in components:
        kind, value = component.get("kind"), str(component.get("value", ""))
        if detailed and kind in EXTENDED_POSITION:
            if version == "4.0":
                positions[EXTENDED_POSITION[kind]].append(value)
        elif kind in BASE_POSITION:
            positions[BASE_POSITION[kind]].append(value)
    if detailed:
        for target, summary in ((2, STREET_KINDS), (1, EXTENDED_KINDS)):
            pieces = [str(c.get("value", "")) for c in components if c.get("kind") in summary]
            if pieces:
                positions[target] = [" ".join(pieces)]
    used = len(ADR_KINDS) if any(positions[7:]) else 7
    return value_components_join(positions[:used])


def write_addresses(ctx: WriteContext, card: dict[str, Any]) -> None:
    for position, (entry_id, entry) in enumerate((card.get("addresses") or {}).items(), start=1):
        if not isinstance(entry, dict):
            continue
        slot = ("addresses", entry_id)
        group, params = params_write(entry, version=ctx.version, entry_id=entry_id, auto_id=f"a{position}")
        components = [c for c in entry.get("components") or [] if isinstance(c, dict)]
        coordinates, zone = entry.get("coordinates"), entry.get("timeZone")
        if not components and not entry.get("full") and (coordinates or zone):
            # A position or a time zone alone: GEO / TZ as it was read.
            if coordinates:
                value = str(coordinates)
                if ctx.version != "4.0" and value.lower().startswith("geo:"):
                    value = value[4:].split(";")[0].replace(",", ";", 1)
                ctx.emit_labelled(slot, "GEO", value, params, group, entry.get("label"))
            if zone and not coordinates:
                ctx.emit_labelled(slot, "TZ", value_escape(str(zone)), params, group, entry.get("label"))
            elif zone:
                ctx.emit(slot, "TZ", value_escape(str(zone)), [], group)
            continue
        extra: list[VCardParam] = []
        if entry.get("full"):
            extra.append(VCardParam(name="LABEL", values=[str(entry["full"])]))
        if coordinates:
            extra.append(VCardParam(name="GEO", values=[str(coordinates)]))
        if zone:
            extra.append(VCardParam(name="TZ", values=[str(zone)]))
        if entry.get("countryCode"):
            extra.append(VCardParam(name="CC", values=[str(entry["countryCode"])]))
        ctx.emit_labelled(slot, "ADR", _adr_value(components, ctx.version), params + extra, group,
                          entry.get("label"))
