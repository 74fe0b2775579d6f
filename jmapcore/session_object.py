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
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings

from accounts.models import Account, Pool
from accounts.upstream_rows import UpstreamRow, upstream_rows_read
from jmapcore.registry import CAPABILITIES


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


def session_state(*, pool: Pool, accounts: dict[str, Account]) -> str:
    """The state string of the pool's Session object (RFC 8620 §2, §3.4)."""
    return str(session_object_build(pool=pool, accounts=accounts)["state"])
