"""Recurrence expansion beyond the RFC 5545 examples: DST gaps and folds
(RFC 5545 §3.3.5), nominal and exact durations (§3.3.6), all-day and floating
events, recurrenceOverrides (added, excluded, moved, lengthened occurrences),
excludedRecurrenceRules (RFC 8984 §4.3.3-4.3.5), skip (RFC 7529), event_span,
and bad input that is reported instead of raised.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from jmapcore.calendars.jscalendar.recurrence import event_span, expansion, occurrences


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _weekly_berlin(**extra: Any) -> dict[str, Any]:
    """alice's team meeting: Mondays 10:00 Berlin, one hour."""
    return {"@type": "Event", "uid": "alice-weekly", "start": "2026-01-05T10:00:00", "timeZone": "Europe/Berlin",
            "duration": "PT1H", "recurrenceRules": [{"@type": "RecurrenceRule", "frequency": "weekly"}], **extra}


def test_a_time_in_the_spring_gap_is_read_with_the_offset_before_it() -> None:
    event = {"start": "2026-03-27T02:30:00", "timeZone": "Europe/Berlin", "duration": "PT30M",
             "recurrenceRules": [{"frequency": "daily", "count": 4}]}
    found = {item.recurrence_id: item for item in occurrences(event, after=None, before=None, limit=10)}
    # 29 March 2026 02:30 does not exist in Berlin; it is 03:30 CEST = 01:30 UTC, and keeps its recurrence id.
    assert found["2026-03-29T02:30:00"].utc_start == _utc(2026, 3, 29, 1, 30)
    assert found["2026-03-28T02:30:00"].utc_start == _utc(2026, 3, 28, 1, 30)  # CET: 02:30 - 1 h
    assert found["2026-03-30T02:30:00"].utc_start == _utc(2026, 3, 30, 0, 30)  # CEST: 02:30 - 2 h


def test_a_repeated_time_in_the_autumn_fold_means_the_first_one() -> None:
    event = {"start": "2026-10-24T02:30:00", "timeZone": "Europe/Berlin",
             "recurrenceRules": [{"frequency": "daily", "count": 3}]}
    found = {item.recurrence_id: item.utc_start for item in occurrences(event, after=None, before=None, limit=10)}
    assert found["2026-10-25T02:30:00"] == _utc(2026, 10, 25, 0, 30)  # still CEST (UTC+2)
    assert found["2026-10-26T02:30:00"] == _utc(2026, 10, 26, 1, 30)  # CET


def test_a_day_of_duration_is_nominal_and_hours_are_exact_across_dst() -> None:
    nominal = {"start": "2026-03-28T12:00:00", "timeZone": "Europe/Berlin", "duration": "P1D"}
    exact = {**nominal, "duration": "PT24H"}
    (day,) = occurrences(nominal, after=None, before=None, limit=5)
    (hours,) = occurrences(exact, after=None, before=None, limit=5)
    assert day.utc_end - day.utc_start == timedelta(hours=23)
    assert hours.utc_end - hours.utc_start == timedelta(hours=24)


def test_all_day_events_float_into_the_zone_the_caller_gives() -> None:
    birthday = {"start": "2026-07-14T00:00:00", "showWithoutTime": True, "timeZone": None, "duration": "P1D",
                "recurrenceRules": [{"frequency": "yearly"}]}
    in_utc = occurrences(birthday, after=_utc(2027, 1, 1), before=_utc(2028, 1, 1), limit=5)
    in_new_york = occurrences(birthday, after=_utc(2027, 1, 1), before=_utc(2028, 1, 1), limit=5,
                              floating_zone=ZoneInfo("America/New_York"))
    assert [(o.recurrence_id, o.utc_start, o.utc_end) for o in in_utc] == [
        ("2027-07-14T00:00:00", _utc(2027, 7, 14), _utc(2027, 7, 15))]
    assert [(o.utc_start, o.utc_end) for o in in_new_york] == [(_utc(2027, 7, 14, 4), _utc(2027, 7, 15, 4))]


def test_a_window_far_from_the_start_finds_the_right_occurrences() -> None:
    event = {"start": "1900-01-01T09:00:00", "timeZone": "Europe/Berlin", "duration": "PT1H",
             "recurrenceRules": [{"frequency": "daily", "interval": 3}]}
    found = occurrences(event, after=_utc(2150, 6, 1), before=_utc(2150, 6, 8), limit=10)
    days_since_start = [(datetime.fromisoformat(o.recurrence_id) - datetime(1900, 1, 1, 9)).days for o in found]
    assert found and all(days % 3 == 0 for days in days_since_start)
    assert [o.utc_start.date() for o in found] == sorted({o.utc_start.date() for o in found})
    assert len(found) in (2, 3)


def test_overrides_add_exclude_move_and_lengthen_occurrences() -> None:
    event = _weekly_berlin(recurrenceOverrides={
        "2026-01-12T10:00:00": {"excluded": True},                                   # cancelled
        "2026-01-19T10:00:00": {"start": "2026-01-20T15:00:00", "title": "moved"},   # moved to Tuesday
        "2026-01-26T10:00:00": {"duration": "PT2H"},                                 # longer
        "2026-01-28T08:00:00": {},                                                   # an extra one (RDATE)
    })
    found = occurrences(event, after=_utc(2026, 1, 1), before=_utc(2026, 2, 1), limit=50)
    assert [(o.recurrence_id, o.utc_start, o.utc_end - o.utc_start) for o in found] == [
        ("2026-01-05T10:00:00", _utc(2026, 1, 5, 9), timedelta(hours=1)),
        ("2026-01-19T10:00:00", _utc(2026, 1, 20, 14), timedelta(hours=1)),
        ("2026-01-26T10:00:00", _utc(2026, 1, 26, 9), timedelta(hours=2)),
        ("2026-01-28T08:00:00", _utc(2026, 1, 28, 7), timedelta(hours=1)),
    ]
    assert found[1].override == {"start": "2026-01-20T15:00:00", "title": "moved"}
    assert found[0].override is None


def test_an_occurrence_moved_into_the_window_is_found_and_one_moved_out_is_not() -> None:
    event = _weekly_berlin(recurrenceOverrides={
        "2026-06-01T10:00:00": {"start": "2026-02-04T10:00:00"},   # from June into February
        "2026-02-02T10:00:00": {"start": "2026-07-01T10:00:00"},   # from February into July
    })
    found = occurrences(event, after=_utc(2026, 2, 1), before=_utc(2026, 2, 8), limit=50)
    assert [o.recurrence_id for o in found] == ["2026-06-01T10:00:00"]


def test_an_override_can_change_the_time_zone_of_one_occurrence() -> None:
    event = _weekly_berlin(recurrenceOverrides={
        "2026-01-12T10:00:00": {"start": "2026-01-12T10:00:00", "timeZone": "America/New_York"}})
    found = {o.recurrence_id: o for o in occurrences(event, after=None, before=_utc(2026, 1, 20), limit=10)}
    assert found["2026-01-12T10:00:00"].utc_start == _utc(2026, 1, 12, 15)


def test_excluded_recurrence_rules_remove_what_they_generate() -> None:
    # Every Monday except the first Monday of each month.
    event = _weekly_berlin(excludedRecurrenceRules=[
        {"frequency": "monthly", "byDay": [{"day": "mo", "nthOfPeriod": 1}]}])
    found = occurrences(event, after=None, before=_utc(2026, 3, 1), limit=50)
    assert [o.recurrence_id[:10] for o in found] == [
        "2026-01-12", "2026-01-19", "2026-01-26", "2026-02-09", "2026-02-16", "2026-02-23"]


def test_several_rules_are_merged_without_duplicates() -> None:
    event = {"start": "2026-01-05T10:00:00", "timeZone": "UTC", "recurrenceRules": [
        {"frequency": "weekly", "byDay": [{"day": "mo"}, {"day": "we"}], "count": 4},
        {"frequency": "weekly", "byDay": [{"day": "we"}, {"day": "fr"}], "count": 4}]}
    found = [o.recurrence_id[:10] for o in occurrences(event, after=None, before=None, limit=50)]
    # The Monday start counts towards both COUNTs: the second rule gives 5, 7, 9 and 14 January.
    assert found == ["2026-01-05", "2026-01-07", "2026-01-09", "2026-01-12", "2026-01-14"]


def test_set_position_over_expanded_hours() -> None:
    event = {"start": "2026-01-05T09:00:00", "timeZone": "UTC", "recurrenceRules": [
        {"frequency": "daily", "byHour": [9, 12, 15], "bySetPosition": [-1], "count": 3}]}
    found = [o.recurrence_id for o in occurrences(event, after=None, before=None, limit=50)]
    # the start counts as the first occurrence (RFC 5545 §3.8.5.3), then the last hour of each day
    assert found == ["2026-01-05T09:00:00", "2026-01-05T15:00:00", "2026-01-06T15:00:00"]


def test_skip_backward_and_forward_move_the_31st() -> None:
    base = {"start": "2026-01-31T09:00:00", "timeZone": "UTC"}
    backward = {**base, "recurrenceRules": [{"frequency": "monthly", "skip": "backward", "count": 4}]}
    forward = {**base, "recurrenceRules": [{"frequency": "monthly", "skip": "forward", "count": 4}]}
    omit = {**base, "recurrenceRules": [{"frequency": "monthly", "count": 4}]}
    assert [o.recurrence_id[:10] for o in occurrences(backward, after=None, before=None, limit=9)] == [
        "2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]
    assert [o.recurrence_id[:10] for o in occurrences(forward, after=None, before=None, limit=9)] == [
        "2026-01-31", "2026-03-01", "2026-03-31", "2026-05-01"]
    assert [o.recurrence_id[:10] for o in occurrences(omit, after=None, before=None, limit=9)] == [
        "2026-01-31", "2026-03-31", "2026-05-31", "2026-07-31"]


def test_limit_cuts_and_says_so() -> None:
    found = expansion(_weekly_berlin(), after=_utc(2026, 1, 1), before=_utc(2027, 1, 1), limit=3)
    assert len(found.occurrences) == 3 and found.truncated


def test_event_span_of_finite_infinite_and_moved_events() -> None:
    finite = {"start": "2026-01-05T10:00:00", "timeZone": "Europe/Berlin", "duration": "PT1H",
              "recurrenceRules": [{"frequency": "weekly", "count": 3}]}
    assert event_span(finite) == (_utc(2026, 1, 5, 9), _utc(2026, 1, 19, 10))
    assert event_span(_weekly_berlin()) == (_utc(2026, 1, 5, 9), None)
    moved_first = _weekly_berlin(recurrenceOverrides={
        "2026-01-05T10:00:00": {"excluded": True},
        "2026-01-12T10:00:00": {"start": "2025-12-31T18:00:00"}})
    assert event_span(moved_first)[0] == _utc(2025, 12, 31, 17)
    until = {"start": "2000-01-03T09:00:00", "timeZone": "Europe/Berlin", "duration": "PT1H",
             "recurrenceRules": [{"frequency": "daily", "until": "2030-01-01T00:00:00"}]}
    assert event_span(until) == (_utc(2000, 1, 3, 8), _utc(2029, 12, 31, 9))
    # The last leap day before UNTIL is long before it: found by expanding everything.
    leap_days = {**until, "recurrenceRules": [{"frequency": "yearly", "byMonth": ["2"], "byMonthDay": [29],
                                               "until": "2030-01-01T00:00:00"}]}
    assert event_span(leap_days) == (_utc(2000, 1, 3, 8), _utc(2028, 2, 29, 9))
    counted = {**until, "recurrenceRules": [{"frequency": "daily", "count": 10000}]}
    assert event_span(counted) == (_utc(2000, 1, 3, 8), _utc(2027, 5, 20, 8))
    single = {"start": "2026-05-01T00:00:00", "timeZone": None, "showWithoutTime": True, "duration": "P1D"}
    assert event_span(single) == (_utc(2026, 5, 1), _utc(2026, 5, 2))


def test_bad_input_is_reported_not_raised() -> None:
    cases: list[tuple[Any, str]] = [
        ({"start": "2026-02-30T10:00:00"}, "start"),
        ({"start": "2026-01-05T10:00:00", "timeZone": "Mars/Olympus"}, "time zone"),
        ({"start": "2026-01-05T10:00:00", "recurrenceRules": [{"frequency": "fortnightly"}]}, "frequency"),
        ({"start": "2026-01-05T10:00:00", "recurrenceRules": [{"frequency": "daily", "rscale": "hebrew"}]},
         "rscale"),
        ({"start": "2026-01-05T10:00:00", "recurrenceRules": [{"frequency": "monthly", "byMonth": ["13"]}]},
         "byMonth"),
        ({"start": "2026-01-05T10:00:00", "duration": "1 hour"}, "duration"),
        ({"start": "2026-01-05T10:00:00", "recurrenceOverrides": {"tomorrow": {}}}, "recurrenceOverrides"),
        ({"start": "2026-01-05T10:00:00", "recurrenceRules": "FREQ=DAILY"}, "recurrenceRules"),
        ("mallory", "not an object"),
    ]
    for event, word in cases:
        found = expansion(event, after=None, before=_utc(2027, 1, 1), limit=10)
        assert any(word in problem for problem in found.problems), (event, found.problems)


@st.composite
def _rules(draw: st.DrawFn) -> dict[str, Any]:
    frequency = draw(st.sampled_from(["yearly", "monthly", "weekly", "daily", "hourly"]))
    rule: dict[str, Any] = {"frequency": frequency, "interval": draw(st.integers(1, 5))}
    if draw(st.booleans()):
        rule["byMonth"] = [str(m) for m in draw(st.sets(st.integers(1, 12), min_size=1, max_size=3))]
    if draw(st.booleans()):
        rule["byMonthDay"] = sorted(draw(st.sets(st.sampled_from([1, 2, 15, 29, 30, 31, -1, -5]), min_size=1,
                                                 max_size=3)))
    if draw(st.booleans()):
        rule["byDay"] = [{"day": d} for d in sorted(draw(st.sets(st.sampled_from(["mo", "we", "sa"]), min_size=1)))]
    if frequency != "hourly" and draw(st.booleans()):
        rule["byHour"] = sorted(draw(st.sets(st.integers(0, 23), min_size=1, max_size=3)))
    if draw(st.booleans()):
        rule["bySetPosition"] = [draw(st.sampled_from([1, 2, -1]))]
    return rule


@settings(max_examples=60, deadline=None)
@given(rule=_rules(), year=st.integers(1990, 2030), offset_days=st.integers(30, 4000))
def test_skipping_ahead_gives_what_walking_from_the_start_gives(rule: dict[str, Any], year: int,
                                                                offset_days: int) -> None:
    """An infinite rule jumps to the window's period; counting from the start must agree."""
    event = {"start": f"{year}-03-15T10:30:00", "timeZone": "Europe/Berlin", "duration": "PT1H",
             "recurrenceRules": [rule]}
    after = _utc(year, 3, 15) + timedelta(days=offset_days)
    before = after + timedelta(days=40)
    skipped = expansion(event, after=after, before=before, limit=500)
    # The same rule with a COUNT too large to reach cannot skip: it walks every period from the start.
    walked = expansion({**event, "recurrenceRules": [{**rule, "count": 10**9}]}, after=after, before=before,
                       limit=500)
    if walked.truncated or skipped.truncated:
        return
    assert [o.recurrence_id for o in skipped.occurrences] == [o.recurrence_id for o in walked.occurrences]
