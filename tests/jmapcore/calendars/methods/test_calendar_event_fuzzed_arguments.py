"""Any JSON as CalendarEvent/get, /query and /set arguments gets a response or a JMAP
method error (a bad create or patch a per-object SetError), never a server failure
(DESIGN.md "Testing": bad input of any kind gets a JMAP error). /set runs against a
CalDAV URL nobody answers at, so a create or patch that passes every check fails
with serverFail from the unreachable server, which is an answer too."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jmapcore.calendars.calendar_event_query import CALENDAR_EVENT_FILTERS, CALENDAR_EVENT_SORTS
from jmapcore.calendars.calendar_event_read import occurrence_id_make
from jmapcore.models.calendars import CalendarEvent
from tests.jmapcore.calendars.methods.calendar_event_people import CalendarsPerson, event_row, ical
from tests.personas import Persona

ANSWERS = {"invalidArguments", "unsupportedFilter", "unsupportedSort", "anchorNotFound", "requestTooLarge",
           "stateMismatch"}
SET_ERRORS = {"invalidProperties", "invalidPatch", "notFound", "willDestroy", "forbidden", "serverFail",
              "tooLarge", "stateMismatch"}

_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
    st.sampled_from(["2026-12-01T00:00:00Z", "2026-12-02T10:00:00", "Europe/Berlin", "PT1H", "%", "\n",
                     "eabc_20261202T100000", "recurrenceOverrides/2026-12-09T10:00:00/title"]),
)  # fmt: skip
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)
_CONDITIONS = st.dictionaries(st.sampled_from([*CALENDAR_EVENT_FILTERS, "bogus"]), _JSON, max_size=3)
_FILTERS = st.recursive(
    st.one_of(_CONDITIONS, _JSON),
    lambda inner: st.fixed_dictionaries(
        {"operator": st.sampled_from(["AND", "OR", "NOT", "XOR", 1]), "conditions": st.lists(inner, max_size=3)}
    ),
    max_leaves=6,
)
_COMPARATOR = st.fixed_dictionaries(
    {"property": st.sampled_from([*CALENDAR_EVENT_SORTS, "title", 3])},
    optional={"isAscending": _SCALARS, "collation": st.sampled_from(["i;unicode-casemap", "i;octet", 7])},
)
_QUERY_ARGS = st.fixed_dictionaries(
    {},
    optional={
        "filter": _FILTERS,
        "sort": st.one_of(st.lists(_COMPARATOR, max_size=3), _JSON),
        "position": _SCALARS,
        "anchor": _SCALARS,
        "anchorOffset": _SCALARS,
        "limit": _SCALARS,
        "calculateTotal": _SCALARS,
        "expandRecurrences": st.one_of(st.just(True), _SCALARS),
        "timeZone": _SCALARS,
    },
)
_EVENT_KEYS = st.sampled_from(["title", "start", "duration", "timeZone", "recurrenceRules", "recurrenceOverrides",
                               "participants", "alerts", "calendarIds", "uid", "isDraft", "utcStart", "@type",
                               "showWithoutTime", "locations", "bogus"])
_PATCH_KEYS = st.one_of(_EVENT_KEYS, st.sampled_from([
    "participants/p1/participationStatus", "recurrenceOverrides/2026-12-09T10:00:00/title",
    "recurrenceOverrides/2026-12-16T10:00:00", "alerts/a1/trigger/offset", "title/x", "", "~2", "a//b",
]))  # fmt: skip


@pytest.fixture
def alice_calendars(alice: Persona) -> CalendarsPerson:
    person = CalendarsPerson.of(alice)
    calendar = person.calendar_row("Work")
    person.weekly = event_row(  # type: ignore[attr-defined]
        person.account, calendar,
        ical("SUMMARY:Team sync", "DTSTART;TZID=Europe/Berlin:20261202T100000", "DURATION:PT1H",
             "RRULE:FREQ=WEEKLY;COUNT=5", "ATTENDEE;CN=Bob:mailto:bob@example.test"),
    )  # fmt: skip
    person.calendar_id = calendar.jmap_id  # type: ignore[attr-defined]
    return person


def _answered(person: CalendarsPerson, name: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
    response_name, result = person.call(name, **arguments)
    if response_name == "error":
        assert result["type"] in ANSWERS, result
        return None
    assert response_name == name and result["accountId"] == person.account_id
    return result


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arguments=_QUERY_ARGS)
def test_any_query_arguments(alice_calendars: CalendarsPerson, arguments: dict[str, Any]) -> None:
    _answered(alice_calendars, "CalendarEvent/query", arguments)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arguments=st.fixed_dictionaries({}, optional={
    "ids": st.one_of(_JSON, st.lists(st.one_of(st.text(max_size=24), st.sampled_from(["#x", "e_20261202T100000"])),
                                     max_size=4)),
    "properties": _JSON, "recurrenceOverridesBefore": _SCALARS, "recurrenceOverridesAfter": _SCALARS,
    "reduceParticipants": _SCALARS, "timeZone": _SCALARS,
}))  # fmt: skip
def test_any_get_arguments(alice_calendars: CalendarsPerson, arguments: dict[str, Any]) -> None:
    _answered(alice_calendars, "CalendarEvent/get", arguments)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    create=st.one_of(_JSON, st.dictionaries(st.text(max_size=4), st.dictionaries(_EVENT_KEYS, _JSON, max_size=5),
                                            max_size=2)),
    patch=st.one_of(_JSON, st.dictionaries(_PATCH_KEYS, _JSON, max_size=4)),
    occurrence=st.booleans(),
)  # fmt: skip
def test_any_set_arguments(alice_calendars: CalendarsPerson, create: Any, patch: Any, occurrence: bool) -> None:
    weekly: CalendarEvent = alice_calendars.weekly  # type: ignore[attr-defined]
    if isinstance(create, dict):
        for value in create.values():
            if isinstance(value, dict) and value.get("calendarIds") is None:
                value["calendarIds"] = {alice_calendars.calendar_id: True}  # type: ignore[attr-defined]
    target = occurrence_id_make(weekly.jmap_id, "2026-12-09T10:00:00") if occurrence else weekly.jmap_id
    result = _answered(alice_calendars, "CalendarEvent/set", {"create": create, "update": {target: patch}})
    if result is None:
        return
    for failures in (result["notCreated"], result["notUpdated"]):
        for error in (failures or {}).values():
            assert error["type"] in SET_ERRORS, error
    # Nothing reached the (unreachable) server, so nothing changed in the cache.
    weekly.refresh_from_db()
    assert weekly.event["title"] == "Team sync"
