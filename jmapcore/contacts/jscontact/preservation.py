"""What has no counterpart on the other side is kept.

- vCard → JSContact: vCardProps (RFC 9555 §3.3). Each kept property is one
  jCard-like array (RFC 7095 §3.3): [name (lower-case), {params, "group":
  group}, "unknown", value], where the value is the property's value exactly as
  it was on the wire (still escaped), so it is written back unchanged.
- JSContact → vCard: JSPROP (RFC 9555 §3.2). A top-level JSContact property
  this converter does not write (a vendor's "example.com:foo", localizations,
  …) becomes JSPROP;JSPTR="name":<its JSON>, and a JSPROP naming a top-level
  property is read back into the card. A JSPROP deeper in the card (JSPTR with
  a '/') is kept in vCardProps.
"""
from __future__ import annotations

import json
from typing import Any

from jmapcore.contacts.jscontact.property_params import params_keep
from jmapcore.contacts.jscontact.read_context import ReadContext
from jmapcore.contacts.jscontact.vcard_model import VCardParam, VCardProperty
from jmapcore.contacts.jscontact.vcard_syntax import value_escape, value_unescape
from jmapcore.contacts.jscontact.write_context import WriteContext

# Every top-level property some reader makes (and the card's own): the rest is written as JSPROP.
CONVERTED = {
    "@type", "version", "id", "addressBookIds", "uid", "kind", "name", "nicknames", "organizations", "titles",
    "emails", "phones", "onlineServices", "addresses", "anniversaries", "media", "cryptoKeys", "links",
    "directories", "calendars", "schedulingAddresses", "relatedTo", "members", "notes", "keywords",
    "preferredLanguages", "speakToAs", "personalInfo", "language", "prodId", "created", "updated", "vCardProps",
}


def read_jsprop(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    """JSPROP;JSPTR="name":<JSON> (RFC 9555 §3.2.1) for a top-level property."""
    pointer = prop.param("JSPTR")
    if len(pointer) != 1 or len(prop.params) != 1 or prop.group:
        return False
    name = pointer[0].replace("~1", "/").replace("~0", "~")
    if "/" in pointer[0] or not name or name in CONVERTED or name in ctx.card:
        return False
    try:
        value = json.loads(value_unescape(prop.value))
    except ValueError:
        ctx.problem(f"JSPROP {name!r} does not hold JSON; kept as it is")
        return False
    ctx.card[name] = value
    ctx.claim((name,), index)
    return True


READERS = {"JSPROP": read_jsprop}


def write_jsprops(ctx: WriteContext, card: dict[str, Any]) -> None:
    for name, value in card.items():
        if name not in CONVERTED and value is not None:
            pointer = name.replace("~", "~0").replace("/", "~1")
            text = json.dumps(value, ensure_ascii=False, sort_keys=True)
            ctx.emit((name,), "JSPROP", value_escape(text), [VCardParam(name="JSPTR", values=[pointer])])

# vCardProps names are lower-case (RFC 7095 §3.3); names are case-insensitive (RFC 6350 §3.3),
# but Apple's own are written the way Apple writes them, for the humans who read the files.
APPLE_CASE = {name.upper(): name for name in ("X-ABLabel", "X-ABShowAs", "X-ABUID", "X-ABPerson")}


def vcard_props_slot(entry: Any, seen: dict[str, int]) -> tuple[str, ...]:
    """The slot of one vCardProps entry: its content, and how many identical
    entries came before it (a removed duplicate must not shift the others)."""
    key = json.dumps(entry, sort_keys=True, ensure_ascii=False)
    count = seen.get(key, 0)
    seen[key] = count + 1
    return ("vCardProps", key, str(count))


def keep_property(ctx: ReadContext, index: int, prop: VCardProperty, seen: dict[str, int]) -> None:
    params: dict[str, Any] = {}
    if prop.group:
        params["group"] = prop.group
    for param in prop.params:
        params_keep(params, param.name, param.values)
    entry = [prop.name.lower(), params, "unknown", prop.value]
    ctx.card.setdefault("vCardProps", []).append(entry)
    ctx.claim(vcard_props_slot(entry, seen), index)


def write_vcard_props(ctx: WriteContext, card: dict[str, Any]) -> None:
    seen: dict[str, int] = {}
    for entry in card.get("vCardProps") or []:
        if not (isinstance(entry, list) and len(entry) == 4 and isinstance(entry[0], str)
                and isinstance(entry[1], dict)):
            continue
        slot = vcard_props_slot(entry, seen)
        group = ""
        params: list[VCardParam] = []
        for key, value in entry[1].items():
            if key == "group":
                group = str(value)
            else:
                values = [value] if isinstance(value, str) else [str(v) for v in value] \
                    if isinstance(value, list) else [str(value)]
                params.append(VCardParam(name=key.upper(), values=values))
        value = entry[3] if isinstance(entry[3], str) else json.dumps(entry[3])
        name = entry[0].upper()
        ctx.emit(slot, APPLE_CASE.get(name, name), value, params, group)
