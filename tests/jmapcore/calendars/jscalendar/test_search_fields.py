"""event_search_fields: the CalendarEvent cache's query columns, and event_parse_blob."""
from __future__ import annotations

from datetime import UTC, datetime

from jmapcore.calendars.jscalendar import event_parse_blob, event_search_fields
from tests.jmapcore.calendars.jscalendar.icals import calendar, read


def test_columns_of_a_meeting() -> None:
    event = read("DTSTART;TZID=Europe/Berlin:20260105T100000", "DURATION:PT1H", "SUMMARY:Quarterly Review",
                 "DESCRIPTION:Numbers", "LOCATION:Room Ä", "ORGANIZER;CN=Alice Liddell:mailto:alice@example.com",
                 "ATTENDEE;CN=Bob:mailto:bob@example.com", "CREATED:20251201T080000Z")
    fields = event_search_fields(event)
    assert fields["uid"] == "alice-1@example.com"
    assert fields["search_title"] == "quarterly review"
    assert fields["search_description"] == "numbers"
    assert fields["search_location"] == "room ä"
    assert fields["search_owner"] == "alice liddell\nalice@example.com"
    assert fields["search_attendee"] == "bob\nbob@example.com"
    assert "quarterly review" in fields["search_text"] and "bob@example.com" in fields["search_text"]
    assert fields["utc_start"] == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert fields["utc_end"] == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert fields["created"] == datetime(2025, 12, 1, 8, 0, tzinfo=UTC)
    assert fields["is_recurring"] is False


def test_recurring_event_spans_its_occurrences() -> None:
    endless = event_search_fields(read("DTSTART:20260105T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY"))
    assert endless["is_recurring"] is True and endless["utc_end"] is None
    counted = event_search_fields(read("DTSTART:20260105T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=3"))
    assert counted["utc_end"] == datetime(2026, 1, 7, 11, 0, tzinfo=UTC)


def test_override_titles_are_searchable() -> None:
    event = read("DTSTART:20260105T100000Z", "SUMMARY:Standup", "RRULE:FREQ=DAILY")
    event["recurrenceOverrides"] = {"2026-01-06T10:00:00": {"title": "Standup with the CEO"}}
    assert "standup with the ceo" in event_search_fields(event)["search_title"].split("\n")


def test_parse_blob_gives_every_event() -> None:
    blob = calendar(
        "BEGIN:VEVENT", "UID:one", "DTSTAMP:20260101T000000Z", "DTSTART:20260105T100000Z", "SUMMARY:One",
        "RRULE:FREQ=DAILY", "END:VEVENT",
        "BEGIN:VEVENT", "UID:two", "DTSTAMP:20260101T000000Z", "DTSTART:20260106T100000Z", "SUMMARY:Two",
        "END:VEVENT",
        "BEGIN:VEVENT", "UID:one", "DTSTAMP:20260101T000000Z", "RECURRENCE-ID:20260107T100000Z",
        "DTSTART:20260107T120000Z", "SUMMARY:One", "END:VEVENT",
        "BEGIN:VTODO", "UID:three", "END:VTODO")
    events = event_parse_blob(blob)
    assert [event["uid"] for event in events] == ["one", "two"]
    assert events[0]["recurrenceOverrides"] == {"2026-01-07T10:00:00": {"start": "2026-01-07T12:00:00"}}
    assert event_parse_blob("not a calendar") == []
