"""Relations and groups: RELATED, Apple's X-ABRELATEDNAMES, KIND, MEMBER and
Apple's X-ADDRESSBOOKSERVER-KIND / X-ADDRESSBOOKSERVER-MEMBER.

RFC 9555's rules for KIND (→ kind), MEMBER (→ members) and RELATED
(→ relatedTo); RFC 6350 §6.1.4, §6.6.5, §6.6.6. Apple's group
form (3.0 has no KIND) names members as urn:uuid:UID while their cards carry
the bare UID, so the prefix is removed on read and put back on write.
"""
from __future__ import annotations

from typing import Any

from jmapcore.contacts.jscontact.property_params import params_read, uri_escape
from jmapcore.contacts.jscontact.read_context import ReadContext
from jmapcore.contacts.jscontact.vcard_model import VCardParam, VCardProperty
from jmapcore.contacts.jscontact.vcard_syntax import value_escape, value_unescape
from jmapcore.contacts.jscontact.write_context import WriteContext

KINDS = {"individual", "group", "org", "location", "device", "application"}
# RFC 6350 §6.6.6 RELATED types, all of them JSContact relation types (RFC 9553).
RELATION_TYPES = {"contact", "acquaintance", "friend", "met", "co-worker", "colleague", "co-resident", "neighbor",
                  "child", "parent", "sibling", "spouse", "kin", "muse", "crush", "date", "sweetheart", "me",
                  "agent", "emergency"}
# Apple's labels of X-ABRELATEDNAMES and the relation each means.
APPLE_RELATIONS = {"_$!<Spouse>!$_": "spouse", "_$!<Partner>!$_": "sweetheart", "_$!<Child>!$_": "child",
                   "_$!<Parent>!$_": "parent", "_$!<Mother>!$_": "parent", "_$!<Father>!$_": "parent",
                   "_$!<Brother>!$_": "sibling", "_$!<Sister>!$_": "sibling", "_$!<Friend>!$_": "friend",
                   "_$!<Assistant>!$_": "agent", "_$!<Manager>!$_": "co-worker"}
APPLE_LABEL_OF = {"spouse": "_$!<Spouse>!$_", "sweetheart": "_$!<Partner>!$_", "child": "_$!<Child>!$_",
                  "parent": "_$!<Parent>!$_", "sibling": "_$!<Brother>!$_", "friend": "_$!<Friend>!$_",
                  "agent": "_$!<Assistant>!$_", "co-worker": "_$!<Manager>!$_"}
UUID_PREFIX = "urn:uuid:"


def read_uid(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    if "uid" in ctx.card or prop.group or any(param.name != "VALUE" for param in prop.params):
        return False
    ctx.card["uid"] = value_unescape(prop.value).strip()
    ctx.claim(("uid",), index)
    return True


def read_kind(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    value = value_unescape(prop.value).strip().lower()
    if "KIND" in ctx.seen or prop.params or prop.group or not (value in KINDS or value.startswith("x-")):
        return False
    ctx.seen.add("KIND")
    if value != "individual":   # the default (RFC 9553): a card that says so and one that does not are alike
        ctx.card["kind"] = value
    ctx.claim(("kind",), index)
    return True


def read_member(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    value = value_unescape(prop.value).strip()
    if prop.name == "X-ADDRESSBOOKSERVER-MEMBER" and value.lower().startswith(UUID_PREFIX):
        value = value[len(UUID_PREFIX):]
    members = ctx.card.setdefault("members", {})
    if not value or value in members or prop.params or prop.group:
        return False
    members[value] = True
    ctx.claim(("members", value), index)
    return True


def read_related(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    value = value_unescape(prop.value).strip()
    related = ctx.card.setdefault("relatedTo", {})
    if not value or value in related:
        return False
    if prop.name == "X-ABRELATEDNAMES":
        if prop.params:
            return False
        label = ctx.label_of(prop)
        relation: dict[str, bool] = {}
        if label is not None and label[1] in APPLE_RELATIONS:
            relation[APPLE_RELATIONS[label[1]]] = True
        entry: dict[str, Any] = {"relation": relation}
        if prop.group:
            entry["vCardParams"] = {"group": prop.group}
        if label is not None and APPLE_LABEL_OF.get(APPLE_RELATIONS.get(label[1], "")) != label[1]:
            # a custom label, or one that its relation alone would not give back ("Sister" → sibling)
            entry["label"] = label[1]
        related[value] = entry
        ctx.claim(("relatedTo", value), index)
        if label is not None:
            ctx.claim(("relatedTo", value), label[0])
        return True
    reading = params_read(prop, handled={"VALUE"}, contexts=False, pref=False)
    kept_types = reading.vcard_params.pop("type", None)
    types = [kept_types] if isinstance(kept_types, str) else list(kept_types or [])
    relation = {t.lower(): True for t in types if t.lower() in RELATION_TYPES}
    others = [t for t in types if t.lower() not in RELATION_TYPES]
    if others:
        reading.vcard_params["type"] = others[0] if len(others) == 1 else others
    entry = {"relation": relation}
    if reading.vcard_params:
        entry["vCardParams"] = reading.vcard_params
    related[value] = entry
    ctx.claim(("relatedTo", value), index)
    return True


READERS = {"UID": read_uid, "KIND": read_kind, "X-ADDRESSBOOKSERVER-KIND": read_kind,
           "MEMBER": read_member, "X-ADDRESSBOOKSERVER-MEMBER": read_member,
           "RELATED": read_related, "X-ABRELATEDNAMES": read_related}


def read_finish(ctx: ReadContext) -> None:
    for key in ("members", "relatedTo"):
        if ctx.card.get(key) == {}:
            del ctx.card[key]


def write_uid_kind(ctx: WriteContext, card: dict[str, Any]) -> None:
    if isinstance(card.get("uid"), str) and card["uid"]:
        ctx.emit(("uid",), "UID", value_escape(card["uid"]))
    kind = card.get("kind")
    if isinstance(kind, str) and kind and (ctx.version == "4.0" or kind != "individual"):
        # 3.0 has no KIND; Apple's X-ADDRESSBOOKSERVER-KIND says "group", the default goes unsaid
        ctx.emit(("kind",), "KIND" if ctx.version == "4.0" else "X-ADDRESSBOOKSERVER-KIND", kind)


def write_members(ctx: WriteContext, card: dict[str, Any]) -> None:
    for uid, on in (card.get("members") or {}).items():
        if not on:
            continue
        if ctx.version == "4.0":
            ctx.emit(("members", uid), "MEMBER", uri_escape(uid))
        else:
            value = uid if ":" in uid else UUID_PREFIX + uid
            ctx.emit(("members", uid), "X-ADDRESSBOOKSERVER-MEMBER", uri_escape(value))


def write_related(ctx: WriteContext, card: dict[str, Any]) -> None:
    for target, entry in (card.get("relatedTo") or {}).items():
        if not isinstance(entry, dict):
            continue
        slot = ("relatedTo", target)
        relation = [name for name, on in (entry.get("relation") or {}).items() if on]
        kept = dict(entry.get("vCardParams") or {})
        group = str(kept.pop("group", ""))
        apple = (":" not in target or " " in target) and not kept and len(relation) <= 1 \
            and all(r in APPLE_LABEL_OF for r in relation)
        if ctx.version != "4.0" and apple:
            # 3.0 has no RELATED; Apple's X-ABRELATEDNAMES names a person with the relation as its label.
            label = entry.get("label") or next((APPLE_LABEL_OF[r] for r in relation if r in APPLE_LABEL_OF), None)
            if label:
                ctx.emit_labelled(slot, "X-ABRELATEDNAMES", value_escape(target), [], group, label)
            else:
                ctx.emit(slot, "X-ABRELATEDNAMES", value_escape(target), [], group)
            continue
        params: list[VCardParam] = []
        types = relation + ([kept.pop("type")] if isinstance(kept.get("type"), str) else kept.pop("type", []))
        if types:
            params.append(VCardParam(name="TYPE", values=types))
        is_uri = ":" in target and " " not in target
        if not is_uri:
            params.append(VCardParam(name="VALUE", values=["text"]))
        for name, value in kept.items():
            params.append(VCardParam(name=name.upper(), values=[value] if isinstance(value, str) else list(value)))
        ctx.emit(slot, "RELATED", uri_escape(target) if is_uri else value_escape(target), params, group)
