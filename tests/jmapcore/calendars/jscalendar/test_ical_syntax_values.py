"""iCalendar value types (RFC 5545 §3.3): DATE, DATE-TIME, DURATION, PERIOD, UTC-OFFSET, RECUR.

Valid values read to their parts and write back to the same text; invalid
ones give None and a problem in plain words, never an exception.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from jmapcore.calendars.jscalendar.ical_model import IcalParam, IcalProperty
from jmapcore.calendars.jscalendar.ical_values import (
    IcalDuration,
    IcalPeriod,
    IcalTime,
    date_parse,
    date_time_parse,
    duration_parse,
    period_parse,
    recur_parse,
    recur_until_check,
    time_parse,
    times_parse,
    utc_offset_parse,
)


def test_date_and_date_time_forms() -> None:
    assert date_parse("20240229") == (date(2024, 2, 29), None)
    utc, problem = date_time_parse("20240105T120000Z")
    assert problem is None and utc == IcalTime(datetime(2024, 1, 5, 12), utc=True)
    assert utc is not None and utc.text() == "20240105T120000Z" and not utc.floating
    local, _ = date_time_parse("20240105T120000", tzid="Europe/Berlin")
    assert local == IcalTime(datetime(2024, 1, 5, 12), tzid="Europe/Berlin") and local.text() == "20240105T120000"
    floating, _ = date_time_parse("20240105T120000")
    assert floating is not None and floating.floating and not floating.is_date


_FULLWIDTH_DATE = "\uff12\uff10\uff12\uff14\uff10\uff11\uff10\uff11"  # isdigit() says yes; not a DATE


@pytest.mark.parametrize("text", ["20230229", "2024-01-01", "20241301", "", "2024010", _FULLWIDTH_DATE])
def test_invalid_dates(text: str) -> None:
    value, problem = date_parse(text)
    assert value is None and problem


@pytest.mark.parametrize("text", ["20230229T120000", "20240101T250000Z", "20240101 120000", "20240101T1200",
                                  "20240101", "T120000Z", "x" * 10_000])
def test_invalid_date_times(text: str) -> None:
    value, problem = date_time_parse(text)
    assert value is None and problem


def test_utc_time_with_tzid_keeps_utc_and_reports() -> None:
    value, problem = date_time_parse("20240101T100000Z", tzid="Europe/Berlin")
    assert value == IcalTime(datetime(2024, 1, 1, 10), utc=True)
    assert problem and "TZID ignored" in problem


def test_time_parse_honours_value_and_tzid() -> None:
    all_day, problem = time_parse(IcalProperty("DTSTART", "20240105", params=[IcalParam("VALUE", ["DATE"])]))
    assert problem is None and all_day is not None and all_day.is_date and all_day.value == date(2024, 1, 5)
    zoned, problem = time_parse(IcalProperty("DTSTART", "20240105T090000", params=[IcalParam("TZID", ["W. Europe "
                                                                                                  "Standard Time"])]))
    assert problem is None and zoned is not None and zoned.tzid == "W. Europe Standard Time"
    # Writers that leave VALUE=DATE out: still a date, with a problem.
    bare, problem = time_parse(IcalProperty("DTSTART", "20240105"))
    assert bare is not None and bare.is_date and problem and "without VALUE=DATE" in problem
    wrong, problem = time_parse(IcalProperty("DTSTART", "20240105", params=[IcalParam("VALUE", ["TEXT"])]))
    assert wrong is None and problem and "DTSTART" in problem


def test_rdate_and_exdate_lists() -> None:
    values, problems = times_parse(IcalProperty("EXDATE", "20240101T100000,bogus,20240108T100000",
                                                params=[IcalParam("TZID", ["Europe/Berlin"])]))
    assert values == [IcalTime(datetime(2024, 1, 1, 10), tzid="Europe/Berlin"),
                      IcalTime(datetime(2024, 1, 8, 10), tzid="Europe/Berlin")]
    assert len(problems) == 1 and "EXDATE" in problems[0]
    periods, problems = times_parse(IcalProperty("RDATE", "19960403T020000Z/19960403T040000Z,19960404T010000Z/PT3H",
                                                 params=[IcalParam("VALUE", ["PERIOD"])]))
    assert problems == []
    assert periods == [
        IcalPeriod(IcalTime(datetime(1996, 4, 3, 2), utc=True), end=IcalTime(datetime(1996, 4, 3, 4), utc=True)),
        IcalPeriod(IcalTime(datetime(1996, 4, 4, 1), utc=True), duration=IcalDuration(hours=3)),
    ]
    dates, problems = times_parse(IcalProperty("EXDATE", "20240101,20240102", params=[IcalParam("VALUE", ["DATE"])]))
    assert problems == [] and [value.value for value in dates] == [date(2024, 1, 1), date(2024, 1, 2)]  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "parts", "written"), [
    ("PT15M", IcalDuration(minutes=15), "PT15M"),
    ("-PT15M", IcalDuration(negative=True, minutes=15), "-PT15M"),
    ("+P1D", IcalDuration(days=1), "P1D"),
    ("P2W", IcalDuration(weeks=2), "P2W"),
    ("P1DT2H3M4S", IcalDuration(days=1, hours=2, minutes=3, seconds=4), "P1DT2H3M4S"),
    ("PT0S", IcalDuration(), "PT0S"),
    ("pt1h", IcalDuration(hours=1), "PT1H"),
])
def test_durations(text: str, parts: IcalDuration, written: str) -> None:
    assert duration_parse(text) == (parts, None)
    assert parts.text() == written


def test_duration_is_nominal_in_days() -> None:
    duration, _ = duration_parse("-P1DT1H")
    assert duration is not None and duration.timedelta() == -timedelta(days=1, hours=1)


@pytest.mark.parametrize("text", ["P", "PT", "P1H", "PT1D", "PT1S1M", "1D", "P1.5D", "P-1D", "", "P1D2", "PT1H" * 50])
def test_invalid_durations(text: str) -> None:
    value, problem = duration_parse(text)
    assert value is None and problem


def test_periods() -> None:
    assert period_parse("19970101T180000Z/19970102T070000Z")[0] == IcalPeriod(
        IcalTime(datetime(1997, 1, 1, 18), utc=True), end=IcalTime(datetime(1997, 1, 2, 7), utc=True))
    for bad in ("19970101T180000Z", "19970102T070000Z/19970101T180000Z", "19970101T180000Z/-PT1H", "x/y"):
        value, problem = period_parse(bad)
        assert value is None and problem, bad


def test_utc_offsets() -> None:
    assert utc_offset_parse("+0530") == (timedelta(hours=5, minutes=30), None)
    assert utc_offset_parse("-083015") == (-timedelta(hours=8, minutes=30, seconds=15), None)
    zero, problem = utc_offset_parse("-0000")
    assert zero == timedelta(0) and problem
    for bad in ("0100", "+1", "+2500", "+0160", "UTC"):
        value, problem = utc_offset_parse(bad)
        assert value is None and problem, bad


def test_recur_reads_every_part() -> None:
    parts, problems = recur_parse(
        "FREQ=YEARLY;INTERVAL=2;BYMONTH=1,5L;BYDAY=-1SU,2MO,TU;BYMONTHDAY=-1,15;BYYEARDAY=-306;BYWEEKNO=20;"
        "BYHOUR=8,9;BYMINUTE=30;BYSECOND=0,60;BYSETPOS=-1;WKST=su;COUNT=10;RSCALE=GREGORIAN;SKIP=forward;X-FOO=bar")
    assert problems == []
    assert parts == {
        "FREQ": "YEARLY", "INTERVAL": 2, "BYMONTH": ["1", "5L"], "BYDAY": [(-1, "SU"), (2, "MO"), (None, "TU")],
        "BYMONTHDAY": [-1, 15], "BYYEARDAY": [-306], "BYWEEKNO": [20], "BYHOUR": [8, 9], "BYMINUTE": [30],
        "BYSECOND": [0, 60], "BYSETPOS": [-1], "WKST": "SU", "COUNT": 10, "RSCALE": "GREGORIAN", "SKIP": "FORWARD",
        "X-FOO": "bar",
    }


def test_recur_drops_bad_entries_with_problems() -> None:
    parts, problems = recur_parse("FREQ=WEEKLY;BYDAY=MO,XX,0TU,WE;BYMONTHDAY=0,32,3;COUNT=-1;FOO=1;BYHOUR=24")
    assert parts == {"FREQ": "WEEKLY", "BYDAY": [(None, "MO"), (None, "WE")], "BYMONTHDAY": [3]}
    assert len(problems) == 7  # BYDAY and BYMONTHDAY: the first bad entry, then the total


def test_recur_without_a_valid_freq_is_none() -> None:
    for text in ("BYDAY=MO", "FREQ=FORTNIGHTLY", "", "FREQ"):
        parts, problems = recur_parse(text)
        assert parts is None and problems, text


def test_recur_rules_the_rfc_forbids() -> None:
    parts, problems = recur_parse("FREQ=DAILY;COUNT=3;UNTIL=20240101T000000Z;BYDAY=1MO;BYWEEKNO=3")
    assert parts is not None and parts["COUNT"] == 3 and "UNTIL" not in parts
    assert any("both UNTIL and COUNT" in problem for problem in problems)
    assert any("ordinal" in problem for problem in problems)
    assert any("BYWEEKNO" in problem for problem in problems)


@pytest.mark.parametrize(("until", "start", "wrong"), [
    ("20241231", IcalTime(date(2024, 1, 1)), None),
    ("20241231T000000Z", IcalTime(date(2024, 1, 1)), "DATE-TIME but DTSTART is a DATE"),
    ("20241231", IcalTime(datetime(2024, 1, 1, 9), tzid="Europe/Berlin"), "DATE but DTSTART is a DATE-TIME"),
    ("20241231T090000", IcalTime(datetime(2024, 1, 1, 9), tzid="Europe/Berlin"), "local time"),
    ("20241231T090000Z", IcalTime(datetime(2024, 1, 1, 9), tzid="Europe/Berlin"), None),
    ("20241231T090000", IcalTime(datetime(2024, 1, 1, 9)), None),
    ("20241231T090000Z", IcalTime(datetime(2024, 1, 1, 9), utc=True), None),
])
def test_until_must_match_dtstart(until: str, start: IcalTime, wrong: str | None) -> None:
    parts, problems = recur_parse(f"FREQ=WEEKLY;UNTIL={until}", dtstart=start)
    assert parts is not None
    problem = recur_until_check(parts, dtstart=start)
    if wrong is None:
        assert problem is None and problems == []
    else:
        assert problem is not None and wrong in problem and problems == [problem]


def test_recur_reads_large_counts_and_intervals() -> None:
    # Found by the hypothesis round trip: COUNT and INTERVAL are not limited to four digits.
    parts, problems = recur_parse("FREQ=SECONDLY;COUNT=10000;INTERVAL=86400")
    assert problems == [] and parts == {"FREQ": "SECONDLY", "COUNT": 10000, "INTERVAL": 86400}
