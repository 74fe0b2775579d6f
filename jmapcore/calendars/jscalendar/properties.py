"""The simple event properties (RFC 8984 §4, §5.1; RFC 5545 §3.8;
draft-ietf-calext-jscalendar-icalendar-30 for the mapping):
UID ↔ uid, SUMMARY ↔ title, DESCRIPTION ↔ description, SEQUENCE ↔ sequence,
STATUS ↔ status, CLASS ↔ privacy, TRANSP ↔ freeBusyStatus, PRIORITY ↔ priority,
COLOR (RFC 7986 §5.9) ↔ color, CATEGORIES ↔ keywords, CREATED ↔ created,
LAST-MODIFIED (else DTSTAMP) ↔ updated, RELATED-TO ↔ relatedTo, the LANGUAGE of
SUMMARY ↔ locale.

A value outside what JSCalendar can say (a STATUS of a VTODO, an X- CLASS) is
not read: the line stays in iCalComponent (preservation) and is written back.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jmapcore.calendars.jscalendar.context import ReadContext, Reader, WriteContext
from jmapcore.calendars.jscalendar.ical_model import IcalParam, IcalProperty
from jmapcore.calendars.jscalendar.ical_syntax import text_escape, text_list, text_unescape
from jmapcore.calendars.jscalendar.ical_values import date_time_parse
from jmapcore.calendars.jscalendar.times import ical_date_time, naive, utc_format, utc_parse

STATUS = {"CONFIRMED": "confirmed", "TENTATIVE": "tentative", "CANCELLED": "cancelled"}
PRIVACY = {"PUBLIC": "public", "PRIVATE": "private", "CONFIDENTIAL": "secret"}
FREE_BUSY = {"OPAQUE": "busy", "TRANSPARENT": "free"}
# RFC 8984 §1.4.10 relation types; RFC 9253 §9 added FIRST and NEXT to RELTYPE. SIBLING has no
# JSCalendar counterpart: such a line is kept as it is.
RELATION = {"PARENT": "parent", "CHILD": "child", "NEXT": "next", "FIRST": "first"}


def _text(ctx: ReadContext, key: str, index: int, prop: IcalProperty) -> bool:
    if key in ctx.event:
        return False        # a second SUMMARY is not the title: kept as it is
    ctx.event[key] = text_unescape(prop.value)
    ctx.claim((key,), index)
    return True


def read_uid(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
    return _text(ctx, "uid", index, prop)


def read_title(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
    """SUMMARY → title; its LANGUAGE (RFC 5545 §3.2.10) → locale (RFC 8984 §4.2.8).
    Any other parameter (ALTREP, X-…) keeps the line as it is."""
    language = prop.param("LANGUAGE")
    if any(param.name != "LANGUAGE" for param in prop.params) or len(language) > 1 or "title" in ctx.event:
        return False
    if language:
        ctx.event["locale"] = language[0]
    return _text(ctx, "title", index, prop)


def read_description(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
    if prop.param("ALTREP"):
        return False        # the alternative representation has no JSCalendar place: kept whole
    return _text(ctx, "description", index, prop)


def _enum(table: dict[str, str], key: str) -> Reader:
    def read(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
        value = table.get(prop.value.strip().upper())
        if value is None or key in ctx.event or prop.params:
            return False
        ctx.event[key] = value
        ctx.claim((key,), index)
        return True
    return read


def _integer(key: str, low: int, high: int) -> Reader:
    def read(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
        text = prop.value.strip()
        if key in ctx.event or prop.params or not (text.isascii() and text.lstrip("+-").isdigit()):
            if not (text.isascii() and text.lstrip("+-").isdigit()):
                ctx.problem(f"{prop.name} {text[:20]!r} is not an integer; kept as it is")
            return False
        number = int(text)
        if not low <= number <= high:
            ctx.problem(f"{prop.name} {number} is out of range; kept as it is")
            return False
        ctx.event[key] = number
        ctx.claim((key,), index)
        return True
    return read


def read_color(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
    if "color" in ctx.event or prop.params:
        return False
    ctx.event["color"] = text_unescape(prop.value).strip()
    ctx.claim(("color",), index)
    return True


def read_categories(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
    """CATEGORIES (RFC 5545 §3.8.1.2), every line → keywords (RFC 8984 §4.2.9)."""
    if prop.params:
        return False        # a LANGUAGE or unknown parameter: JSCalendar keywords cannot carry it
    keywords = ctx.event.setdefault("keywords", {})
    for word in text_list(prop.value):
        if word:
            keywords[word] = True
    ctx.claim(("keywords",), index)
    return True


def _stamp(key: str) -> Reader:
    def read(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
        parsed, _problem = date_time_parse(prop.value)
        if parsed is None or parsed.is_date or not parsed.utc:
            ctx.problem(f"{prop.name} {prop.value[:40]!r} is not a UTC date-time; kept as it is")
            return False
        if prop.name == "DTSTAMP":
            # DTSTAMP says when the object was written (RFC 5545 §3.8.7.2): updated
            # when there is no LAST-MODIFIED; written again with every change.
            ctx.pending["dtstamp"] = utc_format(naive(parsed))
            ctx.claim(("updated",), index)
            return True
        if key in ctx.event:
            return False
        ctx.event[key] = utc_format(naive(parsed))
        ctx.claim((key,), index)
        return True
    return read


def read_related_to(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
    """RELATED-TO (RFC 5545 §3.8.4.5) → relatedTo (RFC 8984 §4.1.3)."""
    types = [value.upper() for value in prop.param("RELTYPE")] or ["PARENT"]
    others = [param for param in prop.params if param.name != "RELTYPE"]
    uid = text_unescape(prop.value)
    related = ctx.event.setdefault("relatedTo", {})
    if not uid or others or uid in related or any(t not in RELATION for t in types):
        if not related:
            ctx.event.pop("relatedTo")
        return False
    related[uid] = {"@type": "Relation", "relation": {RELATION[t]: True for t in types}}
    ctx.claim(("relatedTo",), index)
    return True


READERS: dict[str, Reader] = {
    "UID": read_uid, "SUMMARY": read_title, "DESCRIPTION": read_description,
    "SEQUENCE": _integer("sequence", 0, 2**31 - 1), "PRIORITY": _integer("priority", 0, 9),
    "STATUS": _enum(STATUS, "status"), "CLASS": _enum(PRIVACY, "privacy"), "TRANSP": _enum(FREE_BUSY, "freeBusyStatus"),
    "COLOR": read_color, "CATEGORIES": read_categories, "CREATED": _stamp("created"),
    "LAST-MODIFIED": _stamp("updated"), "DTSTAMP": _stamp("updated"), "RELATED-TO": read_related_to,
}


def read_finish(ctx: ReadContext) -> None:
    stamp = ctx.pending.pop("dtstamp", None)
    if stamp is not None and "updated" not in ctx.event:
        ctx.event["updated"] = stamp


# --- writing ----------------------------------------------------------------------------------------------

_CONTROLS = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32), 127])


def text_clean(text: str) -> str:
    """`text` without control characters other than tab and line breaks (RFC 5545
    §3.1 allows none in a value; a NUL read from a broken object is not written back)."""
    return text.translate(_CONTROLS)


def _reverse(table: dict[str, str]) -> dict[str, str]:
    return {value: key for key, value in table.items()}


def _stamp_value(value: Any) -> str | None:
    moment = utc_parse(value)
    return ical_date_time(moment.replace(tzinfo=None), utc=True) if moment is not None else None


def write_properties(ctx: WriteContext, event: dict[str, Any]) -> None:
    if isinstance(event.get("uid"), str):
        ctx.emit(("uid",), "UID", text_escape(event["uid"]))
    for key, name in (("title", "SUMMARY"), ("description", "DESCRIPTION")):
        if isinstance(event.get(key), str):
            locale = event.get("locale") if key == "title" else None
            params = [IcalParam(name="LANGUAGE", values=[locale])] if isinstance(locale, str) and locale else []
            ctx.emit((key,), name, text_escape(text_clean(event[key])), params)
    for key, name, table in (("status", "STATUS", STATUS), ("privacy", "CLASS", PRIVACY),
                             ("freeBusyStatus", "TRANSP", FREE_BUSY)):
        value = _reverse(table).get(event.get(key))  # type: ignore[arg-type]
        if value is not None:
            ctx.emit((key,), name, value)
    for key, name in (("sequence", "SEQUENCE"), ("priority", "PRIORITY")):
        if isinstance(event.get(key), int) and not isinstance(event[key], bool) and (event[key] or key in ctx.event):
            ctx.emit((key,), name, str(event[key]))
    if isinstance(event.get("color"), str) and event["color"]:
        ctx.emit(("color",), "COLOR", text_escape(event["color"]))
    keywords = [word for word, on in (event.get("keywords") or {}).items() if on] \
        if isinstance(event.get("keywords"), dict) else []
    if keywords:
        ctx.emit(("keywords",), "CATEGORIES", ",".join(text_escape(word) for word in keywords))
    related = event.get("relatedTo")
    if isinstance(related, dict):
        for uid, relation in related.items():
            kinds = [kind for kind, on in ((relation or {}).get("relation") or {}).items() if on] \
                if isinstance(relation, dict) else []
            params = [IcalParam(name="RELTYPE", values=[kind.upper()]) for kind in kinds if kind in RELATION.values()]
            ctx.emit(("relatedTo",), "RELATED-TO", text_escape(uid), params)
    created = _stamp_value(event.get("created"))
    if created is not None:
        ctx.emit(("created",), "CREATED", created)
    updated = _stamp_value(event.get("updated"))
    if not ctx.is_override or updated is not None:
        stamp = updated or ical_date_time(datetime.now(UTC).replace(tzinfo=None), utc=True)
        ctx.emit(("updated",), "DTSTAMP", stamp)
        if updated is not None:
            ctx.emit(("updated",), "LAST-MODIFIED", updated)
