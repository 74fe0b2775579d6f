"""ORGANIZER/ATTENDEE ↔ participants and replyTo (RFC 8984 §4.4; RFC 5545 §3.2, §3.8.4; RFC 6638)."""
from __future__ import annotations

from jmapcore.calendars.jscalendar import event_read, event_write
from jmapcore.calendars.jscalendar.participants import participant_id
from tests.jmapcore.calendars.jscalendar.icals import component_lines, read

START = "DTSTART:20260105T100000Z"


def test_organizer_and_attendees_with_roles_and_status() -> None:
    event = read(START, "ORGANIZER;CN=Alice:mailto:alice@example.com",
                 "ATTENDEE;CN=Bob;ROLE=OPT-PARTICIPANT;PARTSTAT=TENTATIVE;RSVP=TRUE:mailto:bob@example.com",
                 "ATTENDEE;CUTYPE=ROOM;ROLE=NON-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:room1@example.com",
                 "ATTENDEE;ROLE=CHAIR;PARTSTAT=ACCEPTED;SCHEDULE-AGENT=CLIENT:mailto:carol@example.com")
    assert event["replyTo"] == {"imip": "mailto:alice@example.com"}
    people = event["participants"]
    alice = people[participant_id("mailto:alice@example.com")]
    assert alice["roles"] == {"owner": True} and alice["name"] == "Alice"
    bob = people[participant_id("mailto:bob@example.com")]
    assert bob["roles"] == {"attendee": True, "optional": True}
    assert bob["participationStatus"] == "tentative" and bob["expectReply"] is True
    room = people[participant_id("mailto:room1@example.com")]
    assert room["kind"] == "location" and room["roles"] == {"informational": True}
    carol = people[participant_id("mailto:carol@example.com")]
    assert carol["roles"] == {"attendee": True, "chair": True} and carol["scheduleAgent"] == "client"


def test_organizer_who_attends_is_one_participant() -> None:
    event = read(START, "ORGANIZER;CN=Alice:mailto:alice@example.com",
                 "ATTENDEE;CN=Alice;PARTSTAT=ACCEPTED:mailto:alice@example.com")
    assert list(event["participants"]) == [participant_id("mailto:alice@example.com")]
    alice = event["participants"][participant_id("mailto:alice@example.com")]
    assert alice["roles"] == {"attendee": True, "owner": True}


def test_delegation_refers_to_participant_ids() -> None:
    event = read(START, "ATTENDEE;PARTSTAT=DELEGATED;DELEGATED-TO=\"mailto:bob@example.com\":mailto:alice@example.com",
                 "ATTENDEE;DELEGATED-FROM=\"mailto:alice@example.com\":mailto:bob@example.com")
    alice_id, bob_id = participant_id("mailto:alice@example.com"), participant_id("mailto:bob@example.com")
    assert event["participants"][alice_id]["delegatedTo"] == {bob_id: True}
    assert event["participants"][bob_id]["delegatedFrom"] == {alice_id: True}
    text = event_write(event, previous_text=None)
    assert event_read(text).event == event


def test_ids_do_not_change_when_attendees_are_reordered() -> None:
    one = read(START, "ATTENDEE:mailto:a@example.com", "ATTENDEE:mailto:b@example.com")
    two = read(START, "ATTENDEE:mailto:b@example.com", "ATTENDEE:mailto:a@example.com")
    assert set(one["participants"]) == set(two["participants"])


def test_unknown_parameters_are_kept() -> None:
    event = read(START, "ATTENDEE;X-NUM-GUESTS=2;PARTSTAT=ACCEPTED:mailto:bob@example.com")
    bob = event["participants"][participant_id("mailto:bob@example.com")]
    assert bob["iCalParams"] == {"x-num-guests": "2"}
    attendee = [line for line in component_lines(event_write(event, previous_text=None)) if line.startswith("ATTENDEE")]
    assert attendee == ["ATTENDEE;PARTSTAT=ACCEPTED;X-NUM-GUESTS=2:mailto:bob@example.com"]


def test_new_participants_are_written() -> None:
    event = {"@type": "Event", "uid": "alice-meet", "start": "2026-02-01T10:00:00", "timeZone": "Etc/UTC",
             "replyTo": {"imip": "mailto:alice@example.com"},
             "participants": {
                 "a": {"@type": "Participant", "name": "Alice", "sendTo": {"imip": "mailto:alice@example.com"},
                       "roles": {"owner": True, "attendee": True}, "participationStatus": "accepted"},
                 "b": {"@type": "Participant", "email": "bob@example.com", "roles": {"attendee": True},
                       "participationStatus": "needs-action", "expectReply": True}}}
    lines = component_lines(event_write(event, previous_text=None))
    assert "ORGANIZER;CN=Alice:mailto:alice@example.com" in lines
    assert "ATTENDEE;CN=Alice;PARTSTAT=ACCEPTED:mailto:alice@example.com" in lines
    assert "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@example.com" in lines
