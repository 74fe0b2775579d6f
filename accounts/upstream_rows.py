"""The UpstreamAccount rows of passthrough accounts, read from the database once per change.

Every API request of a login with a passthrough Account (kind "jmap") needs
that Account's UpstreamAccount rows twice -- for the Session state every
Response carries (jmapcore.session_object, RFC 8620 §3.4) and for routing its
calls upstream (backends.jmap.forward) -- and every GET /session once. They
change only when the upstream Session does, so this module keeps, in each
process, the rows it last read for each passthrough Account, and answers
from them while the Account row the request already read
(accounts.auth.pool_accounts) still shows the same version.

The version is the key (pk, updated_at, upstream Session "state"), all read
in the request's own Account query. It is enough, in any process, because
the rows are written only in a transaction that also saves the Account with
a new updated_at: backends.jmap.session_store (a Session refresh, which saves
upstream_session and updated_at with the rows), accounts.services and the
admin (a kind change that deletes them saves the Account first). A request
that reads an Account row committed with some rows sees those rows, or rows
committed later, when it queries them (READ COMMITTED or stricter); it never
sees older ones. So an entry is never older than the Account row it is kept
under, and an Account row read after any change carries a key no entry has
yet. The upstream state is part of the key as a second guard: a Session
stored without touching updated_at (a direct update) is still noticed when
its state differs. Reading that state costs no JSON parse per request:
pool_accounts hands out the stored Session parsed once per distinct column
text (accounts.auth._JsonMemo), so any write, with or without updated_at,
still reaches the key.

Nothing secret is kept: the rows hold ids, names, flags and capabilities.
The memo is bounded (MEMO_MAX Accounts, least recently used go first).
Returned rows are shared between requests and threads: callers must treat
them, and their capabilities mappings, as read-only.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from accounts.models import Account, UpstreamAccount

# Passthrough Accounts remembered per process; a web process serves far fewer at once.
MEMO_MAX = 4096


@dataclass(frozen=True)
class UpstreamRow:
    """One UpstreamAccount row, as read (accounts.models.UpstreamAccount)."""

    upstream_id: str  # the accountId on the upstream server
    proxy_id: str  # the accountId in the proxy's Session
    name: str
    is_personal: bool
    is_read_only: bool
    capabilities: dict[str, Any]  # accountCapabilities, filtered; shared: never modify


_Version = tuple[datetime | None, str]

_lock = threading.Lock()
_memo: OrderedDict[int, tuple[_Version, tuple[UpstreamRow, ...]]] = OrderedDict()


def _version(account: Account) -> _Version:
    session = account.upstream_session if isinstance(account.upstream_session, dict) else {}
    state = session.get("state")
    return account.updated_at, state if isinstance(state, str) else ""


def _row(row: UpstreamAccount) -> UpstreamRow:
    return UpstreamRow(
        upstream_id=row.upstream_id,
        proxy_id=row.proxy_id,
        name=row.name,
        is_personal=bool(row.is_personal),
        is_read_only=bool(row.is_read_only),
        capabilities=row.capabilities if isinstance(row.capabilities, dict) else {},
    )


def upstream_rows_read(*, accounts: Iterable[Account]) -> dict[int, tuple[UpstreamRow, ...]]:
    """The UpstreamAccount rows of each passthrough Account among `accounts`, by Account pk.

    In the order of `accounts`; each Account's rows in their Session order
    (position, then proxy id); an Account without rows (Session never
    fetched) maps to (). Accounts of another kind are left out. At most one
    query, for the Accounts whose version (module doc) the memo does not
    hold; none when it holds them all.
    """
    wanted = {
        account.pk: account for account in accounts if account.kind == Account.Kind.JMAP and account.pk is not None
    }
    found: dict[int, tuple[UpstreamRow, ...]] = {}
    missing: dict[int, _Version] = {}
    with _lock:
        for pk, account in wanted.items():
            version = _version(account)
            entry = _memo.get(pk)
            if entry is not None and entry[0] == version:
                _memo.move_to_end(pk)
                found[pk] = entry[1]
            else:
                missing[pk] = version
    if not missing:
        return found
    read: dict[int, list[UpstreamRow]] = {pk: [] for pk in missing}
    for row in UpstreamAccount.objects.filter(account_id__in=list(missing)).order_by("account_id", "position",
                                                                                      "proxy_id"):
        read[row.account_id].append(_row(row))
    with _lock:
        for pk, rows in read.items():
            found[pk] = frozen = tuple(rows)
            _memo[pk] = (missing[pk], frozen)
            _memo.move_to_end(pk)
        while len(_memo) > MEMO_MAX:
            _memo.popitem(last=False)
    return {pk: found[pk] for pk in wanted}


def upstream_rows_forget() -> None:
    """Empty this process's memo (tests that write rows behind the Account's back)."""
    with _lock:
        _memo.clear()
