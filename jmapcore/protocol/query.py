"""Validation for /query and /queryChanges arguments (RFC 8620 §5.5, §5.6).

- `filter_parse` checks a FilterOperator/FilterCondition tree and returns it as
  typed nodes; the data type turns conditions into database predicates.
- `sort_parse` checks a Comparator list.
- `window_start` / `limit_effective` do the position/anchor/limit arithmetic.

Malformed input answers invalidArguments; well-formed input the server cannot
process answers unsupportedFilter / unsupportedSort, as §5.5 requires.
"""
from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from jmapcore.protocol.errors import MethodError

OPERATORS = ("AND", "OR", "NOT")
# Deep trees are not useful to a client and cost stack and SQL size.
MAX_FILTER_DEPTH = 10
MAX_FILTER_NODES = 500
MAX_COMPARATORS = 16


@dataclass(frozen=True)
class FilterCondition:
    """A FilterCondition: every property in `values` must match (RFC 8620 §5.5)."""

    values: Mapping[str, Any]


@dataclass(frozen=True)
class FilterOperator:
    """AND: all match; OR: at least one matches; NOT: none match."""

    operator: Literal["AND", "OR", "NOT"]
    conditions: tuple[Filter, ...]


Filter = FilterOperator | FilterCondition


@dataclass(frozen=True)
class Comparator:
    """One sort criterion (RFC 8620 §5.5 "sort")."""

    property: str
    is_ascending: bool = True
    collation: str | None = None
    # Type-specific extra keys (e.g. RFC 8621 "keyword" for hasKeyword).
    extra: Mapping[str, Any] = field(default_factory=dict)


def _invalid(description: str) -> MethodError:
    return MethodError("invalidArguments", description)


def filter_parse(
    raw: object,
    *,
    condition_properties: Collection[str],
    max_depth: int = MAX_FILTER_DEPTH,
    max_nodes: int = MAX_FILTER_NODES,
) -> Filter | None:
    """Validate a `filter` argument; None means "no filter".

    A JSON object with an "operator" key is a FilterOperator, any other object
    a FilterCondition whose keys must all be in `condition_properties`.
    """
    if raw is None:
        return None
    budget = [max_nodes]

    def parse(node: object, depth: int) -> Filter:
        budget[0] -= 1
        if budget[0] < 0:
            raise MethodError("unsupportedFilter", f"filter has more than {max_nodes} parts")
        if depth > max_depth:
            raise MethodError("unsupportedFilter", f"filter is nested more than {max_depth} levels deep")
        if not isinstance(node, dict):
            raise _invalid("filter: every FilterOperator and FilterCondition must be an object")
        if "operator" in node:
            operator = node["operator"]
            if operator not in OPERATORS:
                raise _invalid("filter: operator must be AND, OR or NOT")
            extra = set(node) - {"operator", "conditions"}
            if extra:
                raise _invalid("filter: unknown FilterOperator key " + ", ".join(sorted(map(str, extra))))
            conditions = node.get("conditions")
            if not isinstance(conditions, list):
                raise _invalid("filter: a FilterOperator needs a conditions list")
            return FilterOperator(operator, tuple(parse(child, depth + 1) for child in conditions))
        unknown = [key for key in node if key not in condition_properties]
        if unknown:
            raise MethodError("unsupportedFilter", "unsupported filter condition " + ", ".join(sorted(unknown)))
        return FilterCondition(dict(node))

    return parse(raw, 1)


def filter_condition_names(parsed: Filter | None) -> set[str]:
    """Every condition property used anywhere in the tree."""
    return {name for condition in _conditions(parsed) for name in condition.values}


def _conditions(parsed: Filter | None) -> Iterator[FilterCondition]:
    if parsed is None:
        return
    if isinstance(parsed, FilterCondition):
        yield parsed
        return
    for child in parsed.conditions:
        yield from _conditions(child)


def sort_parse(
    raw: object,
    *,
    sortable: Collection[str],
    collations: Collection[str],
    known_keys: Collection[str] | None = None,
) -> list[Comparator]:
    """Validate a `sort` argument (null means the server's default order).

    Keys besides property/isAscending/collation are kept in `extra` for the
    data type to judge (RFC 8620 §5.5: unknown ones are invalidArguments).
    When `known_keys` is given, keys outside it are dropped instead: a lenient
    server ignores what it does not know (jmapcore.strictness)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _invalid("sort: must be a list of Comparators or null")
    if len(raw) > MAX_COMPARATORS:
        raise MethodError("unsupportedSort", f"at most {MAX_COMPARATORS} comparators")
    parsed: list[Comparator] = []
    for item in raw:
        if not isinstance(item, dict):
            raise _invalid("sort: each Comparator must be an object")
        prop = item.get("property")
        if not isinstance(prop, str):
            raise _invalid("sort: a Comparator needs a property string")
        ascending = item.get("isAscending", True)
        if not isinstance(ascending, bool):
            raise _invalid("sort: isAscending must be a Boolean")
        collation = item.get("collation")
        if collation is not None and not isinstance(collation, str):
            raise _invalid("sort: collation must be a String")
        if prop not in sortable:
            raise MethodError("unsupportedSort", f"cannot sort by {prop}")
        if collation is not None and collation not in collations:
            raise MethodError("unsupportedSort", f"unsupported collation {collation}")
        extra = {key: value for key, value in item.items() if key not in ("property", "isAscending", "collation")}
        if known_keys is not None:
            extra = {key: value for key, value in extra.items() if key in known_keys}
        parsed.append(Comparator(prop, ascending, collation, extra))
    return parsed


def window_start(*, total: int | None, position: int, anchor_index: int | None, anchor_offset: int) -> int:
    """The index of the first id to return (RFC 8620 §5.5).

    With an anchor, `position` is ignored: the anchor's index plus
    `anchor_offset`, clamped to 0. Without one, a negative position counts
    from the end (needs `total`) and is clamped to 0. The result may be past
    the end of the list; the ids are then empty, which is not an error.
    """
    if anchor_index is not None:
        return max(0, anchor_index + anchor_offset)
    if position >= 0:
        return position
    if total is None:
        raise ValueError("a negative position needs the total")
    return max(0, total + position)


def limit_effective(requested: int | None, server_max: int) -> tuple[int, bool]:
    """The limit to apply and whether the server lowered it (then the response
    must say so in `limit`, RFC 8620 §5.5)."""
    if requested is None or requested > server_max:
        return server_max, True
    return requested, False


def anchor_index(ids: list[str], anchor: str) -> int:
    """Where `anchor` is in the full result list, or MethodError anchorNotFound."""
    try:
        return ids.index(anchor)
    except ValueError:
        raise MethodError("anchorNotFound") from None
