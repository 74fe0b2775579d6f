"""Which upstream capabilities a passthrough account carries to the proxy's clients.

The proxy forwards method calls (RFC 8620 §3) to the upstream, so every
capability that is about method calls -- standard ones (mail, submission,
contacts, calendars, blob, quota, ...) and vendor ones such as
https://cyrusimap.org/ns/jmap/sieve -- is carried as the upstream describes
it. Capabilities about the transport between the upstream and *its* clients
are not: a client of the proxy talks WebSocket (RFC 8887) and Web Push
(RFC 8620 §7.2, VAPID per RFC 9749) to the proxy, which has its own, so the
upstream's values would be wrong there.
"""
from __future__ import annotations

from typing import Any

# Session/transport-only capabilities: the proxy serves these itself.
TRANSPORT_CAPABILITIES: frozenset[str] = frozenset({
    "urn:ietf:params:jmap:websocket",  # RFC 8887 §4: the upstream's WebSocket URL
    "urn:ietf:params:jmap:webpush-vapid",  # RFC 9749: the upstream's VAPID key
})


def capability_carried(urn: str) -> bool:
    """True when method calls of `urn` can be forwarded to the upstream."""
    return isinstance(urn, str) and bool(urn) and urn not in TRANSPORT_CAPABILITIES


def capabilities_filter(capabilities: object) -> dict[str, Any]:
    """The carried entries of an accountCapabilities (or session capabilities) object.

    Anything that is not a JSON object gives {} (a broken upstream must not
    break the proxy's Session).
    """
    if not isinstance(capabilities, dict):
        return {}
    return {urn: value for urn, value in capabilities.items() if capability_carried(urn)}
