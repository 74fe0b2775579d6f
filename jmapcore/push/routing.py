"""The "websocket" branch of the ASGI application (jmapsite/asgi.py).

Only the JMAP port serves WebSockets (DESIGN.md "Processes and ports"): an
upgrade that arrives on the management port, or on any path other than
WEBSOCKET_PATH, is refused before authentication.
"""
from __future__ import annotations

from typing import Any

from channels.routing import URLRouter
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.urls import path, re_path

from jmapcore.methods.websocket_push import WEBSOCKET_PATH
from jmapcore.push.websocket import JmapWebSocketConsumer
from jmapcore.push.ws_auth import JmapAuthMiddleware


class JmapPortOnly:
    """Deny websocket scopes that did not arrive on the JMAP port."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.denier = WebsocketDenier.as_asgi()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        server = scope.get("server") or ("", None)
        if str(server[1]) == str(settings.JMAP_MGMT_PORT):
            return await self.denier(scope, receive, send)
        return await self.inner(scope, receive, send)


def websocket_application() -> Any:
    """The ASGI app for websocket scopes."""
    return JmapPortOnly(
        URLRouter(
            [
                path(WEBSOCKET_PATH, JmapAuthMiddleware(JmapWebSocketConsumer.as_asgi())),
                re_path(r"", WebsocketDenier.as_asgi()),
            ]
        )
    )
