"""Decoding and validating the Request object (RFC 8620 §3.3, §3.6.1), without HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jmapcore.protocol.envelope import MAX_JSON_DEPTH, Invocation, json_decode, request_from_json, request_parse
from jmapcore.protocol.errors import RequestError

CORE = "urn:ietf:params:jmap:core"


def test_valid_request_parses_into_invocations() -> None:
    request = request_parse(
        json.dumps(
            {
                "using": [CORE, CORE],
                "methodCalls": [["Core/echo", {"a": 1}, "c1"], ["Foo/get", {}, "c2"]],
                "createdIds": {"k1": "id1"},
                "@type": "Request",
            }
        ).encode()
    )
    assert request.using == frozenset({CORE})
    assert request.method_calls == (
        Invocation(name="Core/echo", arguments={"a": 1}, call_id="c1"),
        Invocation(name="Foo/get", arguments={}, call_id="c2"),
    )
    assert request.created_ids == {"k1": "id1"}
    assert request.extra == {"@type": "Request"}


def test_absent_created_ids_stays_none() -> None:
    assert request_parse({"using": [], "methodCalls": []}).created_ids is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"not json",
        b'{"using": [], "methodCalls": [],}',
        b"\xff\xfe{}",  # not UTF-8
        '{"using": [], "methodCalls": []}'.encode("utf-16"),
        b'{"using": [], "methodCalls": [], "x": NaN}',
        b'{"using": [], "methodCalls": [], "x": Infinity}',
        b'{"using": [], "using": [], "methodCalls": []}',  # duplicate member (I-JSON)
        b'{"using": ["\\ud800"], "methodCalls": []}',  # lone surrogate (I-JSON)
        b'{"x": ' + b"1" * 5000 + b"}",  # integer past Python's conversion limit
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_not_ijson_is_notjson(body: bytes) -> None:
    with pytest.raises(RequestError) as caught:
        json_decode(body)
    assert caught.value.type == "notJSON"
    assert caught.value.status == 400


def test_nesting_limit_is_exact() -> None:
    assert json_decode("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    with pytest.raises(RequestError) as caught:
        json_decode("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))
    assert caught.value.type == "notJSON"


def test_surrogate_pair_and_bom_are_fine() -> None:
    assert json_decode(b'\xef\xbb\xbf["\\ud83d\\ude00"]') == ["\U0001f600"]


@pytest.mark.parametrize(
    ("value", "mentions"),
    [
        ([], "object"),
        ("text", "object"),
        ({"methodCalls": []}, "using"),
        ({"using": []}, "methodCalls"),
        ({"using": "urn:ietf:params:jmap:core", "methodCalls": []}, "using"),
        ({"using": [1], "methodCalls": []}, "using"),
        ({"using": [], "methodCalls": {}}, "methodCalls"),
        ({"using": [], "methodCalls": [["Core/echo", {}]]}, "methodCalls[0]"),
        ({"using": [], "methodCalls": [["Core/echo", {}, "c1", "extra"]]}, "methodCalls[0]"),
        ({"using": [], "methodCalls": ["Core/echo"]}, "methodCalls[0]"),
        ({"using": [], "methodCalls": [[1, {}, "c1"]]}, "method name"),
        ({"using": [], "methodCalls": [["Core/echo", [], "c1"]]}, "arguments"),
        ({"using": [], "methodCalls": [["Core/echo", {}, 7]]}, "method call id"),
        ({"using": [], "methodCalls": [["Core/echo", {}, "c1"], ["Core/echo", {}, None]]}, "methodCalls[1]"),
        ({"using": [], "methodCalls": [], "createdIds": []}, "createdIds"),
        ({"using": [], "methodCalls": [], "createdIds": {"a": 1}}, "createdIds"),
    ],
)
def test_wrong_shapes_are_notrequest(value: Any, mentions: str) -> None:
    with pytest.raises(RequestError) as caught:
        request_from_json(value)
    assert caught.value.type == "notRequest"
    assert mentions in caught.value.detail


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_any_value_parses_or_is_notrequest(value: Any) -> None:
    """request_from_json never fails with anything but notRequest."""
    try:
        request = request_from_json(value)
    except RequestError as exc:
        assert exc.type == "notRequest"
    else:
        assert isinstance(value, dict)
        assert len(request.method_calls) == len(value["methodCalls"])


@given(st.binary(max_size=200) | json_values.map(lambda value: json.dumps(value).encode()))
def test_any_bytes_decode_or_are_notjson(body: bytes) -> None:
    """Any body is refused with notJSON or decoded to exactly the JSON it holds."""
    try:
        value = json_decode(body)
    except RequestError as exc:
        assert exc.type == "notJSON"
    else:
        assert value == json.loads(body.decode("utf-8").removeprefix("\ufeff"))
