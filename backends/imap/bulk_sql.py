"""Bulk writes of the initial sync without the ORM's per-value preparation.

`Model.objects.bulk_create` prepares every value of every row through the
field (get_db_prep_save, pre_save, JSON encoding via the field's encoder) and
splits the rows into INSERTs of at most `max_query_params` (999 on SQLite)
variables — about 28 Email rows per statement. With 100,000 messages that is
most of an initial sync's time. Here the sync builds plain tuples, already in
the form Django would have written (JSON text from json.dumps, datetimes
adapted by the backend's own operations), and writes them with one prepared
`executemany` per batch through Django's cursor (so the `%s` placeholders and
the transaction are Django's, on SQLite and PostgreSQL alike).

The rows are exactly those bulk_create writes (tests/backends/imap/test_bulk_sql.py
reads both back through the ORM and compares).
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils.dateparse import parse_datetime

# Rows per executemany: the statement is prepared once, so this only bounds memory.
ROWS_PER_CALL = 5000
# Bound parameters per lookup query: below every backend's limit (SQLite's old 999).
LOOKUP_CHUNK = 900


def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def columns_sql(columns: Sequence[str]) -> str:
    return ", ".join(connection.ops.quote_name(name) for name in columns)


def json_adapter() -> Callable[[Any], Any]:
    """JSONField values as the connection stores them: None is SQL NULL, the rest
    is `json.dumps(value)` (JSONField with no encoder) on SQLite, the backend's
    adapt_json_value elsewhere."""
    if connection.vendor == "sqlite":
        dumps = json.dumps

        def sqlite_json(value: Any) -> Any:
            return None if value is None else dumps(value)

        return sqlite_json
    adapt = connection.ops.adapt_json_value

    def other_json(value: Any) -> Any:
        return None if value is None else adapt(value, None)

    return other_json


def datetime_adapter() -> Callable[[dt.datetime | None], Any]:
    """Aware datetimes as the connection stores them (DateTimeField with USE_TZ):
    on SQLite naive text in the connection's time zone, as
    DatabaseOperations.adapt_datetimefield_value makes it, only faster."""
    if connection.vendor == "sqlite":
        zone = connection.timezone

        def sqlite_datetime(value: dt.datetime | None) -> Any:
            if value is None:
                return None
            if value.utcoffset() is None:  # naive: the ORM would warn and store it as it is
                return str(value)
            return str(value.astimezone(zone).replace(tzinfo=None))

        return sqlite_datetime
    adapt = connection.ops.adapt_datetimefield_value
    return lambda value: adapt(value)


def rows_insert(
    model: type[Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    conflict: Sequence[str] = (),
    update: Sequence[str] = (),
) -> None:
    """INSERT `rows` (tuples in `columns` order) into `model`'s table with one
    prepared statement. With `conflict` and `update`: `ON CONFLICT (conflict)
    DO UPDATE SET col = EXCLUDED.col` (SQLite >= 3.24, PostgreSQL)."""
    # Table and column names come from the models; every value is a bound parameter.
    values = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table(model)} ({columns_sql(columns)}) VALUES ({values})"  # noqa: S608
    if conflict:
        quote = connection.ops.quote_name
        sets = ", ".join(f"{quote(name)} = EXCLUDED.{quote(name)}" for name in update)
        sql += f" ON CONFLICT ({columns_sql(conflict)}) DO UPDATE SET {sets}"
    batch: list[Sequence[Any]] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(row)
            if len(batch) >= ROWS_PER_CALL:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


def pks_by_jmap_id(model: type[Model], *, account_pk: int, jmap_ids: Sequence[str]) -> dict[str, int]:
    """{jmap_id: pk} of `model` rows of one account (the unique (account, jmap_id) index)."""
    found: dict[str, int] = {}
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for start in range(0, len(jmap_ids), LOOKUP_CHUNK):
            chunk = jmap_ids[start : start + LOOKUP_CHUNK]
            marks = ", ".join(["%s"] * len(chunk))
            where = f"{quote('account_id')} = %s AND {quote('jmap_id')} IN ({marks})"
            cursor.execute(
                f"SELECT {quote('jmap_id')}, {quote('id')} FROM {table(model)} WHERE {where}",  # noqa: S608
                [account_pk, *chunk],
            )
            found.update(cursor.fetchall())
    return found


def jmap_ids_new(prefix: str, count: int) -> list[str]:
    """`count` fresh ids of the form jmapcore.datatypes.orm.jmap_id_new makes
    (`prefix` + 80 random bits in lowercase base32), from one draw of the
    system's random source: 10 random bytes are exactly 16 base32 characters,
    so each id is the encoding of its own 10 bytes.

    In increasing order: rows written in that order reach the unique
    (account, jmap_id) index in its own order, a walk over its pages instead
    of a jump per row (about a fifth of the Email insert's cost at 20,000).
    The ids themselves stay random."""
    if count <= 0:
        return []
    text = base64.b32encode(secrets.token_bytes(10 * count)).decode("ascii").lower()
    return sorted(prefix + text[start : start + 16] for start in range(0, 16 * count, 16))


def datetime_reader() -> Callable[[Any], dt.datetime | None]:
    """A DateTimeField value as a raw cursor returns it, as the ORM would read
    it (USE_TZ): an aware datetime. SQLite stores naive text in the
    connection's time zone; PostgreSQL answers aware datetimes already."""
    if connection.vendor == "sqlite":
        zone = connection.timezone

        def sqlite_read(value: Any) -> dt.datetime | None:
            if value is None or isinstance(value, dt.datetime):
                return value if value is None or value.tzinfo is not None else value.replace(tzinfo=zone)
            parsed = parse_datetime(str(value))
            return parsed if parsed is None or parsed.tzinfo is not None else parsed.replace(tzinfo=zone)

        return sqlite_read
    return lambda value: value


def rows_where_in(
    model: type[Model],
    *,
    columns: Sequence[str],
    account_pk: int,
    column: str,
    values: Sequence[Any],
    extra: str = "",
    extra_params: Sequence[Any] = (),
    chunk: int = LOOKUP_CHUNK,
) -> list[tuple[Any, ...]]:
    """`columns` of the rows of one account whose `column` is one of `values`
    (`extra`: a further SQL condition with %s placeholders for `extra_params`),
    in chunks of `chunk` bound values: the query the ORM would run, without
    preparing every value through its field (those are plain str/int here)."""
    found: list[tuple[Any, ...]] = []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for start in range(0, len(values), chunk):
            part = values[start : start + chunk]
            marks = ", ".join(["%s"] * len(part))
            where = f"{quote('account_id')} = %s AND {quote(column)} IN ({marks})" + (f" AND {extra}" if extra else "")
            cursor.execute(
                f"SELECT {columns_sql(columns)} FROM {table(model)} WHERE {where}",  # noqa: S608
                [account_pk, *part, *extra_params],
            )
            found.extend(cursor.fetchall())
    return found


# During a bulk load on SQLite: a page cache that holds the indexes being
# filled (KiB, negative in PRAGMA cache_size), and a WAL checkpoint every
# this many pages instead of SQLite's 1000 (4 MB): fewer, larger checkpoints
# write each index page back once instead of once per few batches.
BULK_CACHE_KIB = 32_768
BULK_WAL_CHECKPOINT_PAGES = 16_384


@contextmanager
def bulk_load_pragmas() -> Iterator[None]:
    """Connection settings for many large transactions in a row (an initial
    sync), restored afterwards, followed by a passive checkpoint. Only
    per-connection caching and checkpoint frequency change: every commit is
    as durable as before (journal_mode and synchronous stay as configured).
    Nothing on other databases."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        cache_size = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA wal_autocheckpoint")
        checkpoint = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = {-BULK_CACHE_KIB:d}")
        cursor.execute(f"PRAGMA wal_autocheckpoint = {BULK_WAL_CHECKPOINT_PAGES:d}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {cache_size:d}")
            cursor.execute(f"PRAGMA wal_autocheckpoint = {checkpoint:d}")
            if not connection.in_atomic_block:
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
