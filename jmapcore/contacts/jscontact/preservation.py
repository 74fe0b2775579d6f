"""What has no counterpart on the other side is kept.

- vCard → JSContact: vCardProps (RFC 9555). Each kept property is one
  jCard-like array (RFC 7095 §3.3): [name (lower-case), {params, "group":
  group}, "unknown", value], where the value is the property's value exactly as
  it was on the wire (still escaped), so it is written back unchanged.
- JSContact → vCard: JSPROP (RFC 9555). A top-level JSContact property
  this converter does not write (a vendor's "example.com:foo", localizations,
  …) becomes JSPROP;JSPTR="name":<its JSON>; so does a member deeper in the
  card that the vCard property it belongs to cannot carry (3.0's PREF=2, a
  phone feature vCard has no TYPE for, a vendor member of an email …), with a
  JSON pointer (RFC 6901) as JSPTR. Reading applies each JSPROP to the card
  when its place is free (a pointer into a converted property needs the entry
  to exist) and the result is valid JSContact; any other JSPROP is kept in
  vCardProps.
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


# Converted properties that are one slot as a whole (not one per map entry).
WHOLE_SLOTS = {"nicknames", "keywords", "speakToAs", "uid", "kind", "language", "prodId", "created", "updated"}
# Converted properties that are maps of entries (Id[...] or String[Boolean], RFC 9553):
# a JSPROP may add to an entry, never make or replace a whole one.
ENTRY_MAPS = {"nicknames", "organizations", "titles", "emails", "phones", "onlineServices", "addresses",
              "anniversaries", "media", "cryptoKeys", "links", "directories", "calendars", "schedulingAddresses",
              "relatedTo", "members", "notes", "keywords", "preferredLanguages", "personalInfo"}


def pointer_tokens(pointer: str) -> list[str]:
    """RFC 6901: "emails/e1/x~1y" → ["emails", "e1", "x/y"] (a leading "/" is allowed)."""
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer.removeprefix("/").split("/")]


def pointer_text(tokens: list[str]) -> str:
    return "/".join(token.replace("~", "~0").replace("/", "~1") for token in tokens)


def pointer_slot(tokens: list[str]) -> tuple[str, ...]:
    """The slot (see read_context) a JSPROP for this place belongs to."""
    top = tokens[0]
    if top == "name" and len(tokens) > 1:
        if tokens[1] == "full":
            return ("name", "full")
        return ("name", "phonetic") if tokens[1] in ("phoneticSystem", "phoneticScript") else ("name", "n")
    if top in ENTRY_MAPS and top not in WHOLE_SLOTS and len(tokens) > 1:
        return (top, tokens[1])
    return (top,)


def read_jsprop(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    """JSPROP;JSPTR=pointer:<JSON> (RFC 9555), applied when the rest is read (jsprops_apply)."""
    pointer = prop.param("JSPTR")
    if len(pointer) != 1 or len(prop.params) != 1 or prop.group:
        return False
    tokens = pointer_tokens(pointer[0])
    if not all(tokens) or (tokens[0] in ENTRY_MAPS and len(tokens) < 3):
        return False    # an entry as a whole is the converted property's, never a JSPROP's
    try:
        value = json.loads(value_unescape(prop.value))
    except ValueError:
        ctx.problem(f"JSPROP {pointer[0][:60]!r} does not hold JSON; kept as it is")
        return False
    if tokens[0] in ("@type", "version", "vCardProps"):
        return False
    ctx.deferred.append((index, tokens, value))
    return True


def jsprops_apply(ctx: ReadContext) -> None:
    """Apply the deferred JSPROPs: each sets a member that is not there yet, inside an entry
    that exists (for converted properties) or in objects made on the way (for the others,
    e.g. localizations). A JSPROP that does not fit, or makes the card invalid, is kept."""
    from jmapcore.contacts.jscontact.validate import card_validate

    applied: list[tuple[int, dict[str, Any], str, str]] = []
    # shallow pointers first: a deeper one may point into what a top-level JSPROP made
    for index, tokens, value in sorted(ctx.deferred, key=lambda item: len(item[1])):
        container: Any = ctx.card
        make = tokens[0] not in CONVERTED
        for token in tokens[:-1]:
            if isinstance(container, dict) and token not in container and make:
                container[token] = {}
            container = container.get(token) if isinstance(container, dict) else None
        if not isinstance(container, dict) or tokens[-1] in container:
            keep_property(ctx, index, ctx.properties[index], ctx.kept)
            continue
        container[tokens[-1]] = value
        ctx.claim(pointer_slot(tokens), index)
        applied.append((index, container, tokens[-1], "/".join(tokens)))
    if not applied:
        return
    bad = card_validate(ctx.card)
    for index, container, key, where in reversed(applied):
        if any(path == where or path.startswith(where + "/") or where.startswith(path + "/") for path in bad):
            del container[key]
            del ctx.slot_of[index]
            ctx.problem(f"JSPROP {where[:60]!r} does not fit the card; kept as it is")
            keep_property(ctx, index, ctx.properties[index], ctx.kept)


READERS = {"JSPROP": read_jsprop}


def _absent(want: Any, got: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    """The members of `want` that `got` lacks, by path (the writer's leftovers)."""
    found: list[tuple[list[str], Any]] = []
    if isinstance(want, dict) and isinstance(got, dict):
        for key, value in want.items():
            # An empty map or list of JSContact's own means nothing (contexts: {}); a vendor's
            # own member ("example.com:x", RFC 9553) is kept whatever it holds.
            if key == "@type" or value is None or ((value == {} or value == []) and ":" not in key):
                continue
            if key not in got:
                found.append(([*path, key], value))
            else:
                found.extend(_absent(value, got[key], [*path, key]))
    return found


def leftovers_write(ctx: WriteContext, card: dict[str, Any], written: dict[str, Any]) -> None:
    """JSPROPs for what the vCard written for `card` (read back as `written`) lacks."""
    for key, value in card.items():
        if key not in CONVERTED or key in ("@type", "version", "id", "addressBookIds", "vCardProps"):
            continue
        for tokens, member in _absent({key: value}, written, []):
            if tokens == ["kind"] and member == "individual":
                continue    # the default (RFC 9553), which a 3.0 card leaves unsaid
            if tokens[0] in ENTRY_MAPS and len(tokens) < 3:
                continue    # a whole entry the writer dropped was not writable (e.g. a media of no kind)
            text = json.dumps(member, ensure_ascii=False, sort_keys=True)
            ctx.emit(pointer_slot(tokens), "JSPROP", value_escape(text),
                     [VCardParam(name="JSPTR", values=[pointer_text(tokens)])])


def write_jsprops(ctx: WriteContext, card: dict[str, Any]) -> None:
    for name, value in card.items():
        if name not in CONVERTED and value is not None:
            pointer = pointer_text([name])
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
