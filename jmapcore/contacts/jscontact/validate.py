"""Type checks of a JSContact card before it is written (RFC 9553).

card_validate returns the path of every property that breaks the format
("emails/e1/address", "name/components/0/kind"), so that a client learns all
its mistakes at once (RFC 8620 §5.3 invalidProperties). What is checked: the
types of every property this converter writes, map ids (RFC 9553),
booleans-only sets, ranges (pref 1-100, dates). Line breaks in text and odd
names in vCardProps/vCardParams are not refused: the writer escapes line
breaks, and vcard_serialize escapes any left and replaces what a name may not
hold, so no value can start a line of its own or end the card; and every card
card_read returns passes, so a client can always update a card it was given.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$")

Check = Callable[[Any, str, list[str]], None]


def _text(value: Any, path: str, bad: list[str]) -> None:
    if not isinstance(value, str):
        bad.append(path)


def _bool_set(value: Any, path: str, bad: list[str]) -> None:
    if not isinstance(value, dict) or any(not isinstance(k, str) or v is not True for k, v in value.items()):
        bad.append(path)


def _true(value: Any, path: str, bad: list[str]) -> None:
    if value is not True:
        bad.append(path)


def _bool(value: Any, path: str, bad: list[str]) -> None:
    if not isinstance(value, bool):
        bad.append(path)


def _pref(value: Any, path: str, bad: list[str]) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        bad.append(path)


def _vcard_params(value: Any, path: str, bad: list[str]) -> None:
    if not isinstance(value, dict):
        bad.append(path)
        return
    for key, item in value.items():
        items = item if isinstance(item, list) else [item]
        if not isinstance(key, str) or any(not isinstance(v, str) for v in items):
            bad.append(f"{path}/{key}")


def _object(fields: dict[str, Check], required: tuple[str, ...] = ()) -> Check:
    """A checker for an object with the given member checkers; unknown members are allowed
    (RFC 9553 lets vendors add their own), @type must be a string."""
    def check(value: Any, path: str, bad: list[str]) -> None:
        if not isinstance(value, dict):
            bad.append(path)
            return
        for name in required:
            if name not in value:
                bad.append(f"{path}/{name}")
        for name, item in value.items():
            if name in fields and item is not None:
                fields[name](item, f"{path}/{name}", bad)
            elif name == "@type" and not isinstance(item, str):
                bad.append(f"{path}/@type")
    return check


def _map(entry: Check, *, ids: bool = True) -> Check:
    def check(value: Any, path: str, bad: list[str]) -> None:
        if not isinstance(value, dict):
            bad.append(path)
            return
        for key, item in value.items():
            if ids and (not isinstance(key, str) or not _ID.match(key)):
                bad.append(f"{path}/{key}")
            else:
                entry(item, f"{path}/{key}", bad)
    return check


def _list(item: Check) -> Check:
    def check(value: Any, path: str, bad: list[str]) -> None:
        if not isinstance(value, list):
            bad.append(path)
            return
        for index, element in enumerate(value):
            item(element, f"{path}/{index}", bad)
    return check


def _enum(*allowed: str) -> Check:
    def check(value: Any, path: str, bad: list[str]) -> None:
        if not isinstance(value, str) or (value not in allowed and not value.startswith("x-") and ":" not in value):
            bad.append(path)
    return check


def _int(low: int, high: int) -> Check:
    def check(value: Any, path: str, bad: list[str]) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            bad.append(path)
    return check


def _utc(value: Any, path: str, bad: list[str]) -> None:
    if not isinstance(value, str) or not _UTC.match(value):
        bad.append(path)


def _date(value: Any, path: str, bad: list[str]) -> None:
    if not isinstance(value, dict):
        bad.append(path)
    elif value.get("@type") == "Timestamp" or "utc" in value:
        _object({"utc": _utc}, ("utc",))(value, path, bad)
    else:
        _object({"year": _int(0, 9999), "month": _int(1, 12), "day": _int(1, 31), "calendarScale": _text})(
            value, path, bad)
        if not any(key in value for key in ("year", "month", "day")):
            bad.append(path)
        elif "year" in value and "day" in value and "month" not in value:
            bad.append(path)


COMMON: dict[str, Check] = {"contexts": _bool_set, "pref": _pref, "label": _text, "vCardParams": _vcard_params}
COMPONENT = _object({"kind": _text, "value": _text, "phonetic": _text}, ("kind", "value"))

PROPERTIES: dict[str, Check] = {
    "uid": _text,
    "kind": _enum("individual", "group", "org", "location", "device", "application"),
    "prodId": _text,
    "language": _text,
    "created": _utc,
    "updated": _utc,
    "members": _map(_true, ids=False),
    "name": _object({"full": _text, "components": _list(COMPONENT), "sortAs": _map(_text, ids=False),
                     "phoneticSystem": _text, "phoneticScript": _text, "isOrdered": _bool, "defaultSeparator": _text,
                     "vCardParams": _vcard_params}),
    "nicknames": _map(_object({**COMMON, "name": _text}, ("name",))),
    "organizations": _map(_object({**COMMON, "name": _text, "sortAs": _text,
                                   "units": _list(_object({"name": _text}, ("name",)))})),
    "titles": _map(_object({**COMMON, "name": _text, "kind": _enum("title", "role"),
                            "organizationId": _text}, ("name",))),
    "emails": _map(_object({**COMMON, "address": _text}, ("address",))),
    "phones": _map(_object({**COMMON, "number": _text, "features": _bool_set}, ("number",))),
    "onlineServices": _map(_object({**COMMON, "uri": _text, "user": _text, "service": _text,
                                    "vCardName": _text})),
    "links": _map(_object({**COMMON, "uri": _text, "kind": _text, "mediaType": _text}, ("uri",))),
    "directories": _map(_object({**COMMON, "uri": _text, "kind": _text, "mediaType": _text,
                                 "listAs": _int(1, 2**31)}, ("uri",))),
    "calendars": _map(_object({**COMMON, "uri": _text, "kind": _text, "mediaType": _text}, ("uri",))),
    "schedulingAddresses": _map(_object({**COMMON, "uri": _text}, ("uri",))),
    "cryptoKeys": _map(_object({**COMMON, "uri": _text, "kind": _text, "mediaType": _text}, ("uri",))),
    "media": _map(_object({**COMMON, "kind": _enum("photo", "logo", "sound"), "uri": _text, "mediaType": _text},
                          ("kind", "uri"))),
    "addresses": _map(_object({**COMMON, "components": _list(COMPONENT), "full": _text, "coordinates": _text,
                               "timeZone": _text, "countryCode": _text, "isOrdered": _bool,
                               "defaultSeparator": _text})),
    "anniversaries": _map(_object({"kind": _text, "date": _date, "label": _text, "vCardParams": _vcard_params,
                                   "vCardName": _text}, ("kind", "date"))),
    "notes": _map(_object({"note": _text, "created": _utc, "vCardParams": _vcard_params,
                           "author": _object({"name": _text, "uri": _text})}, ("note",))),
    "keywords": _bool_set,
    "preferredLanguages": _map(_object({**COMMON, "language": _text}, ("language",))),
    "personalInfo": _map(_object({"kind": _enum("expertise", "hobby", "interest"), "value": _text,
                                  "level": _enum("low", "medium", "high"), "listAs": _int(1, 2**31),
                                  "label": _text, "vCardParams": _vcard_params}, ("kind", "value"))),
    "speakToAs": _object({"grammaticalGender": _enum("animate", "common", "feminine", "inanimate", "masculine",
                                                     "neuter"),
                          "pronouns": _map(_object({**COMMON, "pronouns": _text}, ("pronouns",))),
                          "vCardName": _text}),
    "relatedTo": _map(_object({"relation": _bool_set, "label": _text, "vCardParams": _vcard_params}), ids=False),
}


def _vcard_props(value: Any, path: str, bad: list[str]) -> None:
    if not isinstance(value, list):
        bad.append(path)
        return
    for index, entry in enumerate(value):
        where = f"{path}/{index}"
        if not (isinstance(entry, list) and len(entry) == 4 and isinstance(entry[0], str)
                and entry[0] and isinstance(entry[2], str) and isinstance(entry[3], str)):
            bad.append(where)
        else:
            _vcard_params(entry[1], f"{where}/1", bad)


PROPERTIES["vCardProps"] = _vcard_props


def card_validate(card: Any) -> list[str]:
    """The paths of every invalid property of `card` ([] when it can be written)."""
    bad: list[str] = []
    if not isinstance(card, dict):
        return [""]
    if card.get("@type", "Card") != "Card":
        bad.append("@type")
    if "version" in card and not isinstance(card["version"], str):
        bad.append("version")
    for key, value in card.items():
        check = PROPERTIES.get(key)
        if check is not None and value is not None:
            check(value, key, bad)
    return bad
