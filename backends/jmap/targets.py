"""Which JMAP accountIds of a pool are served by an upstream JMAP server.

A passthrough Account (kind "jmap") stands for every account its credentials
see upstream; each is an UpstreamAccount row with the accountId the pool sees
(`proxy_id`) and the one the upstream uses (`upstream_id`). Everything that
forwards (method calls, blobs, push) starts from an UpstreamTarget; nothing
here touches the network: the rows are refreshed by backends.jmap's session
refresh, and read through the per-process memo of accounts.upstream_rows.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from accounts.models import Account
from accounts.upstream_rows import upstream_rows_read


@dataclass(frozen=True)
class UpstreamTarget:
    """One upstream account as the pool sees it."""

    account: Account  # the passthrough Account: credentials, session URL, upstream Session
    upstream_id: str  # the accountId on the upstream server
    proxy_id: str  # the accountId in the proxy's Session
    name: str
    is_personal: bool
    is_read_only: bool
    capabilities: dict[str, Any]  # accountCapabilities, filtered to what the proxy carries


def upstream_targets(accounts: Iterable[Account]) -> dict[str, UpstreamTarget]:
    """The upstream accounts of the passthrough accounts among `accounts`, by proxy accountId.

    Read through accounts.upstream_rows: no query while the Accounts are the
    versions the memo holds (the request's own instances: a refreshed Session
    changes `updated_at`), at most one otherwise; {} when none is a
    passthrough account. Each target carries the caller's Account instance.
    """
    by_pk = {account.pk: account for account in accounts}
    return {
        row.proxy_id: UpstreamTarget(
            account=by_pk[pk], upstream_id=row.upstream_id, proxy_id=row.proxy_id, name=row.name,
            is_personal=row.is_personal, is_read_only=row.is_read_only, capabilities=row.capabilities,
        )
        for pk, rows in upstream_rows_read(accounts=by_pk.values()).items()
        for row in rows
    }
