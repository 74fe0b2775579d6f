"""The ContactCard cache columns derived from a JSContact card (RFC 9610).

Text columns are case-folded values joined by "\\n", one line per value, so a
query is a substring match (the filters of RFC 9610 match "contains",
case-insensitively); `members` has a line per member uid between newlines for
hasMember's whole-line match; sort keys () are case-folded and cut to
the column's 255 characters.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

SORT_LENGTH = 255


def _values(entries: Any, *members: str) -> list[str]:
    found: list[str] = []
    if isinstance(entries, dict):
        for entry in entries.values():
            if isinstance(entry, dict):
                found.extend(str(entry[m]) for m in members if isinstance(entry.get(m), str) and entry[m])
    return found


def _join(values: list[str]) -> str:
    return "\n".join(value.casefold() for value in values if value)


def _stamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _components(card: dict[str, Any], kind: str) -> list[str]:
    name = _dict(card.get("name"))
    return [str(c["value"]) for c in name.get("components") or []
            if isinstance(c, dict) and c.get("kind") == kind and isinstance(c.get("value"), str) and c["value"]]


def _sort_key(card: dict[str, Any], kind: str) -> str:
    sort_as = _dict(_dict(card.get("name")).get("sortAs"))
    chosen = sort_as.get(kind)
    value = chosen if isinstance(chosen, str) else " ".join(_components(card, kind))
    return value.casefold()[:SORT_LENGTH]


def _address_values(card: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for entry in (card.get("addresses") or {}).values() if isinstance(card.get("addresses"), dict) else []:
        if not isinstance(entry, dict):
            continue
        for member in ("full", "countryCode"):
            if isinstance(entry.get(member), str) and entry[member]:
                found.append(entry[member])
        found.extend(str(c["value"]) for c in entry.get("components") or []
                     if isinstance(c, dict) and isinstance(c.get("value"), str) and c["value"])
    return found


def card_search_fields(card: dict[str, Any]) -> dict[str, Any]:
    """The ContactCard model's query columns for `card` (keys are the model's field names)."""
    name = _dict(card.get("name"))
    name_values = ([name["full"]] if isinstance(name.get("full"), str) else []) + [
        str(c["value"]) for c in name.get("components") or []
        if isinstance(c, dict) and isinstance(c.get("value"), str) and c.get("kind") != "separator"]
    nicknames = _values(card.get("nicknames"), "name")
    organizations: list[str] = []
    for entry in (card.get("organizations") or {}).values() if isinstance(card.get("organizations"), dict) else []:
        if isinstance(entry, dict):
            organizations += [entry["name"]] if isinstance(entry.get("name"), str) else []
            organizations += _values(dict(enumerate(entry.get("units") or [])), "name")
    emails = _values(card.get("emails"), "address")
    phones = _values(card.get("phones"), "number")
    services = _values(card.get("onlineServices"), "uri", "user", "service")
    address_values = _address_values(card)
    notes = _values(card.get("notes"), "note")
    titles = _values(card.get("titles"), "name")
    members = [uid for uid, on in (card.get("members") or {}).items() if on] \
        if isinstance(card.get("members"), dict) else []
    kind = card.get("kind") if isinstance(card.get("kind"), str) and card.get("kind") else "individual"
    return {
        "uid": card.get("uid") if isinstance(card.get("uid"), str) else "",
        "kind": kind,
        "created": _stamp(card.get("created")),
        "updated": _stamp(card.get("updated")),
        "members": "\n" + "\n".join(members) + "\n" if members else "",
        "search_text": _join(name_values + nicknames + organizations + titles + emails + phones + services
                             + address_values + notes),
        "search_name": _join(name_values),
        "search_name_given": _join(_components(card, "given")),
        "search_name_surname": _join(_components(card, "surname")),
        "search_name_surname2": _join(_components(card, "surname2")),
        "search_nickname": _join(nicknames),
        "search_organization": _join(organizations),
        "search_email": _join(emails),
        "search_phone": _join(phones),
        "search_online_service": _join(services),
        "search_address": _join(address_values),
        "search_note": _join(notes),
        "sort_name_given": _sort_key(card, "given"),
        "sort_name_surname": _sort_key(card, "surname"),
        "sort_name_surname2": _sort_key(card, "surname2"),
    }
