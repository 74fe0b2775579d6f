"""Recurrence: RRULE/EXRULE ↔ recurrenceRules/excludedRecurrenceRules, RDATE and
EXDATE ↔ recurrenceOverrides (RFC 8984 §4.3; RFC 5545 §3.3.10, §3.8.5;
RFC 7529 RSCALE/SKIP; draft-ietf-calext-jscalendar-icalendar-30 "recurrenceRules",
"recurrenceOverrides").

Every part of RECUR has a RecurrenceRule member (RFC 8984 §4.3.3). UNTIL is a
LocalDateTime in the event's time zone in JSCalendar and a UTC time in
iCalendar when the start has a zone (RFC 5545 §3.3.10), so it is converted both
ways. An RDATE adds an occurrence: a recurrenceOverrides entry with an empty
patch (or the PERIOD's duration); an EXDATE is an entry {"excluded": true}.
Overrides from RECURRENCE-ID components are made by convert_read.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jmapcore.calendars.jscalendar.context import ReadContext, WriteContext
from jmapcore.calendars.jscalendar.ical_model import IcalProperty
from jmapcore.calendars.jscalendar.ical_values import IcalPeriod, IcalTime, recur_parse, times_parse
from jmapcore.calendars.jscalendar.times import (
    all_day,
    duration_format,
    duration_parse,
    event_zone,
    ical_date,
    ical_date_time,
    local_format,
    local_parse,
    naive,
    time_of,
    time_params,
    to_local,
)

INT_PARTS = {"BYMONTHDAY": "byMonthDay", "BYYEARDAY": "byYearDay", "BYWEEKNO": "byWeekNo", "BYHOUR": "byHour",
             "BYMINUTE": "byMinute", "BYSECOND": "bySecond", "BYSETPOS": "bySetPosition"}
DAYS = ("mo", "tu", "we", "th", "fr", "sa", "su")
FREQUENCIES = ("yearly", "monthly", "weekly", "daily", "hourly", "minutely", "secondly")


# --- reading ----------------------------------------------------------------------------------------------

def read_rule(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
    """RRULE/EXRULE: kept for read_finish (UNTIL needs DTSTART, which may come later)."""
    ctx.pending.setdefault("rules", []).append((index, prop))
    return True


def read_dates(ctx: ReadContext, index: int, prop: IcalProperty) -> bool:
    """RDATE/EXDATE: kept for read_finish (their times are converted to the start's zone)."""
    ctx.pending.setdefault("dates", []).append((index, prop))
    return True


READERS = {"RRULE": read_rule, "EXRULE": read_rule, "RDATE": read_dates, "EXDATE": read_dates}


def _until(until: IcalTime, ctx: ReadContext) -> str:
    if ctx.all_day and not until.is_date:
        # A DATE-TIME UNTIL on an all-day event (RFC 5545 wants a DATE): its day is the last one.
        return local_format(naive(until).replace(hour=0, minute=0, second=0))
    if until.is_date and not ctx.all_day:
        # A DATE UNTIL on a timed event (RFC 5545 wants a DATE-TIME): the whole day is included.
        return local_format(naive(until).replace(hour=23, minute=59, second=59))
    if not until.is_date and not until.utc and until.tzid is None and (ctx.zone is not None or ctx.zone_utc):
        return local_format(naive(until))     # a local UNTIL for a zoned start: taken as local time
    return local_format(to_local(until, ctx))


def rule_from_parts(parts: dict[str, object], ctx: ReadContext) -> dict[str, Any]:
    rule: dict[str, Any] = {"@type": "RecurrenceRule", "frequency": str(parts["FREQ"]).lower()}
    for name, key in (("INTERVAL", "interval"), ("COUNT", "count")):
        if isinstance(parts.get(name), int):
            rule[key] = parts[name]
    for name, key in (("RSCALE", "rscale"), ("SKIP", "skip"), ("WKST", "firstDayOfWeek")):
        if isinstance(parts.get(name), str):
            rule[key] = str(parts[name]).lower()
    byday = parts.get("BYDAY")
    if isinstance(byday, list):
        days = []
        for ordinal, day in byday:
            entry: dict[str, Any] = {"@type": "NDay", "day": day.lower()}
            if ordinal is not None:
                entry["nthOfPeriod"] = ordinal
            days.append(entry)
        rule["byDay"] = days
    months = parts.get("BYMONTH")
    if isinstance(months, list):
        rule["byMonth"] = [str(month) for month in months]
    for name, key in INT_PARTS.items():
        if isinstance(parts.get(name), list):
            rule[key] = list(parts[name])   # type: ignore[call-overload]
    until = parts.get("UNTIL")
    if isinstance(until, IcalTime):
        rule["until"] = _until(until, ctx)
    return rule


def _start_time(ctx: ReadContext) -> IcalTime | None:
    for index, slot in ctx.slot_of.items():
        if slot == ("start",) and ctx.properties[index].name == "DTSTART":
            return time_of(ctx.properties[index])
    return None


def read_finish(ctx: ReadContext, keep: Any) -> None:
    """The rules and dates, once the start's zone is known. `keep(index, prop)`
    preserves a line that cannot be read."""
    start = _start_time(ctx)
    for index, prop in ctx.pending.pop("rules", []):
        parts, problems = recur_parse(prop.value, dtstart=start)
        for problem in problems:
            ctx.problem(problem)
        if parts is None:
            keep(index, prop)
            continue
        key = "recurrenceRules" if prop.name == "RRULE" else "excludedRecurrenceRules"
        ctx.event.setdefault(key, []).append(rule_from_parts(parts, ctx))
        ctx.claim((key,), index)
    length = duration_parse(ctx.event.get("duration")) if "duration" in ctx.event else None
    for index, prop in ctx.pending.pop("dates", []):
        values, problems = times_parse(prop)
        for problem in problems:
            ctx.problem(problem)
        if not values:
            keep(index, prop)
            continue
        overrides = ctx.event.setdefault("recurrenceOverrides", {})
        for value in values:
            patch: dict[str, Any] = {}
            if isinstance(value, IcalPeriod):
                moment = value.start
                if value.duration is not None:
                    span = value.duration.timedelta()
                elif value.end is not None:
                    span = to_local(value.end, ctx) - to_local(value.start, ctx)
                else:
                    span = timedelta(0)
                if span != length:
                    patch["duration"] = duration_format(span)
            else:
                moment = value
            key = local_format(to_local(moment, ctx))
            if prop.name == "EXDATE":
                overrides[key] = {"excluded": True}
            elif not overrides.get(key, {}).get("excluded"):
                overrides.setdefault(key, patch)
        ctx.claim(("exdates",) if prop.name == "EXDATE" else ("rdates",), index)


# --- writing ----------------------------------------------------------------------------------------------

def _until_value(until: datetime, event: dict[str, Any], *, is_date: bool) -> str:
    if is_date:
        return ical_date(until)
    name = event.get("timeZone")
    if not isinstance(name, str) or not name:
        return ical_date_time(until)          # floating start: floating UNTIL
    zone = event_zone(event) or UTC
    return ical_date_time(until.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None), utc=True)


def rule_text(rule: dict[str, Any], event: dict[str, Any]) -> str:
    """A RecurrenceRule (already validated) as a RECUR value (RFC 5545 §3.3.10)."""
    parts = [f"FREQ={rule['frequency'].upper()}"]
    until = local_parse(rule.get("until"))
    if until is not None:
        parts.append("UNTIL=" + _until_value(until, event, is_date=all_day(event)))
    if isinstance(rule.get("count"), int):
        parts.append(f"COUNT={rule['count']}")
    if isinstance(rule.get("interval"), int) and rule["interval"] != 1:
        parts.append(f"INTERVAL={rule['interval']}")
    days = []
    for entry in rule.get("byDay") or []:
        nth = entry.get("nthOfPeriod")
        days.append((str(nth) if isinstance(nth, int) else "") + entry["day"].upper())
    if days:
        parts.append("BYDAY=" + ",".join(days))
    if rule.get("byMonth"):
        parts.append("BYMONTH=" + ",".join(str(month).upper() for month in rule["byMonth"]))
    for name, key in INT_PARTS.items():
        if rule.get(key):
            parts.append(f"{name}=" + ",".join(str(item) for item in rule[key]))
    if isinstance(rule.get("firstDayOfWeek"), str) and rule["firstDayOfWeek"] != "mo":
        parts.append(f"WKST={rule['firstDayOfWeek'].upper()}")
    elif rule.get("firstDayOfWeek") == "mo" and "firstDayOfWeek" in rule:
        parts.append("WKST=MO")
    if isinstance(rule.get("rscale"), str):
        parts.insert(0, f"RSCALE={rule['rscale'].upper()}")
    if isinstance(rule.get("skip"), str):
        parts.append(f"SKIP={rule['skip'].upper()}")
    return ";".join(parts)


def write_rules(ctx: WriteContext, event: dict[str, Any]) -> None:
    if ctx.is_override:
        return
    for key, name in (("recurrenceRules", "RRULE"), ("excludedRecurrenceRules", "EXRULE")):
        for rule in event.get(key) or []:
            ctx.emit((key,), name, rule_text(rule, event))


def _rule_occurrence(event: dict[str, Any], key: str) -> bool:
    """Whether `key` (a LocalDateTime) is an occurrence of the event's own rules or
    its start, i.e. needs no RDATE (RFC 8984 §4.3.4)."""
    if key == event.get("start"):
        return True
    rules = event.get("recurrenceRules")
    if not rules:
        return False
    moment = local_parse(key)
    if moment is None:
        return True
    from jmapcore.calendars.jscalendar.recurrence import occurrences

    bare = {k: v for k, v in event.items() if k not in ("recurrenceOverrides", "excludedRecurrenceRules")}
    zone = event_zone(bare) or UTC
    around = moment.replace(tzinfo=zone).astimezone(UTC)
    try:
        found = occurrences(bare, after=around - timedelta(days=2), before=around + timedelta(days=2), limit=1000)
    except Exception:
        return True
    return any(item.recurrence_id == key for item in found)


def rdate_keys(event: dict[str, Any]) -> list[tuple[str, Any]]:
    """The overrides written as RDATE: the ones that are not occurrences of the
    rules, with the duration their PERIOD gives (None: the event's)."""
    overrides = event.get("recurrenceOverrides")
    if not isinstance(overrides, dict):
        return []
    found = []
    for key, patch in sorted(overrides.items()):
        if not isinstance(patch, dict) or patch.get("excluded"):
            continue
        if not _rule_occurrence(event, key):
            found.append((key, patch.get("duration") if set(patch) == {"duration"} else None))
    return found


def exdate_keys(event: dict[str, Any]) -> list[str]:
    overrides = event.get("recurrenceOverrides")
    if not isinstance(overrides, dict):
        return []
    return sorted(key for key, patch in overrides.items() if isinstance(patch, dict) and patch.get("excluded") is True)


def write_dates(ctx: WriteContext, event: dict[str, Any]) -> None:
    """RDATE and EXDATE lines, in the zone and form of DTSTART (RFC 5545 §3.8.5)."""
    if ctx.is_override:
        return
    is_date = all_day(event)
    params, utc = time_params(event, ctx, is_date=is_date)
    zone = event_zone(event)
    excluded = exdate_keys(event)
    if excluded:
        values = []
        for key in excluded:
            moment = local_parse(key)
            if moment is not None:
                values.append(ical_date(moment) if is_date else ical_date_time(
                    moment.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
                    if utc and zone is not None else moment, utc=utc))
        ctx.emit(("exdates",), "EXDATE", ",".join(values), list(params))
    plain, periods = [], []
    for key, duration in rdate_keys(event):
        moment = local_parse(key)
        if moment is None:
            continue
        text = ical_date(moment) if is_date else ical_date_time(moment, utc=utc)
        if duration is not None and not is_date:
            periods.append(f"{text}/{duration}")
        else:
            plain.append(text)
    if plain:
        ctx.emit(("rdates",), "RDATE", ",".join(plain), list(params))
    if periods:
        from jmapcore.calendars.jscalendar.ical_model import IcalParam

        ctx.emit(("rdates",), "RDATE", ",".join(periods), [*params, IcalParam(name="VALUE", values=["PERIOD"])])
