"""Hot read queries compiled to SQL once and rerun with new parameters.

The list view (Email/query + Email/get, RFC 8621 §4.4, §4.2) runs a handful of
small queries per request. Turning each queryset into SQL (filters, joins,
column lists) costs the ORM several times more than SQLite takes to answer it,
so `PreparedValues` compiles a ``values_list()`` queryset once per *shape*
(the length of each list argument, plus any literal such as a slice) and
afterwards only executes the SQL. Rows come back as the tuples
``values_list()`` would give, through the very same converters (JSON columns
decoded, datetimes made aware), so callers cannot tell the difference.

How the parameters are found: the queryset is built once with placeholder
values (distinct negative integers, or distinct strings that cannot be real
ids), and each SQL parameter equal to a placeholder is bound to that argument
on every run; any other parameter is a constant of the query (``destroyed =
False``). A shape whose SQL does not carry every placeholder (the ORM folded
or dropped one) is run through the ORM every time instead: slower,
never wrong.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import ValuesListIterable

# "int": one integer; "str": one string; "strs": a list of strings (its
# length is part of the shape); "literal": a hashable Python value that the
# ORM inlines into the SQL (a slice bound), so each value is its own shape.
ParamKind = Literal["int", "str", "strs", "literal"]
# Distinct shapes kept per query; past this the ORM runs the others (an
# Email/get of every length from 1 to 1000 should not keep 1000 SQL strings).
MAX_SHAPES = 64

_INT_BASE = -7_355_608_000
_STR_MARK = "\x00prepared-"


@dataclass(frozen=True)
class _Compiled:
    alias: str
    sql: str
    # One entry per SQL parameter: (argument index, list index or -1), or
    # (-1, constant) for a value of the query itself.
    slots: tuple[tuple[int, Any], ...]
    converters: tuple[tuple[int, tuple[Any, ...], Any], ...]


class PreparedValues:
    """``build(*args)`` -> a ``values_list()`` queryset; ``self(*args)`` -> its rows."""

    def __init__(self, build: Callable[..., QuerySet[Any]], *, kinds: Sequence[ParamKind]) -> None:
        self._build = build
        self._kinds = tuple(kinds)
        self._compiled: dict[tuple[Any, ...], _Compiled | None] = {}
        self._lock = threading.Lock()

    def _shape(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(
            len(arg) if kind == "strs" else arg if kind == "literal" else None
            for kind, arg in zip(self._kinds, args, strict=True)
        )

    def _placeholders(self, args: tuple[Any, ...]) -> tuple[tuple[Any, ...], dict[Any, tuple[int, int]]]:
        values: list[Any] = []
        where: dict[Any, tuple[int, int]] = {}
        counter = 0
        for index, (kind, arg) in enumerate(zip(self._kinds, args, strict=True)):
            if kind == "literal":
                values.append(arg)
            elif kind == "int":
                counter += 1
                values.append(_INT_BASE - counter)
                where[values[-1]] = (index, -1)
            elif kind == "str":
                counter += 1
                values.append(f"{_STR_MARK}{counter}")
                where[values[-1]] = (index, -1)
            else:
                items = []
                for position in range(len(arg)):
                    counter += 1
                    items.append(f"{_STR_MARK}{counter}")
                    where[items[-1]] = (index, position)
                values.append(items)
        return tuple(values), where

    def _compile(self, args: tuple[Any, ...]) -> _Compiled | None:
        placeholders, where = self._placeholders(args)
        queryset = self._build(*placeholders)
        compiler = queryset.query.get_compiler(using=queryset.db)
        try:
            sql, params = compiler.as_sql()
        except (EmptyResultSet, FullResultSet):
            return None  # e.g. an empty IN list: the ORM answers without a query
        slots: list[tuple[int, Any]] = []
        bound: set[Any] = set()
        for param in params:
            if isinstance(param, (int, str)) and not isinstance(param, bool) and param in where:
                bound.add(param)
                slots.append(where[param])
            else:
                slots.append((-1, param))
        if bound != set(where) or queryset._iterable_class is not ValuesListIterable:  # values_list() rows only
            return None
        expressions = [column for column, _, _ in compiler.select]
        converters = tuple(
            (position, tuple(convs), expression)
            for position, (convs, expression) in compiler.get_converters(expressions).items()
        )
        return _Compiled(alias=queryset.db, sql=sql, slots=tuple(slots), converters=converters)

    def __call__(self, *args: Any) -> list[tuple[Any, ...]]:
        shape = self._shape(args)
        if shape in self._compiled:
            compiled = self._compiled[shape]
        else:
            with self._lock:
                compiled = self._compile(args) if len(self._compiled) < MAX_SHAPES else None
                if len(self._compiled) < MAX_SHAPES:
                    self._compiled[shape] = compiled
        if compiled is None:
            return list(self._build(*args))
        params = [
            value if index < 0 else args[index] if value < 0 else args[index][value]
            for index, value in compiled.slots
        ]
        connection = connections[compiled.alias]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if not compiled.converters:
            return [tuple(row) for row in rows]
        converted: list[tuple[Any, ...]] = []
        for raw in rows:
            row = list(raw)
            for position, convs, expression in compiled.converters:
                value = row[position]
                for converter in convs:
                    value = converter(value, expression, connection)
                row[position] = value
            converted.append(tuple(row))
        return converted
