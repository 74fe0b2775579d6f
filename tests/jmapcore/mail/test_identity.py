"""Identity/get, /changes, /set through the JMAP API (RFC 8621 §6): the default
identity, forbiddenFrom, mayDelete, immutability, changes and isolation."""
from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from jmapcore.datatypes.orm import jmap_id_new
from jmapcore.limits import CORE_CAPABILITY
from jmapcore.mail.submission_capability import MAX_DELAYED_SEND, SUBMISSION_CAPABILITY
from jmapcore.models.identity import Identity
from jmapcore.protocol.state import state_encode
from tests.jmapcore.apiclient import api_post, jmap_request, method_responses
from tests.personas import Persona

USING = [CORE_CAPABILITY, SUBMISSION_CAPABILITY]


class Identities:
    """One persona talking JMAP about its identities."""

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

    def all(self) -> list[dict[str, Any]]:
        return list(self.ok("Identity/get", ids=None)["list"])

    def state(self) -> str:
        return str(self.ok("Identity/get", ids=[])["state"])


@pytest.fixture
def alice_ids(jmap_client: Client, alice: Persona) -> Identities:
    return Identities(jmap_client, alice)


@pytest.fixture
def bob_ids(jmap_client: Client, bob: Persona) -> Identities:
    return Identities(jmap_client, bob)


def test_default_identity_created_on_first_get(alice_ids: Identities) -> None:
    first = alice_ids.ok("Identity/get", ids=None)
    [identity] = first["list"]
    assert identity == {
        "id": identity["id"],
        "name": "Alice",
        "email": "alice@example.test",
        "replyTo": None,
        "bcc": None,
        "textSignature": "",
        "htmlSignature": "",
        "mayDelete": False,
    }
    again = alice_ids.ok("Identity/get", ids=None)
    assert again["list"] == [identity]
    assert again["state"] == first["state"]


def test_default_identity_exists_before_the_first_set(alice_ids: Identities) -> None:
    result = alice_ids.ok("Identity/set", create={"a": {"email": "alice@example.test", "name": "Work"}})
    assert result["created"]["a"]["mayDelete"] is True
    emails = sorted((i["name"], i["mayDelete"]) for i in alice_ids.all())
    assert emails == [("Alice", False), ("Work", True)]


def test_session_advertises_submission(jmap_client: Client, alice: Persona) -> None:
    response = jmap_client.get("/session", HTTP_AUTHORIZATION=alice.basic)
    session = json.loads(response.content)
    assert SUBMISSION_CAPABILITY in session["capabilities"]
    account_caps = session["accounts"][alice.account_id]["accountCapabilities"]
    # The proxy holds delayed sends itself (RFC 8621 §1.3.2, RFC 4865 FUTURERELEASE).
    assert account_caps[SUBMISSION_CAPABILITY] == {
        "maxDelayedSend": MAX_DELAYED_SEND,
        "submissionExtensions": {"FUTURERELEASE": []},
    }


def test_create_for_a_foreign_address_is_forbidden_from(alice_ids: Identities) -> None:
    before = alice_ids.state()
    result = alice_ids.ok("Identity/set", create={"x": {"email": "bob@example.test", "name": "Not Bob"}})
    assert result["created"] is None
    assert result["notCreated"]["x"]["type"] == "forbiddenFrom"
    assert alice_ids.state() == before
    assert [i["email"] for i in alice_ids.all()] == ["alice@example.test"]


def test_operator_wildcard_allows_the_domain(alice_ids: Identities, alice: Persona) -> None:
    alice_ids.all()  # the default exists
    # What an operator does in the admin: an identity for the whole domain.
    Identity.objects.create(
        account=alice.account, jmap_id=jmap_id_new("i"), created_modseq=0, updated_modseq=0,
        email="*@example.test", name="Anyone at example.test",
    )
    result = alice_ids.ok(
        "Identity/set",
        create={
            "sales": {"email": "sales@Example.test", "name": "Sales"},
            "other": {"email": "alice@elsewhere.test"},
        },
    )
    assert set(result["created"]) == {"sales"}
    assert result["notCreated"]["other"]["type"] == "forbiddenFrom"


def test_default_identity_cannot_be_destroyed(alice_ids: Identities) -> None:
    [default] = alice_ids.all()
    result = alice_ids.ok("Identity/set", destroy=[default["id"]])
    assert result["destroyed"] is None
    assert result["notDestroyed"][default["id"]]["type"] == "forbidden"
    assert alice_ids.all() == [default]


def test_update_and_destroy_an_added_identity(alice_ids: Identities) -> None:
    created = alice_ids.ok("Identity/set", create={"w": {"email": "alice@example.test", "name": "Work"}})["created"]
    work_id = created["w"]["id"]
    assert created["w"] == {
        "id": work_id, "replyTo": None, "bcc": None, "textSignature": "", "htmlSignature": "", "mayDelete": True
    }
    updated = alice_ids.ok(
        "Identity/set",
        update={
            work_id: {
                "textSignature": "-- \nAlice at work",
                "replyTo": [{"name": "Desk", "email": "alice@example.test"}],
                "bcc": [{"email": "archive@example.test"}],
            }
        },
    )
    assert updated["updated"] == {work_id: None}
    [work] = alice_ids.ok("Identity/get", ids=[work_id])["list"]
    assert work["textSignature"] == "-- \nAlice at work"
    assert work["replyTo"] == [{"name": "Desk", "email": "alice@example.test"}]
    assert work["bcc"] == [{"name": None, "email": "archive@example.test"}]

    destroyed = alice_ids.ok("Identity/set", destroy=[work_id])
    assert destroyed["destroyed"] == [work_id]
    assert alice_ids.ok("Identity/get", ids=[work_id])["notFound"] == [work_id]


def test_email_is_immutable_and_values_are_checked(alice_ids: Identities) -> None:
    [default] = alice_ids.all()
    result = alice_ids.ok(
        "Identity/set",
        update={default["id"]: {"email": "other@example.test"}},
        create={
            "bad-reply": {"email": "alice@example.test", "replyTo": [{"mail": "x@example.test"}]},
            "bad-email": {"email": "not an address"},
            "no-email": {"name": "Nameless"},
        },
    )
    assert result["notUpdated"][default["id"]]["type"] == "invalidProperties"
    assert result["notUpdated"][default["id"]]["properties"] == ["email"]
    for creation_id, prop in (("bad-reply", "replyTo"), ("bad-email", "email"), ("no-email", "email")):
        error = result["notCreated"][creation_id]
        assert error["type"] == "invalidProperties"
        assert error["properties"] == [prop]


def test_changes_report_creates_updates_destroys(alice_ids: Identities) -> None:
    [default] = alice_ids.all()
    start = alice_ids.state()
    new_id = alice_ids.ok("Identity/set", create={"n": {"email": "alice@example.test"}})["created"]["n"]["id"]
    alice_ids.ok("Identity/set", update={default["id"]: {"name": "Alice A."}})
    after_updates = alice_ids.state()

    changes = alice_ids.ok("Identity/changes", sinceState=start)
    assert changes["created"] == [new_id]
    assert changes["updated"] == [default["id"]]
    assert changes["destroyed"] == []
    assert changes["newState"] == after_updates

    alice_ids.ok("Identity/set", destroy=[new_id])
    later = alice_ids.ok("Identity/changes", sinceState=after_updates)
    assert (later["created"], later["updated"], later["destroyed"]) == ([], [], [new_id])


def test_first_changes_call_sees_the_default(alice_ids: Identities) -> None:
    changes = alice_ids.ok("Identity/changes", sinceState=state_encode(0))
    [default] = alice_ids.all()
    assert changes["created"] == [default["id"]]


def test_other_people_see_only_their_own(alice_ids: Identities, bob_ids: Identities, alice: Persona) -> None:
    [alices] = alice_ids.all()
    [bobs] = bob_ids.all()
    assert bobs["email"] == "bob@example.test"
    assert bob_ids.ok("Identity/get", ids=[alices["id"]])["notFound"] == [alices["id"]]
    updated = bob_ids.ok("Identity/set", update={alices["id"]: {"name": "Hacked"}})
    assert updated["notUpdated"][alices["id"]]["type"] == "notFound"
    destroyed = bob_ids.ok("Identity/set", destroy=[alices["id"]])
    assert destroyed["notDestroyed"][alices["id"]]["type"] == "notFound"
    name, error = bob_ids.call("Identity/get", accountId=alice.account_id)
    assert (name, error["type"]) == ("error", "accountNotFound")
    assert alice_ids.all() == [alices]


def test_identity_methods_need_the_submission_capability(alice_ids: Identities) -> None:
    name, error = alice_ids.call("Identity/get", using=[CORE_CAPABILITY])
    assert (name, error["type"]) == ("error", "unknownMethod")
