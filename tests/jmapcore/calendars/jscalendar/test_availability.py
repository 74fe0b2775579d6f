"""Busy periods for Principal/getAvailability (draft-ietf-jmap-calendars-33 §2.2):
which of alice's events make her busy, with which busyStatus, recurring events
expanded and their overrides applied.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jmapcore.calendars.jscalendar.availability import busy_periods, event_patched

ALICE = "mailto:alice@example.com"
AFTER = datetime(2026, 3, 2, tzinfo=UTC)
BEFORE = datetime(2026, 3, 9, tzinfo=UTC)


def _event(uid: str, start: str, **extra: Any) -> dict[str, Any]:
    return {"@type": "Event", "uid": uid, "start": start, "timeZone": "Etc/UTC", "duration": "PT1H", **extra}


def _meeting(uid: str, start: str, answer: str, **extra: Any) -> dict[str, Any]:
    """bob's meeting that alice is invited to, with her answer."""
    return _event(uid, start, participants={
        "bob": {"@type": "Participant", "sendTo": {"imip": "mailto:bob@example.com"}, "roles": {"owner": True},
                "participationStatus": "accepted"},
        "alice": {"@type": "Participant", "sendTo": {"imip": "MAILTO:Alice@Example.com"},
                  "roles": {"attendee": True}, "participationStatus": answer},
    }, **extra)


def _statuses(events: list[dict[str, Any]], **options: Any) -> list[tuple[str, str, str]]:
    return [(period.event["uid"], period.utc_start.isoformat(), period.busy_status)
            for period in busy_periods(events, after=AFTER, before=BEFORE, addresses=[ALICE], **options)]


def test_free_cancelled_and_outside_events_are_not_busy() -> None:
    events = [
        _event("dentist", "2026-03-03T09:00:00"),
        _event("lunch-free", "2026-03-03T12:00:00", freeBusyStatus="free"),
        _event("called-off", "2026-03-04T09:00:00", status="cancelled"),
        _event("last-week", "2026-02-23T09:00:00"),
        _event("next-week", "2026-03-09T00:00:00"),
    ]
    assert _statuses(events) == [("dentist", "2026-03-03T09:00:00+00:00", "confirmed")]


def test_busy_status_follows_event_status_and_alices_answer() -> None:
    events = [
        _event("maybe", "2026-03-02T08:00:00", status="tentative"),
        _meeting("accepted", "2026-03-02T10:00:00", "accepted"),
        _meeting("thinking", "2026-03-02T11:00:00", "tentative"),
        _meeting("unanswered", "2026-03-02T12:00:00", "needs-action"),
        _meeting("declined", "2026-03-02T13:00:00", "declined"),
    ]
    assert [(uid, status) for uid, _, status in _statuses(events)] == [
        ("maybe", "tentative"), ("accepted", "confirmed"), ("thinking", "tentative"),
        ("unanswered", "unavailable"), ("declined", "unavailable")]


def test_attending_calendars_count_only_accepted_or_tentative_participation() -> None:
    events = [
        _event("own-appointment", "2026-03-02T08:00:00"),
        _meeting("accepted", "2026-03-02T10:00:00", "accepted"),
        _meeting("thinking", "2026-03-02T11:00:00", "tentative"),
        _meeting("declined", "2026-03-02T13:00:00", "declined"),
    ]
    assert [uid for uid, _, _ in _statuses(events, attending_only=True)] == ["accepted", "thinking"]


def test_recurring_events_are_expanded_with_their_overrides() -> None:
    standup = _event("standup", "2026-02-02T09:00:00", recurrenceRules=[{"frequency": "daily"}],
                     recurrenceOverrides={
                         "2026-03-03T09:00:00": {"excluded": True},
                         "2026-03-04T09:00:00": {"freeBusyStatus": "free"},
                         "2026-03-05T09:00:00": {"status": "tentative", "start": "2026-03-05T14:00:00"},
                         "2026-03-06T09:00:00": {"status": "cancelled"},
                     })
    found = busy_periods([standup], after=AFTER, before=BEFORE, addresses=[ALICE])
    assert [(p.recurrence_id, p.utc_start.isoformat(), p.busy_status) for p in found] == [
        ("2026-03-02T09:00:00", "2026-03-02T09:00:00+00:00", "confirmed"),
        ("2026-03-05T09:00:00", "2026-03-05T14:00:00+00:00", "tentative"),
        ("2026-03-07T09:00:00", "2026-03-07T09:00:00+00:00", "confirmed"),
        ("2026-03-08T09:00:00", "2026-03-08T09:00:00+00:00", "confirmed"),
    ]
    assert found[1].event["status"] == "tentative" and "recurrenceOverrides" not in found[1].event


def test_an_override_can_change_alices_answer_for_one_occurrence() -> None:
    weekly = _meeting("weekly", "2026-02-23T10:00:00", "accepted", recurrenceRules=[{"frequency": "weekly"}],
                      recurrenceOverrides={"2026-03-02T10:00:00": {"participants/alice/participationStatus":
                                                                   "declined"}})
    assert _statuses([weekly], attending_only=True) == []
    assert _statuses([weekly]) == [("weekly", "2026-03-02T10:00:00+00:00", "unavailable")]


def test_event_patched_leaves_the_original_alone_and_skips_impossible_paths() -> None:
    event = _meeting("m", "2026-03-02T10:00:00", "accepted")
    patched = event_patched(event, {"participants/alice/participationStatus": "declined",
                                    "locations/nowhere/name": "x", "title": "Moved", "duration": None})
    assert patched["participants"]["alice"]["participationStatus"] == "declined"
    assert patched["title"] == "Moved" and "duration" not in patched and "locations" not in patched
    assert event["participants"]["alice"]["participationStatus"] == "accepted" and "title" not in event


def test_mallorys_broken_events_do_not_break_the_answer() -> None:
    problems: list[str] = []
    events: list[Any] = [
        "not an event",
        {"uid": "no-start"},
        _event("bad-rule", "2026-03-02T09:00:00", recurrenceRules=[{"frequency": "sometimes"}]),
        _event("fine", "2026-03-03T09:00:00"),
    ]
    found = busy_periods(events, after=AFTER, before=BEFORE, addresses=[ALICE], problems=problems)
    assert [p.event["uid"] for p in found] == ["bad-rule", "fine"]
    assert any("frequency" in problem for problem in problems)
