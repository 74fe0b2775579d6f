"""The whole iCalendar corpus at the syntax and value level (issue 11, item 2).

Every file of corpus/ (see corpus/INDEX.md for where each comes from) parses
without a problem, every value of a type this layer knows (DATE, DATE-TIME,
DURATION, PERIOD, UTC-OFFSET, RECUR) reads without a problem, every TZID used
has its VTIMEZONE, and the object, untouched, is written back line for line:
the same logical lines once line ends and folding are normalised. Every file
of corpus/broken/ parses too, keeps the events it holds, and carries the
problems that say what was wrong with it.
"""
from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import pytest

from jmapcore.calendars.jscalendar.ical_model import IcalComponent, IcalObject
from jmapcore.calendars.jscalendar.ical_syntax import ical_parse, ical_serialize, text_list, text_unescape
from jmapcore.calendars.jscalendar.ical_values import (
    IcalTime,
    date_time_parse,
    duration_parse,
    recur_parse,
    time_parse,
    times_parse,
    utc_offset_parse,
)

CORPUS = Path(__file__).resolve().parent / "corpus"
WELL_FORMED = sorted(path.name for path in CORPUS.glob("*.ics"))
BROKEN = sorted(path.name for path in (CORPUS / "broken").glob("*.ics"))

_TIMES = ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID")
_STAMPS = ("DTSTAMP", "CREATED", "LAST-MODIFIED", "COMPLETED", "ACKNOWLEDGED")


def _text(path: Path) -> str:
    # Bytes that are not UTF-8 (junk_lines.ics) arrive as U+FFFD, the way a
    # CalDAV body is decoded before it reaches the parser.
    return path.read_bytes().decode("utf-8", "replace")


def _read(name: str) -> IcalObject:
    return ical_parse(_text(CORPUS / name))


def _logical_lines(text: str) -> list[str]:
    unfolded = text.replace("\r\n", "\n").replace("\n ", "").replace("\n\t", "")
    return [line for line in unfolded.split("\n") if line.strip()]


def _walk(component: IcalComponent) -> Iterator[IcalComponent]:
    yield component
    for child in component.components:
        yield from _walk(child)


def _value_problems(root: IcalComponent) -> list[str]:
    """Every problem the value parsers find in `root`, and every TZID without
    its VTIMEZONE that is not an IANA name either."""
    problems: list[str] = []
    defined = {prop.value for component in _walk(root) if component.name == "VTIMEZONE"
               for prop in component.all("TZID")}
    known = zoneinfo.available_timezones()
    for component in _walk(root):
        start_prop = component.first("DTSTART")
        start: IcalTime | None = time_parse(start_prop)[0] if start_prop is not None else None
        for prop in component.properties:
            found: list[str | None] = []
            if prop.name in _TIMES:
                found.append(time_parse(prop)[1])
            elif prop.name in _STAMPS:
                stamp, problem = date_time_parse(prop.value)
                found.append(problem if stamp is None or stamp.utc else f"{prop.name} is not in UTC")
            elif prop.name in ("EXDATE", "RDATE"):
                found += times_parse(prop)[1]
            elif prop.name in ("RRULE", "EXRULE"):
                # In STANDARD/DAYLIGHT, DTSTART is local time and UNTIL UTC by rule (RFC 5545 §3.6.5).
                in_zone = component.name in ("STANDARD", "DAYLIGHT")
                found += recur_parse(prop.value, dtstart=None if in_zone else start)[1]
                if recur_parse(prop.value)[0] is None:
                    found.append(f"{prop.name} unusable")
            elif prop.name == "DURATION" or (prop.name == "TRIGGER" and prop.param_first("VALUE") != "DATE-TIME"):
                found.append(duration_parse(prop.value)[1])
            elif prop.name == "TRIGGER":
                found.append(date_time_parse(prop.value)[1])
            elif prop.name in ("TZOFFSETFROM", "TZOFFSETTO"):
                found.append(utc_offset_parse(prop.value)[1])
            for tzid in prop.param("TZID"):
                if tzid not in defined and tzid not in known:
                    found.append(f"TZID {tzid!r} has no VTIMEZONE and is not an IANA name")
            problems += [f"{component.name} {problem}" for problem in found if problem]
    return problems


def _problems_containing(problems: list[str], *needles: str) -> None:
    for needle in needles:
        assert any(needle in problem for problem in problems), (needle, problems)


def test_corpus_has_every_client_several_times() -> None:
    index = (CORPUS / "INDEX.md").read_text()
    for client in ("google", "outlook", "apple", "thunderbird", "nextcloud", "rfc"):
        files = [name for name in WELL_FORMED if name.startswith(client)]
        assert len(files) >= (2 if client == "rfc" else 4), client
    for name in WELL_FORMED + [f"broken/{name}" for name in BROKEN]:
        assert f"| {Path(name).name} |" in index, f"{name} is not listed in corpus/INDEX.md"
    assert len(WELL_FORMED) >= 25
    assert len(BROKEN) >= 10


@pytest.mark.parametrize("name", WELL_FORMED)
def test_well_formed_object_reads_without_problems_and_round_trips(name: str) -> None:
    text = _text(CORPUS / name)
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    obj = ical_parse(text)
    assert obj.problems == []
    assert obj.more == []
    root = obj.root
    assert root is not None and root.name == "VCALENDAR"
    assert root.first("VERSION").value == "2.0"  # type: ignore[union-attr]
    assert root.first("PRODID") is not None
    items = [component for component in root.components if component.name in ("VEVENT", "VTODO", "VJOURNAL")]
    assert items
    for item in items:
        assert item.first("UID") is not None and item.first("DTSTAMP") is not None, (name, item.name)
    assert _logical_lines(ical_serialize(root)) == _logical_lines(text)


@pytest.mark.parametrize("name", WELL_FORMED)
def test_well_formed_values_read_without_problems(name: str) -> None:
    obj = _read(name)
    assert obj.root is not None
    assert _value_problems(obj.root) == []


@pytest.mark.parametrize("name", WELL_FORMED)
def test_well_formed_object_round_trips_from_fields_too(name: str) -> None:
    # Written from the parsed fields instead of `raw` (what a converter does
    # for a property it changed), every property reads back the same.
    obj = _read(name)
    assert obj.root is not None
    for component in _walk(obj.root):
        for prop in component.properties:
            prop.raw = None
    again = ical_parse(ical_serialize(obj.root))
    assert again.problems == []
    assert again.root is not None
    for component in _walk(again.root):
        for prop in component.properties:
            prop.raw = None
    assert again.root == obj.root


def test_google_override_shares_the_uid_of_its_series() -> None:
    root = _read("google_weekly_meeting.ics").root
    assert root is not None
    events = root.subcomponents("VEVENT")
    assert len(events) == 2
    assert events[0].first("UID").value == events[1].first("UID").value  # type: ignore[union-attr]
    override = events[1].first("RECURRENCE-ID")
    assert override is not None and override.param("TZID") == ["America/New_York"]
    assert text_unescape(events[0].first("LOCATION").value) == "Conference Room 4B, 350 5th Ave, New York"  # type: ignore[union-attr]
    guests = events[0].all("ATTENDEE")
    assert [guest.param_first("PARTSTAT") for guest in guests] == ["ACCEPTED", "NEEDS-ACTION", "TENTATIVE"]


def test_outlook_quoted_microsoft_tzid_is_unquoted() -> None:
    root = _read("outlook_meeting_request.ics").root
    assert root is not None
    event = root.subcomponents("VEVENT")[0]
    assert event.first("DTSTART").param("TZID") == ["W. Europe Standard Time"]  # type: ignore[union-attr]
    assert root.subcomponents("VTIMEZONE")[0].first("TZID").value == "W. Europe Standard Time"  # type: ignore[union-attr]
    assert event.all("ATTENDEE")[1].param("CN") == ["Müller, Jörg"]
    assert event.first("X-MICROSOFT-CDO-BUSYSTATUS").value == "BUSY"  # type: ignore[union-attr]


def test_apple_structured_location_and_alarms() -> None:
    root = _read("apple_event_alarms.ics").root
    assert root is not None
    event = root.subcomponents("VEVENT")[0]
    place = event.first("X-APPLE-STRUCTURED-LOCATION")
    assert place is not None and place.value == "geo:52.521918,13.413215"
    assert place.param("X-TITLE") == ["Alexanderplatz"] and place.param("X-APPLE-RADIUS") == ["70.58766"]
    alarms = event.subcomponents("VALARM")
    assert [alarm.first("ACTION").value for alarm in alarms] == ["AUDIO", "DISPLAY", "NONE"]  # type: ignore[union-attr]
    assert alarms[0].first("ACKNOWLEDGED").value == "20240112T180005Z"  # type: ignore[union-attr]
    assert alarms[1].first("TRIGGER").param("VALUE") == ["DATE-TIME"]  # type: ignore[union-attr]


def test_thisandfuture_and_x_components_are_read() -> None:
    root = _read("apple_weekly_thisandfuture.ics").root
    assert root is not None
    override = root.subcomponents("VEVENT")[1].first("RECURRENCE-ID")
    assert override is not None and override.param("RANGE") == ["THISANDFUTURE"]
    peruser = _read("apple_calendarserver_peruser.ics").root
    assert peruser is not None
    x_component = peruser.subcomponents("X-CALENDARSERVER-PERUSER")[0]
    instance = x_component.subcomponents("X-CALENDARSERVER-PERINSTANCE")[0]
    assert instance.first("TRANSP").value == "TRANSPARENT"  # type: ignore[union-attr]
    assert [alarm.name for alarm in instance.components] == ["VALARM"]


def test_mixed_export_holds_event_todo_and_journal() -> None:
    root = _read("nextcloud_export_mixed.ics").root
    assert root is not None
    assert [component.name for component in root.components] == ["VTIMEZONE", "VEVENT", "VTODO", "VJOURNAL"]
    event = root.subcomponents("VEVENT")[0]
    assert [text_list(prop.value) for prop in event.all("CATEGORIES")] == [["Hobby"], ["Outdoor", "Bikes"]]
    journal = root.subcomponents("VJOURNAL")[0]
    assert text_unescape(journal.first("DESCRIPTION").value).startswith(  # type: ignore[union-attr]
        "Fixed two punctures; the brake pads need replacing.\nNext time")


# --- broken ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", BROKEN)
def test_broken_object_keeps_its_events(name: str) -> None:
    obj = _read(f"broken/{name}")
    assert obj.root is not None and obj.root.name == "VCALENDAR"
    uids = [event.first("UID").value for event in obj.root.subcomponents("VEVENT")]  # type: ignore[union-attr]
    assert uids and all(uid.startswith("broken-") for uid in uids)
    assert obj.problems or _value_problems(obj.root), name
    # What was read can always be written again, and reads back to the same components.
    rewritten = ical_parse(ical_serialize(obj.root))
    assert rewritten.root is not None
    assert [component.name for component in _walk(rewritten.root)] == [component.name for component in
                                                                      _walk(obj.root)]


def test_broken_bad_folding() -> None:
    obj = _read("broken/bad_folding.ics")
    _problems_containing(obj.problems, "line 11: not a property", "line 14: not a property")
    assert obj.root is not None
    event = obj.root.subcomponents("VEVENT")[0]
    assert text_unescape(event.first("LOCATION").value) == "Room 1\n2.14 (second floor)"  # type: ignore[union-attr]
    assert text_unescape(event.first("DESCRIPTION").value).endswith("\na strict reader.")  # type: ignore[union-attr]


def test_broken_unknown_tzid() -> None:
    root = _read("broken/unknown_tzid.ics").root
    assert root is not None
    _problems_containing(_value_problems(root), "'Mars/Olympus_Mons' has no VTIMEZONE",
                         "'Customized Time Zone' has no VTIMEZONE")


def test_broken_invalid_dates() -> None:
    obj = _read("broken/invalid_dates.ics")
    assert obj.problems == []  # every line is well-formed; the values are not
    assert obj.root is not None
    _problems_containing(_value_problems(obj.root), "'20240230T100000' is not a valid date and time",
                         "DTEND: '2024-03-01T10:00:00' is not a DATE-TIME", "'yesterday'",
                         "'20241301T100000' is not a valid date", "DTSTART: '20240315T100000' is not a DATE",
                         "'1 hour' is not a DURATION", "'20240399' is not a valid date",
                         "'-15 minutes' is not a DURATION")


def test_broken_until_forms() -> None:
    mismatch = _read("broken/until_date_mismatch.ics").root
    assert mismatch is not None
    _problems_containing(_value_problems(mismatch), "UNTIL is a DATE-TIME but DTSTART is a DATE",
                         "UNTIL is a DATE but DTSTART is a DATE-TIME")
    local = _read("broken/until_local.ics").root
    assert local is not None
    assert _value_problems(local) == [
        "VEVENT RRULE UNTIL is a local time but DTSTART has a time zone (RFC 5545 §3.3.10 wants UTC)"]


def test_broken_rrule_garbage() -> None:
    root = _read("broken/rrule_garbage.ics").root
    assert root is not None
    _problems_containing(_value_problems(root), "RRULE has no FREQ", "FREQ='FORTNIGHTLY' is not a frequency",
                         "BYDAY entry 'XX'", "BYDAY ordinal 9 never occurs",
                         "BYMONTHDAY entry '0'", "both UNTIL and COUNT",
                         "INTERVAL='0' is not a positive integer")
    rule, _ = recur_parse(root.subcomponents("VEVENT")[2].first("RRULE").value)  # type: ignore[union-attr]
    assert rule == {"FREQ": "MONTHLY", "BYDAY": [(9, "MO"), (-1, "FR")], "BYMONTHDAY": [-1], "COUNT": 12}


def test_broken_structure() -> None:
    missing = _read("broken/missing_end.ics")
    _problems_containing(missing.problems, "no END:VALARM", "no END:VEVENT", "no END:VCALENDAR")
    assert missing.root is not None
    assert missing.root.subcomponents("VEVENT")[0].subcomponents("VALARM")[0].first("TRIGGER") is not None
    nested = _read("broken/begin_without_end.ics")
    _problems_containing(nested.problems, "BEGIN:VEVENT while VEVENT", "END:VTODO without its BEGIN",
                         "2 top-level components")
    assert nested.root is not None and len(nested.root.subcomponents("VEVENT")) == 2
    assert nested.more[0].subcomponents("VEVENT")[0].first("UID").value == "broken-second-calendar@example.com"  # type: ignore[union-attr]


def test_broken_junk_quotes_line_ends_and_size() -> None:
    junk = _read("broken/junk_lines.ics")
    _problems_containing(junk.problems, "line 1: text outside any component", "--boundary--", "not a property")
    assert junk.root is not None and junk.root.subcomponents("VEVENT")[0].first("DTSTART") is not None
    quote = _read("broken/unclosed_quote.ics")
    _problems_containing(quote.problems, "ATTENDEE has a quoted parameter value without its closing quote")
    assert quote.root is not None
    attendee = quote.root.subcomponents("VEVENT")[0].first("ATTENDEE")
    assert attendee is not None and attendee.value == "mailto:jane@example.com"
    mixed = _read("broken/crlf_lf_mix.ics")
    _problems_containing(mixed.problems, "mixes CRLF")
    assert mixed.root is not None
    # The fold after the LF is unfolded like any other: its one blank goes (§3.1).
    summary = mixed.root.subcomponents("VEVENT")[0].first("SUMMARY")
    assert summary is not None and summary.value == "Line ends of both kinds and a fold afteran LF"
    huge = _read("broken/huge_description.ics")
    _problems_containing(huge.problems, "DESCRIPTION is 1104000 octets (over 1 MiB); kept")
