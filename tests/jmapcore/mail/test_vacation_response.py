"""VacationResponse/get and /set through the JMAP API (RFC 8621 §8): the
singleton, its properties, singleton errors, state and isolation."""
from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from jmapcore.limits import CORE_CAPABILITY
from jmapcore.mail.submission_capability import VACATION_CAPABILITY
from tests.jmapcore.apiclient import api_post, jmap_request, method_responses
from tests.personas import Persona

USING = [CORE_CAPABILITY, VACATION_CAPABILITY]
DISABLED = {
    "id": "singleton",
    "isEnabled": False,
    "fromDate": None,
    "toDate": None,
    "subject": None,
    "textBody": None,
    "htmlBody": None,
}


class Vacation:
    def __init__(self, client: Client, persona: Persona) -> None:
        self.client = client
        self.persona = persona

    def call(self, name: str, using: list[str] | None = None, **arguments: Any) -> tuple[str, dict[str, Any]]:
        args = {"accountId": self.persona.account_id, **arguments}
        body = jmap_request([name, args, "c0"], using=using or USING)
        [(response_name, result, _)] = method_responses(api_post(self.client, self.persona.basic, body))
        return response_name, result

    def ok(self, name: str, **arguments: Any) -> dict[str, Any]:
        response_name, result = self.call(name, **arguments)
        assert response_name == name, result
        return result

    def get(self) -> dict[str, Any]:
        [singleton] = self.ok("VacationResponse/get", ids=None)["list"]
        return dict(singleton)


@pytest.fixture
def alice_vacation(jmap_client: Client, alice: Persona) -> Vacation:
    return Vacation(jmap_client, alice)


@pytest.fixture
def bob_vacation(jmap_client: Client, bob: Persona) -> Vacation:
    return Vacation(jmap_client, bob)


def test_singleton_exists_disabled(alice_vacation: Vacation) -> None:
    assert alice_vacation.get() == DISABLED
    by_id = alice_vacation.ok("VacationResponse/get", ids=["singleton", "other"])
    assert by_id["list"] == [DISABLED]
    assert by_id["notFound"] == ["other"]


def test_session_advertises_vacationresponse(jmap_client: Client, alice: Persona) -> None:
    session = json.loads(jmap_client.get("/session", HTTP_AUTHORIZATION=alice.basic).content)
    assert session["capabilities"][VACATION_CAPABILITY] == {}
    assert session["accounts"][alice.account_id]["accountCapabilities"][VACATION_CAPABILITY] == {}


def test_update_is_stored_and_moves_the_state(alice_vacation: Vacation) -> None:
    before = alice_vacation.ok("VacationResponse/get", ids=[])["state"]
    settings = {
        "isEnabled": True,
        "fromDate": "2026-07-01T00:00:00Z",
        "toDate": "2026-07-15T18:30:00Z",
        "subject": "Away",
        "textBody": "Back on the 16th.",
        "htmlBody": "<p>Back on the 16th.</p>",
    }
    result = alice_vacation.ok("VacationResponse/set", ifInState=before, update={"singleton": settings})
    assert result["updated"] == {"singleton": None}
    assert result["oldState"] == before
    assert result["newState"] != before
    assert alice_vacation.get() == {"id": "singleton", **settings}

    alice_vacation.ok("VacationResponse/set", update={"singleton": {"isEnabled": False, "toDate": None}})
    assert alice_vacation.get() == {"id": "singleton", **settings, "isEnabled": False, "toDate": None}


def test_create_and_destroy_answer_singleton(alice_vacation: Vacation) -> None:
    result = alice_vacation.ok(
        "VacationResponse/set", create={"second": {"isEnabled": True}}, destroy=["singleton"]
    )
    assert result["notCreated"]["second"]["type"] == "singleton"
    assert result["notDestroyed"]["singleton"]["type"] == "singleton"
    assert alice_vacation.get() == DISABLED


def test_bad_values_and_unknown_ids(alice_vacation: Vacation) -> None:
    result = alice_vacation.ok(
        "VacationResponse/set",
        update={"singleton": {"fromDate": "tomorrow", "isEnabled": "yes"}, "nosuch": {"isEnabled": True}},
    )
    error = result["notUpdated"]["singleton"]
    assert error["type"] == "invalidProperties"
    assert error["properties"] == ["fromDate", "isEnabled"]
    assert result["notUpdated"]["nosuch"]["type"] == "notFound"
    assert alice_vacation.get() == DISABLED


def test_state_mismatch(alice_vacation: Vacation) -> None:
    name, error = alice_vacation.call(
        "VacationResponse/set", ifInState="not-the-state", update={"singleton": {"isEnabled": True}}
    )
    assert (name, error["type"]) == ("error", "stateMismatch")


def test_each_account_has_its_own(alice_vacation: Vacation, bob_vacation: Vacation, alice: Persona) -> None:
    alice_vacation.ok("VacationResponse/set", update={"singleton": {"isEnabled": True, "subject": "Alice away"}})
    assert bob_vacation.get() == DISABLED
    name, error = bob_vacation.call("VacationResponse/get", accountId=alice.account_id)
    assert (name, error["type"]) == ("error", "accountNotFound")
    assert alice_vacation.get()["subject"] == "Alice away"


def test_methods_need_the_vacationresponse_capability(alice_vacation: Vacation) -> None:
    name, error = alice_vacation.call("VacationResponse/get", using=[CORE_CAPABILITY])
    assert (name, error["type"]) == ("error", "unknownMethod")
