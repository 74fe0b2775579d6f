"""One JSCalendar RecurrenceRule (RFC 8984 §4.3.3) expanded into wall-clock start times.

The rule semantics are RFC 5545 §3.3.10's RRULE: FREQ from SECONDLY to YEARLY,
INTERVAL, COUNT or UNTIL, the BYxxx parts (each one expands or limits as the
table in §3.3.10 says), BYSETPOS over each period's set, and WKST. Only the
Gregorian calendar is expanded (RFC 7529 rscale); skip "omit" is RFC 5545's own
rule that invalid dates (February 30, the 31st of a 30-day month) are ignored,
and "backward"/"forward" move such a date to the month's last day or the next
month's first one (RFC 7529 §4.2).

Expansion walks the rule period by period (a year, a month, a week, a day, an
hour, ...). Inside a period the candidate set is days x times with both
factors sorted, so its n-th element (BYSETPOS) is found by division, never by
building a set of millions. A rule without COUNT skips straight to the period
containing the window's start; sub-daily rules skip whole days, hours and
minutes that their BYxxx limits exclude. Everything is charged to a `Budget`,
so a rule that matches nothing (FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30) or counts
to 10**9 stops after a bounded amount of work and says so.
"""
from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from jmapcore.calendars.jscalendar.local_time import local_parse

FREQUENCIES = ("yearly", "monthly", "weekly", "daily", "hourly", "minutely", "secondly")
WEEKDAYS = ("mo", "tu", "we", "th", "fr", "sa", "su")
_SUB_DAILY_SECONDS = {"hourly": 3600, "minutely": 60, "secondly": 1}
# Work units one expansion may spend (periods looked at plus candidates produced);
# about a second of CPU here, far beyond any real calendar's needs.
DEFAULT_BUDGET = 400_000


class BudgetExhausted(Exception):
    """Raised inside expansion when its Budget runs out; callers catch it and report."""


@dataclass
class Budget:
    """Work left for one expansion; shared by every rule of an event."""

    left: int = DEFAULT_BUDGET

    def spend(self, units: int = 1) -> None:
        self.left -= units
        if self.left < 0:
            raise BudgetExhausted


@dataclass(frozen=True)
class Rule:
    """A validated RecurrenceRule with RFC 5545's defaults filled in from the start."""

    frequency: str
    interval: int
    count: int | None
    until: datetime | None
    week_start: int
    skip: str
    by_month: frozenset[int] | None
    by_week_no: tuple[int, ...] | None
    by_year_day: tuple[int, ...] | None
    by_month_day: tuple[int, ...] | None
    by_weekday: frozenset[int]                 # plain weekdays (0 = Monday)
    by_nth_weekday: tuple[tuple[int, int], ...]  # (nth, weekday)
    has_by_day: bool
    hours: tuple[int, ...]
    minutes: tuple[int, ...]
    seconds: tuple[int, ...]
    by_hour: frozenset[int] | None
    by_minute: frozenset[int] | None
    by_second: frozenset[int] | None
    by_set_position: tuple[int, ...] | None
    problems: tuple[str, ...] = field(default=())

    @property
    def is_infinite(self) -> bool:
        return self.count is None and self.until is None


def _int_list(value: Any, name: str, low: int, high: int, problems: list[str], *, signed: bool) -> list[int] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        problems.append(f"{name} is not a non-empty list of numbers; ignored")
        return None
    kept = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int):
            problems.append(f"{name} holds {item!r}, not a number; ignored")
            continue
        if not (low <= abs(item) <= high) if signed else not (low <= item <= high):
            problems.append(f"{name} value {item} is out of range; ignored")
            continue
        kept.append(item)
    return kept or None


def rule_read(raw: Any, *, start: datetime) -> tuple[Rule | None, list[str]]:
    """The Rule of a JSCalendar RecurrenceRule object for an event starting at
    `start` (wall clock), or None with the reasons when it cannot be expanded.

    Parts that are wrong but not essential (an out-of-range BYMONTHDAY value)
    are dropped with a problem; an unknown frequency or rscale makes the whole
    rule unusable.
    """
    problems: list[str] = []
    if not isinstance(raw, dict):
        return None, ["a recurrence rule is not an object"]
    frequency = raw.get("frequency")
    frequency = frequency.lower() if isinstance(frequency, str) else frequency
    if frequency not in FREQUENCIES:
        return None, [f"recurrence frequency {frequency!r} is unknown"]
    rscale = raw.get("rscale", "gregorian")
    if not isinstance(rscale, str) or rscale.lower() != "gregorian":
        return None, [f"recurrence rscale {rscale!r} is not supported (only gregorian)"]
    interval = raw.get("interval", 1)
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
        problems.append(f"recurrence interval {interval!r} is invalid; 1 used")
        interval = 1
    count = raw.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        problems.append(f"recurrence count {count!r} is invalid; ignored")
        count = None
    until = None
    if raw.get("until") is not None:
        until = local_parse(raw.get("until"))
        if until is None:
            problems.append(f"recurrence until {raw.get('until')!r} is not a LocalDateTime; ignored")
    if count is not None and until is not None:
        problems.append("recurrence rule has both count and until; until ignored (RFC 5545 §3.3.10)")
        until = None
    week_start_name = raw.get("firstDayOfWeek", "mo")
    week_start_name = week_start_name.lower() if isinstance(week_start_name, str) else week_start_name
    if week_start_name not in WEEKDAYS:
        problems.append(f"recurrence firstDayOfWeek {week_start_name!r} is invalid; Monday used")
        week_start_name = "mo"
    skip = raw.get("skip", "omit")
    if skip not in ("omit", "backward", "forward"):
        problems.append(f"recurrence skip {skip!r} is invalid; omit used")
        skip = "omit"

    by_month = None
    if raw.get("byMonth") is not None:
        months = raw.get("byMonth")
        kept_months = []
        for item in months if isinstance(months, list) else [months]:
            text = str(item)
            if text.isdigit() and 1 <= int(text) <= 12:
                kept_months.append(int(text))
            else:
                problems.append(f"byMonth value {item!r} is not a Gregorian month; ignored")
        by_month = frozenset(kept_months) if kept_months else None
        if by_month is None:
            return None, [*problems, "byMonth names no month; the rule matches nothing"]
    by_week_no = _int_list(raw.get("byWeekNo"), "byWeekNo", 1, 53, problems, signed=True)
    by_year_day = _int_list(raw.get("byYearDay"), "byYearDay", 1, 366, problems, signed=True)
    by_month_day = _int_list(raw.get("byMonthDay"), "byMonthDay", 1, 31, problems, signed=True)
    by_hour = _int_list(raw.get("byHour"), "byHour", 0, 23, problems, signed=False)
    by_minute = _int_list(raw.get("byMinute"), "byMinute", 0, 59, problems, signed=False)
    # 60 is a leap second (RFC 5545 §3.3.10); a datetime cannot hold it, so it is dropped.
    by_second = _int_list(raw.get("bySecond"), "bySecond", 0, 59, problems, signed=False)
    by_set_position = _int_list(raw.get("bySetPosition"), "bySetPosition", 1, 10**9, problems, signed=True)

    plain_days: set[int] = set()
    nth_days: list[tuple[int, int]] = []
    raw_days = raw.get("byDay")
    if raw_days is not None:
        for item in raw_days if isinstance(raw_days, list) else [raw_days]:
            day = item.get("day") if isinstance(item, dict) else None
            day = day.lower() if isinstance(day, str) else day
            if day not in WEEKDAYS:
                problems.append(f"byDay entry {item!r} names no weekday; ignored")
                continue
            nth = item.get("nthOfPeriod")
            if nth is None:
                plain_days.add(WEEKDAYS.index(day))
            elif isinstance(nth, bool) or not isinstance(nth, int) or nth == 0 or abs(nth) > 53:
                problems.append(f"byDay nthOfPeriod {nth!r} is invalid; ignored")
            elif frequency not in ("monthly", "yearly"):
                # RFC 5545 §3.3.10: a numbered BYDAY only makes sense per month or year.
                problems.append(f"byDay nthOfPeriod is not allowed with frequency {frequency}; read as every {day}")
                plain_days.add(WEEKDAYS.index(day))
            else:
                nth_days.append((nth, WEEKDAYS.index(day)))
    has_by_day = bool(plain_days or nth_days)
    if raw_days is not None and not has_by_day:
        return None, [*problems, "byDay names no weekday; the rule matches nothing"]

    # RFC 5545 §3.3.10: what the rule does not say comes from DTSTART.
    if not (by_week_no or by_year_day or by_month_day or has_by_day):
        if frequency == "yearly":
            if by_month is None:
                by_month = frozenset({start.month})
            by_month_day = [start.day]
        elif frequency == "monthly":
            by_month_day = [start.day]
        elif frequency == "weekly":
            plain_days = {start.weekday()}
            has_by_day = True
    hours = tuple(sorted(set(by_hour))) if by_hour else (start.hour,)
    minutes = tuple(sorted(set(by_minute))) if by_minute else (start.minute,)
    seconds = tuple(sorted(set(by_second))) if by_second else (start.second,)
    return Rule(
        frequency=frequency, interval=interval, count=count, until=until,
        week_start=WEEKDAYS.index(week_start_name), skip=skip,
        by_month=by_month,
        by_week_no=tuple(by_week_no) if by_week_no else None,
        by_year_day=tuple(by_year_day) if by_year_day else None,
        by_month_day=tuple(by_month_day) if by_month_day else None,
        by_weekday=frozenset(plain_days), by_nth_weekday=tuple(nth_days), has_by_day=has_by_day,
        hours=hours, minutes=minutes, seconds=seconds,
        by_hour=frozenset(by_hour) if by_hour else None,
        by_minute=frozenset(by_minute) if by_minute else None,
        by_second=frozenset(by_second) if by_second else None,
        by_set_position=tuple(by_set_position) if by_set_position else None,
        problems=tuple(problems),
    ), problems


# --- the day filter ---------------------------------------------------------------------------------------------

def _week1_start(year: int, week_start: int) -> date:
    """First day of week 1 of `year`: the first week with at least four days in the year (RFC 5545 §3.3.10 BYWEEKNO)."""
    jan1 = date(year, 1, 1)
    back = (jan1.weekday() - week_start) % 7
    first = jan1 - timedelta(days=back)
    return first if 7 - back >= 4 else first + timedelta(days=7)


def _week_number(day: date, week_start: int) -> tuple[int, int]:
    """(week number, weeks in that week's year) of `day`, weeks starting on `week_start`."""
    year = day.year
    if year < 9999 and day >= _week1_start(year + 1, week_start):
        year += 1
    elif year > 1 and day < _week1_start(year, week_start):
        year -= 1
    start = _week1_start(year, week_start)
    following = _week1_start(year + 1, week_start) if year < 9999 else start + timedelta(days=364)
    return (day - start).days // 7 + 1, (following - start).days // 7


def _nth_matches(rule: Rule, day: date, *, per_month: bool) -> bool:
    for nth, weekday in rule.by_nth_weekday:
        if day.weekday() != weekday:
            continue
        if per_month:
            position, length = day.day, calendar.monthrange(day.year, day.month)[1]
        else:
            position, length = day.timetuple().tm_yday, 366 if calendar.isleap(day.year) else 365
        if nth > 0 and (position - 1) // 7 + 1 == nth:
            return True
        if nth < 0 and (length - position) // 7 + 1 == -nth:
            return True
    return False


def _day_matches(rule: Rule, day: date) -> bool:
    """Whether `day` passes every date-level BYxxx part, as expansion or limit
    alike: filtering all days of the period is what the expand/limit table
    amounts to once the defaults from DTSTART are in place."""
    if rule.by_month is not None and day.month not in rule.by_month:
        return False
    if rule.by_week_no is not None:
        number, weeks = _week_number(day, rule.week_start)
        if not any(n == number or n == number - weeks - 1 for n in rule.by_week_no):
            return False
    if rule.by_year_day is not None:
        yday = day.timetuple().tm_yday
        length = 366 if calendar.isleap(day.year) else 365
        if not any(n == yday or n == yday - length - 1 for n in rule.by_year_day):
            return False
    if rule.by_month_day is not None:
        length = calendar.monthrange(day.year, day.month)[1]
        if not any(n == day.day or n == day.day - length - 1 for n in rule.by_month_day):
            return False
    if rule.has_by_day and day.weekday() not in rule.by_weekday:
        if not rule.by_nth_weekday:
            return False
        # The nth is counted in the month for MONTHLY, and for YEARLY with BYMONTH (RFC 5545 §3.3.10 note 2);
        # with BYWEEKNO it only names the weekday.
        if rule.frequency == "yearly" and rule.by_week_no is not None:
            if day.weekday() not in {weekday for _, weekday in rule.by_nth_weekday}:
                return False
        elif not _nth_matches(rule, day, per_month=rule.frequency == "monthly" or rule.by_month is not None):
            return False
    return True


def _skipped_days(rule: Rule, first: date, last: date) -> list[date]:
    """RFC 7529 §4.2 skip backward/forward: BYMONTHDAY values past a month's end
    move to that month's last day or to the next month's first day."""
    if rule.skip == "omit" or rule.by_month_day is None:
        return []
    moved = []
    year, month = first.year, first.month
    while date(year, month, 1) <= last:
        length = calendar.monthrange(year, month)[1]
        if any(n > length for n in rule.by_month_day):
            if rule.skip == "backward":
                moved.append(date(year, month, length))
            elif (year, month) < (9999, 12):
                moved.append(date(year, month, length) + timedelta(days=1))
        if (year, month) == (9999, 12):
            break
        year, month = _add_months(year, month, 1)
    return moved


def _period_days(rule: Rule, first: date, length: int, budget: Budget) -> list[date]:
    if rule.frequency == "yearly" and rule.by_month is not None and rule.by_week_no is None \
            and rule.by_year_day is None and rule.skip == "omit":
        # Only the chosen months can hold a match: look at their days, not the whole year's.
        spans = [(date(first.year, month, 1), calendar.monthrange(first.year, month)[1])
                 for month in sorted(rule.by_month)]
    else:
        spans = [(first, length)]
    days: list[date] = []
    for span_first, span_length in spans:
        budget.spend(span_length)
        days.extend(span_first + timedelta(days=i) for i in range(span_length)
                    if _day_matches(rule, span_first + timedelta(days=i)))
    if rule.skip != "omit":
        last = first + timedelta(days=length - 1)
        extra = [d for d in _skipped_days(rule, first, last) if d not in days and _day_matches_but_month_day(rule, d)]
        days = sorted(set(days) | set(extra))
    return days


def _day_matches_but_month_day(rule: Rule, day: date) -> bool:
    return _day_matches(replace(rule, by_month_day=None), day)


# --- periods ------------------------------------------------------------------------------------------------------

def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def _times(rule: Rule) -> list[time]:
    return [time(h, m, s) for h in rule.hours for m in rule.minutes for s in rule.seconds]


def _nth_of_product(days: list[date], times: list[time], position: int) -> datetime | None:
    """Element `position` (1-based, negative from the end) of sorted days x times, or None."""
    size = len(days) * len(times)
    index = position - 1 if position > 0 else size + position
    if not 0 <= index < size:
        return None
    day_index, time_index = divmod(index, len(times))
    return datetime.combine(days[day_index], times[time_index])


def _daily_or_longer(rule: Rule, start: datetime, first_period: int, budget: Budget,
                     last: datetime | None) -> Iterator[datetime]:
    """Candidates (sorted, possibly before `start`) of periods first_period, first_period + 1, ...
    up to the period that begins after `last`."""
    times = _times(rule)
    period = first_period
    while True:
        budget.spend()
        offset = period * rule.interval
        try:
            if rule.frequency == "yearly":
                year = start.year + offset
                if year > 9999:
                    return
                first, length = date(year, 1, 1), 366 if calendar.isleap(year) else 365
            elif rule.frequency == "monthly":
                year, month = _add_months(start.year, start.month, offset)
                if year > 9999:
                    return
                first, length = date(year, month, 1), calendar.monthrange(year, month)[1]
            elif rule.frequency == "weekly":
                week = start.date() - timedelta(days=(start.weekday() - rule.week_start) % 7)
                first, length = week + timedelta(days=7 * offset), 7
            else:
                first, length = start.date() + timedelta(days=offset), 1
        except OverflowError:
            return
        if last is not None and first > last.date():
            return
        if first.year == 9999 and length > 1:
            length = min(length, (date(9999, 12, 31) - first).days + 1)
        days = _period_days(rule, first, length, budget)
        period += 1
        if not days:
            continue
        if rule.by_set_position is not None:
            chosen = {_nth_of_product(days, times, p) for p in rule.by_set_position}
            for value in sorted(c for c in chosen if c is not None):
                budget.spend()
                yield value
            continue
        for day in days:
            for moment in times:
                budget.spend()
                yield datetime.combine(day, moment)


def _sub_daily(rule: Rule, start: datetime, first_step: int, budget: Budget,
               last: datetime | None) -> Iterator[datetime]:
    """HOURLY/MINUTELY/SECONDLY candidates: each period is one hour/minute/second
    of the wall clock; whole days, hours and minutes that the limits exclude are
    jumped over rather than visited one period at a time."""
    unit = _SUB_DAILY_SECONDS[rule.frequency]
    step_seconds = unit * rule.interval
    if rule.frequency == "hourly":
        base = start.replace(minute=0, second=0)
    elif rule.frequency == "minutely":
        base = start.replace(second=0)
    else:
        base = start
    step = first_step
    day_ok: dict[date, bool] = {}

    def jump_to(moment: datetime) -> int:
        # the first step whose period starts at or after `moment`
        return -(-int((moment - base).total_seconds()) // step_seconds)

    while True:
        budget.spend()
        try:
            period = base + timedelta(seconds=step * step_seconds)
        except OverflowError:
            return
        if last is not None and period > last:
            return
        day = period.date()
        if day not in day_ok:
            if len(day_ok) > 64:
                day_ok.clear()
            day_ok[day] = _day_matches(rule, day)
        if not day_ok[day]:
            try:
                step = max(step + 1, jump_to(datetime.combine(day + timedelta(days=1), time())))
            except OverflowError:
                return
            continue
        if rule.by_hour is not None and period.hour not in rule.by_hour:
            step = max(step + 1, jump_to(period.replace(minute=0, second=0) + timedelta(hours=1)))
            continue
        if rule.frequency != "hourly" and rule.by_minute is not None and period.minute not in rule.by_minute:
            step = max(step + 1, jump_to(period.replace(second=0) + timedelta(minutes=1)))
            continue
        if rule.frequency == "secondly" and rule.by_second is not None and period.second not in rule.by_second:
            step += 1
            continue
        step += 1
        if rule.frequency == "hourly":
            candidates = [period.replace(minute=m, second=s) for m in rule.minutes for s in rule.seconds]
        elif rule.frequency == "minutely":
            candidates = [period.replace(second=s) for s in rule.seconds]
        else:
            candidates = [period]
        if rule.by_set_position is not None:
            picked = set()
            for position in rule.by_set_position:
                index = position - 1 if position > 0 else len(candidates) + position
                if 0 <= index < len(candidates):
                    picked.add(candidates[index])
            candidates = sorted(picked)
        for candidate in candidates:
            budget.spend()
            yield candidate


def _first_period(rule: Rule, start: datetime, lower: datetime) -> int:
    """The index of the period that holds wall-clock time `lower` (0 when it is before the start)."""
    if lower <= start:
        return 0
    if rule.frequency == "yearly":
        units = lower.year - start.year
    elif rule.frequency == "monthly":
        units = (lower.year - start.year) * 12 + lower.month - start.month
    elif rule.frequency == "weekly":
        week = start.date() - timedelta(days=(start.weekday() - rule.week_start) % 7)
        units = (lower.date() - week).days // 7
    elif rule.frequency == "daily":
        units = (lower.date() - start.date()).days
    else:
        unit = _SUB_DAILY_SECONDS[rule.frequency]
        base = start.replace(minute=0, second=0) if unit == 3600 else start.replace(second=0) if unit == 60 else start
        units = int((lower - base).total_seconds()) // unit
    return max(units // rule.interval, 0)


def rule_starts(rule: Rule, *, start: datetime, lower: datetime | None, budget: Budget,
                include_start: bool = True, upper: datetime | None = None) -> Iterator[datetime]:
    """The wall-clock starts `rule` generates from `start`, in order, without
    duplicates: the start itself first (RFC 5545 §3.8.5.3: DTSTART is always the
    first instance and counts towards COUNT), then every candidate after it up
    to COUNT or UNTIL (inclusive).

    `lower`: the caller wants nothing before this wall-clock time; a rule
    without COUNT then begins at the period that holds it. `upper`: nothing
    after this is wanted, so the walk ends at the first period beginning
    later (even if the rule matches nothing, as a quarterly rule limited to
    a month it never reaches). Raises BudgetExhausted when `budget` runs out.
    """
    emitted = 0
    first_period = 0
    skipping = lower is not None and rule.count is None and lower > start
    if skipping and lower is not None:
        first_period = _first_period(rule, start, lower)
    if include_start and first_period == 0:
        yield start
        emitted = 1
    last = min(upper, rule.until) if upper is not None and rule.until is not None else upper or rule.until
    if rule.frequency in _SUB_DAILY_SECONDS:
        candidates = _sub_daily(rule, start, first_period, budget, last)
    else:
        candidates = _daily_or_longer(rule, start, first_period, budget, last)
    for candidate in candidates:
        if candidate < start or (candidate == start and emitted):
            continue
        if rule.until is not None and candidate > rule.until:
            return
        if rule.count is not None and emitted >= rule.count:
            return
        emitted += 1
        yield candidate
