"""Where more about the card lives: SOURCE and ORG-DIRECTORY (→ directories),
CALURI and FBURL (→ calendars), CALADRURI (→ schedulingAddresses).

RFC 9555's rules for each; RFC 6350 §6.1.3, §6.9.1-§6.9.3; RFC 9553's Directory,
Calendar and SchedulingAddress objects.
"""
from __future__ import annotations

from typing import Any

from jmapcore.contacts.jscontact.property_params import params_read, params_write, uri_escape, uri_unescape
from jmapcore.contacts.jscontact.read_context import ReadContext
from jmapcore.contacts.jscontact.vcard_model import VCardParam, VCardProperty
from jmapcore.contacts.jscontact.write_context import WriteContext

# vCard property → (JSContact map, id prefix, entry kind or None, URI member name).
TARGETS: dict[str, tuple[str, str, str | None, str]] = {
    "SOURCE": ("directories", "dir", "entry", "uri"),
    "ORG-DIRECTORY": ("directories", "dir", "directory", "uri"),
    "CALURI": ("calendars", "cal", "calendar", "uri"),
    "FBURL": ("calendars", "cal", "freeBusy", "uri"),
    "CALADRURI": ("schedulingAddresses", "sch", None, "uri"),
}


def read_resource(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    key, prefix, kind, member = TARGETS[prop.name]
    listed = (prop.param("INDEX") or [""])[0]
    index_ok = key == "directories" and listed.isascii() and listed.isdigit() and int(listed) >= 1
    reading = params_read(prop, handled={"MEDIATYPE"} | ({"INDEX"} if index_ok else set()))
    entry: dict[str, Any] = {member: uri_unescape(prop.value)}
    if kind is not None:
        entry["kind"] = kind
    if prop.param("MEDIATYPE"):
        entry["mediaType"] = prop.param("MEDIATYPE")[0]
    if index_ok:
        entry["listAs"] = int(listed)
    if reading.contexts:
        entry["contexts"] = dict(reading.contexts)
    if reading.pref is not None:
        entry["pref"] = reading.pref
    if reading.vcard_params:
        entry["vCardParams"] = reading.vcard_params
    ctx.entry_add(key, prefix, index, entry, reading.prop_id)
    return True


READERS = dict.fromkeys(TARGETS, read_resource)


def _property_name(key: str, entry: dict[str, Any]) -> str:
    for name, (target, _prefix, kind, _member) in TARGETS.items():
        if target == key and (kind is None or entry.get("kind", kind) == kind):
            return name
    return {"directories": "SOURCE", "calendars": "CALURI"}.get(key, "CALADRURI")


def write_resources(ctx: WriteContext, card: dict[str, Any]) -> None:
    for key, prefix in (("directories", "dir"), ("calendars", "cal"), ("schedulingAddresses", "sch")):
        for position, (entry_id, entry) in enumerate((card.get(key) or {}).items(), start=1):
            if not isinstance(entry, dict):
                continue
            group, params = params_write(entry, version=ctx.version, entry_id=entry_id,
                                         auto_id=f"{prefix}{position}")
            if entry.get("mediaType"):
                params.append(VCardParam(name="MEDIATYPE", values=[str(entry["mediaType"])]))
            if isinstance(entry.get("listAs"), int):
                params.append(VCardParam(name="INDEX", values=[str(entry["listAs"])]))
            value = uri_escape(str(entry.get("uri", "")))
            ctx.emit_labelled((key, entry_id), _property_name(key, entry), value, params, group, entry.get("label"))
