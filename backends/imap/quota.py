"""GETQUOTAROOT (RFC 9208 §4.3, formerly RFC 2087) for the account's INBOX."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from backends.imap.pool import imap_session

if TYPE_CHECKING:
    from accounts.models import Account


@dataclass(frozen=True)
class QuotaUsage:
    root: str
    resource: str  # STORAGE (units of 1024 octets), MESSAGE, ... (RFC 9208 §5)
    usage: int
    limit: int


def quota_roots_read(*, account: Account) -> list[QuotaUsage] | None:
    """The INBOX's quota roots and their resources; None when the server has no QUOTA."""
    with imap_session(account=account) as client:
        if not (client.has_capability("QUOTA") or client.has_capability("QUOTA=RES-STORAGE")):
            return None
        _roots, quotas = client.get_quota_root("INBOX")
    return [
        QuotaUsage(root=str(quota.quota_root), resource=str(quota.resource).upper(), usage=int(quota.usage),
                   limit=int(quota.limit))
        for quota in quotas
    ]
