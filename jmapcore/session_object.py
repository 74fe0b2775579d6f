"""The JMAP Session object of a pool (RFC 8620 §2), independent of HTTP.

Both the Session resource (jmapcore.session) and the request engine use this
module, so the `sessionState` of every API response equals the `state` of the
Session object the client fetched (RFC 8620 §3.4): when accounts or
capabilities change, both change together and the client refetches.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings

from accounts.models import Account, Pool
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


def session_object_build(*, pool: Pool, accounts: dict[str, Account]) -> dict[str, Any]:
    """The Session object for `pool`, whose accounts are `accounts` (in order)."""
    account_objects: dict[str, Any] = {}
    primary: dict[str, str] = {}
    for account_id, account in accounts.items():
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
        "capabilities": {urn: spec.session_value() for urn, spec in CAPABILITIES.items()},
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
