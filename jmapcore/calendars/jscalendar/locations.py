"""LOCATION, GEO, X-APPLE-STRUCTURED-LOCATION, VLOCATION ↔ locations and
CONFERENCE ↔ virtualLocations (RFC 8984 §4.2.5-4.2.6; RFC 5545 §3.8.1.6-7;
RFC 7986 §5.11 CONFERENCE; RFC 9073 §7.2 VLOCATION;
draft-ietf-calext-jscalendar-icalendar-30 "locations", "virtualLocations").

The event's LOCATION and its GEO (or Apple's structured location, which
carries the coordinates and the map's extra parameters) are one Location. Any
further location is written as a VLOCATION (iCalendar allows one LOCATION).
"""
from __future__ import annotations

import re
from typing import Any

from jmapcore.calendars.jscalendar.context import ReadContext, WriteContext, as_map, id_valid
from jmapcore.calendars.jscalendar.ical_model import IcalComponent, IcalParam, IcalProperty
from jmapcore.calendars.jscalendar.ical_syntax import text_escape, text_unescape
from jmapcore.calendars.jscalendar.preservation import component_from, component_object

PARAMS_KEY = "iCalParams"
APPLE = "X-APPLE-STRUCTURED-LOCATION"
_GEO_URI = re.compile(r"geo:(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)(?:[,;].*)?", re.IGNORECASE)
_GEO_VALUE = re.compile(r"(-?\d+(?:\.\d+)?)\s*[;,]\s*(-?\d+(?:\.\d+)?)")
FEATURES = ("audio", "chat", "feed", "moderator", "phone", "screen", "video")


def _params_dict(prop: IcalProperty, skip: set[str]) -> dict[str, Any]:
    return {param.name.lower(): param.values[0] if len(param.values) == 1 else list(param.values)
            for param in prop.params if param.name not in skip}


def _main(ctx: ReadContext) -> dict[str, Any]:
    locations = ctx.event.setdefault("locations", {})
    main_id = ctx.pending.get("main_location")
    if main_id is None:
        main_id = ctx.next_id("locations", "l")
        locations[main_id] = {"@type": "Location"}
        ctx.pending["main_location"] = main_id
    return as_map(locations[main_id])


def read_location(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
    main = _main(ctx)
    if "name" in main:
        return False
    main["name"] = text_unescape(prop.value)
    if prop.params:
        main.setdefault(PARAMS_KEY, {})["location"] = _params_dict(prop, set())
    ctx.claim(("locations",), index)
    return True


def read_geo(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
    match = _GEO_VALUE.fullmatch(prop.value.strip())
    if match is None or prop.params:
        ctx.problem(f"GEO {prop.value[:40]!r} is not latitude;longitude; kept as it is")
        return False
    main = _main(ctx)
    if "coordinates" in main:
        return False
    main["coordinates"] = f"geo:{match.group(1)},{match.group(2)}"
    ctx.claim(("locations",), index)
    return True


def read_apple(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
    """Apple's structured location: its geo: URI is the main location's coordinates
    (unless GEO gave them), its parameters are kept to write it back."""
    if _GEO_URI.fullmatch(prop.value.strip()) is None:
        return False
    main = _main(ctx)
    kept = main.setdefault(PARAMS_KEY, {})
    if "apple" in kept:
        return False
    kept["apple"] = _params_dict(prop, set())
    kept["apple-uri"] = prop.value.strip()
    if "coordinates" not in main:
        main["coordinates"] = prop.value.strip()
    ctx.claim(("locations",), index)
    return True


def read_conference(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
    if (prop.param_first("VALUE") or "URI").upper() != "URI" or not prop.value.strip():
        return False
    entry: dict[str, Any] = {"@type": "VirtualLocation", "uri": prop.value.strip()}
    if prop.param_first("LABEL"):
        entry["name"] = prop.param_first("LABEL")
    features = {value.lower(): True for value in prop.param("FEATURE") if value.lower() in FEATURES}
    if features:
        entry["features"] = features
    others = _params_dict(prop, {"VALUE", "LABEL", "FEATURE"})
    if others or any(value.lower() not in FEATURES for value in prop.param("FEATURE")):
        entry[PARAMS_KEY] = _params_dict(prop, {"VALUE", "LABEL"})
    virtual_id = ctx.next_id("virtualLocations", "v")
    ctx.event.setdefault("virtualLocations", {})[virtual_id] = entry
    ctx.claim(("virtualLocations",), index)
    return True


READERS = {"LOCATION": read_location, "GEO": read_geo, APPLE: read_apple, "CONFERENCE": read_conference}


def read_vlocation(ctx: ReadContext, index: int, component: IcalComponent) -> bool:
    """A VLOCATION (RFC 9073 §7.2): NAME and GEO read, the rest kept in the location's iCalComponent."""
    entry: dict[str, Any] = {"@type": "Location"}
    rest = IcalComponent(name="VLOCATION", components=list(component.components))
    uid = ""
    for prop in component.properties:
        if prop.name == "NAME" and "name" not in entry and not prop.params:
            entry["name"] = text_unescape(prop.value)
        elif prop.name == "GEO" and "coordinates" not in entry and _GEO_VALUE.fullmatch(prop.value.strip()):
            match = _GEO_VALUE.fullmatch(prop.value.strip())
            assert match is not None
            entry["coordinates"] = f"geo:{match.group(1)},{match.group(2)}"
        else:
            if prop.name == "UID":
                uid = prop.value.strip()
            rest.properties.append(prop)
    if rest.properties or rest.components:
        entry["iCalComponent"] = component_object(rest)
    location_id = ctx.next_id("locations", "l", uid if id_valid(uid) else None)
    ctx.event.setdefault("locations", {})[location_id] = entry
    ctx.component_slot_of[index] = ("locations",)
    return True


def read_finish(ctx: ReadContext) -> None:
    main_id = ctx.pending.pop("main_location", None)
    if main_id is not None and ctx.event["locations"].get(main_id) == {"@type": "Location"}:
        del ctx.event["locations"][main_id]
    if "locations" in ctx.event and not ctx.event["locations"]:
        del ctx.event["locations"]


# --- writing ----------------------------------------------------------------------------------------------

def _params_list(values: Any) -> list[IcalParam]:
    if not isinstance(values, dict):
        return []
    return [IcalParam(name=key.upper(), values=[str(v) for v in value] if isinstance(value, list) else [str(value)])
            for key, value in values.items()]


def _geo_value(coordinates: Any) -> str | None:
    match = _GEO_URI.fullmatch(coordinates) if isinstance(coordinates, str) else None
    return f"{match.group(1)};{match.group(2)}" if match else None


def write_locations(ctx: WriteContext, event: dict[str, Any]) -> None:
    locations = event.get("locations")
    if isinstance(locations, dict):
        entries = [(key, value) for key, value in locations.items() if isinstance(value, dict)]
        main_done = False
        for location_id, entry in entries:
            kept = as_map(entry.get(PARAMS_KEY))
            if not main_done and "iCalComponent" not in entry:
                main_done = True
                if isinstance(entry.get("name"), str):
                    ctx.emit(("locations",), "LOCATION", text_escape(entry["name"]), _params_list(kept.get("location")))
                apple = kept.get("apple")
                coordinates = entry.get("coordinates")
                if isinstance(apple, dict) and isinstance(coordinates, str):
                    # Apple's line carries its own coordinates; a changed place loses the stale extras.
                    same = coordinates == kept.get("apple-uri")
                    params = _params_list(apple) if same else [IcalParam(name="VALUE", values=["URI"])]
                    ctx.emit(("locations",), APPLE, coordinates, params)
                elif _geo_value(coordinates):
                    ctx.emit(("locations",), "GEO", _geo_value(coordinates))  # type: ignore[arg-type]
                continue
            props = []
            if isinstance(entry.get("name"), str):
                props.append(IcalProperty(name="NAME", value=text_escape(entry["name"])))
            if _geo_value(entry.get("coordinates")):
                props.append(IcalProperty(name="GEO", value=_geo_value(entry["coordinates"])))  # type: ignore[arg-type]
            rest = component_from(entry.get("iCalComponent")) if isinstance(entry.get("iCalComponent"), dict) else None
            if rest is None or rest.first("UID") is None:
                props.insert(0, IcalProperty(name="UID", value=location_id))
            component = IcalComponent(name="VLOCATION", properties=props + (rest.properties if rest else []),
                                      components=rest.components if rest else [])
            ctx.emit_component(("locations",), component)
    virtual = event.get("virtualLocations")
    if isinstance(virtual, dict):
        for entry in virtual.values():
            if not (isinstance(entry, dict) and isinstance(entry.get("uri"), str)):
                continue
            kept = as_map(entry.get(PARAMS_KEY))
            params = [IcalParam(name="VALUE", values=["URI"])]
            features = [name.upper() for name, on in (entry.get("features") or {}).items() if on] \
                if isinstance(entry.get("features"), dict) else []
            if "feature" in kept:
                params += _params_list({"feature": kept["feature"]})
            elif features:
                params.append(IcalParam(name="FEATURE", values=features))
            if isinstance(entry.get("name"), str):
                params.append(IcalParam(name="LABEL", values=[entry["name"]]))
            params += _params_list({k: v for k, v in kept.items() if k != "feature"})
            ctx.emit(("virtualLocations",), "CONFERENCE", entry["uri"], params)
