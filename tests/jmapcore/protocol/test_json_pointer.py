"""The JSON Pointer evaluator (RFC 6901) with the RFC 8620 §3.7 "*" wildcard."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jmapcore.protocol.resultref import (
    MAX_POINTER_LENGTH,
    MAX_POINTER_TOKENS,
    PointerError,
    pointer_evaluate,
    pointer_tokens,
)

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


class _Nothing(Exception):
    """The model found no value (the evaluator must raise PointerError)."""


_MODEL_INDEX = re.compile(r"0|[1-9][0-9]*")


def _model_evaluate(value: Any, tokens: list[str]) -> Any:
    """RFC 6901 §4 evaluation with the RFC 8620 §3.7 "*", written from the RFCs
    independently of jmapcore (recursive, no caps)."""
    if not tokens:
        return value
    token, rest = tokens[0], tokens[1:]
    if isinstance(value, list) and token == "*":
        mapped: list[Any] = []
        for item in value:
            result = _model_evaluate(item, rest)
            mapped.extend(result) if isinstance(result, list) else mapped.append(result)
        return mapped
    if isinstance(value, dict) and token in value:
        return _model_evaluate(value[token], rest)
    # array-index = %x30 / ( %x31-39 *(%x30-39) ), the whole token (RFC 6901 §4).
    if isinstance(value, list) and _MODEL_INDEX.fullmatch(token) and int(token) < len(value):
        return _model_evaluate(value[int(token)], rest)
    raise _Nothing(token)


def _model(document: Any, pointer: str) -> Any:
    if pointer == "":
        return document
    if not pointer.startswith("/") or len(pointer) > MAX_POINTER_LENGTH or pointer.count("/") > MAX_POINTER_TOKENS:
        raise _Nothing(pointer)
    raw = pointer[1:].split("/")
    if any(re.search("~(?![01])", token) for token in raw):
        raise _Nothing(pointer)
    return _model_evaluate(document, [token.replace("~1", "/").replace("~0", "~") for token in raw])


# Tokens that look like an array index to a careless reader but are not one (RFC 6901 §4).
_NOT_INDEXES = ["-", "01", "00", "+1", " 1", "1 ", "1\n", "-1", "1.0", "1e0", "\u0661", ""]


def _next_tokens(value: Any) -> list[str]:
    """Tokens one step past `value` that may or may not reference something:
    the last index, one past the end, look-alike indexes, "*" (a wildcard on an
    array, a member name on an object), member names escaped wrongly or not at
    all, and bad escapes."""
    if isinstance(value, list):
        return [str(len(value) - 1), str(len(value)), "*", *_NOT_INDEXES]
    tokens = ["*", "missing", "~", "~2", "0"]
    if isinstance(value, dict):
        for key in value:
            tokens += [_escape(key), key, key.replace("~", "~2")]
    return tokens


def _pointers_around(document: Any) -> list[str]:
    """Every real location of the document, the same with its array indexes
    turned into "*" (one at a time, and all), and each of those one token
    further (_next_tokens)."""
    found: list[str] = []
    for pointer, value in _paths(document):
        indexes = list(re.finditer(r"/[0-9]+(?=/|$)", pointer))
        variants = {pointer, re.sub(r"/[0-9]+(?=/|$)", "/*", pointer)}
        variants.update(pointer[: m.start()] + "/*" + pointer[m.end() :] for m in indexes)
        for variant in sorted(variants):
            found.append(variant)
            found.extend(f"{variant}/{token}" for token in _next_tokens(value))
    return found


def _check_against_model(document: Any, pointer: str) -> None:
    try:
        expected = _model(document, pointer)
    except _Nothing:
        with pytest.raises(PointerError):
            pointer_evaluate(document, pointer)
    else:
        assert pointer_evaluate(document, pointer) == expected, pointer


@given(documents, st.text(max_size=20))
def test_evaluation_returns_the_value_or_raises_pointer_error(document: Any, pointer: str) -> None:
    """Whatever the pointer (any text, and every pointer at or next to each of
    the document's locations), the evaluator returns exactly what RFC 6901
    with RFC 8620's "*" finds there, or raises PointerError when nothing is there."""
    around = _pointers_around(document)
    assert "" in around
    for candidate in [pointer, *around]:
        _check_against_model(document, candidate)


def test_an_index_with_a_final_newline_is_not_an_index() -> None:
    # A "$" anchor also matches before a final newline: "1\n" must not pass for 1.
    with pytest.raises(PointerError):
        pointer_evaluate({"foo": ["a", "b"]}, "/foo/1\n")


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
