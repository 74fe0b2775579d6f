"""Note/query through the API (RFC 8620 §5.5): filters and sorts in SQL, and
the position/anchor/limit window."""
from __future__ import annotations

from typing import Any

import pytest

from tests.jmapcore.datatypes.conftest import Notes

NOTES = {
    "apple": {"title": "Apple pie", "body": "bake at 180", "rank": 3, "pinned": True, "labels": {"food": True}},
    "bread": {"title": "bread", "body": "flour water salt", "rank": 1, "labels": {"food": True}},
    "car": {"title": "Car service", "body": "book garage", "rank": 5, "labels": {"errand": True}},
    "dentist": {"title": "Dentist", "body": "tuesday", "rank": 2, "pinned": True, "labels": {"errand": True}},
    "email": {"title": "email Bob", "body": "about the apple harvest", "rank": 4},
}


@pytest.fixture
def notes(alice_notes: Notes) -> dict[str, str]:
    return alice_notes.create(**NOTES)


def query(alice_notes: Notes, ids: dict[str, str], **arguments: Any) -> tuple[list[str], dict[str, Any]]:
    """Run Note/query; returns the result as creation names, and the response."""
    names = {real: name for name, real in ids.items()}
    result = alice_notes.ok("Note/query", **arguments)
    assert result["canCalculateChanges"] is True
    return [names[i] for i in result["ids"]], result


BY_TITLE = [{"property": "title"}]


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        (None, ["apple", "bread", "car", "dentist", "email"]),
        ({}, ["apple", "bread", "car", "dentist", "email"]),
        ({"text": "apple"}, ["apple", "email"]),
        ({"pinned": True}, ["apple", "dentist"]),
        ({"pinned": False, "minRank": 2}, ["car", "email"]),
        ({"operator": "OR", "conditions": [{"hasLabel": "food"}, {"title": "car"}]}, ["apple", "bread", "car"]),
        ({"operator": "NOT", "conditions": [{"hasLabel": "food"}, {"hasLabel": "errand"}]}, ["email"]),
        ({"operator": "AND", "conditions": [
            {"operator": "OR", "conditions": [{"minRank": 4}, {"maxRank": 1}]},
            {"operator": "NOT", "conditions": [{"text": "bob"}]},
        ]}, ["bread", "car"]),
        ({"operator": "OR", "conditions": []}, []),
        ({"operator": "AND", "conditions": []}, ["apple", "bread", "car", "dentist", "email"]),
        ({"operator": "NOT", "conditions": [{"operator": "OR", "conditions": []}]},
         ["apple", "bread", "car", "dentist", "email"]),
    ],
)
def test_filters(alice_notes: Notes, notes: dict[str, str], filter_: Any, expected: list[str]) -> None:
    got, _ = query(alice_notes, notes, filter=filter_, sort=BY_TITLE)
    assert got == expected


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ([{"property": "rank"}], ["bread", "dentist", "apple", "email", "car"]),
        ([{"property": "rank", "isAscending": False}], ["car", "email", "apple", "dentist", "bread"]),
        ([{"property": "pinned", "isAscending": False}, {"property": "title", "collation": "i;unicode-casemap"}],
         ["apple", "dentist", "bread", "car", "email"]),
        ([{"property": "title", "collation": "i;ascii-casemap", "isAscending": False}],
         ["email", "dentist", "car", "bread", "apple"]),
        (None, ["apple", "bread", "car", "dentist", "email"]),
    ],
)
def test_sorts(alice_notes: Notes, notes: dict[str, str], sort: Any, expected: list[str]) -> None:
    got, _ = query(alice_notes, notes, sort=sort)
    assert got == expected


@pytest.mark.parametrize(
    ("window", "expected", "position"),
    [
        ({"position": 1, "limit": 2}, ["bread", "car"], 1),
        ({"position": 4}, ["email"], 4),
        ({"position": 9}, [], 9),
        ({"position": -2}, ["dentist", "email"], 3),
        ({"position": -2, "limit": 1}, ["dentist"], 3),
        ({"position": -50, "limit": 2}, ["apple", "bread"], 0),
        ({"anchor": "car"}, ["car", "dentist", "email"], 2),
        ({"anchor": "car", "anchorOffset": -1, "limit": 2}, ["bread", "car"], 1),
        ({"anchor": "bread", "anchorOffset": -5, "limit": 1}, ["apple"], 0),
        ({"anchor": "dentist", "anchorOffset": 3}, [], 6),
        ({"anchor": "car", "position": 4, "limit": 1}, ["car"], 2),
        ({"limit": 0}, [], 0),
    ],
)
def test_window(alice_notes: Notes, notes: dict[str, str], window: dict[str, Any], expected: list[str],
                position: int) -> None:
    if "anchor" in window:
        window = {**window, "anchor": notes[window["anchor"]]}
    got, result = query(alice_notes, notes, sort=BY_TITLE, **window)
    assert got == expected
    assert result["position"] == position
    assert "total" not in result


def test_calculate_total_counts_all_matches(alice_notes: Notes, notes: dict[str, str]) -> None:
    _, result = query(alice_notes, notes, filter={"hasLabel": "food"}, limit=1, calculateTotal=True)
    assert (len(result["ids"]), result["total"]) == (1, 2)


def test_anchor_not_found(alice_notes: Notes, notes: dict[str, str]) -> None:
    assert alice_notes.error("Note/query", anchor="nnosuchnote") == "anchorNotFound"
    # The anchor exists but is filtered out.
    assert alice_notes.error("Note/query", anchor=notes["car"], filter={"pinned": True}) == "anchorNotFound"


def test_query_state_follows_changes(alice_notes: Notes, notes: dict[str, str]) -> None:
    first = alice_notes.ok("Note/query")["queryState"]
    assert alice_notes.ok("Note/query", filter={"pinned": True})["queryState"] == first
    alice_notes.ok("Note/set", update={notes["car"]: {"rank": 0}})
    assert alice_notes.ok("Note/query")["queryState"] != first


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"filter": {"colour": "red"}}, "unsupportedFilter"),
        ({"filter": {"operator": "XOR", "conditions": []}}, "invalidArguments"),
        ({"filter": {"operator": "AND"}}, "invalidArguments"),
        ({"filter": {"operator": "AND", "conditions": [5]}}, "invalidArguments"),
        ({"filter": {"operator": "AND", "conditions": [], "extra": 1}}, "invalidArguments"),
        ({"filter": "pinned"}, "invalidArguments"),
        ({"filter": {"pinned": "yes"}}, "invalidArguments"),
        ({"filter": {"minRank": 1.5}}, "invalidArguments"),
        ({"sort": [{"property": "colour"}]}, "unsupportedSort"),
        ({"sort": [{"property": "title", "collation": "i;klingon"}]}, "unsupportedSort"),
        ({"sort": [{"property": "title", "collation": "i;ascii-numeric"}]}, "unsupportedSort"),
        ({"sort": [{"property": "title", "isAscending": "yes"}]}, "invalidArguments"),
        ({"sort": [{"isAscending": True}]}, "invalidArguments"),
        ({"sort": {"property": "title"}}, "invalidArguments"),
        ({"sort": [{"property": "rank", "keyword": "x"}]}, "invalidArguments"),
        ({"position": "1"}, "invalidArguments"),
        ({"position": 1.5}, "invalidArguments"),
        ({"limit": -1}, "invalidArguments"),
        ({"anchor": 5}, "invalidArguments"),
        ({"anchorOffset": True}, "invalidArguments"),
        ({"calculateTotal": "true"}, "invalidArguments"),
    ],
)
def test_bad_query_arguments(alice_notes: Notes, arguments: dict[str, Any], error: str) -> None:
    assert alice_notes.error("Note/query", arguments) == error


def test_deeply_nested_filter_is_unsupported(alice_notes: Notes) -> None:
    deep: dict[str, Any] = {"pinned": True}
    for _ in range(40):
        deep = {"operator": "NOT", "conditions": [deep]}
    assert alice_notes.error("Note/query", filter=deep) == "unsupportedFilter"


def test_server_limit_is_reported(alice_notes: Notes, notes: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.sampletypes.datatypes import NOTE_TYPE

    monkeypatch.setattr(NOTE_TYPE, "max_query_limit", 2)
    got, result = query(alice_notes, notes, sort=BY_TITLE)
    assert (got, result["limit"]) == (["apple", "bread"], 2)
    got, result = query(alice_notes, notes, sort=BY_TITLE, limit=10, position=4)
    assert (got, result["limit"]) == (["email"], 2)
    _, result = query(alice_notes, notes, limit=1)
    assert "limit" not in result
