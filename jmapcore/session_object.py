"""The JMAP Session object of a pool (RFC 8620 §2), independent of HTTP.

Both the Session resource (jmapcore.session) and the request engine use this
module, so the `sessionState` of every API response equals the `state` of the
Session object the client fetched (RFC 8620 §3.4): when accounts or
capabilities change, both change together and the client refetches.

A passthrough Account (kind "jmap") is not one account of the Session but as
many as its credentials see upstream: its UpstreamAccount rows (kept by
backends.jmap's Session refresh), each under its proxy accountId with the
upstream's name, isPersonal, isReadOnly and (filtered) accountCapabilities.
The Session's "capabilities" then also lists every capability such an
account offers that the proxy does not define itself, with the upstream's
session-level value (RFC 8620 §2: an account's capability must be one the
Session lists), and primaryAccounts follows the upstream's own choice. All
of it comes from the Account rows the caller read and their UpstreamAccount
rows (accounts.upstream_rows: read once per change of the Account, not per
request), never from the upstream, so building the Session stays as fast as
before. The state is a hash of the whole object, so it changes whenever the
upstream accounts or capabilities do.

Every API Response carries that state, so session_state() does not build and
hash the whole object on each request (for a passthrough login most of it is
the upstream's capabilities, and the core capability's limits): it keeps, per
process, the state last computed for a key made of everything the object is
built from (_state_key): the login, the settings object and BASEURL, the
limits, the registered capabilities, each local account's own part of the
object as built now (small), and, for a passthrough account, the very
UpstreamRow tuple and upstream Session mapping it was built from. Those two
are shared read-only values, handed out again only while the Account row
and the stored Session text are unchanged (accounts.upstream_rows,
accounts.auth._JsonMemo), so they are compared by identity (and kept alive
by the memo, so that no other object can take their id): any change, from
any process, reaches the next request's key, and that request builds the
object again. The state served is always the one session_object_build
gives for the same inputs.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import orjson
from django.conf import settings

from accounts.models import Account, Pool
from accounts.upstream_rows import UpstreamRow, upstream_rows_read
from jmapcore import limits
from jmapcore.registry import CAPABILITIES

# States remembered per process (one per login and version of its Session); least recently used go first.
STATE_MEMO_MAX = 4096


def session_urls() -> dict[str, str]:
    """The absolute URL templates of RFC 8620 §2, all built from BASEURL."""
    base = settings.BASEURL.rstrip("/")
    return {
        "apiUrl": f"{base}/jmap/",
        "downloadUrl": f"{base}/download/{{accountId}}/{{blobId}}/{{name}}?type={{type}}",
        "uploadUrl": f"{base}/upload/{{accountId}}/",
        "eventSourceUrl": f"{base}/eventsource/?types={{types}}&closeafter={{closeafter}}&ping={{ping}}",
    }


def account_capabilities(account: Account) -> dict[str, Any]:
    """The capabilities one account offers; a capability whose account value is None is left out."""
    offered: dict[str, Any] = {}
    for urn, spec in CAPABILITIES.items():
        value = spec.account_value(account)
        if value is not None:
            offered[urn] = value
    return offered


def _account_name(account: Account) -> str:
    return account.name or account.email or account.accountid


def session_state_of(body: dict[str, Any]) -> str:
    """A stable hash of a Session object's content, ignoring its own "state"."""
    content = {key: value for key, value in body.items() if key != "state"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()[:24]


def _upstream_primary(account: Account, rows: tuple[UpstreamRow, ...]) -> dict[str, str]:
    """The upstream's primaryAccounts (RFC 8620 §2) in proxy ids, for capabilities the account carries."""
    upstream_primary = (account.upstream_session or {}).get("primaryAccounts")
    if not isinstance(upstream_primary, dict):
        return {}
    by_upstream_id = {row.upstream_id: row for row in rows}
    primary: dict[str, str] = {}
    for urn, upstream_id in upstream_primary.items():
        row = by_upstream_id.get(upstream_id) if isinstance(upstream_id, str) else None
        if row is not None and urn in row.capabilities:
            primary[urn] = row.proxy_id
    return primary


def _upstream_session_capability(account: Account, urn: str) -> Any:
    capabilities = (account.upstream_session or {}).get("capabilities")
    value = capabilities.get(urn) if isinstance(capabilities, dict) else None
    return value if isinstance(value, dict) else {}


def session_object_build(*, pool: Pool, accounts: dict[str, Account]) -> dict[str, Any]:
    """The Session object for `pool`, whose accounts are `accounts` (in order).

    A passthrough Account stands for its upstream accounts (module doc).
    """
    account_objects: dict[str, Any] = {}
    primary: dict[str, str] = {}
    capabilities: dict[str, Any] = {urn: spec.session_value() for urn, spec in CAPABILITIES.items()}
    upstream_rows = upstream_rows_read(accounts=accounts.values())
    for account_id, account in accounts.items():
        if account.pk in upstream_rows:
            rows = upstream_rows[account.pk]
            for urn, proxy_id in _upstream_primary(account, rows).items():
                primary.setdefault(urn, proxy_id)
            for row in rows:
                account_objects[row.proxy_id] = {
                    "name": row.name or row.upstream_id,
                    "isPersonal": bool(row.is_personal),
                    "isReadOnly": bool(row.is_read_only),
                    "accountCapabilities": row.capabilities,
                }
                for urn in row.capabilities:
                    primary.setdefault(urn, row.proxy_id)
                    if urn not in capabilities:
                        capabilities[urn] = _upstream_session_capability(account, urn)
            continue
        offered = account_capabilities(account)
        account_objects[account_id] = {
            "name": _account_name(account),
            "isPersonal": True,
            "isReadOnly": bool(account.is_read_only),
            "accountCapabilities": offered,
        }
        for urn in offered:
            # The first account of the pool offering a capability is its primary one.
            primary.setdefault(urn, account_id)
    body: dict[str, Any] = {
        "capabilities": capabilities,
        "accounts": account_objects,
        "primaryAccounts": primary,
        "username": pool.login,
        **session_urls(),
    }
    body["state"] = session_state_of(body)
    return body


class _Same:
    """A key part equal only to a part holding the very same object (shared read-only values)."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.value is self.value

    def __hash__(self) -> int:
        return id(self.value)


def _canonical(value: Any) -> bytes:
    """Sorted-key JSON of a small value, as a key part; the json module where orjson refuses it."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        # Marked, so that no value written one way equals another written the other way.
        return b"\x00" + json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8", "surrogatepass")


def _state_key(*, pool: Pool, accounts: dict[str, Account]) -> tuple[Hashable, ...]:
    """Everything session_object_build reads for `pool` and `accounts` (module doc)."""
    upstream_rows = upstream_rows_read(accounts=accounts.values())
    parts: list[Hashable] = []
    for account_id, account in accounts.items():
        if account.pk in upstream_rows:
            # All of this account's part comes from these two shared values (and its id).
            parts.append((account_id, _Same(upstream_rows[account.pk]), _Same(account.upstream_session)))
            continue
        # A local account's part is small: built as session_object_build builds it.
        part = (_account_name(account), bool(account.is_read_only), account_capabilities(account))
        parts.append((account_id, _canonical(part)))
    return (
        pool.login,
        # Settings (override_settings swaps the object) and the limits the capabilities advertise.
        _Same(getattr(settings, "_wrapped", None)),
        settings.BASEURL,
        limits.LIMITS,
        tuple(CAPABILITIES.values()),
        tuple(parts),
    )


_state_lock = threading.Lock()
_state_memo: OrderedDict[tuple[Hashable, ...], str] = OrderedDict()


def session_state(*, pool: Pool, accounts: dict[str, Account]) -> str:
    """The state string of the pool's Session object (RFC 8620 §2, §3.4).

    Equal to session_object_build(pool=pool, accounts=accounts)["state"]; taken
    from this process's memo while nothing the object is built from changed
    (module doc).
    """
    key = _state_key(pool=pool, accounts=accounts)
    with _state_lock:
        state = _state_memo.get(key)
        if state is not None:
            _state_memo.move_to_end(key)
            return state
    state = str(session_object_build(pool=pool, accounts=accounts)["state"])
    with _state_lock:
        _state_memo[key] = state
        _state_memo.move_to_end(key)
        while len(_state_memo) > STATE_MEMO_MAX:
            _state_memo.popitem(last=False)
    return state


def session_state_forget() -> None:
    """Empty this process's memo of states (tests)."""
    with _state_lock:
        _state_memo.clear()
