"""Dates: BDAY, ANNIVERSARY, DEATHDATE, Apple's X-ABDATE (label "Anniversary"),
Evolution's X-ANNIVERSARY, and the card's REV and CREATED.

RFC 9555's rules for BDAY, ANNIVERSARY, DEATHDATE (→ anniversaries) and REV
(→ updated); RFC 9554 for CREATED (→ created); RFC 6350 §4.3 (date forms);
RFC 9553's Anniversary with a PartialDate or a Timestamp. A date without a year is read from 4.0's --MMDD,
from --MM-DD, and from Apple's X-APPLE-OMIT-YEAR; a 3.0 card gets Apple's form
back because 3.0 has none of its own.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from jmapcore.contacts.jscontact.property_params import params_read, params_write
from jmapcore.contacts.jscontact.read_context import ReadContext
from jmapcore.contacts.jscontact.vcard_model import VCardParam, VCardProperty
from jmapcore.contacts.jscontact.write_context import WriteContext

_DATE = re.compile(
    r"^(?:(?P<year>\d{4})(?:-?(?P<month>\d{2})(?:-?(?P<day>\d{2}))?)?"   # 1985, 1985-04, 19850412, 1985-04-12
    r"|--(?P<month2>\d{2})(?:-?(?P<day2>\d{2}))?"                     # --04, --0412, --04-12
    r"|---(?P<day3>\d{2}))$"                                          # ---12
)
_TIME = re.compile(r"^(?P<h>\d{2}):?(?P<m>\d{2})(?::?(?P<s>\d{2}))?(?:\.\d+)?(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?$")
_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
APPLE_ANNIVERSARY = "_$!<Anniversary>!$_"
# How a wedding anniversary is written when nothing says otherwise: 3.0 has no ANNIVERSARY,
# and Apple's form is what 3.0 address books (iCloud) show.
DEFAULT_ANNIVERSARY = {"3.0": "X-ABDATE", "4.0": "ANNIVERSARY"}
KIND_OF_PROPERTY = {"BDAY": "birth", "ANNIVERSARY": "wedding", "DEATHDATE": "death",
                    "X-ANNIVERSARY": "wedding", "X-ABDATE": "wedding"}


def partial_date(text: str) -> dict[str, Any] | None:
    """A vCard date (RFC 6350 §4.3.1, ISO 8601 basic or extended) as a JSContact
    PartialDate (RFC 9553), or None when it is not a valid date."""
    match = _DATE.match(text.strip())
    if match is None:
        return None
    year = match.group("year")
    month = match.group("month") or match.group("month2")
    day = match.group("day") or match.group("day2") or match.group("day3")
    result: dict[str, Any] = {"@type": "PartialDate"}
    if year:
        result["year"] = int(year)
    if month:
        if not 1 <= int(month) <= 12:
            return None
        result["month"] = int(month)
    if day:
        limit = _DAYS[int(month) - 1] if month else 31
        if not 1 <= int(day) <= limit:
            return None
        result["day"] = int(day)
    return result


def utc_timestamp(text: str) -> str | None:
    """A vCard timestamp (20231012T101500Z, 2023-10-12T10:15:00Z, with an offset)
    as an RFC 3339 UTC date-time, or None."""
    stripped = text.strip()
    if "T" not in stripped:
        return None
    date_part, time_part = stripped.split("T", 1)
    date = partial_date(date_part)
    time = _TIME.match(time_part)
    if date is None or time is None or not {"year", "month", "day"} <= date.keys():
        return None
    hour, minute, second = int(time.group("h")), int(time.group("m")), int(time.group("s") or 0)
    if hour > 23 or minute > 59 or second > 60:
        return None
    zone = time.group("zone")
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        try:
            local = datetime(date["year"], date["month"], date["day"], hour, minute, min(second, 59),
                             tzinfo=timezone(sign * offset))
        except ValueError:
            return None
        return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{date['year']:04d}-{date['month']:02d}-{date['day']:02d}T{hour:02d}:{minute:02d}:{second:02d}Z"


def read_anniversary(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    kind = KIND_OF_PROPERTY[prop.name]
    if prop.name == "X-ABDATE":
        label = ctx.label_of(prop)
        if label is None or label[1] != APPLE_ANNIVERSARY:
            return False
    if (prop.param("VALUE") or ["date"])[0].lower() == "text":
        return False
    reading = params_read(prop, handled={"VALUE", "CALSCALE", "X-APPLE-OMIT-YEAR"}, contexts=False, pref=False)
    text = prop.value.strip()
    timestamp = utc_timestamp(text) if "T" in text and text.rstrip().endswith(("Z", "z")) else None
    date: dict[str, Any] | None
    if timestamp is not None:
        date = {"@type": "Timestamp", "utc": timestamp}
    else:
        date = partial_date(text.split("T", 1)[0])
        if date is None:
            ctx.problem(f"{prop.name} {text[:40]!r} is not a date; kept as it is")
            return False
        omit = prop.param("X-APPLE-OMIT-YEAR")
        if omit and str(date.get("year")) == omit[0].strip():
            del date["year"]
        if prop.param("CALSCALE"):
            date["calendarScale"] = prop.param("CALSCALE")[0]
    entry: dict[str, Any] = {"kind": kind, "date": date}
    if reading.vcard_params:
        entry["vCardParams"] = reading.vcard_params
    if kind == "wedding" and prop.name != DEFAULT_ANNIVERSARY[ctx.version]:
        # Remember a form that is not the version's usual one (vCardName, as RFC 9555 does
        # for IMPP), so that a rewrite keeps it.
        entry["vCardName"] = prop.name.lower()
    if prop.name == "X-ABDATE":
        label = ctx.label_of(prop)
        assert label is not None
        entry_id = ctx.entry_add("anniversaries", "d", index, entry, reading.prop_id, take_label=False)
        ctx.claim(("anniversaries", entry_id), label[0])
    else:
        ctx.entry_add("anniversaries", "d", index, entry, reading.prop_id)
    return True


def read_timestamp(ctx: ReadContext, index: int, prop: VCardProperty) -> bool:
    key = "updated" if prop.name == "REV" else "created"
    if key in ctx.card or prop.group or any(param.name != "VALUE" for param in prop.params):
        return False
    text = prop.value.strip()
    stamp = utc_timestamp(text)
    if stamp is None:
        date = partial_date(text)
        if date is not None and {"year", "month", "day"} <= date.keys():
            stamp = f"{date['year']:04d}-{date['month']:02d}-{date['day']:02d}T00:00:00Z"
    if stamp is None:
        ctx.problem(f"{prop.name} {text[:40]!r} is not a timestamp; kept as it is")
        return False
    ctx.card[key] = stamp
    ctx.claim((key,), index)
    return True


READERS = {**dict.fromkeys(KIND_OF_PROPERTY, read_anniversary), "REV": read_timestamp, "CREATED": read_timestamp}


def date_text(date: dict[str, Any], version: str) -> tuple[str, list[VCardParam]]:
    """The vCard value (and parameters) of a PartialDate or Timestamp."""
    if date.get("@type") == "Timestamp" or "utc" in date:
        utc = str(date.get("utc", ""))
        return utc.replace("-", "").replace(":", ""), []
    year, month, day = date.get("year"), date.get("month"), date.get("day")
    params: list[VCardParam] = []
    if date.get("calendarScale"):
        params.append(VCardParam(name="CALSCALE", values=[str(date["calendarScale"])]))
    if version == "4.0":
        if year is None:
            text = f"--{month:02d}" if month else "--"
            text += f"{day:02d}" if day else ""
            return (text if month else f"---{day:02d}"), params
        text = f"{year:04d}"
        if month:
            text += f"-{month:02d}" if not day else f"{month:02d}{day:02d}"
        return text, params
    if year is None and month and day:
        params.append(VCardParam(name="X-APPLE-OMIT-YEAR", values=["1604"]))
        return f"1604-{month:02d}-{day:02d}", params
    if year is None:
        return f"--{month or 1:02d}-{day or 1:02d}", params
    return f"{year:04d}-{month or 1:02d}-{day or 1:02d}", params


def write_anniversaries(ctx: WriteContext, card: dict[str, Any]) -> None:
    for position, (entry_id, entry) in enumerate((card.get("anniversaries") or {}).items(), start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("date"), dict):
            continue
        slot = ("anniversaries", entry_id)
        kind = entry.get("kind")
        group, params = params_write(entry, version=ctx.version, entry_id=entry_id, auto_id=f"d{position}",
                                     with_contexts=False)
        value, date_params = date_text(entry["date"], ctx.version)
        params = date_params + params
        form = str(entry.get("vCardName") or DEFAULT_ANNIVERSARY[ctx.version]).upper()
        if kind == "birth":
            ctx.emit_labelled(slot, "BDAY", value, params, group, entry.get("label"))
        elif kind == "death":
            ctx.emit_labelled(slot, "DEATHDATE", value, params, group, entry.get("label"))
        elif form in ("ANNIVERSARY", "X-ANNIVERSARY"):
            ctx.emit_labelled(slot, form, value, params, group, entry.get("label"))
        else:
            # Apple's form: itemN.X-ABDATE with the label "Anniversary" in its group.
            group = group or ctx.group_new()
            ctx.emit(slot, "X-ABDATE", value, params, group)
            ctx.emit(slot, "X-ABLabel", APPLE_ANNIVERSARY, [], group)


def write_timestamps(ctx: WriteContext, card: dict[str, Any]) -> None:
    for key, name in (("created", "CREATED"), ("updated", "REV")):
        value = card.get(key)
        if isinstance(value, str) and value:
            ctx.emit((key,), name, value.replace("-", "").replace(":", ""))
