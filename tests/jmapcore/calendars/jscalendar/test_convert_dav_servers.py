"""What event_write makes is stored by the CalDAV servers the suite starts (Radicale, Xandikos), and
what they hand back reads as the same event; a minimal change made against their copy is accepted
too (issue 11 items 2 and 4). Real servers, plain HTTP requests: no proxy code in between."""
from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx
import pytest

from jmapcore.calendars.jscalendar import event_read, event_write
from jmapcore.calendars.jscalendar.participants import participant_id

ALICE = "mailto:alice@example.com"
BOB = "mailto:bob@example.com"


def _weekly(uid: str) -> dict[str, Any]:
    return {
        "@type": "Event", "uid": uid, "title": "Team sync", "description": "Agenda:\n1. numbers, 2. plans",
        "start": "2026-03-02T10:00:00", "timeZone": "Europe/Berlin", "duration": "PT1H",
        "updated": "2026-02-01T08:00:00Z",
        "recurrenceRules": [{"@type": "RecurrenceRule", "frequency": "weekly",
                             "byDay": [{"@type": "NDay", "day": "mo"}], "until": "2026-06-29T10:00:00"}],
        "recurrenceOverrides": {"2026-03-09T10:00:00": {"start": "2026-03-09T14:00:00"},
                                "2026-03-16T10:00:00": {"excluded": True}},
        "alerts": {"a1": {"@type": "Alert", "trigger": {"@type": "OffsetTrigger", "offset": "-PT15M"},
                          "action": "display"}},
        "replyTo": {"imip": ALICE},
        "participants": {
            participant_id(ALICE): {"@type": "Participant", "name": "Alice", "email": "alice@example.com",
                                    "sendTo": {"imip": ALICE}, "roles": {"attendee": True, "owner": True},
                                    "participationStatus": "accepted"},
            participant_id(BOB): {"@type": "Participant", "name": "Bob", "email": "bob@example.com",
                                  "sendTo": {"imip": BOB}, "roles": {"attendee": True},
                                  "participationStatus": "needs-action", "expectReply": True}},
        "locations": {"l1": {"@type": "Location", "name": "Room 1", "coordinates": "geo:52.52,13.405"}},
        "keywords": {"work": True},
        "example.com:rank": 3,
    }


def _round_trip(client: httpx.Client, calendar_url: str) -> None:
    uid = f"{uuid.uuid4()}@example.com"
    event = _weekly(uid)
    href = f"{calendar_url}{uid}.ics"
    headers = {"Content-Type": "text/calendar; charset=utf-8"}
    created = client.put(href, content=event_write(event, previous_text=None).encode(),
                         headers={**headers, "If-None-Match": "*"})
    assert created.status_code in (201, 204), created.text[:500]
    stored = client.get(href)
    assert stored.status_code == 200
    reading = event_read(stored.text)
    assert reading.event == event, reading.problems
    # bob accepts and the title changes: written against the server's own copy.
    changed = copy.deepcopy(reading.event)
    changed["title"] = "Team sync (Q2)"
    changed["participants"][participant_id(BOB)]["participationStatus"] = "accepted"
    updated = client.put(href, content=event_write(changed, previous_text=stored.text).encode(),
                         headers={**headers, "If-Match": stored.headers["ETag"]})
    assert updated.status_code in (200, 201, 204), updated.text[:500]
    again = client.get(href)
    assert event_read(again.text).event == changed


def test_radicale_stores_and_returns_the_event(radicale: Any) -> None:
    user = radicale.user("alice-f2", "wonderland")
    with httpx.Client(auth=(user.login, user.password), timeout=10) as client:
        _round_trip(client, user.caldav_url + "calendar/")


def test_xandikos_stores_and_returns_the_event(xandikos_server: Any) -> None:
    user = xandikos_server.user("alice-f2", "wonderland")
    with xandikos_server.client(user.login, user.password) as client:
        _round_trip(client, user.caldav_url + "calendars/calendar/")


@pytest.mark.parametrize("offset", ["-PT15M", "PT0S"])
def test_alert_offsets_survive_radicale(radicale: Any, offset: str) -> None:
    user = radicale.user(f"bob-f2-{uuid.uuid4().hex[:8]}", "builder")
    uid = f"{uuid.uuid4()}@example.com"
    event = {"@type": "Event", "uid": uid, "start": "2026-05-01T09:00:00", "timeZone": "America/New_York",
             "duration": "PT30M", "updated": "2026-02-01T08:00:00Z",
             "alerts": {"a1": {"@type": "Alert", "trigger": {"@type": "OffsetTrigger", "offset": offset},
                               "action": "display"}}}
    with httpx.Client(auth=(user.login, user.password), timeout=10) as client:
        href = f"{user.caldav_url}calendar/{uid}.ics"
        answer = client.put(href, content=event_write(event, previous_text=None).encode(),
                            headers={"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"})
        assert answer.status_code in (201, 204), answer.text[:500]
        assert event_read(client.get(href).text).event == event
