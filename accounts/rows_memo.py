"""Rows a SQLite connection read, kept while its database has not changed since.

Every API request reads its login's pool and accounts (accounts.auth), and on
the embedded database that one SELECT and the conversion of its ~30 columns
are a sizeable share of a forwarded request's own time. Between two requests
of one client the rows are nearly always the same, and SQLite says exactly
when they might not be:

- ``PRAGMA data_version`` changes whenever another connection, in this
  process or any other, has committed a change to the database file since
  this connection last asked;
- the connection's ``total_changes`` grows with every row it inserts, updates
  or deletes itself, committed or not.

So rows read on one connection are handed out again, on that connection only,
for as long as both figures are what they were read just before the rows
were. Any write anywhere in the database drops them all (a write to the cache
table too: the rule is coarse, and exact). Nothing is kept across connections
(a new connection starts with nothing), inside a transaction, or on another
database engine.

Rows are kept converted (datetimes parsed, as the ORM converts them), but only
values of immutable types are handed out again as they are; any other value
(a JSON column's dict, a secret column's tagged string) is converted again
from the stored text, so no two requests ever share a mutable object unless
the column's converter shares it by design (accounts.auth._JsonMemo).

The memo of a connection holds at most MAX_ENTRIES lookups (least recently
used go first) and lives on Django's connection object, which belongs to one
thread. Kept Account rows hold the credentials as stored (sealed, or vault
references, unless the operator stores them in plaintext), as the request's
instances always did; they are dropped by the next write to the database or
by the connection's end, and are never logged.

On a busy embedded database (the worker writing sync progress every few
seconds) fewer lookups are answered from the memo; each miss costs one
PRAGMA more than before.
"""
from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

MAX_ENTRIES = 32
_ATTRIBUTE = "_jmap_rows_memo"


@dataclass(frozen=True)
class MemoToken:
    """What the database looked like to one connection at one moment (see the module doc)."""

    raw: Any  # the DB-API connection itself: a reconnection never matches an older token
    data_version: int
    total_changes: int


@dataclass
class _Memo:
    token: MemoToken
    entries: OrderedDict[Hashable, Any] = field(default_factory=OrderedDict)


def memo_token(connection: BaseDatabaseWrapper) -> MemoToken | None:
    """The connection's current token, or None where rows must not be kept (module doc).

    Take it before reading the rows to be kept: a change committed between the
    two then makes the next token differ, and the rows are read again.
    """
    raw = connection.connection
    if connection.vendor != "sqlite" or raw is None or connection.in_atomic_block:
        return None
    try:
        version = raw.execute("PRAGMA data_version").fetchone()[0]
    except sqlite3.Error:
        return None  # the lookup then runs its SELECT, which reports any lasting trouble as usual
    return MemoToken(raw=raw, data_version=int(version), total_changes=int(raw.total_changes))


def memo_get(connection: BaseDatabaseWrapper, token: MemoToken | None, key: Hashable) -> Any | None:
    """What memo_put kept under `key` with this very token, else None."""
    memo: _Memo | None = getattr(connection, _ATTRIBUTE, None)
    if token is None or memo is None or memo.token != token:
        return None
    found = memo.entries.get(key)
    if found is not None:
        memo.entries.move_to_end(key)
    return found


def memo_put(connection: BaseDatabaseWrapper, token: MemoToken | None, key: Hashable, value: Any) -> None:
    """Keep `value` (not None) under `key`, valid while the connection's token stays `token`."""
    if token is None:
        return
    memo: _Memo | None = getattr(connection, _ATTRIBUTE, None)
    if memo is None or memo.token != token:
        memo = _Memo(token=token)
        setattr(connection, _ATTRIBUTE, memo)
    memo.entries[key] = value
    memo.entries.move_to_end(key)
    while len(memo.entries) > MAX_ENTRIES:
        memo.entries.popitem(last=False)
