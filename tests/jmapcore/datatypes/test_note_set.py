"""Note/set through the API (RFC 8620 §5.3): create, update with PatchObjects,
destroy, per-object SetErrors, ifInState and creation-id references."""
from __future__ import annotations

from typing import Any

import pytest

from jmapcore.limits import LIMITS
from tests.jmapcore.apiclient import api_post, jmap_request
from tests.jmapcore.datatypes.conftest import USING, Notes
from tests.personas import Persona


def test_create_answers_id_defaults_and_server_set_properties(alice_notes: Notes) -> None:
    result = alice_notes.ok("Note/set", create={"k1": {"title": "Hello", "body": "héllo"}})
    created = result["created"]["k1"]
    assert set(created) == {"id", "pinned", "rank", "labels", "parentId", "size"}
    assert created["size"] == len("héllo".encode())
    assert (created["pinned"], created["rank"], created["labels"], created["parentId"]) == (False, 0, {}, None)
    assert result["oldState"] != result["newState"]
    assert result["updated"] is None and result["destroyed"] is None and result["notCreated"] is None


def test_ids_are_opaque_unique_and_never_reused(alice_notes: Notes) -> None:
    seen: set[str] = set()
    for round_ in range(3):
        ids = alice_notes.create(**{f"k{i}": {"title": f"{round_}-{i}"} for i in range(5)})
        alice_notes.ok("Note/set", destroy=list(ids.values()))
        assert not seen & set(ids.values())
        seen |= set(ids.values())
    assert len(seen) == 15


@pytest.mark.parametrize(
    ("note", "bad"),
    [
        ({"title": "x", "colour": "red"}, ["colour"]),
        ({"title": "x", "id": "nabc"}, ["id"]),
        ({"title": "x", "size": 3}, ["size"]),
        ({"body": "no title"}, ["title"]),
        ({"title": ""}, ["title"]),
        ({"title": 7, "pinned": "yes", "rank": 1.5}, ["pinned", "rank", "title"]),
        ({"title": "x", "labels": {"a": False}}, ["labels"]),
        ({"title": "x", "parentId": "#unknown"}, ["parentId"]),
    ],
)
def test_invalid_creates_name_the_properties(alice_notes: Notes, note: dict[str, Any], bad: list[str]) -> None:
    before = alice_notes.state()
    result = alice_notes.ok("Note/set", create={"k": note})
    error = result["notCreated"]["k"]
    assert error["type"] == "invalidProperties"
    assert error["properties"] == bad
    assert result["created"] is None
    assert result["newState"] == before


def test_create_that_is_not_an_object_is_refused(alice_notes: Notes) -> None:
    result = alice_notes.ok("Note/set", create={"k": ["title"]})
    assert result["notCreated"]["k"]["type"] == "invalidProperties"


def test_update_with_patch_object(alice_notes: Notes) -> None:
    ids = alice_notes.create(a={"title": "t", "labels": {"work": True, "a/b": True}})
    result = alice_notes.ok(
        "Note/set",
        update={ids["a"]: {"title": "renamed", "labels/home": True, "labels/a~1b": None, "rank": 9}},
    )
    assert result["updated"] == {ids["a"]: None}
    [note] = alice_notes.ok("Note/get", ids=[ids["a"]], properties=["title", "labels", "rank"])["list"]
    assert note == {"id": ids["a"], "title": "renamed", "labels": {"work": True, "home": True}, "rank": 9}


def test_patch_null_resets_top_level_property_to_its_default(alice_notes: Notes) -> None:
    ids = alice_notes.create(a={"title": "t", "rank": 5, "pinned": True})
    alice_notes.ok("Note/set", update={ids["a"]: {"rank": None, "pinned": None}})
    [note] = alice_notes.ok("Note/get", ids=[ids["a"]], properties=["rank", "pinned"])["list"]
    assert (note["rank"], note["pinned"]) == (0, False)


@pytest.mark.parametrize(
    ("patch", "error", "properties"),
    [
        ({"labels/x/y": True}, "invalidPatch", None),
        ({"labels": {}, "labels/x": True}, "invalidPatch", None),
        ({"title/x": "y"}, "invalidPatch", None),
        ({"bad~2escape": 1}, "invalidPatch", None),
        ({"colour": "red"}, "invalidProperties", ["colour"]),
        ({"size": 99}, "invalidProperties", ["size"]),
        ({"id": "nother"}, "invalidProperties", ["id"]),
        ({"title": None}, "invalidProperties", ["title"]),
        ({"rank": "high"}, "invalidProperties", ["rank"]),
    ],
)
def test_bad_patches(alice_notes: Notes, patch: dict[str, Any], error: str, properties: list[str] | None) -> None:
    ids = alice_notes.create(a={"title": "t", "labels": {"x": True}})
    before = alice_notes.state()
    result = alice_notes.ok("Note/set", update={ids["a"]: patch})
    set_error = result["notUpdated"][ids["a"]]
    assert set_error["type"] == error
    assert set_error.get("properties") == properties
    assert result["newState"] == before


def test_server_set_property_with_its_current_value_is_accepted(alice_notes: Notes) -> None:
    ids = alice_notes.create(a={"title": "t", "body": "abc"})
    result = alice_notes.ok("Note/set", update={ids["a"]: {"id": ids["a"], "size": 3, "pinned": True}})
    assert result["updated"] == {ids["a"]: None}


def test_noop_update_does_not_change_state(alice_notes: Notes) -> None:
    ids = alice_notes.create(a={"title": "t"})
    before = alice_notes.state()
    result = alice_notes.ok("Note/set", update={ids["a"]: {"title": "t"}})
    assert result["updated"] == {ids["a"]: None}
    assert result["newState"] == before


def test_destroy_and_not_found(alice_notes: Notes) -> None:
    ids = alice_notes.create(a={"title": "t"})
    result = alice_notes.ok("Note/set", destroy=[ids["a"], "nmissing"])
    assert result["destroyed"] == [ids["a"]]
    assert result["notDestroyed"] == {"nmissing": {"type": "notFound"}}
    again = alice_notes.ok("Note/set", destroy=[ids["a"]], update={ids["a"]: {"title": "x"}})
    assert again["notDestroyed"][ids["a"]]["type"] == "notFound"
    assert again["notUpdated"][ids["a"]]["type"] == "willDestroy"


def test_update_of_missing_object_is_not_found(alice_notes: Notes) -> None:
    result = alice_notes.ok("Note/set", update={"nmissing": {"title": "x"}})
    assert result["notUpdated"] == {"nmissing": {"type": "notFound"}}


def test_if_in_state(alice_notes: Notes) -> None:
    state = alice_notes.state()
    ok = alice_notes.ok("Note/set", ifInState=state, create={"a": {"title": "t"}})
    assert ok["oldState"] == state
    result = alice_notes.call("Note/set", ifInState=state, create={"b": {"title": "late"}})
    assert result["error"] == "stateMismatch"
    assert len(alice_notes.ok("Note/get", ids=None)["list"]) == 1
    assert alice_notes.error("Note/set", ifInState="garbage", create={"b": {"title": "x"}}) == "stateMismatch"


def test_too_many_objects_is_request_too_large(alice_notes: Notes) -> None:
    destroy = [f"n{i}" for i in range(LIMITS.maxObjectsInSet)]
    assert alice_notes.error("Note/set", create={"a": {"title": "t"}}, destroy=destroy) == "requestTooLarge"
    assert alice_notes.ok("Note/get", ids=None)["list"] == []


@pytest.mark.parametrize(
    "arguments",
    [
        {"create": []},
        {"create": {"bad id": {"title": "t"}}},
        {"update": {"a": "b"}, "create": "x"},
        {"destroy": "nabc"},
        {"destroy": [1]},
        {"ifInState": 5},
    ],
)
def test_malformed_arguments_are_invalid_arguments(alice_notes: Notes, arguments: dict[str, Any]) -> None:
    assert alice_notes.error("Note/set", arguments) == "invalidArguments"


def test_creation_id_references_within_and_across_calls(alice_notes: Notes) -> None:
    account = alice_notes.persona.account_id
    responses = alice_notes.request(
        ["Note/set", {"accountId": account, "create": {
            "parent": {"title": "parent"},
            "child": {"title": "child", "parentId": "#parent"},
        }}, "0"],
        ["Note/set", {"accountId": account, "create": {"grandchild": {"title": "gc", "parentId": "#child"}},
                      "update": {"#parent": {"pinned": True}}}, "1"],
        ["Note/get", {"accountId": account, "ids": ["#parent", "#child", "#grandchild", "#nope"],
                      "properties": ["parentId", "pinned"]}, "2"],
        ["Note/set", {"accountId": account, "destroy": ["#grandchild"]}, "3"],
        createdIds={},
    )
    first, second, get, destroy = (response[1] for response in responses)
    parent, child = first["created"]["parent"]["id"], first["created"]["child"]["id"]
    assert first["created"]["child"]["parentId"] == parent
    grandchild = second["created"]["grandchild"]["id"]
    assert second["updated"] == {parent: None}
    assert get["list"] == [
        {"id": parent, "parentId": None, "pinned": True},
        {"id": child, "parentId": parent, "pinned": False},
        {"id": grandchild, "parentId": child, "pinned": False},
    ]
    assert get["notFound"] == ["#nope"]
    assert destroy["destroyed"] == [grandchild]


def test_created_ids_are_returned_when_the_request_asks(alice_notes: Notes) -> None:
    body = jmap_request(
        ["Note/set", {"accountId": alice_notes.persona.account_id, "create": {"k": {"title": "t"}}}, "0"],
        using=USING,
        createdIds={"old": "nexisting"},
    )
    response = api_post(alice_notes.client, alice_notes.persona.basic, body).json()
    created = response["methodResponses"][0][1]["created"]["k"]["id"]
    assert response["createdIds"] == {"old": "nexisting", "k": created}


def test_read_only_account_refuses_writes(alice_notes: Notes, alice: Persona) -> None:
    alice.account.is_read_only = True
    alice.account.save()
    assert alice_notes.error("Note/set", create={"a": {"title": "t"}}) == "accountReadOnly"
    assert alice_notes.ok("Note/get", ids=None)["list"] == []
