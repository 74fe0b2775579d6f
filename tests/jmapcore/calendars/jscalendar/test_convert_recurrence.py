"""RRULE/EXRULE/RDATE/EXDATE and RECURRENCE-ID components ↔ recurrenceRules and recurrenceOverrides
(RFC 8984 §4.3; RFC 5545 §3.3.10, §3.8.5, §3.8.4.4; RFC 7529)."""
from __future__ import annotations

import pytest

from jmapcore.calendars.jscalendar import event_read, event_write
from tests.jmapcore.calendars.jscalendar.icals import calendar, component_lines, content_lines, read

BERLIN = "DTSTART;TZID=Europe/Berlin:20260105T100000"


@pytest.mark.parametrize(("rrule", "rule"), [
    ("FREQ=DAILY", {"frequency": "daily"}),
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;WKST=SU",
     {"frequency": "weekly", "interval": 2, "firstDayOfWeek": "su",
      "byDay": [{"@type": "NDay", "day": "mo"}, {"@type": "NDay", "day": "we"}, {"@type": "NDay", "day": "fr"}]}),
    ("FREQ=MONTHLY;BYDAY=-1FR;COUNT=12",
     {"frequency": "monthly", "count": 12, "byDay": [{"@type": "NDay", "day": "fr", "nthOfPeriod": -1}]}),
    ("FREQ=MONTHLY;BYMONTHDAY=-1", {"frequency": "monthly", "byMonthDay": [-1]}),
    ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
     {"frequency": "monthly", "bySetPosition": [-1],
      "byDay": [{"@type": "NDay", "day": d} for d in ("mo", "tu", "we", "th", "fr")]}),
    ("FREQ=YEARLY;BYMONTH=3;BYDAY=2SU", {"frequency": "yearly", "byMonth": ["3"],
                                          "byDay": [{"@type": "NDay", "day": "su", "nthOfPeriod": 2}]}),
    ("FREQ=YEARLY;BYYEARDAY=1,100,-1", {"frequency": "yearly", "byYearDay": [1, 100, -1]}),
    ("FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO", {"frequency": "yearly", "byWeekNo": [20],
                                           "byDay": [{"@type": "NDay", "day": "mo"}]}),
    ("FREQ=HOURLY;INTERVAL=3;BYHOUR=9,12,15", {"frequency": "hourly", "interval": 3, "byHour": [9, 12, 15]}),
    ("FREQ=MINUTELY;INTERVAL=15;BYMINUTE=0,15,30,45", {"frequency": "minutely", "interval": 15,
                                                       "byMinute": [0, 15, 30, 45]}),
    ("FREQ=SECONDLY;BYSECOND=0,30;COUNT=4", {"frequency": "secondly", "bySecond": [0, 30], "count": 4}),
    ("RSCALE=CHINESE;FREQ=YEARLY;BYMONTH=5L;SKIP=FORWARD",
     {"frequency": "yearly", "rscale": "chinese", "skip": "forward", "byMonth": ["5L"]}),
])
def test_every_rule_form_reads_and_writes_back(rrule: str, rule: dict[str, object]) -> None:
    event = read(BERLIN, f"RRULE:{rrule}")
    assert event["recurrenceRules"] == [{"@type": "RecurrenceRule", **rule}]
    text = event_write(event, previous_text=None)
    again = event_read(text).event
    assert again is not None and again["recurrenceRules"] == event["recurrenceRules"]


def test_until_in_utc_is_local_time_of_the_zone() -> None:
    # 09:00Z is 10:00 in Berlin in winter (RFC 5545 §3.3.10: UNTIL in UTC for a zoned start).
    event = read(BERLIN, "RRULE:FREQ=WEEKLY;UNTIL=20260302T090000Z")
    assert event["recurrenceRules"][0]["until"] == "2026-03-02T10:00:00"
    text = event_write(event, previous_text=None)
    assert "RRULE:FREQ=WEEKLY;UNTIL=20260302T090000Z" in component_lines(text)


def test_until_date_for_an_all_day_event() -> None:
    event = read("DTSTART;VALUE=DATE:20260105", "RRULE:FREQ=YEARLY;UNTIL=20300105")
    assert event["recurrenceRules"][0]["until"] == "2030-01-05T00:00:00"
    assert "RRULE:FREQ=YEARLY;UNTIL=20300105" in component_lines(event_write(event, previous_text=None))


def test_until_of_the_wrong_form_is_read_with_a_problem() -> None:
    reading = event_read(calendar("BEGIN:VEVENT", "UID:m-1", "DTSTAMP:20260101T000000Z",
                                  "DTSTART:20260105T090000Z", "RRULE:FREQ=DAILY;UNTIL=20260110", "END:VEVENT"))
    assert reading.event is not None
    # A DATE UNTIL on a timed start: that whole day is included.
    assert reading.event["recurrenceRules"][0]["until"] == "2026-01-10T23:59:59"
    assert any("UNTIL" in problem for problem in reading.problems)


def test_exdate_and_rdate_are_overrides() -> None:
    event = read(BERLIN, "RRULE:FREQ=WEEKLY;COUNT=10", "EXDATE;TZID=Europe/Berlin:20260112T100000,20260119T100000",
                 "RDATE;TZID=Europe/Berlin:20260107T150000")
    assert event["recurrenceOverrides"] == {
        "2026-01-12T10:00:00": {"excluded": True}, "2026-01-19T10:00:00": {"excluded": True},
        "2026-01-07T15:00:00": {}}
    text = event_write(event, previous_text=None)
    lines = component_lines(text)
    assert "EXDATE;TZID=Europe/Berlin:20260112T100000,20260119T100000" in lines
    assert "RDATE;TZID=Europe/Berlin:20260107T150000" in lines
    assert event_read(text).event == event | {"updated": "2026-01-01T09:00:00Z"}


def test_exdate_in_utc_becomes_a_local_key() -> None:
    event = read(BERLIN, "RRULE:FREQ=DAILY", "EXDATE:20260106T090000Z")
    assert event["recurrenceOverrides"] == {"2026-01-06T10:00:00": {"excluded": True}}


def test_rdate_period_gives_its_duration() -> None:
    event = read("DTSTART:20260105T100000Z", "DURATION:PT1H", "RDATE;VALUE=PERIOD:20260110T100000Z/PT3H")
    assert event["recurrenceOverrides"] == {"2026-01-10T10:00:00": {"duration": "PT3H"}}


def _weekly_with_instance(*instance: str, rid: str = "RECURRENCE-ID;TZID=Europe/Berlin:20260119T100000") -> str:
    return calendar(
        "BEGIN:VEVENT", "UID:weekly@example.com", "DTSTAMP:20260101T000000Z", BERLIN,
        "DURATION:PT1H", "SUMMARY:Standup", "RRULE:FREQ=WEEKLY", "END:VEVENT",
        "BEGIN:VEVENT", "UID:weekly@example.com", "DTSTAMP:20260101T000000Z", rid, *instance, "END:VEVENT")


def test_recurrence_id_component_is_a_patch() -> None:
    text = _weekly_with_instance("DTSTART;TZID=Europe/Berlin:20260119T140000", "DURATION:PT1H", "SUMMARY:Standup",
                                 "LOCATION:Room 2")
    event = event_read(text).event
    assert event is not None
    assert event["recurrenceOverrides"] == {"2026-01-19T10:00:00": {
        "start": "2026-01-19T14:00:00",
        "locations": {"l1": {"@type": "Location", "name": "Room 2"}}}}


def test_recurrence_id_in_utc_is_keyed_in_the_event_zone() -> None:
    text = _weekly_with_instance("DTSTART;TZID=Europe/Berlin:20260119T100000", "DURATION:PT1H",
                                 "SUMMARY:Standup (moved room)", rid="RECURRENCE-ID:20260119T090000Z")
    event = event_read(text).event
    assert event is not None
    assert event["recurrenceOverrides"] == {"2026-01-19T10:00:00": {"title": "Standup (moved room)"}}


def test_thisandfuture_is_kept_and_written_back() -> None:
    rid = "RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Berlin:20260119T100000"
    text = _weekly_with_instance("DTSTART;TZID=Europe/Berlin:20260119T110000", "DURATION:PT1H", "SUMMARY:Standup",
                                 rid=rid)
    event = event_read(text).event
    assert event is not None
    patch = event["recurrenceOverrides"]["2026-01-19T10:00:00"]
    assert patch["iCalRange"] == "thisandfuture"
    fresh = event_write(event, previous_text=None)
    assert "RECURRENCE-ID;TZID=Europe/Berlin;RANGE=THISANDFUTURE:20260119T100000" in content_lines(fresh)
    assert event_read(fresh).event == event


def test_patching_one_occurrence_writes_a_recurrence_id_component() -> None:
    text = calendar("BEGIN:VEVENT", "UID:weekly@example.com", "DTSTAMP:20260101T000000Z", BERLIN, "DURATION:PT1H",
                    "SUMMARY:Standup", "RRULE:FREQ=WEEKLY", "END:VEVENT")
    event = event_read(text).event
    assert event is not None
    event["recurrenceOverrides"] = {"2026-01-12T10:00:00": {"title": "Standup with Bob"},
                                    "2026-01-19T10:00:00": {"excluded": True}}
    written = event_write(event, previous_text=text)
    master = component_lines(written, "VEVENT", 0)
    instance = component_lines(written, "VEVENT", 1)
    assert "EXDATE;TZID=Europe/Berlin:20260119T100000" in master
    assert "RECURRENCE-ID;TZID=Europe/Berlin:20260112T100000" in instance
    assert "SUMMARY:Standup with Bob" in instance and "UID:weekly@example.com" in instance
    assert "DTSTART;TZID=Europe/Berlin:20260112T100000" in instance
    again = event_read(written).event
    assert again is not None and again["recurrenceOverrides"] == event["recurrenceOverrides"]


def test_removing_an_override_removes_its_component() -> None:
    text = _weekly_with_instance("DTSTART;TZID=Europe/Berlin:20260119T140000", "DURATION:PT1H", "SUMMARY:Standup")
    event = event_read(text).event
    assert event is not None
    del event["recurrenceOverrides"]
    written = event_write(event, previous_text=text)
    assert "RECURRENCE-ID;TZID=Europe/Berlin:20260119T100000" not in content_lines(written)
    assert content_lines(written).count("BEGIN:VEVENT") == 1


def test_instance_without_master_is_read_with_its_recurrence_id() -> None:
    # An invitation to one occurrence (RFC 6638 §3.2): the object holds only the instance.
    text = calendar("BEGIN:VEVENT", "UID:only-one@example.com", "DTSTAMP:20260101T000000Z",
                    "RECURRENCE-ID:20260119T090000Z", "DTSTART:20260119T100000Z", "SUMMARY:Just this one",
                    "END:VEVENT")
    event = event_read(text).event
    assert event is not None and event["recurrenceId"] == "2026-01-19T09:00:00"
    assert event["title"] == "Just this one"
    fresh = event_write(event, previous_text=None)
    assert "RECURRENCE-ID:20260119T090000Z" in content_lines(fresh)
