"""Filter, sort and window arithmetic for /query (RFC 8620 §5.5), pure."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jmapcore.protocol.errors import MethodError
from jmapcore.protocol.query import (
    Comparator,
    FilterCondition,
    FilterOperator,
    anchor_index,
    filter_condition_names,
    filter_parse,
    limit_effective,
    sort_parse,
    window_start,
)

NAMES = ("text", "pinned")
COLLATIONS = ("i;ascii-casemap",)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(
        ["operator", "conditions", "text", "pinned", "x", "property", "isAscending", "collation"]), inner, max_size=3),
    max_leaves=12,
)


def test_filter_tree_is_parsed() -> None:
    parsed = filter_parse(
        {"operator": "OR", "conditions": [{"text": "a"}, {"operator": "NOT", "conditions": [{"pinned": True}]}]},
        condition_properties=NAMES,
    )
    assert parsed == FilterOperator(
        "OR", (FilterCondition({"text": "a"}), FilterOperator("NOT", (FilterCondition({"pinned": True}),)))
    )
    assert filter_condition_names(parsed) == {"text", "pinned"}
    assert filter_parse(None, condition_properties=NAMES) is None


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ({"colour": 1}, "unsupportedFilter"),
        ({"operator": "and", "conditions": []}, "invalidArguments"),
        ({"operator": "AND", "conditions": {}}, "invalidArguments"),
        ([{"text": "a"}], "invalidArguments"),
        ({"operator": "AND", "conditions": [[]]}, "invalidArguments"),
    ],
)
def test_bad_filters(raw: Any, error: str) -> None:
    with pytest.raises(MethodError) as caught:
        filter_parse(raw, condition_properties=NAMES)
    assert caught.value.type == error


def test_depth_and_size_limits() -> None:
    node: dict[str, Any] = {"text": "x"}
    for _ in range(3):
        node = {"operator": "AND", "conditions": [node]}
    assert filter_parse(node, condition_properties=NAMES, max_depth=4) is not None
    with pytest.raises(MethodError, match="nested"):
        filter_parse(node, condition_properties=NAMES, max_depth=3)
    wide = {"operator": "OR", "conditions": [{"text": str(i)} for i in range(20)]}
    with pytest.raises(MethodError) as caught:
        filter_parse(wide, condition_properties=NAMES, max_nodes=10)
    assert caught.value.type == "unsupportedFilter"


def _filter_json(parsed: FilterOperator | FilterCondition) -> dict[str, Any]:
    """A parsed filter back in its RFC 8620 §5.5 JSON form."""
    if isinstance(parsed, FilterCondition):
        return dict(parsed.values)
    return {"operator": parsed.operator, "conditions": [_filter_json(child) for child in parsed.conditions]}


@given(json_values)
def test_any_json_filter_parses_or_is_a_method_error(raw: Any) -> None:
    """A filter is refused with a method error, or parsed into a tree that keeps
    all of it and uses only the supported condition properties."""
    try:
        parsed = filter_parse(raw, condition_properties=NAMES)
    except MethodError as error:
        assert error.type in ("invalidArguments", "unsupportedFilter")
    else:
        assert (parsed is None) == (raw is None)
        if parsed is not None:
            assert _filter_json(parsed) == raw
            assert filter_condition_names(parsed) <= set(NAMES)


@given(json_values)
def test_any_json_sort_parses_or_is_a_method_error(raw: Any) -> None:
    try:
        comparators = sort_parse(raw, sortable=NAMES, collations=COLLATIONS)
    except MethodError as error:
        assert error.type in ("invalidArguments", "unsupportedSort")
    else:
        assert all(c.property in NAMES for c in comparators)


def test_sort_defaults() -> None:
    assert sort_parse([{"property": "text"}, {"property": "pinned", "isAscending": False, "keyword": "$seen"}],
                      sortable=NAMES, collations=COLLATIONS) == [
        Comparator("text", True, None, {}),
        Comparator("pinned", False, None, {"keyword": "$seen"}),
    ]


@given(st.integers(0, 50), st.integers(-80, 80), st.integers(0, 60) | st.none())
def test_position_window_matches_list_slicing(total: int, position: int, limit: int | None) -> None:
    """RFC 8620 §5.5: a negative position counts from the end, clamped to 0."""
    results = list(range(total))
    start = window_start(total=total, position=position, anchor_index=None, anchor_offset=0)
    assert start >= 0
    expected_start = position if position >= 0 else max(0, total + position)
    assert start == expected_start
    window = results[start:] if limit is None else results[start : start + limit]
    assert window == results[max(0, position) if position >= 0 else max(0, total + position):][:limit]


@given(st.integers(1, 50), st.data())
def test_anchor_window(total: int, data: st.DataObject) -> None:
    ids = [f"i{n}" for n in range(total)]
    index = data.draw(st.integers(0, total - 1))
    offset = data.draw(st.integers(-60, 60))
    position = data.draw(st.integers(-60, 60))
    start = window_start(total=total, position=position, anchor_index=anchor_index(ids, ids[index]),
                         anchor_offset=offset)
    assert start == max(0, index + offset)


def test_anchor_not_found_and_negative_position_needs_total() -> None:
    with pytest.raises(MethodError) as caught:
        anchor_index(["a"], "b")
    assert caught.value.type == "anchorNotFound"
    with pytest.raises(ValueError):
        window_start(total=None, position=-1, anchor_index=None, anchor_offset=0)


def test_limit_effective() -> None:
    assert limit_effective(None, 100) == (100, True)
    assert limit_effective(500, 100) == (100, True)
    assert limit_effective(5, 100) == (5, False)
