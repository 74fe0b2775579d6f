"""Which JMAP accountIds of a pool are served by an upstream JMAP server.

A passthrough Account (kind "jmap") stands for every account its credentials
see upstream; each is an UpstreamAccount row with the accountId the pool sees
(`proxy_id`) and the one the upstream uses (`upstream_id`). Everything that
forwards (method calls, blobs, push) starts from an UpstreamTarget; nothing
here touches the network: the rows are refreshed by backends.jmap's session
refresh.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from accounts.models import Account, UpstreamAccount


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

    One query, whatever the number of accounts; {} when none is a passthrough account.
    """
    by_pk = {account.pk: account for account in accounts if account.kind == Account.Kind.JMAP}
    if not by_pk:
        return {}
    rows = UpstreamAccount.objects.filter(account_id__in=by_pk).order_by("account_id", "position", "proxy_id")
    return {
        row.proxy_id: UpstreamTarget(
            account=by_pk[row.account_id],
            upstream_id=row.upstream_id,
            proxy_id=row.proxy_id,
            name=row.name,
            is_personal=row.is_personal,
            is_read_only=row.is_read_only,
            capabilities=row.capabilities,
        )
        for row in rows
    }
