"""Authenticate a WebSocket from its HTTP upgrade request (RFC 8887 §4.1:
authentication is the same as for the JMAP API).

The upgrade request's headers (Authorization: Basic / Bearer, or the session
cookie) go through accounts.auth.authenticate_request unchanged, so rate
limits, token expiry and disabled logins behave as over HTTP. The request is
presented as a POST: a WebSocket carries state-changing requests, so a session
cookie on an upgrade from a foreign Origin is refused, as it is for an API
POST (cross-site WebSocket hijacking).

The middleware puts the Pool (or None), the failure, and the Credential the
connection authenticated with (jmapcore.push.revocation: the socket is closed
when it is revoked) in the scope; the consumer refuses the handshake when there
is no pool.
"""
from __future__ import annotations

import io
from typing import Any

from channels.db import database_sync_to_async
from django.core.handlers.asgi import ASGIRequest

from accounts.auth import AuthenticationFailed, authenticate_request, pool_accounts
from accounts.models import Pool
from jmapcore.push.revocation import Credential, connection_credential

POOL_KEY = "jmap_pool"
AUTH_ERROR_KEY = "jmap_auth_error"
CREDENTIAL_KEY = "jmap_credential"


def websocket_authenticate(*, scope: dict[str, Any]) -> Pool:
    """The Pool the upgrade request authenticates as, or AuthenticationFailed."""
    return _authenticate(scope)[0]


def _authenticate(scope: dict[str, Any]) -> tuple[Pool, Credential]:
    http_scope = {**scope, "type": "http", "method": "POST"}
    request = ASGIRequest(http_scope, io.BytesIO())
    pool = authenticate_request(request)
    credential = connection_credential(
        pool=pool,
        authorization=request.headers.get("Authorization"),
        account_pks=[account.pk for account in pool_accounts(pool).values()],
    )
    return pool, credential


class JmapAuthMiddleware:
    """ASGI middleware for websocket scopes: adds scope["jmap_pool"]."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        scope = dict(scope)
        try:
            scope[POOL_KEY], scope[CREDENTIAL_KEY] = await database_sync_to_async(_authenticate)(scope)
        except AuthenticationFailed as exc:
            scope[POOL_KEY] = None
            scope[AUTH_ERROR_KEY] = exc
        return await self.inner(scope, receive, send)
