"""CalendarEventNotification/get, /changes, /set, /query, /queryChanges
(draft-ietf-jmap-calendars-33 §7) over rows as sync writes them."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from jmapcore.models.calendars import CalendarEventNotification
from tests.jmapcore.calendars.methods.calendar_event_people import CalendarsPerson
from tests.jmapcore.calendars.methods.calendar_people import notification_make
from tests.personas import Persona

BOB = {"name": "Bob", "email": "bob@example.test", "principalId": None, "calendarAddress": "mailto:bob@example.test"}
EVENT = {"@type": "Event", "uid": "u1@example.test", "title": "Lunch", "start": "2026-12-10T12:00:00"}


def _three(person: CalendarsPerson) -> list[CalendarEventNotification]:
    return [
        notification_make(person, change_type="created", event_id="e1", created=datetime(2026, 12, 1, 9, tzinfo=UTC),
                          changed_by=BOB, event=EVENT),
        notification_make(person, change_type="updated", event_id="e1", created=datetime(2026, 12, 2, 9, tzinfo=UTC),
                          changed_by=BOB, event_patch={"title": "Late lunch"}, comment="moved"),
        notification_make(person, change_type="destroyed", event_id="e2", created=datetime(2026, 12, 3, 9, tzinfo=UTC),
                          changed_by=BOB, event=EVENT),
    ]  # fmt: skip


def test_get_every_property(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    created, updated, _destroyed = _three(person)
    got = {item["id"]: item for item in person.ok("CalendarEventNotification/get", ids=None)["list"]}
    assert got[created.jmap_id] == {
        "id": created.jmap_id, "created": "2026-12-01T09:00:00Z", "changedBy": BOB, "comment": None,
        "type": "created", "calendarEventId": "e1", "isDraft": False, "event": EVENT, "eventPatch": None,
    }  # fmt: skip
    assert got[updated.jmap_id]["eventPatch"] == {"title": "Late lunch"}
    assert (got[updated.jmap_id]["event"], got[updated.jmap_id]["comment"]) == (None, "moved")
    assert created.jmap_id.startswith("n")


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({}, [0, 1, 2]),
        ({"after": "2026-12-02T09:00:00Z"}, [1, 2]),
        ({"before": "2026-12-02T09:00:00Z"}, [0]),
        ({"type": "updated"}, [1]),
        ({"calendarEventIds": ["e1"]}, [0, 1]),
        ({"calendarEventIds": ["e1"], "type": "created"}, [0]),
    ],
)
def test_query_filters(alice: Persona, condition: dict[str, Any], expected: list[int]) -> None:
    person = CalendarsPerson.of(alice)
    rows = _three(person)
    result = person.ok("CalendarEventNotification/query", filter=condition,
                       sort=[{"property": "created", "isAscending": True}])  # fmt: skip
    assert result["ids"] == [rows[index].jmap_id for index in expected]


@pytest.mark.parametrize(
    "arguments",
    [
        {"filter": {"type": "moved"}},
        {"filter": {"after": "yesterday"}},
        {"filter": {"calendarEventIds": "e1"}},
        {"filter": {"calendarEventId": "e1"}},
        {"sort": [{"property": "type"}]},
    ],
)
def test_bad_queries_are_errors(alice: Persona, arguments: dict[str, Any]) -> None:
    person = CalendarsPerson.of(alice)
    _three(person)
    assert person.error("CalendarEventNotification/query", **arguments)["type"] in (
        "invalidArguments", "unsupportedFilter", "unsupportedSort",
    )  # fmt: skip


def test_set_only_destroys(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    first, second, _third = _three(person)
    state = person.ok("CalendarEventNotification/get", ids=[])["state"]
    query_state = person.ok("CalendarEventNotification/query")["queryState"]
    result = person.ok(
        "CalendarEventNotification/set",
        create={"c1": {"type": "created", "calendarEventId": "e9"}},
        update={second.jmap_id: {"comment": "mine"}},
        destroy=[first.jmap_id, "nnothing"],
    )
    assert result["notCreated"]["c1"]["type"] == "forbidden"
    assert result["notUpdated"][second.jmap_id]["type"] == "forbidden"
    assert result["destroyed"] == [first.jmap_id]
    assert result["notDestroyed"]["nnothing"]["type"] == "notFound"
    changes = person.ok("CalendarEventNotification/changes", sinceState=state)
    assert (changes["destroyed"], changes["updated"], changes["created"]) == ([first.jmap_id], [], [])
    query_changes = person.ok("CalendarEventNotification/queryChanges", sinceQueryState=query_state)
    assert query_changes["removed"] == [first.jmap_id] and query_changes["added"] == []
    assert CalendarEventNotification.objects.get(pk=second.pk).comment == "moved"


def test_mallory_cannot_see_or_destroy_alices(alice: Persona, mallory: Persona) -> None:
    person = CalendarsPerson.of(alice)
    first, _second, _third = _three(person)
    intruder = CalendarsPerson.of(mallory)
    assert intruder.ok("CalendarEventNotification/get", ids=[first.jmap_id])["notFound"] == [first.jmap_id]
    assert intruder.ok("CalendarEventNotification/query")["ids"] == []
    result = intruder.ok("CalendarEventNotification/set", destroy=[first.jmap_id])
    assert result["notDestroyed"][first.jmap_id]["type"] == "notFound"
    assert CalendarEventNotification.objects.get(pk=first.pk).destroyed is False
