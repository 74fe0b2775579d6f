"""The dashboard's login (the Django admin on the management port) under the
same failed-login limits as every other password login (accounts.ratelimit).

Django's ModelBackend checks an operator's password with no limit on guesses:
anyone who reaches the management port could try passwords at PBKDF2 speed.
RateLimitedModelBackend wraps it with the checks accounts.auth runs before a
pool password: refused at once while the address, or the operator name for an
address that failed for it, is over its limit (failures_blocked); each check
counted as a failure before it runs and un-counted when it succeeds
(attempt_count / attempt_succeeded), so guesses sent together get no more
checks than the limits allow. The counters are keyed "admin:<username>", apart
from pool logins (which are email addresses) so that neither can lock out the
other. A refusal is a failed login like a wrong password (Django's
PermissionDenied ends authenticate() with no user): the form does not say
whether the password was right.
"""
from __future__ import annotations

import logging
from typing import Any, NoReturn

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts.ratelimit import attempt_count, attempt_succeeded, failures_blocked
from jmapsite.client_address import client_address

logger = logging.getLogger(__name__)

ADMIN_LOGIN_PREFIX = "admin:"


def _refuse(address: str) -> NoReturn:
    """End authenticate() with no user: over a limit, the right password fails like a wrong one."""
    logger.warning("dashboard login refused: too many failed logins from %s", address or "unknown address")
    raise PermissionDenied("too many failed logins; try again later")


class RateLimitedModelBackend(ModelBackend):
    """ModelBackend with the failed-login limits of accounts.ratelimit (module doc)."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if username is None:
            # As ModelBackend reads it: a `username` keyword always binds to the parameter above.
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        address = client_address(request) if request is not None else ""
        login = ADMIN_LOGIN_PREFIX + str(username or "")
        if failures_blocked(address=address, login=login) is not None:
            _refuse(address)
        attempt = attempt_count(address=address, login=login)
        if attempt.retry_after is not None:
            _refuse(address)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            logger.info("failed dashboard login from %s", address or "unknown address")
            return None
        attempt_succeeded(attempt)
        return user
