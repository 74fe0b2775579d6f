"""Core-level methods (RFC 8620): Core/echo, Blob/* (RFC 9404),
PushSubscription/* (RFC 8620 §7.2) and the WebSocket capability (RFC 8887).

Methods of a data-type capability live in that capability's package
(jmapcore/mail/methods/ for RFC 8621 mail). Importing this package registers
the core handlers; jmapcore.apps imports it with every capability package.
"""
from __future__ import annotations

import jmapcore.methods.blob  # noqa: F401
from jmapcore.methods import (  # noqa: F401
    core,
    push_subscription,
    websocket_push,
)
