"""Principal/* (RFC 9670 §2) for the account's own user, and the empty
ShareNotification/* (§3): offered with contacts, never a way into another
account, refusing every change."""
from __future__ import annotations

from typing import Any

import pytest

from jmapcore.principals.capability import PRINCIPALS_CAPABILITY
from tests.jmapcore.contacts.methods.address_book_people import USING, ContactsPerson
from tests.personas import Persona

PRINCIPALS_USING = [*USING, PRINCIPALS_CAPABILITY]


def _call(person: ContactsPerson, name: str, **arguments: Any) -> tuple[str, dict[str, Any]]:
    args = {"accountId": person.account_id, **arguments}
    [(response_name, result, _)] = person.request([name, args, "c0"], using=PRINCIPALS_USING)
    return response_name, result


def _ok(person: ContactsPerson, name: str, **arguments: Any) -> dict[str, Any]:
    response_name, result = _call(person, name, **arguments)
    assert response_name == name, result
    return result


def _error(person: ContactsPerson, name: str, **arguments: Any) -> str:
    response_name, result = _call(person, name, **arguments)
    assert response_name == "error", result
    return str(result["type"])


def _session_principal_id(person: ContactsPerson) -> str:
    session = person.client.get("/.well-known/jmap", HTTP_AUTHORIZATION=person.auth, follow=True).json()
    value = session["accounts"][person.account_id]["accountCapabilities"][PRINCIPALS_CAPABILITY]
    assert PRINCIPALS_CAPABILITY in session["capabilities"]
    return str(value["currentUserPrincipalId"])


def test_the_current_user_is_the_one_principal(alice: Persona) -> None:
    person = ContactsPerson.of(alice)
    own = _session_principal_id(person)
    got = _ok(person, "Principal/get", ids=None)
    [principal] = got["list"]
    assert principal["id"] == own and principal["type"] == "individual"
    assert (principal["name"], principal["email"]) == ("Alice", "alice@example.test")
    assert list(principal["accounts"]) == [alice.account_id]
    assert "urn:ietf:params:jmap:contacts" in principal["accounts"][alice.account_id]["accountCapabilities"]
    partial = _ok(person, "Principal/get", ids=[own, "pnothing"], properties=["email"])
    assert partial["list"] == [{"id": own, "email": "alice@example.test"}]
    assert partial["notFound"] == ["pnothing"]


def test_changes_follow_the_account(alice: Persona) -> None:
    person = ContactsPerson.of(alice)
    before = _ok(person, "Principal/get", ids=[])["state"]
    same = _ok(person, "Principal/changes", sinceState=before)
    assert (same["updated"], same["newState"]) == ([], before)
    alice.account.name = "Alice Liddell"
    alice.account.save(update_fields=["name"])
    moved = _ok(person, "Principal/changes", sinceState=before)
    assert moved["updated"] == [_session_principal_id(person)] and moved["newState"] != before
    assert _ok(person, "Principal/get", ids=None)["list"][0]["name"] == "Alice Liddell"


@pytest.mark.parametrize(
    ("condition", "found"),
    [
        ({"email": "ALICE@example"}, True),
        ({"name": "lic"}, True),
        ({"text": "example.test"}, True),
        ({"type": "individual"}, True),
        ({"type": "group"}, False),
        ({"name": "bob"}, False),
    ],
)
def test_query_filters(alice: Persona, condition: dict[str, Any], found: bool) -> None:
    person = ContactsPerson.of(alice)
    own = _session_principal_id(person)
    result = _ok(person, "Principal/query", filter=condition, calculateTotal=True)
    assert result["ids"] == ([own] if found else [])
    assert result["total"] == (1 if found else 0)
    negated = _ok(person, "Principal/query", filter={"operator": "NOT", "conditions": [condition]})
    assert negated["ids"] == ([] if found else [own])


def test_query_changes_and_bad_queries(alice: Persona) -> None:
    person = ContactsPerson.of(alice)
    own = _session_principal_id(person)
    state = _ok(person, "Principal/query")["queryState"]
    quiet = _ok(person, "Principal/queryChanges", sinceQueryState=state)
    assert (quiet["removed"], quiet["added"]) == ([], [])
    stale = _ok(person, "Principal/queryChanges", sinceQueryState="old")
    assert (stale["removed"], stale["added"]) == ([own], [{"id": own, "index": 0}])
    assert _error(person, "Principal/query", filter={"colour": "red"}) == "unsupportedFilter"
    assert _error(person, "Principal/query", sort=[{"property": "name"}]) == "unsupportedSort"
    assert _error(person, "Principal/query", filter={"name": 5}) == "invalidArguments"


def test_every_change_is_refused(alice: Persona) -> None:
    person = ContactsPerson.of(alice)
    own = _session_principal_id(person)
    state = _ok(person, "Principal/get", ids=[])["state"]
    result = _ok(
        person, "Principal/set", create={"n": {"name": "Evil twin"}}, update={own: {"name": "Mallory"}},
        destroy=[own, "pnothing"],
    )
    assert result["notCreated"]["n"]["type"] == "forbidden"
    assert result["notUpdated"][own]["type"] == "forbidden"
    assert result["notDestroyed"] == {own: result["notDestroyed"][own], "pnothing": {"type": "notFound"}}
    assert result["notDestroyed"][own]["type"] == "forbidden"
    assert result["newState"] == state
    assert _ok(person, "Principal/get", ids=None)["list"][0]["name"] == "Alice"


def test_share_notifications_there_are_none(alice: Persona) -> None:
    person = ContactsPerson.of(alice)
    got = _ok(person, "ShareNotification/get", ids=None)
    assert (got["list"], got["notFound"]) == ([], [])
    changes = _ok(person, "ShareNotification/changes", sinceState=got["state"])
    assert (changes["created"], changes["updated"], changes["destroyed"]) == ([], [], [])
    assert _ok(person, "ShareNotification/query", calculateTotal=True)["total"] == 0
    refused = _ok(person, "ShareNotification/set", create={"x": {}}, destroy=["nsome"])
    assert refused["notCreated"]["x"]["type"] == "forbidden"
    assert refused["notDestroyed"]["nsome"]["type"] == "notFound"
    assert _error(person, "ShareNotification/changes", sinceState="elsewhere") == "cannotCalculateChanges"


def test_no_principals_without_contacts_nor_across_accounts(alice: Persona, mallory: Persona) -> None:
    person = ContactsPerson.of(alice)
    intruder = ContactsPerson.of(mallory)
    response_name, result = _call(intruder, "Principal/get", accountId=alice.account_id, ids=None)
    assert (response_name, result["type"]) == ("error", "accountNotFound")
    alice.account.carddav_url = ""
    alice.account.save(update_fields=["carddav_url"])
    assert _error(person, "Principal/get", ids=None) == "accountNotSupportedByMethod"
