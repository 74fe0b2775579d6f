"""orjson on the API path says what the json module said (jmapcore.protocol.json_fast).

Pure functions: property tests over JSON values, and the values where orjson
and the json module part ways (huge integers, lone surrogates, NaN literals,
dates), which must behave as before. Decoding an upstream's answer is linear
in its size on every route (tests.linear_run: sizes n and 16 n).
"""
from __future__ import annotations

import dataclasses
import datetime
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jmapcore.protocol.json_fast import json_dumps, json_loads
from jmapcore.protocol.response_size import json_encode
from tests.linear_run import sizes_run

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=40,
)


@given(JSON_VALUES)
def test_encoding_is_the_json_modules_value(value: Any) -> None:
    encoded = json_dumps(value)
    assert json.loads(encoded) == json.loads(json_encode(value))


@given(JSON_VALUES)
def test_decoding_gives_back_the_value(value: Any) -> None:
    assert json_loads(json_encode(value)) == value


@given(st.dictionaries(st.text(), st.text() | st.integers(min_value=-(2**53), max_value=2**53), max_size=8))
def test_plain_members_are_byte_identical(value: dict[str, Any]) -> None:
    """Strings and JMAP-sized integers (what a Response is made of) come out exactly as json wrote them."""
    assert json_dumps(value) == json_encode(value)


def test_integers_beyond_64_bits_stay_exact() -> None:
    alice_big = {"size": 2**64 + 1, "negative": -(2**63) - 1, "name": "alice"}
    assert json_loads(json_encode(alice_big)) == alice_big
    assert isinstance(json_loads(b'{"n": 18446744073709551617}')["n"], int)
    assert json_dumps(alice_big) == json_encode(alice_big)


def test_lone_surrogates_are_escaped_as_before() -> None:
    value = {"subject": "mallory \ud800 was here"}
    assert json_dumps(value) == json_encode(value)
    assert json_loads(b'{"subject": "\\ud800"}') == {"subject": "\ud800"}


def test_what_only_the_json_module_reads_is_read_by_it() -> None:
    # An upstream's NaN literal (not JSON) and nesting past orjson's depth: parsed as before.
    assert json_loads(b'{"a": NaN}')["a"] != json_loads(b'{"a": NaN}')["a"]
    deep = b"[" * 5000 + b"]" * 5000
    with pytest.raises(RecursionError):  # json.loads's own answer, which api_post maps to UpstreamError
        json_loads(deep)
    with pytest.raises(ValueError):
        json_loads(b'{"a": ')


def test_values_json_cannot_express_are_still_refused() -> None:
    @dataclasses.dataclass
    class Bob:
        name: str

    for value in ({"when": datetime.datetime(2026, 12, 7)}, {"who": Bob("bob")}, {"set": {1, 2}}):
        with pytest.raises(TypeError):
            json_dumps(value)


def test_non_string_keys_are_written_as_json_writes_them() -> None:
    assert json_dumps({1: "one", "two": 2}) == json_encode({1: "one", "two": 2})


@pytest.mark.parametrize(
    ("shape", "make"),
    [
        # Each shape sends json_loads (an upstream's answer) down its json-module route, or makes
        # the digit-run scan look at every position.
        ("many-long-integers", "b'[' + b','.join([b'18446744073709551617'] * n) + b']'"),
        ("one-long-digit-run-in-a-string", "b'[\"' + b'9' * (20 * n) + b'\"]'"),
        ("digit-runs-one-short", "b'[\"' + (b'1' * 18 + b'a') * n + b'\"]'"),
        ("lone-surrogates", "b'[\"' + b'\\\\ud800' * n + b'\"]'"),
        ("nan-literals", "b'[' + b','.join([b'NaN'] * n) + b']'"),
        ("nested-runs", "b'[' + b','.join([b'[' * 10 + b']' * 10] * n) + b']'"),
    ],
    ids=lambda value: value if "'" not in value else "",
)
def test_decoding_is_linear(shape: str, make: str) -> None:
    setup = (
        "from jmapcore.protocol.json_fast import json_loads\n"
        f"def make(n):\n    return {make}\n"
        "def run(body):\n    return json_loads(body)\n"
    )
    summaries = sizes_run(setup, base=20_000, what=f"json_loads on {shape}")
    assert all(summary.startswith("list:") for summary in summaries)


def test_encoding_what_orjson_refuses_is_linear() -> None:
    setup = (
        "from jmapcore.protocol.json_fast import json_dumps\n"
        "def make(n):\n    return {'ids': [2**70] * n, 'subject': 'mallory \\ud800' * n}\n"
        "def run(value):\n    return json_dumps(value)\n"
    )
    summaries = sizes_run(setup, base=20_000, what="json_dumps of huge integers and lone surrogates")
    assert all(summary.startswith("bytes:") for summary in summaries)


@pytest.mark.parametrize(
    "body",
    [
        b'{"accountId":"alice","accountId":"mallory"}',  # orjson's route
        b'{"accountId":"alice","accountId":"mallory","n":1234567890123456789012}',  # the json module's route
        b'{"accountId":"alice","accountId":"mallory","s":"\\ud800"}',  # orjson refuses, json reads
    ],
)
def test_duplicate_member_names_keep_the_last_on_every_route(body: bytes) -> None:
    """mallory's upstream repeats a member name: both routes keep the last one, as json.loads did
    (a route keeping the first would let the two parsers disagree on which account is meant)."""
    assert json_loads(body)["accountId"] == json.loads(body)["accountId"] == "mallory"


def test_invalid_utf8_is_refused_on_every_route() -> None:
    with pytest.raises(UnicodeDecodeError):
        json_loads(b'{"subject":"\xff"}')
    with pytest.raises(UnicodeDecodeError):
        json_loads(b'{"subject":"\xff","n":1234567890123456789012}')
