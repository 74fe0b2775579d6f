"""event_write with previous_text changes only what the client changed (issue 11 item 2)."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from jmapcore.calendars.jscalendar import event_read, event_write
from jmapcore.calendars.jscalendar.ical_syntax import ical_parse, ical_serialize
from jmapcore.calendars.jscalendar.participants import participant_id
from tests.jmapcore.calendars.jscalendar.icals import calendar, content_lines

CORPUS = Path(__file__).parent / "corpus"

MEETING_AS_SENT = calendar(
    "BEGIN:VEVENT", "UID:meeting@example.com", "DTSTAMP:20260101T000000Z",
    "DTSTART;TZID=Europe/Berlin:20260105T100000", "DTEND;TZID=Europe/Berlin:20260105T110000",
    "SUMMARY:Planning", "DESCRIPTION:Bring numbers", "RRULE:FREQ=WEEKLY;BYDAY=MO",
    "ORGANIZER;CN=Alice:mailto:alice@example.com",
    "ATTENDEE;CN=Alice;PARTSTAT=ACCEPTED:mailto:alice@example.com",
    "ATTENDEE;CN=Bob;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;X-NUM-GUESTS=0:mailto:bob@example.com",
    "X-MOZ-GENERATION:4", "LOCATION:Room 1",
    "BEGIN:VALARM", "TRIGGER:-PT15M", "ACTION:DISPLAY", "DESCRIPTION:Planning", "X-WR-ALARMUID:abc", "END:VALARM",
    "END:VEVENT")
# As ical_serialize folds it (lines over 75 octets), the form a server would hold.
MEETING = ical_serialize(ical_parse(MEETING_AS_SENT).root)  # type: ignore[arg-type]


def _changed(before: str, after: str) -> tuple[list[str], list[str]]:
    old, new = content_lines(before), content_lines(after)
    return [line for line in old if line not in new], [line for line in new if line not in old]


def _event(text: str) -> dict:
    event = event_read(text).event
    assert event is not None
    return event


def test_unchanged_event_is_written_back_byte_for_byte() -> None:
    assert event_write(_event(MEETING), previous_text=MEETING) == MEETING


def test_title_change_changes_the_summary_and_the_alarm_text_made_from_it() -> None:
    # The VALARM's DESCRIPTION was the title (as event_write makes it): it follows the title,
    # or the alarm would show the old one. Nothing else changes.
    event = _event(MEETING)
    event["title"] = "Planning (Q2)"
    assert _changed(MEETING, event_write(event, previous_text=MEETING)) == (
        ["SUMMARY:Planning", "DESCRIPTION:Planning"], ["SUMMARY:Planning (Q2)", "DESCRIPTION:Planning (Q2)"])


def test_title_change_leaves_an_alarm_text_of_its_own() -> None:
    text = MEETING.replace("DESCRIPTION:Planning\r\n", "DESCRIPTION:Time to go\r\n")
    event = _event(text)
    event["title"] = "Planning (Q2)"
    assert _changed(text, event_write(event, previous_text=text)) == (["SUMMARY:Planning"],
                                                                      ["SUMMARY:Planning (Q2)"])


def test_participation_status_change_changes_one_attendee_line() -> None:
    event = _event(MEETING)
    event["participants"][participant_id("mailto:bob@example.com")]["participationStatus"] = "accepted"
    removed, added = _changed(MEETING, event_write(event, previous_text=MEETING))
    assert removed == ["ATTENDEE;CN=Bob;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;X-NUM-GUESTS=0:mailto:bob@example.com"]
    assert len(added) == 1 and "PARTSTAT=ACCEPTED" in added[0] and "X-NUM-GUESTS=0" in added[0]


def test_alert_change_changes_only_the_trigger() -> None:
    event = _event(MEETING)
    event["alerts"]["a1"]["trigger"]["offset"] = "-PT30M"
    assert _changed(MEETING, event_write(event, previous_text=MEETING)) == (["TRIGGER:-PT15M"], ["TRIGGER:-PT30M"])


def test_moving_the_start_changes_start_and_end_only() -> None:
    event = _event(MEETING)
    event["start"] = "2026-01-05T11:00:00"
    removed, added = _changed(MEETING, event_write(event, previous_text=MEETING))
    assert sorted(removed) == ["DTEND;TZID=Europe/Berlin:20260105T110000", "DTSTART;TZID=Europe/Berlin:20260105T100000"]
    assert sorted(added) == ["DTEND;TZID=Europe/Berlin:20260105T120000", "DTSTART;TZID=Europe/Berlin:20260105T110000"]


def test_excluding_an_occurrence_adds_one_exdate_line() -> None:
    event = _event(MEETING)
    event["recurrenceOverrides"] = {"2026-01-12T10:00:00": {"excluded": True}}
    assert _changed(MEETING, event_write(event, previous_text=MEETING)) == (
        [], ["EXDATE;TZID=Europe/Berlin:20260112T100000"])


def _corpus_events() -> list[Path]:
    found = []
    for path in sorted(CORPUS.glob("*.ics")):
        event = event_read(path.read_text(encoding="utf-8")).event
        if event is not None and not event.get("recurrenceOverrides") and "title" in event:
            found.append(path)
    return found


@pytest.mark.parametrize("path", _corpus_events(), ids=lambda p: p.name)
def test_title_change_in_corpus_changes_one_line(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    root = ical_parse(text).root
    assert root is not None
    canonical = ical_serialize(root)      # the same object, lines folded as written here
    event = copy.deepcopy(_event(text))
    event["title"] = "Changed by alice"
    old_title = _event(text)["title"]
    removed, added = _changed(canonical, event_write(event, previous_text=text))
    # The SUMMARY, and the DESCRIPTION of display alarms that said the old title (see above), or
    # that lacked the DESCRIPTION RFC 5545 §3.6.6 requires and get the title as theirs.
    assert len([line for line in removed if line.startswith("SUMMARY")]) == 1
    assert all(line.startswith("SUMMARY") or line.split(":", 1)[1] == old_title for line in removed), removed
    assert len([line for line in added if line.startswith("SUMMARY")]) == 1
    assert all(line.endswith(":Changed by alice") for line in added), added


WITH_INSTANCE = ical_serialize(ical_parse(calendar(  # type: ignore[arg-type]
    "BEGIN:VEVENT", "UID:weekly@example.com", "DTSTAMP:20260101T000000Z",
    "DTSTART;TZID=Europe/Berlin:20260105T100000", "DURATION:PT1H", "SUMMARY:Standup", "RRULE:FREQ=WEEKLY",
    "END:VEVENT",
    "BEGIN:VEVENT", "UID:weekly@example.com", "DTSTAMP:20260101T000000Z",
    "RECURRENCE-ID;TZID=Europe/Berlin:20260119T100000", "DTSTART;TZID=Europe/Berlin:20260119T140000",
    "DURATION:PT1H", "SUMMARY:Standup (afternoon)", "X-KEEP:me", "END:VEVENT")).root)


def test_changing_an_override_changes_only_its_lines() -> None:
    event = _event(WITH_INSTANCE)
    event["recurrenceOverrides"]["2026-01-19T10:00:00"]["title"] = "Standup (late)"
    assert _changed(WITH_INSTANCE, event_write(event, previous_text=WITH_INSTANCE)) == (
        ["SUMMARY:Standup (afternoon)"], ["SUMMARY:Standup (late)"])


def test_changing_the_master_keeps_the_override_component() -> None:
    event = _event(WITH_INSTANCE)
    event["recurrenceRules"][0]["count"] = 10
    removed, added = _changed(WITH_INSTANCE, event_write(event, previous_text=WITH_INSTANCE))
    assert (removed, added) == (["RRULE:FREQ=WEEKLY"], ["RRULE:FREQ=WEEKLY;COUNT=10"])


def test_new_override_on_an_occurrence_adds_one_component_and_no_rdate() -> None:
    event = _event(WITH_INSTANCE)
    event["recurrenceOverrides"]["2026-01-26T10:00:00"] = {"title": "Standup with Carol"}
    written = event_write(event, previous_text=WITH_INSTANCE)
    removed, added = _changed(WITH_INSTANCE, written)
    assert removed == []
    assert "RECURRENCE-ID;TZID=Europe/Berlin:20260126T100000" in added
    assert "SUMMARY:Standup with Carol" in added
    assert not any(line.startswith("RDATE") for line in added)


def test_new_override_off_the_rule_adds_an_rdate() -> None:
    event = _event(WITH_INSTANCE)
    event["recurrenceOverrides"]["2026-01-28T10:00:00"] = {"title": "Extra standup"}
    written = event_write(event, previous_text=WITH_INSTANCE)
    _removed, added = _changed(WITH_INSTANCE, written)
    assert "RDATE;TZID=Europe/Berlin:20260128T100000" in added
    again = event_read(written).event
    assert again is not None
    assert again["recurrenceOverrides"]["2026-01-28T10:00:00"] == {"title": "Extra standup"}
