"""Typed argument readers (jmapcore.protocol.arguments), pure."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jmapcore.protocol.arguments import (
    MAX_SAFE_INT,
    read_bool,
    read_id,
    read_ids,
    read_int,
    read_positive_int,
    read_string,
    read_strings,
    read_unsigned_int,
)
from jmapcore.protocol.errors import MethodError


def rejects(reader: Any, value: Any, **kwargs: Any) -> None:
    with pytest.raises(MethodError) as caught:
        reader({"arg": value}, "arg", **kwargs)
    assert caught.value.type == "invalidArguments"
    assert "arg" in str(caught.value.description)


def test_ids() -> None:
    assert read_id({"a": "abc-_1"}, "a") == "abc-_1"
    assert read_id({}, "a") is None
    assert read_id({"a": "#k1"}, "a", references=True) == "#k1"
    assert read_ids({"a": ["x", "#y"]}, "a", references=True) == ["x", "#y"]
    assert read_ids({"a": None}, "a") is None
    for bad in ("", "a b", "#k1", "x" * 256, 5, ["x"]):
        rejects(read_id, bad)
    rejects(read_id, None, required=True)
    for bad_ids in ("x", [5], ["ok", "not ok"], {"x": 1}):
        rejects(read_ids, bad_ids)


def test_numbers() -> None:
    assert read_int({"a": -3}, "a", default=0) == -3
    assert read_int({}, "a", default=7) == 7
    assert read_unsigned_int({"a": 0}, "a") == 0
    assert read_positive_int({}, "a") is None
    for bad in (True, 1.5, "1", MAX_SAFE_INT + 1):
        rejects(read_int, bad, default=0)
    rejects(read_unsigned_int, -1)
    rejects(read_positive_int, 0)


def test_bools_and_strings() -> None:
    assert read_bool({}, "a", default=True) is True
    assert read_bool({"a": False}, "a", default=True) is False
    assert read_string({"a": "x"}, "a") == "x"
    assert read_strings({"a": ["x"]}, "a") == ["x"]
    rejects(read_bool, 1, default=False)
    rejects(read_string, 1)
    rejects(read_string, None, required=True)
    rejects(read_strings, ["x", 1])


@given(st.integers(-(2**60), 2**60))
def test_unsigned_int_accepts_exactly_the_safe_non_negative_range(value: int) -> None:
    if 0 <= value <= MAX_SAFE_INT:
        assert read_unsigned_int({"a": value}, "a") == value
    else:
        rejects(read_unsigned_int, value)
