"""JSContact → vCard (RFC 9555, in reverse), as a minimal change of the
previous vCard when there is one.

Every property the writers make belongs to a slot (a top-level JSContact
property, or one entry of a map). Given the previous vCard text, it is read
again (the same deterministic reading that produced the cached card, so the
map ids match), and:
- a slot whose JSContact value did not change keeps its previous lines, byte
  for byte and where they were;
- a changed slot is regenerated in the place of its first previous line; any
  regenerated line equal in meaning to one it replaces keeps that line's bytes;
- a removed slot loses its lines, a new slot is appended.
So a one-field change rewrites one content line, and whatever else a client
put in the vCard stays as it was.
"""
from __future__ import annotations

import json
from collections import deque
from typing import Any

from jmapcore.contacts.jscontact import (
    addresses,
    communication,
    dates,
    media,
    names,
    organizations,
    personal,
    relations,
    resources,
)
from jmapcore.contacts.jscontact.convert_read import ReadResult, vcard_text_convert
from jmapcore.contacts.jscontact.preservation import leftovers_write, write_jsprops, write_vcard_props
from jmapcore.contacts.jscontact.read_context import Slot
from jmapcore.contacts.jscontact.vcard_model import VCard, VCardProperty
from jmapcore.contacts.jscontact.vcard_syntax import vcard_serialize
from jmapcore.contacts.jscontact.write_context import WriteContext, Writer

WRITERS: list[Writer] = [
    relations.write_uid_kind, names.write_name, names.write_nicknames, organizations.write_organizations,
    organizations.write_titles, communication.write_emails, communication.write_phones,
    communication.write_online_services, addresses.write_addresses, dates.write_anniversaries,
    media.write_media, media.write_keys, communication.write_links, resources.write_resources,
    relations.write_related, relations.write_members, personal.write_notes, personal.write_keywords,
    personal.write_languages, personal.write_speak_to_as, personal.write_personal_info, personal.write_scalars,
    dates.write_timestamps, write_jsprops, write_vcard_props,
]
# Top-level members that are not the card's content (JMAP's own, or fixed).
IGNORED = {"id", "addressBookIds", "@type", "version"}


def _groups_in(value: Any, found: set[str]) -> None:
    """Every group name the card already uses (vCardParams.group, vCardProps' group)."""
    if isinstance(value, dict):
        group = value.get("group")
        if isinstance(group, str):
            found.add(group.upper())
        for item in value.values():
            _groups_in(item, found)
    elif isinstance(value, list):
        for item in value:
            _groups_in(item, found)


def card_properties(card: dict[str, Any], *, version: str) -> list[tuple[Slot, VCardProperty]]:
    """The vCard properties of `card` in `version`, each with its slot (VERSION excluded)."""
    used: set[str] = set()
    _groups_in(card, used)
    ctx = WriteContext(version=version, used_groups=used)
    for writer in WRITERS:
        writer(ctx, card)
    ctx.label_groups_separate()
    return ctx.out


def _normal(value: Any) -> Any:
    """A value for comparison: @type members are optional in JSContact (RFC 9553)."""
    if isinstance(value, dict):
        return {key: _normal(item) for key, item in value.items() if key != "@type"}
    if isinstance(value, list):
        return [_normal(item) for item in value]
    return value


def _name_part(name: Any, part: str) -> Any:
    """The part of a Name each of its slots writes: FN the full name, N the components (and
    their sort, parameters), the phonetic N or X-PHONETIC-* lines the phonetics."""
    if not isinstance(name, dict):
        return None
    if part == "full":
        return name.get("full")
    components = [c for c in name.get("components") or [] if isinstance(c, dict)]
    if part == "phonetic":
        return [name.get("phoneticSystem"), name.get("phoneticScript"), [c.get("phonetic") for c in components]]
    rest = {key: value for key, value in name.items() if key not in ("full", "phoneticSystem", "phoneticScript")}
    rest["components"] = [{k: v for k, v in c.items() if k != "phonetic"} for c in components]
    return _normal(rest)


def slot_value(card: dict[str, Any], slot: Slot) -> Any:
    if slot[0] == "vCardProps":
        return slot     # the slot is the entry's content
    if slot[0] == "name" and len(slot) == 2:
        return _name_part(card.get("name"), slot[1])
    value = card.get(slot[0])
    if len(slot) == 1:
        return _normal(value)
    return _normal(value.get(slot[1])) if isinstance(value, dict) else None


def _meaning(prop: VCardProperty) -> tuple[Any, ...]:
    params = sorted((param.name.upper(), tuple(v.lower() if param.name.upper() == "TYPE" else v
                                               for v in param.values)) for param in prop.params)
    return prop.name.upper(), prop.group.upper(), prop.value, json.dumps(params)


def _merge(previous: ReadResult, card: dict[str, Any], generated: list[tuple[Slot, VCardProperty]],
           version_prop: VCardProperty) -> list[VCardProperty]:
    new_by_slot: dict[Slot, list[VCardProperty]] = {}
    for slot, prop in generated:
        new_by_slot.setdefault(slot, []).append(prop)
    old_by_slot: dict[Slot, list[int]] = {}
    for index, slot in sorted(previous.context.slot_of.items()):
        old_by_slot.setdefault(slot, []).append(index)
    old_props = previous.vcard.properties
    out: list[VCardProperty] = []
    pending: dict[Slot, dict[str, deque[VCardProperty]]] = {}
    unchanged: dict[Slot, bool] = {}
    for index, prop in enumerate(old_props):
        found = previous.context.slot_of.get(index)
        if found is None:
            continue
        slot = found
        if slot == ("version",):
            out.append(prop if prop.value.strip() == version_prop.value else version_prop)
            continue
        if slot not in unchanged:    # once per slot: a slot of many lines must not compare many times
            # (also when the writer makes no line for it: X-ADDRESSBOOKSERVER-KIND:individual is kept,
            # though a 3.0 card is not given one for the default kind)
            # A vCardProps slot is its content, so it is unchanged only while the card still has it.
            unchanged[slot] = slot_value(previous.card, slot) == slot_value(card, slot) and (
                slot[0] != "vCardProps" or slot in new_by_slot)
        if unchanged[slot]:
            out.append(prop)
            continue
        # A changed slot: each old line is replaced in place by the new line of the same
        # property name (kept as it was when equal in meaning); what is left comes after
        # the slot's last old line, what has no successor goes.
        if slot not in pending:
            # the new lines of the slot by property name, each list consumed from its front
            by_name: dict[str, deque[VCardProperty]] = {}
            for new in new_by_slot.get(slot, []):
                by_name.setdefault(new.name.upper(), deque()).append(new)
            pending[slot] = by_name
        waiting = pending[slot]
        queue = waiting.get(prop.name)
        if queue:
            successor = queue.popleft()
            out.append(prop if _meaning(prop) == _meaning(successor) else successor)
        if index == old_by_slot[slot][-1]:
            left = {id(new) for queue in waiting.values() for new in queue}
            out.extend(new for new in new_by_slot.get(slot, []) if id(new) in left)
            waiting.clear()
    if ("version",) not in old_by_slot:
        out.insert(0, version_prop)
    for slot, props in new_by_slot.items():
        # A slot without previous lines is new, unless its value did not change (e.g. the N a
        # 3.0 card should have had): unchanged means written as it was, here not at all.
        if slot not in old_by_slot and slot_value(previous.card, slot) != slot_value(card, slot):
            out.extend(props)
    return out


def vcard_build(card: dict[str, Any], *, version: str, previous_text: str | None) -> VCard:
    """The vCard for `card` (already validated), minimal against `previous_text`."""
    content = {key: value for key, value in card.items() if key not in IGNORED}
    generated = card_properties(content, version=version)
    # What the vCard properties could not carry goes into JSPROPs (RFC 9555): read the
    # generated card back and look for what is missing.
    written = vcard_text_convert(vcard_serialize(VCard(properties=[
        VCardProperty(name="VERSION", value=version), *(prop for _slot, prop in generated)]))).card
    extra = WriteContext(version=version)
    leftovers_write(extra, content, written)
    generated += extra.out
    version_prop = VCardProperty(name="VERSION", value=version)
    if previous_text:
        previous = vcard_text_convert(previous_text)
        if previous.vcard.version == version and previous.vcard.properties:
            return VCard(properties=_merge(previous, content, generated, version_prop))
    return VCard(properties=[version_prop, *(prop for _slot, prop in generated)])


def vcard_write(card: dict[str, Any], *, version: str, previous_text: str | None) -> str:
    return vcard_serialize(vcard_build(card, version=version, previous_text=previous_text))
