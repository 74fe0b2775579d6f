"""DTSTART/DTEND/DURATION ↔ start, duration, timeZone, showWithoutTime (RFC 8984 §5.1; RFC 5545 §3.8.2)."""
from __future__ import annotations

import pytest

from jmapcore.calendars.jscalendar import event_read, event_write
from tests.jmapcore.calendars.jscalendar.icals import component_lines, content_lines, read, vevent


def test_tzid_start_keeps_local_time_and_zone() -> None:
    event = read("DTSTART;TZID=Europe/Berlin:20260105T100000", "DTEND;TZID=Europe/Berlin:20260105T113000")
    assert event["start"] == "2026-01-05T10:00:00"
    assert event["timeZone"] == "Europe/Berlin"
    assert event["duration"] == "PT1H30M"
    assert "showWithoutTime" not in event


def test_utc_start_is_etc_utc() -> None:
    event = read("DTSTART:20260105T090000Z", "DURATION:PT45M")
    assert (event["start"], event["timeZone"], event["duration"]) == ("2026-01-05T09:00:00", "Etc/UTC", "PT45M")


def test_floating_start_has_no_time_zone() -> None:
    event = read("DTSTART:20260105T090000", "DTEND:20260105T093000")
    assert "timeZone" not in event
    assert event["duration"] == "PT30M"


def test_all_day_event_shows_without_time_and_lasts_days() -> None:
    event = read("DTSTART;VALUE=DATE:20260105", "DTEND;VALUE=DATE:20260108")
    assert event["start"] == "2026-01-05T00:00:00"
    assert event["showWithoutTime"] is True
    assert event["duration"] == "P3D"


def test_all_day_without_end_lasts_one_day() -> None:
    # RFC 5545 §3.6.1: a DATE start alone lasts one day.
    assert read("DTSTART;VALUE=DATE:20260105")["duration"] == "P1D"


def test_microsoft_zone_name_maps_to_iana() -> None:
    event = read("DTSTART;TZID=W. Europe Standard Time:20260105T100000",
                 "DTEND;TZID=W. Europe Standard Time:20260105T110000")
    assert event["timeZone"] == "Europe/Berlin"
    assert event["duration"] == "PT1H"


def test_dtend_in_another_zone_gives_the_exact_duration() -> None:
    # A flight: leaves Berlin 10:00, lands in London 11:00 local = 2 hours.
    event = read("DTSTART;TZID=Europe/Berlin:20260105T100000", "DTEND;TZID=Europe/London:20260105T110000")
    assert event["duration"] == "PT2H"


def test_dtend_before_start_is_a_problem_not_a_crash() -> None:
    reading = event_read(vevent("DTSTART:20260105T100000Z", "DTEND:20260105T090000Z"))
    assert reading.event is not None and reading.event["duration"] == "PT0S"
    assert any("before DTSTART" in problem for problem in reading.problems)


def test_unknown_tzid_is_floating_with_a_problem_and_written_back() -> None:
    text = vevent("DTSTART;TZID=Mars/Olympus_Mons:20260105T100000", "SUMMARY:Rover")
    reading = event_read(text)
    assert reading.event is not None and "timeZone" not in reading.event
    assert any("Mars/Olympus_Mons" in problem for problem in reading.problems)
    changed = dict(reading.event, title="Rover 2")
    assert "DTSTART;TZID=Mars/Olympus_Mons:20260105T100000" in content_lines(event_write(changed, previous_text=text))


@pytest.mark.parametrize(("event", "lines"), [
    ({"start": "2026-03-01T09:30:00", "timeZone": "America/New_York", "duration": "PT1H"},
     ["DTSTART;TZID=America/New_York:20260301T093000", "DTEND;TZID=America/New_York:20260301T103000"]),
    ({"start": "2026-03-01T09:30:00", "timeZone": "Etc/UTC", "duration": "PT15M"},
     ["DTSTART:20260301T093000Z", "DTEND:20260301T094500Z"]),
    ({"start": "2026-03-01T09:30:00", "duration": "P1DT2H"},
     ["DTSTART:20260301T093000", "DTEND:20260302T113000"]),
    ({"start": "2026-03-01T00:00:00", "showWithoutTime": True, "duration": "P2D"},
     ["DTSTART;VALUE=DATE:20260301", "DTEND;VALUE=DATE:20260303"]),
])
def test_writes_start_and_end(event: dict[str, object], lines: list[str]) -> None:
    text = event_write({"@type": "Event", "uid": "bob-1", **event}, previous_text=None)
    written = component_lines(text)
    for line in lines:
        assert line in written
    again = event_read(text).event
    assert again is not None
    for key, value in event.items():
        assert again[key] == value


def test_new_zone_gets_a_vtimezone() -> None:
    text = event_write({"@type": "Event", "uid": "bob-2", "start": "2026-07-01T10:00:00",
                        "timeZone": "Europe/Berlin", "duration": "PT1H"}, previous_text=None)
    vtimezone = component_lines(text, "VTIMEZONE")
    assert "TZID:Europe/Berlin" in vtimezone
    assert "TZOFFSETTO:+0200" in vtimezone and "TZOFFSETTO:+0100" in vtimezone


@pytest.mark.parametrize("event", [
    {"start": "2026-03-01T00:00:00", "timeZone": "Europe/Berlin", "showWithoutTime": True, "duration": "P1D"},
    {"start": "2026-03-01T09:00:00", "showWithoutTime": True, "duration": "PT1H"},
])
def test_show_without_time_that_a_date_cannot_say_is_kept(event: dict[str, object]) -> None:
    text = event_write({"@type": "Event", "uid": "bob-swt", "updated": "2026-01-01T00:00:00Z", **event},
                       previous_text=None)
    assert "JSPROP;JSPTR=showWithoutTime:true" in component_lines(text)
    again = event_read(text).event
    assert again is not None
    assert {key: again.get(key) for key in event} == event
    moved = dict(again, start=str(event["start"]).replace("2026-03-01", "2026-03-02"))
    lines = content_lines(event_write(moved, previous_text=text))
    assert lines.count("JSPROP;JSPTR=showWithoutTime:true") == 1
