"""Any JSON as Calendar/set values, CalendarEventNotification/query arguments
or Principal/getAvailability arguments gets a response, a SetError or a JMAP
method error, never a server failure (DESIGN.md "Testing")."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jmapcore.calendars.capability import CALENDARS_CAPABILITY
from jmapcore.limits import CORE_CAPABILITY
from jmapcore.models.calendars import Calendar
from jmapcore.principals.availability import AVAILABILITY_CAPABILITY
from jmapcore.principals.capability import PRINCIPALS_CAPABILITY
from tests.jmapcore.calendars.methods.calendar_event_people import CalendarsPerson, event_row, ical
from tests.jmapcore.calendars.methods.calendar_people import calendar_make, notification_make
from tests.personas import Persona

ANSWERS = {"invalidArguments", "unsupportedFilter", "unsupportedSort", "anchorNotFound", "requestTooLarge",
           "notFound", "tooLarge"}  # fmt: skip
USING = [CORE_CAPABILITY, CALENDARS_CAPABILITY, PRINCIPALS_CAPABILITY, AVAILABILITY_CAPABILITY]

_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
    st.sampled_from(["2026-12-07T00:00:00Z", "Europe/Berlin", "#fff", "-PT5M", "OffsetTrigger", "all", "\n"]),
)  # fmt: skip
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)
_ALERT = st.fixed_dictionaries(
    {"trigger": st.one_of(_JSON, st.fixed_dictionaries(
        {"@type": st.sampled_from(["OffsetTrigger", "AbsoluteTrigger", "X"])},
        optional={"offset": _SCALARS, "when": _SCALARS, "relativeTo": _SCALARS},
    ))},
    optional={"@type": _SCALARS, "action": _SCALARS, "acknowledged": _SCALARS, "relatedTo": _JSON},
)  # fmt: skip
# Only what lives in the cache (or is refused before any server): no request leaves the proxy.
_CACHE_VALUES = st.fixed_dictionaries(
    {},
    optional={
        "isSubscribed": _JSON, "isVisible": _JSON, "includeInAvailability": _JSON,
        "defaultAlertsWithTime": st.one_of(_JSON, st.dictionaries(st.text(max_size=6), _ALERT, max_size=3)),
        "defaultAlertsWithoutTime": _JSON, "shareWith": _JSON, "isDefault": _JSON, "myRights": _JSON,
        "id": _JSON, "bogus": _JSON,
    },
)  # fmt: skip


@pytest.fixture
def alice_calendar(alice: Persona) -> tuple[CalendarsPerson, Calendar]:
    person = CalendarsPerson.of(alice)
    calendar = calendar_make(person, "Work")
    event_row(person.account, calendar, ical("DTSTART:20261207T090000Z", "DTEND:20261207T100000Z",
                                             "RRULE:FREQ=DAILY"))  # fmt: skip
    notification_make(person, change_type="created", event_id="e1", created=datetime(2026, 12, 1, tzinfo=UTC))
    return person, calendar


def _answered(person: CalendarsPerson, name: str, arguments: dict[str, Any], using: list[str] | None = None) -> None:
    response_name, result = person.call(name, using=using, **arguments)
    if response_name == "error":
        assert result["type"] in ANSWERS, result
    else:
        assert response_name == name and result["accountId"] == person.account_id


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=_CACHE_VALUES)
def test_any_cache_only_update(alice_calendar: tuple[CalendarsPerson, Calendar], values: dict[str, Any]) -> None:
    person, calendar = alice_calendar
    response_name, result = person.call("Calendar/set", update={calendar.jmap_id: values})
    assert response_name == "Calendar/set", result
    error = (result["notUpdated"] or {}).get(calendar.jmap_id)
    if error is not None:
        assert error["type"] in {"invalidProperties", "forbidden"}, error
    else:
        assert calendar.jmap_id in result["updated"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arguments=st.fixed_dictionaries({}, optional={
    "filter": st.one_of(_JSON, st.dictionaries(st.sampled_from(["after", "before", "type", "calendarEventIds", "x"]),
                                               _JSON, max_size=3)),
    "sort": _JSON, "position": _SCALARS, "anchor": _SCALARS, "limit": _SCALARS, "calculateTotal": _SCALARS,
}))  # fmt: skip
def test_any_notification_query(alice_calendar: tuple[CalendarsPerson, Calendar], arguments: dict[str, Any]) -> None:
    _answered(alice_calendar[0], "CalendarEventNotification/query", arguments)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arguments=st.fixed_dictionaries({}, optional={
    "id": _SCALARS, "utcStart": _SCALARS, "utcEnd": _SCALARS, "showDetails": _SCALARS, "eventProperties": _JSON,
}))  # fmt: skip
def test_any_availability_arguments(
    alice_calendar: tuple[CalendarsPerson, Calendar], arguments: dict[str, Any]
) -> None:
    person = alice_calendar[0]
    # Without an id of its own, the call names the real principal, so the window arguments are reached.
    if "id" not in arguments:
        [principal] = person.ok("Principal/get", ids=None, using=USING)["list"]
        arguments["id"] = principal["id"]
    _answered(person, "Principal/getAvailability", arguments, using=USING)
