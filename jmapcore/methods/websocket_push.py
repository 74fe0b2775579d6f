"""The urn:ietf:params:jmap:websocket capability (RFC 8887 §4) and push start-up.

The session's capability says where the WebSocket is (BASEURL with http
turned into ws and https into wss, path /jmap/ws/) and that it supports push
(WebSocketPushEnable, §4.3.5). It is a session-level capability only.

Importing this module also registers jmapcore.push.publish, which sends every
committed StateChange out of the process that wrote it.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings

import jmapcore.push.publish  # noqa: F401  (registers the after-commit publisher)
from accounts.models import Account
from jmapcore.registry import capability

WEBSOCKET_CAPABILITY = "urn:ietf:params:jmap:websocket"
# Relative to BASEURL; jmapcore.push.routing serves it.
WEBSOCKET_PATH = "jmap/ws/"


def websocket_url() -> str:
    """ws(s)://… of the JMAP WebSocket, built from BASEURL."""
    base = settings.BASEURL.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return f"{base}/{WEBSOCKET_PATH}"


def websocket_session_value() -> dict[str, Any]:
    return {"url": websocket_url(), "supportsPush": True}


def websocket_account_value(account: Account) -> dict[str, Any] | None:
    """Not an account capability."""
    return None


capability(WEBSOCKET_CAPABILITY, session_value=websocket_session_value, account_value=websocket_account_value)
