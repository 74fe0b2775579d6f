"""Ordering the creates of one /set by their "#creationId" references (RFC 8620 §5.3)."""
from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from jmapcore.protocol.create_order import creates_order, reference_ids


def _parents(obj: Any) -> dict[str, list[str]]:
    ids = reference_ids(obj.get("parentId"), "id")
    return {"parentId": ids} if ids else {}


def test_a_child_listed_before_its_parent_comes_after_it() -> None:
    create = {"c": {"parentId": "#b"}, "b": {"parentId": "#a"}, "a": {}, "z": {}}
    ordered = creates_order(create, references=_parents, created_before={})
    assert ordered.order == ["a", "z", "b", "c"]
    assert ordered.blocked == {}


def test_references_to_earlier_calls_are_not_dependencies() -> None:
    create = {"x": {"parentId": "#y"}, "y": {}}
    ordered = creates_order(create, references=_parents, created_before={"y": "m123"})
    assert ordered.order == ["x", "y"]


def test_cycles_and_what_leans_on_them_are_blocked() -> None:
    create = {
        "a": {"parentId": "#b"}, "b": {"parentId": "#a"}, "self": {"parentId": "#self"},
        "leaf": {"parentId": "#a"}, "free": {"parentId": "#elsewhere"},
    }
    ordered = creates_order(create, references=_parents, created_before={})
    assert ordered.order == ["free"]
    assert ordered.blocked == {"a": ["parentId"], "b": ["parentId"], "self": ["parentId"], "leaf": ["parentId"]}


def test_reference_kinds() -> None:
    assert reference_ids("#a", "id") == ["a"]
    assert reference_ids("m1", "id") == []
    assert reference_ids(["#a", "m1", "#b", 3], "ids") == ["a", "b"]
    assert reference_ids({"#a": True, "m1": True}, "idmap") == ["a"]
    assert reference_ids(["#a"], "id") == []
    assert reference_ids("#a", None) == []


@given(st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=30))
def test_every_create_is_ordered_or_blocked_and_parents_come_first(parents: list[int]) -> None:
    create = {f"k{i}": {"parentId": f"#k{parent}"} for i, parent in enumerate(parents)}
    ordered = creates_order(create, references=_parents, created_before={})
    assert sorted(ordered.order + list(ordered.blocked)) == sorted(create)
    position = {cid: index for index, cid in enumerate(ordered.order)}
    for cid in ordered.order:
        parent = create[cid]["parentId"][1:]
        if parent in create:
            assert position[parent] < position[cid]
