"""Registries keyed by protocol names: JMAP methods and capabilities.

A method handler is registered under its method name ("Core/echo") with the
capability that must be in the request's `using` for it to be callable
(RFC 8620 §3.3). A capability contributes its session-level object and, per
account, its account-level object (RFC 8620 §2).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from accounts.models import Account
    from jmapcore.context import CallContext

Handler = Callable[["CallContext", dict[str, Any]], dict[str, Any]]
# (account, blob ids) -> {blob id: [ids of objects of this type that use it]}
BlobReferenceFinder = Callable[["Account", list[str]], dict[str, list[str]]]


@dataclass(frozen=True)
class MethodSpec:
    name: str
    capability: str
    handler: Handler


@dataclass(frozen=True)
class CapabilitySpec:
    urn: str
    session_value: Callable[[], dict[str, Any]]
    # None means the capability is not offered for that account.
    account_value: Callable[[Account], dict[str, Any] | None]


METHODS: dict[str, MethodSpec] = {}
CAPABILITIES: dict[str, CapabilitySpec] = {}
# Data type name ("Email") -> (capability, finder), for Blob/lookup (RFC 9404 §4.3).
BLOB_REFERENCES: dict[str, tuple[str, BlobReferenceFinder]] = {}


def method(name: str, *, capability: str) -> Callable[[Handler], Handler]:
    """Register `handler` as the implementation of JMAP method `name`."""

    def register(handler: Handler) -> Handler:
        if name in METHODS:
            raise RuntimeError(f"method {name} registered twice")
        METHODS[name] = MethodSpec(name=name, capability=capability, handler=handler)
        return handler

    return register


def capability(
    urn: str,
    *,
    session_value: Callable[[], dict[str, Any]],
    account_value: Callable[[Account], dict[str, Any] | None],
) -> None:
    """Register a capability URN and how it appears in the session."""
    CAPABILITIES[urn] = CapabilitySpec(urn=urn, session_value=session_value, account_value=account_value)


def blob_references(type_name: str, *, capability: str) -> Callable[[BlobReferenceFinder], BlobReferenceFinder]:
    """Register how to find which objects of `type_name` reference given blobs."""

    def register(finder: BlobReferenceFinder) -> BlobReferenceFinder:
        BLOB_REFERENCES[type_name] = (capability, finder)
        return finder

    return register
