"""Media and keys: PHOTO, LOGO, SOUND (→ media), KEY (→ cryptoKeys).

RFC 9555's rules for PHOTO, LOGO, SOUND and KEY; RFC 6350 §6.2.4, §6.6.3,
§6.7.5, §6.8.1; RFC 9553's Media and CryptoKey objects.
A 4.0 value is a URI (often data:); a 3.0/2.1 value may be inline base64
(ENCODING=b / BASE64 with TYPE=JPEG), read here as a data: URI and written back
inline for 3.0 so that 3.0 clients keep showing it.
"""
from __future__ import annotations

import re
from typing import Any

from jmapcore.contacts.jscontact.property_params import params_read, params_write, uri_escape, uri_unescape
from jmapcore.contacts.jscontact.read_context import ReadContext
from jmapcore.contacts.jscontact.vcard_model import VCardParam, VCardProperty
from jmapcore.contacts.jscontact.write_context import WriteContext

MEDIA_KINDS = {"PHOTO": "photo", "LOGO": "logo", "SOUND": "sound"}
PROPERTY_OF_KIND = {kind: name for name, kind in MEDIA_KINDS.items()}
_DATA_URI = re.compile(r"^data:(?P<type>[^;,]*)(?P<params>(?:;[^;,]*)*?);base64,(?P<data>.*)$", re.S | re.I)
_SUBTYPES = {"jpg": "jpeg", "tif": "tiff"}
_TOP_TYPE = {"PHOTO": "image", "LOGO": "image", "SOUND": "audio", "KEY": "application"}


def _inline_media_type(prop: VCardProperty, types: list[str]) -> str:
    """The MIME type of an inline 3.0 value: TYPE=JPEG → image/jpeg, TYPE=image/png kept."""
    for value in types:
        if "/" in value:
            return value.lower()
    if types:
        sub = types[0].lower()
        return f"{_TOP_TYPE.get(prop.name, 'application')}/{_SUBTYPES.get(sub, sub)}"
    return ""


def _read_uri(ctx: ReadContext, prop: VCardProperty) -> tuple[str, str, dict[str, Any]] | None:
    """(uri, mediaType, vCardParams) of a media or key property, or None to keep it aside."""
    encoding = [value.lower() for value in prop.param("ENCODING")]
    reading = params_read(prop, handled={"ENCODING", "VALUE", "MEDIATYPE"}, contexts=False, pref=False)
    kept_types = reading.vcard_params.pop("type", None)
    types = [kept_types] if isinstance(kept_types, str) else list(kept_types or [])
    media_type = (prop.param("MEDIATYPE") or [""])[0]
    value = prop.value.strip()
    if encoding and encoding[0] in {"b", "base64"}:
        media_type = media_type or _inline_media_type(prop, types)
        types = [t for t in types if "/" not in t][1:] if types else []
        data = "".join(value.split())
        uri = f"data:{media_type or 'application/octet-stream'};base64,{data}"
    elif encoding:
        ctx.problem(f"{prop.name} has the unknown encoding {encoding[0]!r}; kept as it is")
        return None
    else:
        uri = uri_unescape(value)
        if ":" not in uri:
            ctx.problem(f"{prop.name} value is neither a URI nor inline data; kept as it is")
            return None
    if types:
        reading.vcard_params["type"] = types[0] if len(types) == 1 else types
    if reading.pref is not None:
        reading.vcard_params["pref"] = str(reading.pref)
    return uri, media_type, reading.vcard_params


def read_media(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    found = _read_uri(ctx, prop)
    if found is None:
        return False
    uri, media_type, kept = found
    entry: dict[str, Any] = {"kind": MEDIA_KINDS[prop.name], "uri": uri}
    if media_type:
        entry["mediaType"] = media_type
    if kept:
        entry["vCardParams"] = kept
    ctx.entry_add("media", "m", index, entry, params_read(prop).prop_id)
    return True


def read_key(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    found = _read_uri(ctx, prop)
    if found is None:
        return False
    uri, media_type, kept = found
    entry: dict[str, Any] = {"uri": uri}
    if media_type:
        entry["mediaType"] = media_type
    if kept:
        entry["vCardParams"] = kept
    ctx.entry_add("cryptoKeys", "key", index, entry, params_read(prop).prop_id)
    return True


READERS = {**dict.fromkeys(MEDIA_KINDS, read_media), "KEY": read_key}


def _uri_value(name: str, entry: dict[str, Any], version: str) -> tuple[str, list[VCardParam]]:
    uri = str(entry.get("uri", ""))
    params: list[VCardParam] = []
    match = _DATA_URI.match(uri)
    if version != "4.0":
        if match is not None:
            media_type = match.group("type").lower()
            subtype = media_type.split("/", 1)[1].upper() if "/" in media_type else media_type.upper()
            params = [VCardParam(name="ENCODING", values=["b"])]
            if subtype:
                params.append(VCardParam(name="TYPE", values=[subtype]))
            return match.group("data"), params
        return uri_escape(uri), [VCardParam(name="VALUE", values=["uri"])]
    if entry.get("mediaType"):
        params.append(VCardParam(name="MEDIATYPE", values=[str(entry["mediaType"])]))
    return uri_escape(uri), params


def _write(ctx: WriteContext, key: str, prefix: str, entries: dict[str, Any], name_of: Any) -> None:
    for position, (entry_id, entry) in enumerate(entries.items(), start=1):
        if not isinstance(entry, dict):
            continue
        name = name_of(entry)
        if name is None:
            continue
        value, params = _uri_value(name, entry, ctx.version)
        group, rest = params_write(entry, version=ctx.version, entry_id=entry_id, auto_id=f"{prefix}{position}",
                                   with_contexts=False)
        ctx.emit_labelled((key, entry_id), name, value, params + rest, group, entry.get("label"))


def write_media(ctx: WriteContext, card: dict[str, Any]) -> None:
    _write(ctx, "media", "m", card.get("media") or {}, lambda entry: PROPERTY_OF_KIND.get(entry.get("kind")))


def write_keys(ctx: WriteContext, card: dict[str, Any]) -> None:
    _write(ctx, "cryptoKeys", "key", card.get("cryptoKeys") or {}, lambda entry: "KEY")
