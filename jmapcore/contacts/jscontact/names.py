"""Names: FN, N (with SORT-AS and RFC 9554 PHONETIC), Apple/Google X-PHONETIC-*, NICKNAME.

RFC 9555's rules for FN (→ name.full), N (→ name.components) and NICKNAME
(→ nicknames); RFC 6350 §6.2.1-§6.2.3; RFC 9553's Name and Nickname objects.
"""
from __future__ import annotations

from typing import Any

from jmapcore.contacts.jscontact.property_params import params_from_kept, params_keep, params_read, params_write
from jmapcore.contacts.jscontact.read_context import ReadContext
from jmapcore.contacts.jscontact.vcard_model import VCardParam, VCardProperty
from jmapcore.contacts.jscontact.vcard_syntax import (
    value_components,
    value_components_join,
    value_escape,
    value_split,
    value_unescape,
)
from jmapcore.contacts.jscontact.write_context import WriteContext

# N's positions (RFC 6350 §6.2.2, RFC 9554 adds surname2 and generation).
N_KINDS = ["surname", "given", "given2", "title", "credential", "surname2", "generation"]
# The order name components are listed in a JSContact Name read from N.
READ_ORDER = ["title", "given", "given2", "surname", "surname2", "generation", "credential"]
PHONETIC_PROPS = {"X-PHONETIC-FIRST-NAME": "given", "X-PHONETIC-MIDDLE-NAME": "given2",
                  "X-PHONETIC-LAST-NAME": "surname"}
# The name is three slots (see convert_write.slot_value), so that a new full name rewrites FN only.
FULL_SLOT = ("name", "full")
N_SLOT = ("name", "n")
PHONETIC_SLOT = ("name", "phonetic")


def _name(ctx: ReadContext) -> dict[str, Any]:
    return ctx.card.setdefault("name", {})


def read_fn(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    name = _name(ctx)
    if "full" in name:
        return False
    name["full"] = value_unescape(prop.value)
    ctx.claim(FULL_SLOT, index)
    return True


def read_n(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    name = _name(ctx)
    if prop.param("PHONETIC"):
        return _read_phonetic_n(ctx, index, prop)
    if "N" in ctx.seen:
        return False
    parts = value_components(prop.value)
    by_kind: dict[str, list[str]] = {}
    for position, values in enumerate(parts[: len(N_KINDS)]):
        by_kind[N_KINDS[position]] = [value for value in values if value]
    components = [{"kind": kind, "value": value} for kind in READ_ORDER for value in by_kind.get(kind, [])]
    if len(parts) > len(N_KINDS):
        ctx.problem(f"N has {len(parts)} components, only {len(N_KINDS)} are defined; the rest is kept aside")
        return False
    ctx.seen.add("N")
    if components:
        name["components"] = components
    # SORT-AS="Public,John" is one quoted value that still lists two components (RFC 6350 §5.9).
    sort_as = [piece for value in prop.param("SORT-AS") for piece in value.split(",")]
    if sort_as:
        # SORT-AS="surname,given" (RFC 6350 §5.9): one value per N position.
        name["sortAs"] = {N_KINDS[i]: value for i, value in enumerate(sort_as[: len(N_KINDS)]) if value}
    reading = params_read(prop, handled={"SORT-AS"})
    if reading.vcard_params:
        name["vCardParams"] = reading.vcard_params
    ctx.claim(N_SLOT, index)
    return True


def _read_phonetic_n(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    """N;PHONETIC=…;ALTID=… (RFC 9554): phonetics of the name components."""
    name = _name(ctx)
    if "phoneticSystem" in name or not name.get("components"):
        return False
    parts = value_components(prop.value)
    seen: dict[str, int] = {}
    for position, values in enumerate(parts[: len(N_KINDS)]):
        kind = N_KINDS[position]
        for value in values:
            nth = seen.get(kind, 0)
            seen[kind] = nth + 1
            matches = [c for c in name["components"] if c["kind"] == kind]
            if value and nth < len(matches):
                matches[nth]["phonetic"] = value
    name["phoneticSystem"] = prop.param("PHONETIC")[0].lower()
    if prop.param("SCRIPT"):
        name["phoneticScript"] = prop.param("SCRIPT")[0]
    ctx.claim(PHONETIC_SLOT, index)
    return True


def read_x_phonetic(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    """Apple's and Google's X-PHONETIC-FIRST-NAME etc.: the phonetic of that component."""
    kind = PHONETIC_PROPS[prop.name]
    components = _name(ctx).get("components") or []
    for component in components:
        if component["kind"] == kind and "phonetic" not in component and not prop.params and not prop.group:
            component["phonetic"] = value_unescape(prop.value)
            ctx.claim(PHONETIC_SLOT, index)
            return True
    return False


def read_nickname(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    reading = params_read(prop)
    for raw in value_split(prop.value, ","):
        text = value_unescape(raw).strip()
        if not text:
            continue
        entry: dict[str, Any] = {"name": text}
        if reading.contexts:
            entry["contexts"] = dict(reading.contexts)
        if reading.pref is not None:
            entry["pref"] = reading.pref
        if reading.vcard_params:
            entry["vCardParams"] = dict(reading.vcard_params)
        ctx.entry_add("nicknames", "k", index, entry, reading.prop_id)
    ctx.claim(("nicknames",), index)
    return True


def _fix_nickname_slots(ctx: ReadContext) -> None:
    """Nicknames are one slot: one NICKNAME line may hold several."""
    for index, slot in list(ctx.slot_of.items()):
        if slot and slot[0] == "nicknames":
            ctx.slot_of[index] = ("nicknames",)


def read_finish(ctx: ReadContext) -> None:
    _fix_nickname_slots(ctx)
    name = ctx.card.get("name")
    if name == {}:
        del ctx.card["name"]


READERS = {"FN": read_fn, "N": read_n, "NICKNAME": read_nickname,
           **dict.fromkeys(PHONETIC_PROPS, read_x_phonetic)}


def _full_from_components(components: list[dict[str, Any]]) -> str:
    return " ".join(c.get("value", "") for c in components if c.get("value") and c.get("kind") != "separator")


def write_name(ctx: WriteContext, card: dict[str, Any]) -> None:
    name = card.get("name") or {}
    components = [c for c in name.get("components") or [] if isinstance(c, dict)]
    full = name.get("full")
    if not isinstance(full, str):
        full = _full_from_components(components)
        if not full:
            # FN is required (RFC 6350 §6.2.1): fall back to what else identifies the card.
            org = next(iter((card.get("organizations") or {}).values()), None)
            email = next(iter((card.get("emails") or {}).values()), None)
            full = (org or {}).get("name") or (email or {}).get("address") or ""
    ctx.emit(FULL_SLOT, "FN", value_escape(full))
    if not components and ctx.version == "4.0" and not name.get("sortAs") and not name.get("vCardParams"):
        return
    positions: list[list[str]] = [[] for _ in N_KINDS]
    phonetics: list[list[str]] = [[] for _ in N_KINDS]
    for component in components:
        kind = component.get("kind")
        if kind in N_KINDS:
            positions[N_KINDS.index(kind)].append(str(component.get("value", "")))
            phonetics[N_KINDS.index(kind)].append(str(component.get("phonetic", "")))
    used = 5 if not (positions[5] or positions[6]) else 7
    group, params = params_from_kept(name.get("vCardParams"))
    sort_as = name.get("sortAs") or {}
    if sort_as:
        values = [str(sort_as.get(kind, "")) for kind in N_KINDS]
        while values and not values[-1]:
            values.pop()
        params.insert(0, VCardParam(name="SORT-AS", values=values))
    system = name.get("phoneticSystem")
    has_phonetic = any(any(p) for p in phonetics)
    if system and has_phonetic and not any(p.name == "ALTID" for p in params):
        params.append(VCardParam(name="ALTID", values=["1"]))
    ctx.emit(N_SLOT, "N", value_components_join(positions[:used]), params, group)
    if has_phonetic and system:
        altid = next(p.values for p in params if p.name == "ALTID")
        phonetic_params = [VCardParam(name="ALTID", values=altid), VCardParam(name="PHONETIC", values=[system])]
        if name.get("phoneticScript"):
            phonetic_params.append(VCardParam(name="SCRIPT", values=[name["phoneticScript"]]))
        ctx.emit(PHONETIC_SLOT, "N", value_components_join(phonetics[:used]), phonetic_params, group)
    elif has_phonetic:
        for prop_name, kind in PHONETIC_PROPS.items():
            values = [p for p in phonetics[N_KINDS.index(kind)] if p]
            if values:
                ctx.emit(PHONETIC_SLOT, prop_name, value_escape(values[0]))


def write_nicknames(ctx: WriteContext, card: dict[str, Any]) -> None:
    for position, (entry_id, entry) in enumerate((card.get("nicknames") or {}).items(), start=1):
        group, params = params_write(entry, version=ctx.version, entry_id=entry_id, auto_id=f"k{position}")
        ctx.emit_labelled(("nicknames",), "NICKNAME", value_escape(str(entry.get("name", ""))), params, group,
                          entry.get("label"))


__all__ = ["READERS", "params_keep", "read_finish", "write_name", "write_nicknames"]
