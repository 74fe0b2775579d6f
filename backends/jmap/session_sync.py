"""The periodic sync of a JMAP passthrough account: refresh its upstream Session.

A passthrough account caches no mail, so its "sync" (accounts.sync, run by
beat every JMAP_SYNC_INTERVAL, on creation and on "sync now") is fetching the
upstream Session again (RFC 8620 §2) and storing it with its upstream accounts
(backends.jmap.session_store): a mailbox shared or unshared upstream appears or
disappears in the pool's Session without any client call. A failure is an
UpstreamError (a BackendError), which accounts.sync records as the account's
last_sync_error.

Importing this module registers the syncer for kind "jmap".
"""
from __future__ import annotations

from accounts.models import Account
from accounts.sync import AccountSyncLock, syncer_register
from backends.jmap.session_store import upstream_session_refresh


def jmap_account_sync(*, account: Account, lock: AccountSyncLock) -> None:
    """accounts.sync.Syncer for passthrough accounts: refresh the upstream Session."""
    upstream_session_refresh(account=account)


syncer_register(kind=Account.Kind.JMAP, syncer=jmap_account_sync)
