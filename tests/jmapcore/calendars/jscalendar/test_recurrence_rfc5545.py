"""Every example of RFC 5545 §3.8.5.3 (RRULE), written as JSCalendar
recurrenceRules (RFC 8984 §4.3.3) and expanded by jscalendar.recurrence.

The events are alice's, in America/New_York as in the RFC. UNTIL values given
in UTC by the RFC are written as the New York wall-clock times they denote,
because a JSCalendar `until` is a LocalDateTime in the event's time zone.
Expected values are the RFC's own lists (the first ones, for rules that recur
for ever).
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from jmapcore.calendars.jscalendar.recurrence import expansion

ZONE = "America/New_York"
FAR = datetime(2010, 1, 1, tzinfo=UTC)


def _day(name: str) -> dict[str, Any]:
    return {"@type": "NDay", "day": name}


def _nth(nth: int, name: str) -> dict[str, Any]:
    return {"@type": "NDay", "day": name, "nthOfPeriod": nth}


def _starts(start: str, rule: dict[str, Any], *, limit: int, excluded: list[str] | None = None) -> list[str]:
    """alice's event starting at `start` (New York) with `rule`: the first `limit` occurrence starts."""
    event: dict[str, Any] = {"@type": "Event", "start": start, "timeZone": ZONE, "duration": "PT1H",
                             "recurrenceRules": [{"@type": "RecurrenceRule", **rule}]}
    if excluded:
        event["recurrenceOverrides"] = {key: {"excluded": True} for key in excluded}
    found = expansion(event, after=None, before=FAR, limit=limit)
    assert found.problems == []
    return [item.recurrence_id for item in found.occurrences]


def _at(day_list: str, clock: str = "09:00:00") -> list[str]:
    """'1997-09-02 1997-09-03' -> LocalDateTimes at `clock`."""
    return [f"{day}T{clock}" for day in day_list.split()]


def test_daily_for_10_occurrences() -> None:
    assert _starts("1997-09-02T09:00:00", {"frequency": "daily", "count": 10}, limit=100) == _at(
        "1997-09-02 1997-09-03 1997-09-04 1997-09-05 1997-09-06 1997-09-07 1997-09-08 1997-09-09 1997-09-10 "
        "1997-09-11")


def test_daily_until_december_24_1997() -> None:
    found = _starts("1997-09-02T09:00:00", {"frequency": "daily", "until": "1997-12-23T19:00:00"}, limit=1000)
    assert len(found) == 113
    assert found[0] == "1997-09-02T09:00:00" and found[-1] == "1997-12-23T09:00:00"


def test_daily_until_keeps_nine_oclock_across_the_dst_change() -> None:
    event = {"start": "1997-09-02T09:00:00", "timeZone": ZONE, "duration": "PT1H",
             "recurrenceRules": [{"frequency": "daily", "until": "1997-12-23T19:00:00"}]}
    found = expansion(event, after=None, before=FAR, limit=1000).occurrences
    by_id = {item.recurrence_id: item for item in found}
    # EDT (UTC-4) before 26 October 1997, EST (UTC-5) after it
    assert by_id["1997-10-25T09:00:00"].utc_start == datetime(1997, 10, 25, 13, tzinfo=UTC)
    assert by_id["1997-10-27T09:00:00"].utc_start == datetime(1997, 10, 27, 14, tzinfo=UTC)


def test_every_other_day_forever() -> None:
    assert _starts("1997-09-02T09:00:00", {"frequency": "daily", "interval": 2}, limit=6) == _at(
        "1997-09-02 1997-09-04 1997-09-06 1997-09-08 1997-09-10 1997-09-12")


def test_every_10_days_5_occurrences() -> None:
    assert _starts("1997-09-02T09:00:00", {"frequency": "daily", "interval": 10, "count": 5}, limit=100) == _at(
        "1997-09-02 1997-09-12 1997-09-22 1997-10-02 1997-10-12")


JANUARY = [f"{year}-01-{day:02d}T09:00:00" for year in (1998, 1999, 2000) for day in range(1, 32)]


def test_every_day_in_january_for_3_years_yearly_form() -> None:
    rule = {"frequency": "yearly", "until": "2000-01-31T09:00:00", "byMonth": ["1"],
            "byDay": [_day(d) for d in ("su", "mo", "tu", "we", "th", "fr", "sa")]}
    assert _starts("1998-01-01T09:00:00", rule, limit=1000) == JANUARY


def test_every_day_in_january_for_3_years_daily_form() -> None:
    rule = {"frequency": "daily", "until": "2000-01-31T09:00:00", "byMonth": ["1"]}
    assert _starts("1998-01-01T09:00:00", rule, limit=1000) == JANUARY


def test_weekly_for_10_occurrences() -> None:
    assert _starts("1997-09-02T09:00:00", {"frequency": "weekly", "count": 10}, limit=100) == _at(
        "1997-09-02 1997-09-09 1997-09-16 1997-09-23 1997-09-30 1997-10-07 1997-10-14 1997-10-21 1997-10-28 "
        "1997-11-04")


def test_weekly_until_december_24_1997() -> None:
    assert _starts("1997-09-02T09:00:00", {"frequency": "weekly", "until": "1997-12-23T19:00:00"}, limit=100) == _at(
        "1997-09-02 1997-09-09 1997-09-16 1997-09-23 1997-09-30 1997-10-07 1997-10-14 1997-10-21 1997-10-28 "
        "1997-11-04 1997-11-11 1997-11-18 1997-11-25 1997-12-02 1997-12-09 1997-12-16 1997-12-23")


def test_every_other_week_forever() -> None:
    rule = {"frequency": "weekly", "interval": 2, "firstDayOfWeek": "su"}
    assert _starts("1997-09-02T09:00:00", rule, limit=13) == _at(
        "1997-09-02 1997-09-16 1997-09-30 1997-10-14 1997-10-28 1997-11-11 1997-11-25 1997-12-09 1997-12-23 "
        "1998-01-06 1998-01-20 1998-02-03 1998-02-17")


TUESDAYS_THURSDAYS = _at("1997-09-02 1997-09-04 1997-09-09 1997-09-11 1997-09-16 1997-09-18 1997-09-23 1997-09-25 "
                         "1997-09-30 1997-10-02")


def test_weekly_on_tuesday_and_thursday_for_five_weeks_until_form() -> None:
    rule = {"frequency": "weekly", "until": "1997-10-06T20:00:00", "firstDayOfWeek": "su",
            "byDay": [_day("tu"), _day("th")]}
    assert _starts("1997-09-02T09:00:00", rule, limit=100) == TUESDAYS_THURSDAYS


def test_weekly_on_tuesday_and_thursday_for_five_weeks_count_form() -> None:
    rule = {"frequency": "weekly", "count": 10, "firstDayOfWeek": "su", "byDay": [_day("tu"), _day("th")]}
    assert _starts("1997-09-02T09:00:00", rule, limit=100) == TUESDAYS_THURSDAYS


def test_every_other_week_on_monday_wednesday_friday_until_december_24() -> None:
    rule = {"frequency": "weekly", "interval": 2, "until": "1997-12-23T19:00:00", "firstDayOfWeek": "su",
            "byDay": [_day("mo"), _day("we"), _day("fr")]}
    assert _starts("1997-09-01T09:00:00", rule, limit=100) == _at(
        "1997-09-01 1997-09-03 1997-09-05 1997-09-15 1997-09-17 1997-09-19 1997-09-29 1997-10-01 1997-10-03 "
        "1997-10-13 1997-10-15 1997-10-17 1997-10-27 1997-10-29 1997-10-31 1997-11-10 1997-11-12 1997-11-14 "
        "1997-11-24 1997-11-26 1997-11-28 1997-12-08 1997-12-10 1997-12-12 1997-12-22")


def test_every_other_week_on_tuesday_and_thursday_for_8_occurrences() -> None:
    rule = {"frequency": "weekly", "interval": 2, "count": 8, "firstDayOfWeek": "su",
            "byDay": [_day("tu"), _day("th")]}
    assert _starts("1997-09-02T09:00:00", rule, limit=100) == _at(
        "1997-09-02 1997-09-04 1997-09-16 1997-09-18 1997-09-30 1997-10-02 1997-10-14 1997-10-16")


def test_monthly_on_the_first_friday_for_10_occurrences() -> None:
    rule = {"frequency": "monthly", "count": 10, "byDay": [_nth(1, "fr")]}
    assert _starts("1997-09-05T09:00:00", rule, limit=100) == _at(
        "1997-09-05 1997-10-03 1997-11-07 1997-12-05 1998-01-02 1998-02-06 1998-03-06 1998-04-03 1998-05-01 "
        "1998-06-05")


def test_monthly_on_the_first_friday_until_december_24() -> None:
    rule = {"frequency": "monthly", "until": "1997-12-23T19:00:00", "byDay": [_nth(1, "fr")]}
    assert _starts("1997-09-05T09:00:00", rule, limit=100) == _at("1997-09-05 1997-10-03 1997-11-07 1997-12-05")


def test_every_other_month_on_the_first_and_last_sunday_for_10() -> None:
    rule = {"frequency": "monthly", "interval": 2, "count": 10, "byDay": [_nth(1, "su"), _nth(-1, "su")]}
    assert _starts("1997-09-07T09:00:00", rule, limit=100) == _at(
        "1997-09-07 1997-09-28 1997-11-02 1997-11-30 1998-01-04 1998-01-25 1998-03-01 1998-03-29 1998-05-03 "
        "1998-05-31")


def test_monthly_on_the_second_to_last_monday_for_6_months() -> None:
    rule = {"frequency": "monthly", "count": 6, "byDay": [_nth(-2, "mo")]}
    assert _starts("1997-09-22T09:00:00", rule, limit=100) == _at(
        "1997-09-22 1997-10-20 1997-11-17 1997-12-22 1998-01-19 1998-02-16")


def test_monthly_on_the_third_to_the_last_day_forever() -> None:
    rule = {"frequency": "monthly", "byMonthDay": [-3]}
    assert _starts("1997-09-28T09:00:00", rule, limit=6) == _at(
        "1997-09-28 1997-10-29 1997-11-28 1997-12-29 1998-01-29 1998-02-26")


def test_monthly_on_the_2nd_and_15th_for_10() -> None:
    rule = {"frequency": "monthly", "count": 10, "byMonthDay": [2, 15]}
    assert _starts("1997-09-02T09:00:00", rule, limit=100) == _at(
        "1997-09-02 1997-09-15 1997-10-02 1997-10-15 1997-11-02 1997-11-15 1997-12-02 1997-12-15 1998-01-02 "
        "1998-01-15")


def test_monthly_on_the_first_and_last_day_for_10() -> None:
    rule = {"frequency": "monthly", "count": 10, "byMonthDay": [1, -1]}
    assert _starts("1997-09-30T09:00:00", rule, limit=100) == _at(
        "1997-09-30 1997-10-01 1997-10-31 1997-11-01 1997-11-30 1997-12-01 1997-12-31 1998-01-01 1998-01-31 "
        "1998-02-01")


def test_every_18_months_on_the_10th_thru_15th_for_10() -> None:
    rule = {"frequency": "monthly", "interval": 18, "count": 10, "byMonthDay": [10, 11, 12, 13, 14, 15]}
    assert _starts("1997-09-10T09:00:00", rule, limit=100) == _at(
        "1997-09-10 1997-09-11 1997-09-12 1997-09-13 1997-09-14 1997-09-15 1999-03-10 1999-03-11 1999-03-12 "
        "1999-03-13")


def test_every_tuesday_every_other_month() -> None:
    rule = {"frequency": "monthly", "interval": 2, "byDay": [_day("tu")]}
    assert _starts("1997-09-02T09:00:00", rule, limit=18) == _at(
        "1997-09-02 1997-09-09 1997-09-16 1997-09-23 1997-09-30 1997-11-04 1997-11-11 1997-11-18 1997-11-25 "
        "1998-01-06 1998-01-13 1998-01-20 1998-01-27 1998-03-03 1998-03-10 1998-03-17 1998-03-24 1998-03-31")


def test_yearly_in_june_and_july_for_10() -> None:
    rule = {"frequency": "yearly", "count": 10, "byMonth": ["6", "7"]}
    assert _starts("1997-06-10T09:00:00", rule, limit=100) == _at(
        "1997-06-10 1997-07-10 1998-06-10 1998-07-10 1999-06-10 1999-07-10 2000-06-10 2000-07-10 2001-06-10 "
        "2001-07-10")


def test_every_other_year_on_january_february_march_for_10() -> None:
    rule = {"frequency": "yearly", "interval": 2, "count": 10, "byMonth": ["1", "2", "3"]}
    assert _starts("1997-03-10T09:00:00", rule, limit=100) == _at(
        "1997-03-10 1999-01-10 1999-02-10 1999-03-10 2001-01-10 2001-02-10 2001-03-10 2003-01-10 2003-02-10 "
        "2003-03-10")


def test_every_third_year_on_the_1st_100th_200th_day_for_10() -> None:
    rule = {"frequency": "yearly", "interval": 3, "count": 10, "byYearDay": [1, 100, 200]}
    assert _starts("1997-01-01T09:00:00", rule, limit=100) == _at(
        "1997-01-01 1997-04-10 1997-07-19 2000-01-01 2000-04-09 2000-07-18 2003-01-01 2003-04-10 2003-07-19 "
        "2006-01-01")


def test_every_20th_monday_of_the_year_forever() -> None:
    rule = {"frequency": "yearly", "byDay": [_nth(20, "mo")]}
    assert _starts("1997-05-19T09:00:00", rule, limit=3) == _at("1997-05-19 1998-05-18 1999-05-17")


def test_monday_of_week_number_20_forever() -> None:
    rule = {"frequency": "yearly", "byWeekNo": [20], "byDay": [_day("mo")]}
    assert _starts("1997-05-12T09:00:00", rule, limit=3) == _at("1997-05-12 1998-05-11 1999-05-17")


def test_every_thursday_in_march_forever() -> None:
    rule = {"frequency": "yearly", "byMonth": ["3"], "byDay": [_day("th")]}
    assert _starts("1997-03-13T09:00:00", rule, limit=11) == _at(
        "1997-03-13 1997-03-20 1997-03-27 1998-03-05 1998-03-12 1998-03-19 1998-03-26 1999-03-04 1999-03-11 "
        "1999-03-18 1999-03-25")


def test_every_thursday_only_in_june_july_august_forever() -> None:
    rule = {"frequency": "yearly", "byDay": [_day("th")], "byMonth": ["6", "7", "8"]}
    assert _starts("1997-06-05T09:00:00", rule, limit=39) == _at(
        "1997-06-05 1997-06-12 1997-06-19 1997-06-26 1997-07-03 1997-07-10 1997-07-17 1997-07-24 1997-07-31 "
        "1997-08-07 1997-08-14 1997-08-21 1997-08-28 "
        "1998-06-04 1998-06-11 1998-06-18 1998-06-25 1998-07-02 1998-07-09 1998-07-16 1998-07-23 1998-07-30 "
        "1998-08-06 1998-08-13 1998-08-20 1998-08-27 "
        "1999-06-03 1999-06-10 1999-06-17 1999-06-24 1999-07-01 1999-07-08 1999-07-15 1999-07-22 1999-07-29 "
        "1999-08-05 1999-08-12 1999-08-19 1999-08-26")


def test_every_friday_the_13th_forever_with_the_start_excluded() -> None:
    # The RFC removes the (non-matching) DTSTART with EXDATE; JSCalendar says excluded: true.
    rule = {"frequency": "monthly", "byDay": [_day("fr")], "byMonthDay": [13]}
    assert _starts("1997-09-02T09:00:00", rule, limit=5, excluded=["1997-09-02T09:00:00"]) == _at(
        "1998-02-13 1998-03-13 1998-11-13 1999-08-13 2000-10-13")


def test_first_saturday_after_the_first_sunday_forever() -> None:
    rule = {"frequency": "monthly", "byDay": [_day("sa")], "byMonthDay": [7, 8, 9, 10, 11, 12, 13]}
    assert _starts("1997-09-13T09:00:00", rule, limit=10) == _at(
        "1997-09-13 1997-10-11 1997-11-08 1997-12-13 1998-01-10 1998-02-07 1998-03-07 1998-04-11 1998-05-09 "
        "1998-06-13")


def test_us_presidential_election_day() -> None:
    rule = {"frequency": "yearly", "interval": 4, "byMonth": ["11"], "byDay": [_day("tu")],
            "byMonthDay": [2, 3, 4, 5, 6, 7, 8]}
    assert _starts("1996-11-05T09:00:00", rule, limit=3) == _at("1996-11-05 2000-11-07 2004-11-02")


def test_third_tuesday_wednesday_or_thursday_for_3_months() -> None:
    rule = {"frequency": "monthly", "count": 3, "byDay": [_day("tu"), _day("we"), _day("th")],
            "bySetPosition": [3]}
    assert _starts("1997-09-04T09:00:00", rule, limit=100) == _at("1997-09-04 1997-10-07 1997-11-06")


def test_second_to_last_weekday_of_the_month() -> None:
    rule = {"frequency": "monthly", "byDay": [_day(d) for d in ("mo", "tu", "we", "th", "fr")],
            "bySetPosition": [-2]}
    assert _starts("1997-09-29T09:00:00", rule, limit=7) == _at(
        "1997-09-29 1997-10-30 1997-11-27 1997-12-30 1998-01-29 1998-02-26 1998-03-30")


def test_every_3_hours_from_9_to_5_on_one_day() -> None:
    # The RFC's UNTIL=19970902T170000Z is 13:00 in New York, which would stop after 12:00; its listed
    # result (09:00, 12:00, 15:00) is what a 17:00 wall-clock until gives, so that is what is written here.
    rule = {"frequency": "hourly", "interval": 3, "until": "1997-09-02T17:00:00"}
    assert _starts("1997-09-02T09:00:00", rule, limit=100) == [
        "1997-09-02T09:00:00", "1997-09-02T12:00:00", "1997-09-02T15:00:00"]


def test_every_15_minutes_for_6_occurrences() -> None:
    rule = {"frequency": "minutely", "interval": 15, "count": 6}
    assert _starts("1997-09-02T09:00:00", rule, limit=100) == [
        f"1997-09-02T{clock}:00" for clock in ("09:00", "09:15", "09:30", "09:45", "10:00", "10:15")]


def test_every_hour_and_a_half_for_4_occurrences() -> None:
    rule = {"frequency": "minutely", "interval": 90, "count": 4}
    assert _starts("1997-09-02T09:00:00", rule, limit=100) == [
        f"1997-09-02T{clock}:00" for clock in ("09:00", "10:30", "12:00", "13:30")]


TWENTY_MINUTES = [f"1997-09-{day:02d}T{hour:02d}:{minute:02d}:00"
                  for day in (2, 3) for hour in range(9, 17) for minute in (0, 20, 40)]


@pytest.mark.parametrize("rule", [
    {"frequency": "daily", "byHour": list(range(9, 17)), "byMinute": [0, 20, 40]},
    {"frequency": "minutely", "interval": 20, "byHour": list(range(9, 17))},
], ids=["daily", "minutely"])
def test_every_20_minutes_from_9_to_4_40_every_day(rule: dict[str, Any]) -> None:
    assert _starts("1997-09-02T09:00:00", rule, limit=48) == TWENTY_MINUTES


@pytest.mark.parametrize(("week_start", "expected"), [
    ("mo", "1997-08-05 1997-08-10 1997-08-19 1997-08-24"),
    ("su", "1997-08-05 1997-08-17 1997-08-19 1997-08-31"),
])
def test_week_start_changes_the_days(week_start: str, expected: str) -> None:
    rule = {"frequency": "weekly", "interval": 2, "count": 4, "byDay": [_day("tu"), _day("su")],
            "firstDayOfWeek": week_start}
    assert _starts("1997-08-05T09:00:00", rule, limit=100) == _at(expected)


def test_february_30_is_ignored() -> None:
    rule = {"frequency": "monthly", "byMonthDay": [15, 30], "count": 5}
    assert _starts("2007-01-15T09:00:00", rule, limit=100) == _at(
        "2007-01-15 2007-01-30 2007-02-15 2007-03-15 2007-03-30")
