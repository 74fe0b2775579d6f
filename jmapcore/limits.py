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
CORE_CAPABILITY = "urn:ietf:params:jmap:core"
COLLATION_ALGORITHMS = ["i;ascii-numeric", "i;ascii-casemap", "i;unicode-casemap"]
