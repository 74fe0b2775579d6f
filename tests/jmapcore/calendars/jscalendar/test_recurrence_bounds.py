"""Hostile recurrence rules (mallory's) stay bounded: the work an expansion
does grows with its window and limit, not with what the rule asks for.

Each test grows the input 16-fold in a fresh interpreter (tests/linear_run.py):
an expansion that walked every second since the start, or built a period's
set of millions, would not finish inside the child's timeout. Nothing here
measures time; the results are checked for what they must contain.
"""
from __future__ import annotations

from datetime import UTC, datetime

from jmapcore.calendars.jscalendar.recurrence import expansion
from tests.linear_run import sizes_run

_SETUP = """
from datetime import UTC, datetime, timedelta
from jmapcore.calendars.jscalendar.recurrence import expansion
"""


def test_secondly_without_end_far_from_its_start() -> None:
    """FREQ=SECONDLY from 1900, asked about a window n minutes long in 2150."""
    summaries = sizes_run(_SETUP + """
def make(n):
    return n
def run(n):
    event = {"start": "1900-01-01T00:00:00", "timeZone": "Europe/Berlin",
             "recurrenceRules": [{"frequency": "secondly"}]}
    after = datetime(2150, 1, 1, tzinfo=UTC)
    found = expansion(event, after=after, before=after + timedelta(minutes=n), limit=10**9)
    assert not found.truncated, found.problems
    return found.occurrences
""", base=20, what="secondly expansion")
    assert summaries == ["list:1200", "list:19200"]


def test_a_rule_that_never_matches_stops_with_a_problem() -> None:
    """FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30: no such day; whole days are skipped, then the budget ends it."""
    event = {"start": "2026-01-01T00:00:00", "timeZone": None,
             "recurrenceRules": [{"frequency": "secondly", "byMonth": ["2"], "byMonthDay": [30]}]}
    found = expansion(event, after=datetime(2026, 1, 2, tzinfo=UTC), before=None, limit=10)
    assert found.occurrences == []
    assert found.truncated and any("stopped" in problem for problem in found.problems)


def test_huge_count_is_cut_by_the_budget() -> None:
    """COUNT=10**9 cannot skip ahead (every occurrence before the window counts): the walk is capped."""
    summaries = sizes_run(_SETUP + """
def make(n):
    return n
def run(n):
    event = {"start": "2000-01-01T00:00:00", "timeZone": "UTC",
             "recurrenceRules": [{"frequency": "secondly", "count": 10**9}]}
    after = datetime(2100, 1, 1, tzinfo=UTC)
    found = expansion(event, after=after, before=after + timedelta(days=n), limit=10)
    assert found.truncated and found.problems
    return found.occurrences
""", base=10, what="COUNT=10**9 expansion")
    assert summaries == ["list:0", "list:0"]


def test_set_position_over_a_huge_yearly_set() -> None:
    """Every second of every day of a year, BYSETPOS picks a few: the set is indexed, not built."""
    summaries = sizes_run(_SETUP + """
def make(n):
    return n
def run(n):
    rule = {"frequency": "yearly", "byMonth": [str(m) for m in range(1, 13)],
            "byDay": [{"day": d} for d in ("mo", "tu", "we", "th", "fr", "sa", "su")],
            "byHour": list(range(24)), "byMinute": list(range(60)), "bySecond": list(range(60)),
            "bySetPosition": [1, 2, -1, -10**6]}
    event = {"start": "2000-01-01T00:00:00", "timeZone": "UTC", "recurrenceRules": [rule]}
    found = expansion(event, after=None, before=datetime(2000 + n, 1, 1, tzinfo=UTC), limit=10**6)
    assert not found.truncated, found.problems
    return found.occurrences
""", base=2, what="BYSETPOS expansion")
    assert summaries == ["list:8", "list:128"]


def test_set_position_picks_the_right_elements_of_the_huge_set() -> None:
    rule = {"frequency": "yearly", "byMonth": [str(m) for m in range(1, 13)],
            "byDay": [{"day": d} for d in ("mo", "tu", "we", "th", "fr", "sa", "su")],
            "byHour": list(range(24)), "byMinute": list(range(60)), "bySecond": list(range(60)),
            "bySetPosition": [2, -1]}
    event = {"start": "2026-01-01T00:00:00", "timeZone": "UTC", "recurrenceRules": [rule]}
    found = expansion(event, after=None, before=datetime(2027, 1, 1, tzinfo=UTC), limit=10)
    assert [o.recurrence_id for o in found.occurrences] == [
        "2026-01-01T00:00:00", "2026-01-01T00:00:01", "2026-12-31T23:59:59"]


def test_many_exclusion_rules_and_overrides_stay_bounded() -> None:
    summaries = sizes_run(_SETUP + """
def make(n):
    overrides = {f"{(datetime(2026, 1, 1) + timedelta(days=i)).isoformat()}": {"excluded": True}
                 for i in range(0, 2 * n, 2)}
    return {"start": "2026-01-01T00:00:00", "timeZone": "UTC", "recurrenceRules": [{"frequency": "daily"}],
            "excludedRecurrenceRules": [{"frequency": "daily", "interval": 7}],
            "recurrenceOverrides": overrides}
def run(event):
    n = len(event["recurrenceOverrides"])
    found = expansion(event, after=datetime(2026, 1, 1, tzinfo=UTC),
                      before=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=2 * n), limit=10**6)
    return found.occurrences
""", base=500, what="overrides expansion")
    # Of 2n days, the even ones are excluded by overrides, every 7th by the rule: odd days not divisible by 7.
    assert summaries == [f"list:{sum(1 for d in range(1000) if d % 2 and d % 7)}",
                         f"list:{sum(1 for d in range(16000) if d % 2 and d % 7)}"]


def test_a_window_at_the_end_of_time_does_not_overflow() -> None:
    event = {"start": "9999-12-30T00:00:00", "timeZone": "Pacific/Kiritimati", "duration": "P400D",
             "recurrenceRules": [{"frequency": "hourly"}]}
    found = expansion(event, after=datetime(9999, 12, 30, tzinfo=UTC), before=None, limit=100)
    assert len(found.occurrences) <= 100
