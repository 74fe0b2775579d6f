"""The expander against an independent implementation of RFC 5545 §3.3.10:
python-dateutil's rrule, on random rules (hypothesis).

The two agree by design except where RFC 5545 and dateutil part ways, which
these rules avoid or adjust for:
- DTSTART is always the first occurrence (RFC 5545 §3.8.5.3), while dateutil
  only yields it when it matches the rule: it is prepended to dateutil's list;
- dateutil refuses sub-daily rules whose interval can never meet their
  BYHOUR/BYMINUTE; those have no occurrence but the start;
- BYWEEKNO with a WKST other than Monday: dateutil counts the weeks of the
  year before differently (1994 has 52 Tuesday-weeks, dateutil says 53), so
  week numbers are only drawn with Monday weeks, where they are ISO 8601's;
- a numbered BYDAY beside BYWEEKNO ("special expand for WEEKLY", §3.3.10
  note 2): dateutil counts the nth in the year; such rules are not drawn.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dateutil import rrule as du
from hypothesis import given, settings
from hypothesis import strategies as st

from jmapcore.calendars.jscalendar.recurrence import expansion

_FREQUENCIES = {"yearly": du.YEARLY, "monthly": du.MONTHLY, "weekly": du.WEEKLY, "daily": du.DAILY,
                "hourly": du.HOURLY, "minutely": du.MINUTELY}
_DAYS = ("mo", "tu", "we", "th", "fr", "sa", "su")
_SPAN = {"yearly": 3 * 366, "monthly": 2 * 366, "weekly": 366, "daily": 200, "hourly": 20, "minutely": 1}


@st.composite
def _cases(draw: st.DrawFn) -> tuple[datetime, dict[str, Any], dict[str, Any]]:
    frequency = draw(st.sampled_from(list(_FREQUENCIES)))
    start = datetime(draw(st.integers(1995, 2035)), draw(st.integers(1, 12)), draw(st.integers(1, 28)),
                     draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30])))
    interval = draw(st.integers(1, 4))
    rule: dict[str, Any] = {"frequency": frequency, "interval": interval}
    options: dict[str, Any] = {"dtstart": start, "interval": interval, "wkst": 0}
    # At most two of the date-level parts: more of them mostly make rules that never match, which dateutil
    # (not the expander) takes seconds to find out, year after year up to its UNTIL.
    parts = draw(st.sets(st.sampled_from(["month", "monthday", "weekno", "yearday", "day"]), max_size=2))
    if draw(st.booleans()):
        week_start = draw(st.integers(0, 6))
        rule["firstDayOfWeek"], options["wkst"] = _DAYS[week_start], week_start
    if "month" in parts:
        months = sorted(draw(st.sets(st.integers(1, 12), min_size=1, max_size=4)))
        rule["byMonth"], options["bymonth"] = [str(m) for m in months], months
    if "monthday" in parts:
        days = sorted(draw(st.sets(st.sampled_from([1, 2, 13, 28, 29, 30, 31, -1, -2, -15]), min_size=1,
                                   max_size=3)))
        rule["byMonthDay"], options["bymonthday"] = days, days
    week_numbers = frequency == "yearly" and "weekno" in parts and options["wkst"] == 0
    if week_numbers:
        numbers = sorted(draw(st.sets(st.sampled_from([1, 2, 20, 52, 53, -1]), min_size=1, max_size=2)))
        rule["byWeekNo"], options["byweekno"] = numbers, numbers
    if "yearday" in parts and "month" not in parts:
        year_days = sorted(draw(st.sets(st.sampled_from([1, 60, 100, 365, 366, -1, -100]), min_size=1, max_size=2)))
        rule["byYearDay"], options["byyearday"] = year_days, year_days
    if "day" in parts:
        if frequency in ("monthly", "yearly") and not week_numbers and draw(st.booleans()):
            nth, weekday = draw(st.sampled_from([1, 2, 3, -1, -2])), draw(st.integers(0, 6))
            rule["byDay"] = [{"day": _DAYS[weekday], "nthOfPeriod": nth}]
            options["byweekday"] = [du.weekday(weekday, nth)]
        else:
            weekdays = sorted(draw(st.sets(st.integers(0, 6), min_size=1, max_size=3)))
            rule["byDay"], options["byweekday"] = [{"day": _DAYS[d]} for d in weekdays], weekdays
    if frequency != "minutely" and draw(st.integers(0, 3)) == 0:
        hours = sorted(draw(st.sets(st.integers(0, 23), min_size=1, max_size=3)))
        rule["byHour"], options["byhour"] = hours, hours
    if draw(st.integers(0, 3)) == 0:
        minutes = sorted(draw(st.sets(st.sampled_from([0, 10, 45]), min_size=1, max_size=2)))
        rule["byMinute"], options["byminute"] = minutes, minutes
    if draw(st.integers(0, 3)) == 0:
        # 1 and -1 exist in every non-empty set (a position past a set's end is what makes dateutil crawl).
        positions = sorted(draw(st.sets(st.sampled_from([1, -1]), min_size=1, max_size=2)))
        rule["bySetPosition"], options["bysetpos"] = positions, positions
    if draw(st.integers(0, 3)) == 0:
        until = start + timedelta(days=draw(st.integers(0, _SPAN[frequency])), hours=draw(st.integers(0, 23)))
        rule["until"], options["until"] = until.isoformat(), until
    return start, rule, options


@settings(max_examples=200, deadline=None)
@given(case=_cases())
def test_the_expander_agrees_with_dateutil(case: tuple[datetime, dict[str, Any], dict[str, Any]]) -> None:
    start, rule, options = case
    end = start + timedelta(days=_SPAN[rule["frequency"]])
    # dateutil looks for a next match until year 9999 when there is none: its own UNTIL stops it at the window.
    bounded = {**options, "until": min(options.get("until", end), end)}
    try:
        expected = list(du.rrule(_FREQUENCIES[rule["frequency"]], **bounded))
    except ValueError:
        # dateutil refuses some rules that can never match (INTERVAL=2;BYHOUR=1 from an even hour).
        expected = []
    if not expected or expected[0] != start:
        expected.insert(0, start)
    event = {"start": start.isoformat(), "timeZone": None, "recurrenceRules": [rule]}
    found = expansion(event, after=None, before=end.replace(tzinfo=UTC) + timedelta(seconds=1), limit=100_000)
    assert found.problems == []
    assert [datetime.fromisoformat(item.recurrence_id) for item in found.occurrences] == expected
