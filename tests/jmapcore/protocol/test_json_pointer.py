"""The JSON Pointer evaluator (RFC 6901) with the RFC 8620 §3.7 "*" wildcard."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jmapcore.protocol.resultref import PointerError, pointer_evaluate, pointer_tokens

# RFC 6901 §5 example document and its answers.
RFC6901_DOC = {
    "foo": ["bar", "baz"],
    "": 0,
    "a/b": 1,
    "c%d": 2,
    "e^f": 3,
    "g|h": 4,
    "i\\j": 5,
    'k"l': 6,
    " ": 7,
    "m~n": 8,
}


@pytest.mark.parametrize(
    ("pointer", "expected"),
    [
        ("", RFC6901_DOC),
        ("/foo", ["bar", "baz"]),
        ("/foo/0", "bar"),
        ("/", 0),
        ("/a~1b", 1),
        ("/c%d", 2),
        ("/e^f", 3),
        ("/g|h", 4),
        ("/i\\j", 5),
        ('/k"l', 6),
        ("/ ", 7),
        ("/m~0n", 8),
    ],
)
def test_rfc6901_examples(pointer: str, expected: Any) -> None:
    assert pointer_evaluate(RFC6901_DOC, pointer) == expected


@pytest.mark.parametrize(
    "pointer",
    ["foo", "/missing", "/foo/2", "/foo/-", "/foo/01", "/foo/-1", "/foo/x", "/foo/0/deeper", "/m~2n", "/m~"],
)
def test_pointer_to_nothing_fails(pointer: str) -> None:
    with pytest.raises(PointerError):
        pointer_evaluate(RFC6901_DOC, pointer)


def test_tilde_unescaping_order() -> None:
    # "~01" is "~1" literally, not "/" (RFC 6901 §4: ~1 first, then ~0).
    assert pointer_tokens("/~01") == ["~1"]
    assert pointer_evaluate({"~1": "x", "/": "y"}, "/~01") == "x"


def test_wildcard_maps_and_flattens() -> None:
    doc = {"list": [{"id": "a", "ids": ["1", "2"]}, {"id": "b", "ids": ["3"]}, {"id": "c", "ids": []}]}
    assert pointer_evaluate(doc, "/list/*/id") == ["a", "b", "c"]
    assert pointer_evaluate(doc, "/list/*/ids") == ["1", "2", "3"]
    assert pointer_evaluate({"list": []}, "/list/*/id") == []
    # Nested wildcards: each level flattens one level of arrays.
    nested = {"a": [{"b": [{"c": "x"}, {"c": "y"}]}, {"b": [{"c": "z"}]}]}
    assert pointer_evaluate(nested, "/a/*/b/*/c") == ["x", "y", "z"]


def test_wildcard_on_an_object_is_a_member_name() -> None:
    assert pointer_evaluate({"*": 5}, "/*") == 5
    with pytest.raises(PointerError):
        pointer_evaluate({"x": 5}, "/*")


def test_wildcard_fails_when_any_item_lacks_the_path() -> None:
    with pytest.raises(PointerError):
        pointer_evaluate({"list": [{"id": "a"}, {}]}, "/list/*/id")


# Properties ------------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=25,
)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _paths(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Every (pointer, value) pair inside `value`, computed independently."""
    found = [(prefix, value)]
    if isinstance(value, dict):
        for key, member in value.items():
            found.extend(_paths(member, f"{prefix}/{_escape(key)}"))
    elif isinstance(value, list):
        for index, member in enumerate(value):
            found.extend(_paths(member, f"{prefix}/{index}"))
    return found


@given(documents)
def test_every_location_is_reachable_by_its_pointer(document: Any) -> None:
    for pointer, expected in _paths(document):
        assert pointer_evaluate(document, pointer) == expected


@given(st.text(max_size=12))
def test_escaping_round_trips(token: str) -> None:
    assert pointer_tokens("/" + _escape(token)) == [token]


@given(documents, st.text(max_size=20))
def test_evaluation_returns_or_raises_pointer_error(document: Any, pointer: str) -> None:
    try:
        pointer_evaluate(document, pointer)
    except PointerError:
        pass


@given(st.lists(st.dictionaries(st.sampled_from(["id", "x"]), scalars, min_size=1, max_size=2), max_size=6))
def test_wildcard_equals_mapping_each_item(items: list[dict[str, Any]]) -> None:
    document = {"list": items}
    if all("id" in item for item in items):
        expected: list[Any] = []
        for item in items:
            expected.append(item["id"])
        assert pointer_evaluate(document, "/list/*/id") == expected
    else:
        with pytest.raises(PointerError):
            pointer_evaluate(document, "/list/*/id")


@given(st.lists(st.lists(scalars, max_size=3), max_size=4))
def test_wildcard_flattens_exactly_one_level(rows: list[list[Any]]) -> None:
    document = {"rows": [{"v": row} for row in rows]}
    assert pointer_evaluate(document, "/rows/*/v") == [cell for row in rows for cell in row]
