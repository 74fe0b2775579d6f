"""Calendar/set (draft-ietf-jmap-calendars-33 §4.3) for what CalDAV has no
place for: isSubscribed, isVisible, includeInAvailability and the default
alerts live in the proxy's cache, so these changes need no
server (the account's CalDAV URL answers nothing here). Also the refusals
that never reach a server: bad values, shareWith, rights, arguments."""
from __future__ import annotations

from typing import Any

import pytest

from jmapcore.models.calendars import Calendar
from tests.jmapcore.calendars.methods.calendar_event_people import CalendarsPerson
from tests.jmapcore.calendars.methods.calendar_people import calendar_make, calendars
from tests.personas import Persona

ALERTS = {
    "a1": {"@type": "Alert", "trigger": {"@type": "OffsetTrigger", "offset": "-PT15M"}},
    "a2": {"trigger": {"@type": "AbsoluteTrigger", "when": "2026-12-24T08:00:00Z"}, "action": "email"},
}


def test_cache_only_properties_change_without_a_server(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    row = calendar_make(person, "Work")
    before = person.ok("Calendar/get", ids=[])["state"]
    changes = {
        "isSubscribed": False, "isVisible": False, "includeInAvailability": "attending",
        "defaultAlertsWithTime": ALERTS, "defaultAlertsWithoutTime": None,
    }  # fmt: skip
    result = person.ok("Calendar/set", update={row.jmap_id: changes})
    assert result["updated"] == {row.jmap_id: None} and result["oldState"] == before
    got = calendars(person)["Work"]
    assert {name: got[name] for name in changes if name != "defaultAlertsWithTime"} == {
        name: value for name, value in changes.items() if name != "defaultAlertsWithTime"
    }
    # "@type" left out by the client is filled in (RFC 8984 lets it be omitted).
    assert got["defaultAlertsWithTime"] == {"a1": ALERTS["a1"], "a2": {"@type": "Alert", **ALERTS["a2"]}}
    assert person.ok("Calendar/changes", sinceState=before)["updated"] == [row.jmap_id]
    person.ok("Calendar/set", update={row.jmap_id: {"defaultAlertsWithTime": None}})
    assert calendars(person)["Work"]["defaultAlertsWithTime"] is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("name", ""),
        ("name", "x" * 256),
        ("name", "tab\there"),
        ("name", None),
        ("description", 5),
        ("color", "red; background: url(x)"),
        ("color", "<red/>"),
        ("color", ""),
        ("sortOrder", -1),
        ("sortOrder", 2**53),
        ("sortOrder", "1"),
        ("isVisible", "yes"),
        ("includeInAvailability", "some"),
        ("timeZone", "Mars/Olympus_Mons"),
        ("timeZone", "../../etc/passwd"),
        ("defaultAlertsWithTime", []),
        ("defaultAlertsWithTime", {"a": {"trigger": {"@type": "OffsetTrigger", "offset": "15 minutes"}}}),
        ("defaultAlertsWithTime", {"a": {"trigger": {"@type": "OffsetTrigger", "offset": "PT"}}}),
        ("defaultAlertsWithTime", {"a": {"trigger": {"@type": "AbsoluteTrigger", "when": "tomorrow"}}}),
        ("defaultAlertsWithTime", {"a": {"trigger": {"@type": "Whenever"}}}),
        ("defaultAlertsWithTime", {"a": {"trigger": {"@type": "OffsetTrigger", "offset": "PT1M"}, "x": 1}}),
        ("defaultAlertsWithTime", {"a": {"trigger": {"@type": "OffsetTrigger", "offset": "PT1M"},
                                         "action": "sms"}}),
        ("defaultAlertsWithoutTime", {f"a{n}": {"trigger": {"@type": "OffsetTrigger", "offset": "PT1M"}}
                                      for n in range(40)}),
        ("defaultAlertsWithoutTime", {"bad key!": {"trigger": {"@type": "OffsetTrigger", "offset": "PT1M"}}}),
        ("isDefault", False),
        ("myRights", {}),
    ],
)
def test_bad_values_name_the_property_and_change_nothing(alice: Persona, name: str, value: Any) -> None:
    person = CalendarsPerson.of(alice)
    row = calendar_make(person, "Work")
    before = person.ok("Calendar/get", ids=[row.jmap_id])
    result = person.ok("Calendar/set", update={row.jmap_id: {name: value}})
    error = result["notUpdated"][row.jmap_id]
    assert error["type"] == "invalidProperties" and error["properties"] == [name], error
    assert person.ok("Calendar/get", ids=[row.jmap_id]) == before


def test_share_with_is_refused_there_is_no_dav_sharing(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    row = calendar_make(person, "Work")
    rights = {"mayReadFreeBusy": True, "mayReadItems": True, "mayWriteAll": False, "mayWriteOwn": False,
              "mayUpdatePrivate": False, "mayRSVP": False, "mayShare": False, "mayDelete": False}  # fmt: skip
    result = person.ok("Calendar/set", update={row.jmap_id: {"shareWith": {"pbob": rights}}})
    assert result["notUpdated"][row.jmap_id]["type"] == "forbidden"
    result = person.ok("Calendar/set", create={"c1": {"name": "Shared", "shareWith": {"pbob": rights}}})
    assert result["notCreated"]["c1"]["type"] == "forbidden"
    assert set(calendars(person)) == {"Work"}


def test_server_properties_need_write_properties(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    row = calendar_make(person, "Theirs", dav_privileges=["read", "write-content", "bind", "unbind"])
    result = person.ok("Calendar/set", update={row.jmap_id: {"name": "Mine"}})
    assert result["notUpdated"][row.jmap_id]["type"] == "forbidden"
    # What lives in the cache only is still the user's to change.
    assert person.ok("Calendar/set", update={row.jmap_id: {"isVisible": False}})["updated"] == {row.jmap_id: None}


def test_destroy_needs_may_delete(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    row = calendar_make(person, "Fixed", dav_privileges=["read", "write", "parent:read"])
    result = person.ok("Calendar/set", destroy=[row.jmap_id], onDestroyRemoveEvents=True)
    assert result["notDestroyed"][row.jmap_id]["type"] == "forbidden"
    assert Calendar.objects.get(pk=row.pk).destroyed is False


def test_on_success_set_is_default_moves_the_flag(alice: Persona) -> None:
    person = CalendarsPerson.of(alice)
    first = calendar_make(person, "First", sort_order=1)
    second = calendar_make(person, "Second", sort_order=2)
    assert calendars(person)["First"]["isDefault"] is True
    result = person.ok("Calendar/set", update={second.jmap_id: {"isVisible": True}},
                       onSuccessSetIsDefault=second.jmap_id)  # fmt: skip
    assert result["updated"] == {second.jmap_id: {"isDefault": True}, first.jmap_id: {"isDefault": False}}
    assert [name for name, item in calendars(person).items() if item["isDefault"]] == ["Second"]
    # A failure anywhere in the call leaves the default where it is.
    result = person.ok("Calendar/set", update={first.jmap_id: {"sortOrder": -5}}, onSuccessSetIsDefault=first.jmap_id)
    assert result["notUpdated"] and [n for n, i in calendars(person).items() if i["isDefault"]] == ["Second"]
    # An id naming no calendar is ignored.
    assert person.ok("Calendar/set", onSuccessSetIsDefault="knothing")["updated"] is None


@pytest.mark.parametrize(
    "arguments",
    [
        {"onDestroyRemoveEvents": "yes"},
        {"onSuccessSetIsDefault": 5},
        {"onSuccessSetIsDefault": "not an id!"},
        {"create": []},
        {"destroy": "k1"},
    ],
)
def test_bad_arguments_are_invalid_arguments(alice: Persona, arguments: dict[str, Any]) -> None:
    person = CalendarsPerson.of(alice)
    calendar_make(person, "Work")
    error = person.error("Calendar/set", **arguments)
    assert error["type"] == "invalidArguments", error


def test_mallory_cannot_change_alices_calendars(alice: Persona, mallory: Persona) -> None:
    alices = CalendarsPerson.of(alice)
    secret = calendar_make(alices, "Secret")
    intruder = CalendarsPerson.of(mallory)
    result = intruder.ok("Calendar/set", update={secret.jmap_id: {"isVisible": False}})
    assert result["notUpdated"][secret.jmap_id]["type"] == "notFound"
    result = intruder.ok("Calendar/set", destroy=[secret.jmap_id], onDestroyRemoveEvents=True)
    assert result["notDestroyed"][secret.jmap_id]["type"] == "notFound"
    response_name, answer = intruder.call("Calendar/set", accountId=alices.account_id,
                                          update={secret.jmap_id: {"isVisible": False}})  # fmt: skip
    assert (response_name, answer["type"]) == ("error", "accountNotFound")
    assert Calendar.objects.get(pk=secret.pk).is_visible is True
