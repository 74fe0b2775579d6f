"""Parameters shared by many vCard properties (RFC 9555's general rules).

- TYPE=work/home → `contexts` {"work": true} / {"private": true};
  a 3.0 TYPE=pref → `pref` 1, a 4.0 PREF=n (RFC 6350 §5.3) → `pref` n.
- PROP-ID → the map id of the JSContact entry (RFC 9554, RFC 9555).
- The property group and every parameter the converter does not map are kept
  in `vCardParams` (RFC 9555) and written back, so nothing is lost.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from jmapcore.contacts.jscontact.vcard_model import VCardParam, VCardProperty

# A JSContact Id (RFC 9553); a PROP-ID that is not one stays a parameter.
ID_VALID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
CONTEXT_OF_TYPE = {"work": "work", "home": "private"}
TYPE_OF_CONTEXT = {"work": "work", "private": "home"}

# What a converter reads itself; never copied into vCardParams.
ALWAYS_HANDLED = {"TYPE", "PREF", "PROP-ID"}

@dataclass
class ParamReading:
    """What the shared parameters of one property say."""

    contexts: dict[str, bool] = field(default_factory=dict)
    pref: int | None = None
    prop_id: str | None = None
    features: list[str] = field(default_factory=list)
    vcard_params: dict[str, Any] = field(default_factory=dict)


def _split_types(values: list[str]) -> list[str]:
    # A 2.1/3.0 writer may put "WORK,VOICE" in one value; a parser may or may not split it.
    return [piece.strip() for value in values for piece in value.split(",") if piece.strip()]


def uri_unescape(raw: str) -> str:
    """A URI value: RFC 6350 §4.2 URIs are not escaped, but 3.0 writers escape them
    like text (Google writes https\\://), so the text escapes and \\: are undone
    (in one pass, so that an escaped backslash before a colon stays one)."""
    if "\\" not in raw:
        return raw.strip()
    out: list[str] = []
    index, end = 0, len(raw)
    while index < end:
        char = raw[index]
        if char == "\\" and index + 1 < end:
            after = raw[index + 1]
            out.append("\n" if after in "nN" else after if after in ",;:\\" else char + after)
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out).strip()


def uri_escape(uri: str) -> str:
    """A URI as a value that uri_unescape gives back: only backslashes need escaping
    (a line break is escaped by the serializer, commas and colons read back as they are)."""
    return uri.replace("\\", "\\\\")


def params_read(prop: VCardProperty, *, handled: frozenset[str] | set[str] = frozenset(),
                features: dict[str, str] | None = None, contexts: bool = True, pref: bool = True) -> ParamReading:
    """Read TYPE, PREF, PROP-ID and the group of `prop`; everything else not in
    `handled` goes to vCardParams (lower-cased names, RFC 9555). With
    contexts/pref False (for objects without them, e.g. Title) TYPE=work or
    PREF stay in vCardParams."""
    reading = ParamReading()
    rest_types: list[str] = []
    for param in prop.params:
        if param.name == "TYPE":
            for value in _split_types(param.values):
                low = value.lower()
                if contexts and low in CONTEXT_OF_TYPE:
                    reading.contexts[CONTEXT_OF_TYPE[low]] = True
                elif pref and low == "pref" and reading.pref is None:
                    reading.pref = 1
                elif features is not None and low in features:
                    if features[low] not in reading.features:
                        reading.features.append(features[low])
                else:
                    rest_types.append(value)
        elif pref and param.name == "PREF" and param.values and param.values[0].strip().isascii() \
                and param.values[0].strip().isdigit() \
                and 1 <= int(param.values[0].strip()) <= 100 and reading.pref is None:
            reading.pref = int(param.values[0].strip())
        elif param.name == "PROP-ID" and param.values and ID_VALID.match(param.values[0]) \
                and reading.prop_id is None:
            reading.prop_id = param.values[0]
        elif param.name in handled:
            continue
        else:
            params_keep(reading.vcard_params, param.name, param.values)
    if rest_types:
        params_keep(reading.vcard_params, "TYPE", rest_types)
    if prop.group:
        reading.vcard_params["group"] = prop.group
    return reading


def params_keep(kept: dict[str, Any], name: str, values: list[str]) -> None:
    """Add one parameter to a vCardParams map (a single value as a string, several as a list)."""
    key = name.lower()
    old = kept.get(key)
    merged = ([] if old is None else [old] if isinstance(old, str) else list(old)) + list(values)
    kept[key] = merged[0] if len(merged) == 1 else merged


def params_from_kept(kept: Any) -> tuple[str, list[VCardParam]]:
    """The group and the parameters stored in a vCardParams map."""
    group = ""
    params: list[VCardParam] = []
    if not isinstance(kept, dict):
        return group, params
    for key, value in kept.items():
        if key == "group":
            group = str(value)
            continue
        values = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        params.append(VCardParam(name=key.upper(), values=values))
    return group, params


def params_write(entry: dict[str, Any], *, version: str, entry_id: str | None = None, auto_id: str | None = None,
                 features: dict[str, str] | None = None, extra_types: list[str] | None = None,
                 with_contexts: bool = True) -> tuple[str, list[VCardParam]]:
    """The group and parameters for an entry: TYPE (contexts, features, kept types, 3.0 pref),
    PREF (4.0), PROP-ID when the id is not the one a reader would generate, then vCardParams."""
    group, kept = params_from_kept(entry.get("vCardParams"))
    types: list[str] = []
    if with_contexts:
        for context, on in (entry.get("contexts") or {}).items():
            if on and context in TYPE_OF_CONTEXT:
                types.append(TYPE_OF_CONTEXT[context])
    if features:
        for feature, on in (entry.get("features") or {}).items():
            if on and feature in features:
                types.append(features[feature])
    types.extend(extra_types or [])
    for param in kept:
        if param.name == "TYPE":
            types.extend(param.values)
    params: list[VCardParam] = []
    pref = entry.get("pref")
    if version != "4.0" and pref == 1:
        types.append("pref")
    if types:
        params.append(VCardParam(name="TYPE", values=types))
    if version == "4.0" and isinstance(pref, int):
        params.append(VCardParam(name="PREF", values=[str(pref)]))
    # Without PROP-ID a reader numbers entries by position ("e1", "e2"); an id that
    # numbering would not give back is written so that it survives (RFC 9555).
    if entry_id is not None and entry_id != auto_id:
        params.append(VCardParam(name="PROP-ID", values=[entry_id]))
    params.extend(param for param in kept if param.name != "TYPE")
    return group, params
