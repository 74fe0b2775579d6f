"""Organizations and titles: ORG (name and units, SORT-AS), TITLE, ROLE.

RFC 9555's rules for ORG (→ organizations) and TITLE, ROLE (→ titles with kind
"title" / "role"); RFC 6350 §6.6.1, §6.6.2, §6.6.4; RFC 9553's Organization and
Title objects.
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


def read_org(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    reading = params_read(prop, handled={"SORT-AS"}, pref=False)
    # ORG's components may not hold lists (RFC 6350 §6.6.4); a comma is text.
    parts = [",".join(values) for values in value_components(prop.value)]
    entry: dict[str, Any] = {}
    if parts and parts[0]:
        entry["name"] = parts[0]
    units = [{"name": unit} for unit in parts[1:]]
    if units:
        entry["units"] = units
    if prop.param("SORT-AS"):
        entry["sortAs"] = ",".join(prop.param("SORT-AS"))
    if reading.contexts:
        entry["contexts"] = dict(reading.contexts)
    if reading.vcard_params:
        entry["vCardParams"] = reading.vcard_params
    ctx.entry_add("organizations", "o", index, entry, reading.prop_id)
    return True


def read_title(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    reading = params_read(prop, contexts=False, pref=False)
    entry: dict[str, Any] = {"name": value_unescape(prop.value), "kind": "title" if prop.name == "TITLE" else "role"}
    if reading.vcard_params:
        entry["vCardParams"] = reading.vcard_params
    ctx.entry_add("titles", "t", index, entry, reading.prop_id)
    return True


READERS = {"ORG": read_org, "TITLE": read_title, "ROLE": read_title}


def write_organizations(ctx: WriteContext, card: dict[str, Any]) -> None:
    for position, (entry_id, entry) in enumerate((card.get("organizations") or {}).items(), start=1):
        if not isinstance(entry, dict):
            continue
        group, params = params_write(entry, version=ctx.version, entry_id=entry_id, auto_id=f"o{position}")
        parts = [[str(entry.get("name", ""))]]
        parts += [[str(unit.get("name", ""))] for unit in entry.get("units") or [] if isinstance(unit, dict)]
        value = value_components_join(parts)
        if entry.get("sortAs"):
            params.insert(0, VCardParam(name="SORT-AS", values=[str(entry["sortAs"])]))
        ctx.emit_labelled(("organizations", entry_id), "ORG", value, params, group, entry.get("label"))


def write_titles(ctx: WriteContext, card: dict[str, Any]) -> None:
    for position, (entry_id, entry) in enumerate((card.get("titles") or {}).items(), start=1):
        if not isinstance(entry, dict):
            continue
        group, params = params_write(entry, version=ctx.version, entry_id=entry_id, auto_id=f"t{position}")
        name = "ROLE" if entry.get("kind") == "role" else "TITLE"
        ctx.emit_labelled(("titles", entry_id), name, value_escape(str(entry.get("name", ""))), params, group,
                          entry.get("label"))
