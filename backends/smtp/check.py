"""Reachability and credential check of an account's SMTP server.

The SMTP counterpart of backends.checks.imap_backend_check: connect with the
account's smtpSSL mode, authenticate when the server offers AUTH, QUIT. No
message is sent.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from backends.smtp.client import account_credentials, smtp_close, smtp_open

if TYPE_CHECKING:
    from accounts.models import Account

DEFAULT_TIMEOUT = 10.0


def smtp_backend_check(*, account: Account, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """Raises SmtpError (a BackendError) when the server cannot be reached or
    refuses the credentials; returns whether AUTH took place."""
    password, token = account_credentials(account=account)
    smtp, authenticated = smtp_open(
        host=account.smtp_host,
        port=int(account.smtp_port),
        ssl_mode=int(account.smtp_ssl),
        username=account.username or account.email,
        password=password,
        oauth_access_token=token,
        timeout=timeout,
    )
    smtp_close(smtp)
    return authenticated
