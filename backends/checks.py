"""Reachability and credential checks of an account's backend.

account_backend_check() proves that the backend answers and accepts the
account's credentials, without touching any cached data. It runs before an
account is created or its connection settings change (management API and
commands) and is the foundation-stage sync (accounts.sync).

Checks are registered per backend kind (Account.Kind values) in CHECKS, so a
kind plugs in its own check with backend_check_register().
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from backends.base import BackendError

if TYPE_CHECKING:
    from accounts.models import Account

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class AccountFields:
    """What a check needs to reach a backend. Secrets are plaintext here and
    are kept out of repr() so they cannot leak into logs or tracebacks."""

    kind: str
    username: str
    password: str = field(default="", repr=False)
    oauth_access_token: str = field(default="", repr=False)
    imap_host: str = ""
    imap_port: int = 993
    imap_ssl: int = 2
    session_url: str = ""
    auth_type: str = "basic"

    @classmethod
    def from_account(cls, account: Account) -> AccountFields:
        """The fields of a stored account, with its secrets unsealed."""
        from accounts.secret_fields import account_secret_get

        return cls(
            kind=account.kind,
            username=account.username or account.email,
            password=account_secret_get(account=account, field="password"),
            oauth_access_token=account_secret_get(account=account, field="oauth_access_token"),
            imap_host=account.imap_host,
            imap_port=account.imap_port,
            imap_ssl=account.imap_ssl,
            session_url=account.session_url,
            auth_type=account.auth_type,
        )


BackendCheck = Callable[[AccountFields, float], None]


def imap_backend_check(fields: AccountFields, timeout: float) -> None:
    """Connect with the account's SSL mode, log in, log out (RFC 3501)."""
    from backends.imap.connection import imap_close, imap_open

    client = imap_open(
        host=fields.imap_host,
        port=fields.imap_port,
        ssl_mode=fields.imap_ssl,
        username=fields.username,
        password=fields.password,
        oauth_access_token=fields.oauth_access_token,
        timeout=timeout,
    )
    imap_close(client)


def jmap_backend_check(fields: AccountFields, timeout: float) -> None:
    """Fetch the passthrough server's Session with the account's credentials."""
    from backends.jmap.session_check import jmap_session_fetch

    secret = fields.password or fields.oauth_access_token
    auth_type = fields.auth_type if fields.password else "bearer"
    jmap_session_fetch(
        session_url=fields.session_url,
        username=fields.username,
        password=secret,
        auth_type=auth_type,
        timeout=timeout,
    )


# Registry keyed by backend kind (Account.Kind values).
CHECKS: dict[str, BackendCheck] = {
    "imap": imap_backend_check,
    "jmap": jmap_backend_check,
}


def backend_check_register(*, kind: str, check: BackendCheck) -> None:
    """Make `check` the check of every account of this kind."""
    CHECKS[kind] = check


def account_backend_check(
    *,
    account: Account | None = None,
    account_fields: AccountFields | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """Check the backend of a stored `account` or of unsaved `account_fields`.

    Returns None when the backend accepted the credentials; raises BackendError
    (permanent for bad credentials or configuration, transient for timeouts
    and refused connections) otherwise.
    """
    if (account is None) == (account_fields is None):
        raise TypeError("pass exactly one of account= or account_fields=")
    fields = account_fields if account_fields is not None else AccountFields.from_account(account)  # type: ignore[arg-type]
    check = CHECKS.get(fields.kind)
    if check is None:
        raise BackendError(f"no check for backends of kind {fields.kind!r}", permanent=True, kind=fields.kind)
    check(fields, timeout)
