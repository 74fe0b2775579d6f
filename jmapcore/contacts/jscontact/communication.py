"""Ways to reach someone: EMAIL, TEL, IMPP, SOCIALPROFILE (and Apple's
X-SOCIALPROFILE), URL, CONTACT-URI.

RFC 9555's rules for EMAIL (→ emails), IMPP and SOCIALPROFILE (→ onlineServices),
TEL (→ phones with features) and URL (→ links); RFC 6350 §6.4.1-§6.4.3, §6.7.8;
RFC 9554 for SOCIALPROFILE; the EmailAddress, Phone, OnlineService and Link
objects of RFC 9553.
"""
from __future__ import annotations

from typing import Any

from jmapcore.contacts.jscontact.property_params import (
    ParamReading,
    params_read,
    params_write,
    uri_escape,
    uri_unescape,
)
from jmapcore.contacts.jscontact.read_context import ReadContext
from jmapcore.contacts.jscontact.vcard_model import VCardParam, VCardProperty
from jmapcore.contacts.jscontact.vcard_syntax import value_escape, value_unescape
from jmapcore.contacts.jscontact.write_context import WriteContext

# TEL TYPE values that are Phone features (RFC 9555); "cell" is "mobile".
PHONE_FEATURES = {"voice": "voice", "fax": "fax", "cell": "mobile", "video": "video", "pager": "pager",
                  "textphone": "textphone", "text": "text", "main-number": "main-number"}
TYPE_OF_FEATURE = {feature: vcard for vcard, feature in PHONE_FEATURES.items()}


def _common(entry: dict[str, Any], reading: ParamReading) -> dict[str, Any]:
    if reading.contexts:
        entry["contexts"] = dict(reading.contexts)
    if reading.pref is not None:
        entry["pref"] = reading.pref
    if reading.vcard_params:
        entry["vCardParams"] = reading.vcard_params
    return entry


def read_email(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    reading = params_read(prop)
    ctx.entry_add("emails", "e", index, _common({"address": value_unescape(prop.value).strip()}, reading),
                  reading.prop_id)
    return True


def read_tel(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    reading = params_read(prop, features=PHONE_FEATURES)
    entry: dict[str, Any] = {"number": value_unescape(prop.value).strip()}
    if reading.features:
        entry["features"] = dict.fromkeys(reading.features, True)
    ctx.entry_add("phones", "p", index, _common(entry, reading), reading.prop_id)
    return True


def read_impp(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    reading = params_read(prop, handled={"SERVICE-TYPE", "X-SERVICE-TYPE", "USERNAME"})
    entry: dict[str, Any] = {"uri": uri_unescape(prop.value), "vCardName": "impp"}
    service = prop.param("SERVICE-TYPE") or prop.param("X-SERVICE-TYPE")
    if service:
        entry["service"] = service[0]
    if prop.param("USERNAME"):
        entry["user"] = prop.param("USERNAME")[0]
    ctx.entry_add("onlineServices", "s", index, _common(entry, reading), reading.prop_id)
    return True


def read_socialprofile(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    """SOCIALPROFILE (RFC 9554): a URI, or with VALUE=text a user name."""
    reading = params_read(prop, handled={"SERVICE-TYPE", "USERNAME", "VALUE"})
    value_type = (prop.param("VALUE") or ["uri"])[0].lower()
    entry: dict[str, Any] = {"user": value_unescape(prop.value).strip()} if value_type == "text" \
        else {"uri": uri_unescape(prop.value)}
    if prop.param("SERVICE-TYPE"):
        entry["service"] = prop.param("SERVICE-TYPE")[0]
    if prop.param("USERNAME") and "user" not in entry:
        entry["user"] = prop.param("USERNAME")[0]
    if ctx.version != "4.0":
        entry["vCardName"] = "socialprofile"    # not 3.0's usual X-SOCIALPROFILE: kept on rewrite
    ctx.entry_add("onlineServices", "s", index, _common(entry, reading), reading.prop_id)
    return True


def read_x_socialprofile(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    """Apple's X-SOCIALPROFILE;TYPE=twitter;X-USER=name:URL (3.0)."""
    reading = params_read(prop, handled={"X-USER"})
    entry: dict[str, Any] = {"uri": uri_unescape(prop.value), "vCardName": "x-socialprofile"}
    kept_types = reading.vcard_params.pop("type", None)
    types = [kept_types] if isinstance(kept_types, str) else list(kept_types or [])
    if types:
        entry["service"] = types.pop(0)
    if types:
        reading.vcard_params["type"] = types[0] if len(types) == 1 else types
    if prop.param("X-USER"):
        entry["user"] = prop.param("X-USER")[0]
    ctx.entry_add("onlineServices", "s", index, _common(entry, reading), reading.prop_id)
    return True


def read_url(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    reading = params_read(prop, handled={"MEDIATYPE"})
    entry: dict[str, Any] = {"uri": uri_unescape(prop.value)}
    if prop.name == "CONTACT-URI":
        entry["kind"] = "contact"
    if prop.param("MEDIATYPE"):
        entry["mediaType"] = prop.param("MEDIATYPE")[0]
    ctx.entry_add("links", "l", index, _common(entry, reading), reading.prop_id)
    return True


READERS = {"EMAIL": read_email, "TEL": read_tel, "IMPP": read_impp, "SOCIALPROFILE": read_socialprofile,
           "X-SOCIALPROFILE": read_x_socialprofile, "URL": read_url, "CONTACT-URI": read_url}


def _entries(card: dict[str, Any], key: str) -> list[tuple[int, str, dict[str, Any]]]:
    value = card.get(key) or {}
    return [(position, entry_id, entry) for position, (entry_id, entry) in enumerate(value.items(), start=1)
            if isinstance(entry, dict)]


def write_emails(ctx: WriteContext, card: dict[str, Any]) -> None:
    for position, entry_id, entry in _entries(card, "emails"):
        group, params = params_write(entry, version=ctx.version, entry_id=entry_id, auto_id=f"e{position}")
        ctx.emit_labelled(("emails", entry_id), "EMAIL", value_escape(str(entry.get("address", ""))), params,
                          group, entry.get("label"))


def write_phones(ctx: WriteContext, card: dict[str, Any]) -> None:
    for position, entry_id, entry in _entries(card, "phones"):
        group, params = params_write(entry, version=ctx.version, entry_id=entry_id, auto_id=f"p{position}",
                                     features=TYPE_OF_FEATURE)
        ctx.emit_labelled(("phones", entry_id), "TEL", value_escape(str(entry.get("number", ""))), params,
                          group, entry.get("label"))


def write_online_services(ctx: WriteContext, card: dict[str, Any]) -> None:
    for position, entry_id, entry in _entries(card, "onlineServices"):
        slot = ("onlineServices", entry_id)
        vcard_name = str(entry.get("vCardName", "")).lower()
        service, user, uri = entry.get("service"), entry.get("user"), entry.get("uri")
        extra: list[VCardParam] = []
        if vcard_name == "impp" and uri is not None:
            name = "IMPP"
            if service:
                extra.append(VCardParam(name="SERVICE-TYPE" if ctx.version == "4.0" else "X-SERVICE-TYPE",
                                        values=[str(service)]))
            if user:
                extra.append(VCardParam(name="USERNAME", values=[str(user)]))
            group, params = params_write(entry, version=ctx.version, entry_id=entry_id, auto_id=f"s{position}")
        elif vcard_name == "x-socialprofile" or (ctx.version != "4.0" and uri is not None
                                                 and vcard_name != "socialprofile"):
            name = "X-SOCIALPROFILE"
            group, params = params_write(entry, version=ctx.version, entry_id=entry_id, auto_id=f"s{position}",
                                         extra_types=[str(service)] if service else None)
            if user:
                extra.append(VCardParam(name="X-USER", values=[str(user)]))
        else:
            name = "SOCIALPROFILE"
            if service:
                extra.append(VCardParam(name="SERVICE-TYPE", values=[str(service)]))
            if uri is not None and user is not None:
                extra.append(VCardParam(name="USERNAME", values=[str(user)]))
            elif uri is None:
                extra.append(VCardParam(name="VALUE", values=["text"]))
            group, params = params_write(entry, version=ctx.version, entry_id=entry_id, auto_id=f"s{position}")
        value = uri_escape(str(uri)) if uri is not None else value_escape(str(user or ""))
        ctx.emit_labelled(slot, name, value, params + extra, group, entry.get("label"))


def write_links(ctx: WriteContext, card: dict[str, Any]) -> None:
    for position, entry_id, entry in _entries(card, "links"):
        group, params = params_write(entry, version=ctx.version, entry_id=entry_id, auto_id=f"l{position}")
        if entry.get("mediaType"):
            params.append(VCardParam(name="MEDIATYPE", values=[str(entry["mediaType"])]))
        name = "CONTACT-URI" if entry.get("kind") == "contact" else "URL"
        ctx.emit_labelled(("links", entry_id), name, uri_escape(str(entry.get("uri", ""))), params, group,
                          entry.get("label"))
