"""Note/get through the API (RFC 8620 §5.1)."""
from __future__ import annotations

from jmapcore.limits import LIMITS
from tests.jmapcore.apiclient import api_post, jmap_request, method_responses
from tests.jmapcore.datatypes.conftest import Notes


def test_get_returns_created_objects_with_defaults_and_server_set_properties(alice_notes: Notes) -> None:
    ids = alice_notes.create(a={"title": "Groceries", "body": "milk"}, b={"title": "Todo", "rank": 3})
    result = alice_notes.ok("Note/get", ids=[ids["b"], ids["a"]])
    assert result["accountId"] == alice_notes.persona.account_id
    assert result["notFound"] == []
    assert result["list"] == [
        {"id": ids["b"], "title": "Todo", "body": "", "pinned": False, "rank": 3, "labels": {}, "parentId": None,
         "size": 0},
        {"id": ids["a"], "title": "Groceries", "body": "milk", "pinned": False, "rank": 0, "labels": {},
         "parentId": None, "size": 4},
    ]


def test_ids_null_returns_every_live_object(alice_notes: Notes) -> None:
    ids = alice_notes.create(a={"title": "one"}, b={"title": "two"}, c={"title": "three"})
    alice_notes.ok("Note/set", destroy=[ids["b"]])
    result = alice_notes.ok("Note/get", ids=None, properties=["title"])
    assert sorted(result["list"], key=lambda note: note["title"]) == [
        {"id": ids["a"], "title": "one"},
        {"id": ids["c"], "title": "three"},
    ]


def test_properties_filter_always_includes_id(alice_notes: Notes) -> None:
    ids = alice_notes.create(a={"title": "x", "pinned": True})
    result = alice_notes.ok("Note/get", ids=[ids["a"]], properties=["pinned"])
    assert result["list"] == [{"id": ids["a"], "pinned": True}]


def test_unknown_property_is_invalid_arguments(alice_notes: Notes) -> None:
    result = alice_notes.call("Note/get", ids=None, properties=["title", "colour"])
    assert result["error"] == "invalidArguments"
    assert "colour" in result["description"]


def test_missing_destroyed_and_duplicate_ids(alice_notes: Notes) -> None:
    ids = alice_notes.create(a={"title": "kept"}, b={"title": "gone"})
    alice_notes.ok("Note/set", destroy=[ids["b"]])
    result = alice_notes.ok("Note/get", ids=[ids["a"], "nosuchnote", ids["b"], ids["a"]], properties=["title"])
    assert result["list"] == [{"id": ids["a"], "title": "kept"}]
    assert result["notFound"] == ["nosuchnote", ids["b"]]


def test_state_changes_with_every_write(alice_notes: Notes) -> None:
    first = alice_notes.state()
    ids = alice_notes.create(a={"title": "x"})
    second = alice_notes.state()
    alice_notes.ok("Note/set", update={ids["a"]: {"title": "y"}})
    third = alice_notes.state()
    assert len({first, second, third}) == 3


def test_too_many_ids_is_request_too_large(alice_notes: Notes) -> None:
    ids = [f"n{i}" for i in range(LIMITS.maxObjectsInGet + 1)]
    assert alice_notes.error("Note/get", ids=ids) == "requestTooLarge"


def test_bad_arguments_are_invalid_arguments(alice_notes: Notes) -> None:
    assert alice_notes.error("Note/get", ids="abc") == "invalidArguments"
    assert alice_notes.error("Note/get", ids=["bad id!"]) == "invalidArguments"
    assert alice_notes.error("Note/get", ids=None, properties="title") == "invalidArguments"


def test_method_needs_the_capability_in_using(alice_notes: Notes) -> None:
    request = jmap_request(["Note/get", {"accountId": alice_notes.persona.account_id, "ids": None}, "0"])
    [(name, result, _)] = method_responses(api_post(alice_notes.client, alice_notes.persona.basic, request))
    assert (name, result["type"]) == ("error", "unknownMethod")
