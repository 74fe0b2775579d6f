"""JMAP errors: request-level problems (RFC 8620 §3.6.1), method errors (§3.6.2)
and per-object SetErrors (§5.3)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROBLEM_PREFIX = "urn:ietf:params:jmap:error:"


class RequestError(Exception):
    """A request-level error, answered as an RFC 7807 problem document.

    `type` is the short name (unknownCapability, notJSON, notRequest, limit).
    """

    def __init__(self, type: str, detail: str, *, status: int = 400, limit: str | None = None) -> None:
        super().__init__(detail)
        self.type = type
        self.detail = detail
        self.status = status
        self.limit = limit

    def to_problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": PROBLEM_PREFIX + self.type, "status": self.status, "detail": self.detail}
        if self.limit is not None:
            body["limit"] = self.limit
        return body


class MethodError(Exception):
    """A method-level error: the response is ["error", {"type": ..., ...}, callId]."""

    def __init__(self, type: str, description: str | None = None, **extra: Any) -> None:
        super().__init__(description or type)
        self.type = type
        self.description = description
        self.extra = extra

    def to_arguments(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type}
        if self.description:
            body["description"] = self.description
        body.update(self.extra)
        return body


@dataclass
class SetError:
    """A per-object error in a /set, /copy or /import response (RFC 8620 §5.3)."""

    type: str
    description: str | None = None
    properties: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type}
        if self.description:
            body["description"] = self.description
        if self.properties is not None:
            body["properties"] = self.properties
        body.update(self.extra)
        return body


class SetErrorException(Exception):
    """Raised inside a per-object operation to turn into that object's SetError."""

    def __init__(self, error: SetError) -> None:
        super().__init__(error.description or error.type)
        self.error = error


def invalid_arguments(description: str) -> MethodError:
    return MethodError("invalidArguments", description)
