"""The server's limits, advertised in the urn:ietf:params:jmap:core capability
(RFC 8620 §2) and enforced by the engine and the upload endpoint."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class CoreLimits:
    maxSizeUpload: int = 50 * 1024 * 1024
    maxConcurrentUpload: int = 4
    maxSizeRequest: int = 10 * 1024 * 1024
    maxConcurrentRequests: int = 8
    maxCallsInRequest: int = 64
    maxObjectsInGet: int = 1000
    maxObjectsInSet: int = 1000

    def to_json(self) -> dict[str, int]:
        return asdict(self)


LIMITS = CoreLimits()
# The largest WebSocket message the web server accepts and the proxy sends (RFC 8887 §4:
# a Request message may be as large as maxSizeRequest, plus its envelope).
WEBSOCKET_MAX_MESSAGE = LIMITS.maxSizeRequest + 64 * 1024
# Room kept for the Response envelope (@type, requestId, createdIds, sessionState)
# when a response must fit into one WebSocket message.
WEBSOCKET_ENVELOPE_ROOM = 64 * 1024
CORE_CAPABILITY = "urn:ietf:params:jmap:core"
COLLATION_ALGORITHMS = ["i;ascii-numeric", "i;ascii-casemap", "i;unicode-casemap"]
