"""Making passthrough Accounts (kind "jmap") for tests, straight in the database.

The management API path (accounts.services) has its own tests; these helpers
give the client and session-store tests an Account whose password is sealed
like a real one, without the backend check or the first sync.
"""
from __future__ import annotations

from accounts.models import Account, Pool
from accounts.secret_fields import account_secret_set
from tests.servers.cyrus import CyrusUser


def passthrough_account_make(*, accountid: str, user: CyrusUser, password: str | None = None,
                             session_url: str | None = None, auth_type: str = "basic",
                             pool: Pool | None = None) -> Account:
    """A passthrough Account for the Cyrus `user` (another `password` or `session_url` on request)."""
    if pool is None:
        pool, _ = Pool.objects.get_or_create(login=f"{accountid}@example.test")
    account = Account.objects.create(
        accountid=accountid, pool=pool, email=f"{accountid}@example.test", name=accountid,
        kind=Account.Kind.JMAP, username=user.login, session_url=session_url or user.session_url,
        auth_type=auth_type,
    )
    account_secret_set(account=account, field="password", value=user.password if password is None else password)
    return account
