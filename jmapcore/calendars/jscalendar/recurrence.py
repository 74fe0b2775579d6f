"""The occurrences of a JSCalendar Event (RFC 8984 §4.3) in a UTC window.

The recurrence set is built as RFC 8984 §4.3.3-4.3.5 describes (RFC 5545
§3.8.5 in iCalendar terms):

1. `start` and what every rule in `recurrenceRules` generates from it (the
   union, duplicates once); the start is always the first occurrence and
   counts towards a rule's COUNT (RFC 5545 §3.8.5.3).
2. minus what any rule in `excludedRecurrenceRules` generates (EXRULE);
3. every key of `recurrenceOverrides` is an occurrence (one the rules do not
   generate is added, like RDATE), unless its patch says `excluded: true`
   (EXDATE); its patch may move it (`start`, `timeZone`) or change its
   `duration`.

Rules run over wall-clock times in the event's `timeZone`; each start is then
converted to UTC as RFC 5545 §3.3.5 says (a time in a DST gap is read with the
offset before the gap, a repeated time means its first instance). A floating
event (`timeZone` null, all-day events included) is placed in the caller's
`floating_zone` (UTC when not given). A `duration`'s days are added on the
wall clock, its hours/minutes/seconds exactly (RFC 5545 §3.3.6).

Expansion is bounded: at most `limit` occurrences, only the window, and a work
budget (recurrence_rule.Budget) that stops hostile rules; a stopped expansion
says so in `Expansion.truncated` and `problems`.
"""
from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jmapcore.calendars.jscalendar.local_time import (
    Duration,
    clamp_local,
    duration_parse,
    end_of,
    local_format,
    local_parse,
    local_to_utc,
    utc_to_local,
)
from jmapcore.calendars.jscalendar.recurrence_rule import (
    DEFAULT_BUDGET,
    Budget,
    BudgetExhausted,
    Rule,
    rule_read,
    rule_starts,
)

__all__ = ["Expansion", "Occurrence", "event_span", "expansion", "occurrences"]

# event_span expands a finite event completely up to this many occurrences; beyond it the end is "unknown" (None).
SPAN_OCCURRENCES = 50_000
# Room around the window's ends in wall-clock time: a DST fold or gap shifts local times by an hour or two.
_ZONE_SLACK = timedelta(hours=3)
# When the window's end cannot be placed in the zone (the ends of the datetime range), this much room instead:
# no UTC offset reaches a day.
_ANY_ZONE = timedelta(hours=26)


def _wall_clock(instant: datetime, zone: tzinfo, *, widen: timedelta) -> datetime:
    """`instant` on the zone's wall clock; near the ends of the datetime range,
    where that cannot be computed, UTC's wall clock moved by `widen`."""
    try:
        return utc_to_local(instant, zone)
    except (OverflowError, ValueError):
        return clamp_local(instant.replace(tzinfo=None), widen)


@dataclass(frozen=True)
class Occurrence:
    """One occurrence: `recurrence_id` is its LocalDateTime as the rules place it
    (the key recurrenceOverrides use), `utc_start`/`utc_end` where it really
    is (after an override moved it), `override` the patch that applies, if any."""

    recurrence_id: str
    utc_start: datetime
    utc_end: datetime
    override: dict[str, Any] | None


@dataclass
class Expansion:
    """What `expansion` found: the occurrences in order of utc_start (then
    recurrence_id), and whether it stopped early (limit or work budget)."""

    occurrences: list[Occurrence] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    truncated: bool = False


@dataclass(frozen=True)
class _Setting:
    start: datetime
    zone: tzinfo
    duration: Duration
    rules: tuple[Rule, ...]
    excluded_rules: tuple[Rule, ...]
    overrides: dict[str, dict[str, Any]]


def _zone(name: Any, *, zone: tzinfo | None, floating_zone: tzinfo | None, problems: list[str]) -> tzinfo:
    if zone is not None:
        return zone
    if name is None:
        return floating_zone or UTC
    if isinstance(name, str):
        if name.upper() in ("UTC", "ETC/UTC", "Z", "GMT", "ETC/GMT"):
            return UTC
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    problems.append(f"time zone {name!r} is unknown; its times are read as UTC")
    return UTC


def _setting(event: dict[str, Any], *, zone: tzinfo | None, floating_zone: tzinfo | None,
             problems: list[str]) -> _Setting | None:
    if not isinstance(event, dict):
        problems.append("the event is not an object")
        return None
    start = local_parse(event.get("start"))
    if start is None:
        problems.append(f"event start {event.get('start')!r} is not a LocalDateTime; no occurrences")
        return None
    duration = duration_parse(event.get("duration", "PT0S")) if event.get("duration") is not None else Duration(0, 0)
    if duration is None:
        problems.append(f"event duration {event.get('duration')!r} is not a Duration; PT0S used")
        duration = Duration(0, 0)
    rules: list[Rule] = []
    excluded: list[Rule] = []
    for key, target in (("recurrenceRules", rules), ("excludedRecurrenceRules", excluded)):
        raw = event.get(key)
        if raw is None:
            continue
        if not isinstance(raw, list):
            problems.append(f"{key} is not a list; ignored")
            continue
        for item in raw:
            rule, rule_problems = rule_read(item, start=start)
            problems.extend(rule_problems)
            if rule is not None:
                target.append(rule)
    overrides: dict[str, dict[str, Any]] = {}
    raw_overrides = event.get("recurrenceOverrides")
    if isinstance(raw_overrides, dict):
        for key, patch in raw_overrides.items():
            moment = local_parse(key)
            if moment is None or not isinstance(patch, dict):
                problems.append(f"recurrenceOverrides entry {key!r} is not a LocalDateTime with a patch; ignored")
                continue
            overrides[local_format(moment)] = patch
    elif raw_overrides is not None:
        problems.append("recurrenceOverrides is not an object; ignored")
    return _Setting(
        start=start, zone=_zone(event.get("timeZone"), zone=zone, floating_zone=floating_zone, problems=problems),
        duration=duration, rules=tuple(rules), excluded_rules=tuple(excluded), overrides=overrides,
    )


def _merged(iterators: list[Iterator[datetime]]) -> Iterator[datetime]:
    last = None
    for value in heapq.merge(*iterators):
        if value != last:
            last = value
            yield value


def _generated(setting: _Setting, *, lower: datetime | None, upper: datetime | None,
               budget: Budget) -> Iterator[datetime]:
    """Wall-clock starts from the rules (or the lone start), minus the excluded
    rules' ones, from `lower` on (when given), in order."""
    if setting.rules:
        stream = _merged([rule_starts(rule, start=setting.start, lower=lower, upper=upper, budget=budget)
                          for rule in setting.rules])
    else:
        stream = iter([setting.start])
    exclusions = [rule_starts(rule, start=setting.start, lower=lower, upper=upper, budget=budget,
                              include_start=False)
                  for rule in setting.excluded_rules]
    heads: list[datetime | None] = [next(iterator, None) for iterator in exclusions]
    for value in stream:
        if lower is not None and value < lower:
            continue
        dropped = False
        for index, iterator in enumerate(exclusions):
            head = heads[index]
            while head is not None and head < value:
                head = next(iterator, None)
            heads[index] = head
            if head == value:
                dropped = True
        if not dropped:
            yield value


def _placed(setting: _Setting, recurrence_id: datetime, patch: dict[str, Any] | None,
            floating_zone: tzinfo | None, problems: list[str]) -> tuple[datetime, datetime]:
    """UTC start and end of the occurrence `recurrence_id`, moved by `patch`."""
    start, zone, duration = recurrence_id, setting.zone, setting.duration
    if patch:
        if "start" in patch:
            moved = local_parse(patch["start"])
            if moved is None:
                problems.append(f"override {local_format(recurrence_id)} start {patch['start']!r} is invalid; ignored")
            else:
                start = moved
        if "timeZone" in patch:
            zone = _zone(patch["timeZone"], zone=None, floating_zone=floating_zone, problems=problems)
        if "duration" in patch:
            changed = duration_parse(patch["duration"])
            if changed is None:
                problems.append(f"override {local_format(recurrence_id)} duration is invalid; ignored")
            else:
                duration = changed
    utc_start = local_to_utc(start, zone)
    return utc_start, end_of(start, utc_start, duration, zone)


def expansion(event: dict[str, Any], *, after: datetime | None, before: datetime | None, limit: int,
              zone: tzinfo | None = None, floating_zone: tzinfo | None = None,
              budget: int = DEFAULT_BUDGET) -> Expansion:
    """The occurrences of `event` that overlap the UTC window (utc_end > after
    and utc_start < before; a zero-length one at `after` counts; None: open),
    the first `limit` of them by start. `zone` overrides the event's timeZone
    (e.g. a tzinfo built from a VTIMEZONE); `floating_zone` places floating
    times. Never raises on a bad event: it is reported in `problems`."""
    result = Expansion()
    setting = _setting(event, zone=zone, floating_zone=floating_zone, problems=result.problems)
    if setting is None or limit <= 0:
        return result
    after_utc = after.astimezone(UTC) if after is not None else None
    before_utc = before.astimezone(UTC) if before is not None else None

    def in_window(start: datetime, end: datetime) -> bool:
        if before_utc is not None and start >= before_utc:
            return False
        return after_utc is None or end > after_utc or (start == end == after_utc)

    lower = upper = None
    try:
        if after_utc is not None:
            lower = clamp_local(_wall_clock(after_utc, setting.zone, widen=-_ANY_ZONE),
                                -(_ZONE_SLACK + setting.duration.upper_bound()))
        if before_utc is not None:
            upper = clamp_local(_wall_clock(before_utc, setting.zone, widen=_ANY_ZONE), _ZONE_SLACK)
    except OverflowError:
        result.problems.append("the window is outside the representable range")
        return result

    found: list[Occurrence] = []
    # Every override is looked at, wherever the rules would put it: a patch can move an occurrence into the window.
    for key, patch in setting.overrides.items():
        if patch.get("excluded") is True:
            continue
        moment = local_parse(key)
        assert moment is not None
        try:
            utc_start, utc_end = _placed(setting, moment, patch, floating_zone, result.problems)
        except OverflowError:
            result.problems.append(f"override {key} is outside the representable range; ignored")
            continue
        if in_window(utc_start, utc_end):
            found.append(Occurrence(key, utc_start, utc_end, patch))

    spend = Budget(budget)
    generated: list[Occurrence] = []
    try:
        for moment in _generated(setting, lower=lower, upper=upper, budget=spend):
            if upper is not None and moment > upper:
                break
            key = local_format(moment)
            if key in setting.overrides:
                continue
            try:
                utc_start, utc_end = _placed(setting, moment, None, floating_zone, result.problems)
            except OverflowError:
                break
            if in_window(utc_start, utc_end):
                generated.append(Occurrence(key, utc_start, utc_end, None))
                if len(generated) >= limit:
                    result.truncated = True
                    break
    except BudgetExhausted:
        result.truncated = True
        result.problems.append(
            f"recurrence expansion stopped after {budget} steps (a rule that matches rarely or counts very far)"
        )
    found.extend(generated)
    found.sort(key=lambda item: (item.utc_start, item.recurrence_id))
    if len(found) > limit:
        result.truncated = True
        del found[limit:]
    result.occurrences = found
    return result


def occurrences(event: dict[str, Any], *, after: datetime | None, before: datetime | None, limit: int,
                zone: tzinfo | None = None, floating_zone: tzinfo | None = None) -> list[Occurrence]:
    """The occurrences of `event` in the UTC window, at most `limit`, exclusions
    applied (see `expansion`, which also returns what went wrong)."""
    return expansion(event, after=after, before=before, limit=limit, zone=zone,
                     floating_zone=floating_zone).occurrences


def event_is_infinite(event: dict[str, Any]) -> bool:
    """Whether some recurrence rule of `event` has neither count nor until."""
    rules = event.get("recurrenceRules") if isinstance(event, dict) else None
    start = local_parse(event.get("start")) if isinstance(event, dict) else None
    if not isinstance(rules, list) or start is None:
        return False
    for raw in rules:
        rule, _ = rule_read(raw, start=start)
        if rule is not None and rule.is_infinite:
            return True
    return False


def event_span(event: dict[str, Any], *, zone: tzinfo | None = None,
               floating_zone: tzinfo | None = None) -> tuple[datetime | None, datetime | None]:
    """(UTC start of the first occurrence, UTC end of the last) for the cache's
    time-range columns; the end is None when the event recurs for ever or has
    more occurrences than SPAN_OCCURRENCES (so a range query must treat it as
    open), and both are None when the event has no start or no occurrence."""
    first = expansion(event, after=None, before=None, limit=1, zone=zone, floating_zone=floating_zone)
    if not first.occurrences:
        return None, None
    start = first.occurrences[0].utc_start
    if event_is_infinite(event):
        return start, None
    # Rules that end by UNTIL (not COUNT) can skip ahead: the last occurrences lie shortly before the last
    # UNTIL, so that stretch is expanded first, and everything only when nothing is found there.
    tail_from = _last_until(event, zone=zone, floating_zone=floating_zone)
    if tail_from is not None:
        tail = expansion(event, after=tail_from, before=None, limit=SPAN_OCCURRENCES, zone=zone,
                         floating_zone=floating_zone)
        if tail.occurrences and not tail.truncated:
            return start, max(item.utc_end for item in tail.occurrences)
    every = expansion(event, after=None, before=None, limit=SPAN_OCCURRENCES, zone=zone, floating_zone=floating_zone)
    if every.truncated:
        return start, None
    return start, max(item.utc_end for item in every.occurrences)


def _last_until(event: dict[str, Any], *, zone: tzinfo | None, floating_zone: tzinfo | None) -> datetime | None:
    """400 days before the latest UNTIL (UTC) when every rule ends by UNTIL; None otherwise."""
    setting = _setting(event, zone=zone, floating_zone=floating_zone, problems=[])
    if setting is None or not setting.rules or any(rule.until is None for rule in setting.rules):
        return None
    latest = max(rule.until for rule in setting.rules if rule.until is not None)
    try:
        return local_to_utc(latest, setting.zone) - timedelta(days=400)
    except OverflowError:
        return None
