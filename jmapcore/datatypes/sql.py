"""Filters and sorts that run in SQL (RFC 8620 §5.5).

A data type declares, per FilterCondition property, a FilterBuilder (value ->
Django Q) and, per sortable property, a SortBuilder (Comparator -> ORDER BY
terms). The engine combines them, so a /query never loads rows into Python
to filter or sort them.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from operator import and_, or_
from typing import Any

from django.db.models import F, OrderBy, Q
from django.db.models.functions import Lower

from jmapcore.datatypes.values import InvalidValue, Validator, any_json, string
from jmapcore.protocol.errors import MethodError
from jmapcore.protocol.query import Comparator, Filter, FilterCondition

FilterBuilder = Callable[[Any], Q]
SortBuilder = Callable[[Comparator], list[OrderBy]]

# Explicit "everything" / "nothing": an empty Q() would negate to itself.
MATCH_ALL = Q(pk__isnull=False)
MATCH_NONE = Q(pk__in=[])
CASEMAP_COLLATIONS = (None, "i;ascii-casemap", "i;unicode-casemap")


def filter_to_q(parsed: Filter | None, condition_q: Callable[[str, Any], Q]) -> Q:
    """Translate a parsed filter tree; `condition_q(name, value)` builds one test.

    FilterCondition: all its properties match. AND: all children; OR: any
    child; NOT: no child matches (RFC 8620 §5.5).
    """
    if parsed is None:
        return MATCH_ALL
    if isinstance(parsed, FilterCondition):
        return reduce(and_, (condition_q(name, value) for name, value in parsed.values.items()), MATCH_ALL)
    children = [filter_to_q(child, condition_q) for child in parsed.conditions]
    if parsed.operator == "AND":
        return reduce(and_, children, MATCH_ALL)
    any_child = reduce(or_, children, MATCH_NONE)
    return any_child if parsed.operator == "OR" else ~any_child


def filter_equals(field: str, validate: Validator = any_json) -> FilterBuilder:
    """The property equals the given value."""

    def build(value: Any) -> Q:
        return Q(**{field: validate(value)})

    return build


def filter_compare(field: str, lookup: str, validate: Validator) -> FilterBuilder:
    """`field <lookup> value`, e.g. lookup "gte" for a minimum."""

    def build(value: Any) -> Q:
        return Q(**{f"{field}__{lookup}": validate(value)})

    return build


def filter_text(*fields: str, max_length: int = 1024) -> FilterBuilder:
    """Case-insensitive substring match in any of `fields`."""
    check = string(max_length=max_length)

    def build(value: Any) -> Q:
        text = check(value)
        return reduce(or_, (Q(**{f"{field}__icontains": text}) for field in fields))

    return build


def sort_field(field: str) -> SortBuilder:
    """Sort by a column as stored (numbers, dates, booleans)."""

    def build(comparator: Comparator) -> list[OrderBy]:
        _no_extra(comparator)
        return [F(field).asc() if comparator.is_ascending else F(field).desc()]

    return build


def sort_text(field: str) -> SortBuilder:
    """Sort text case-insensitively (i;ascii-casemap / i;unicode-casemap, RFC 4790).

    The default collation is i;unicode-casemap. i;ascii-numeric is not offered
    on text: it would need a per-database numeric prefix parse.
    """

    def build(comparator: Comparator) -> list[OrderBy]:
        _no_extra(comparator)
        if comparator.collation not in CASEMAP_COLLATIONS:
            raise MethodError("unsupportedSort", f"collation {comparator.collation} is not offered for {field}")
        expression = Lower(field)
        return [expression.asc() if comparator.is_ascending else expression.desc()]

    return build


def _no_extra(comparator: Comparator) -> None:
    if comparator.extra:
        raise MethodError("invalidArguments", "sort: unknown Comparator key " + ", ".join(sorted(comparator.extra)))


__all__ = [
    "CASEMAP_COLLATIONS",
    "MATCH_ALL",
    "MATCH_NONE",
    "FilterBuilder",
    "InvalidValue",
    "SortBuilder",
    "filter_compare",
    "filter_equals",
    "filter_text",
    "filter_to_q",
    "sort_field",
    "sort_text",
]
