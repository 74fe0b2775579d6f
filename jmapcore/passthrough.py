"""Where the engine hands method calls to an upstream JMAP server (passthrough accounts).

jmapcore must not import backends (DESIGN.md, "Layers"), yet calls for a
passthrough account have to reach backends.jmap. This module is the seam: the
backend registers a Forwarder at startup (backends.apps), and the engine asks
it, once per request, for a PassthroughRoute over the caller's accounts. With
no forwarder registered, or a pool without passthrough accounts, every call
runs locally as before.

The contract the engine relies on (RFC 8620 §3):
- `capabilities`: capability URNs the pool's upstream accounts offer; the
  engine accepts them in `using` besides its own (§3.6.1 unknownCapability
  stays for the rest).
- `batch_key(call)`: a hashable naming the upstream request the call may join
  (one per passthrough Account), or None when the call runs locally.
  Consecutive calls with the same key go upstream together.
- `batch_limit(key)`: how many calls one upstream request may hold
  (the upstream's maxCallsInRequest).
- `forward(...)`: sends calls upstream and returns, for a non-empty prefix of
  them, each call's method responses (in the client's terms: its call ids,
  the pool's account ids), never raising. The prefix is shorter than `calls`
  when a call cannot be sent (a result reference that fails locally): that
  call's answer is its error and the engine offers the rest again.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from accounts.models import Account, Pool
    from jmapcore.protocol.envelope import Invocation


class PassthroughRoute(Protocol):
    """How one request's calls reach the pool's upstream servers (see the module)."""

    capabilities: frozenset[str]

    def batch_key(self, call: Invocation) -> Hashable | None: ...

    def batch_limit(self, key: Hashable) -> int: ...

    def forward(
        self,
        *,
        key: Hashable,
        calls: Sequence[Invocation],
        using: frozenset[str],
        created_ids: dict[str, str],
        responses: Sequence[Invocation],
        max_reference_size: int | None,
    ) -> list[list[Invocation]]: ...


class Forwarder(Protocol):
    """What a backend registers: a route for a pool's accounts, or None when none is passthrough."""

    def route(self, *, pool: Pool, accounts: dict[str, Account]) -> PassthroughRoute | None: ...


_forwarder: Forwarder | None = None


def passthrough_register(forwarder: Forwarder) -> None:
    """Install the forwarder (backends.apps at startup). A second call replaces the first."""
    global _forwarder
    _forwarder = forwarder


def passthrough_route(*, pool: Pool, accounts: dict[str, Account]) -> PassthroughRoute | None:
    """The route of this request's passthrough calls, or None when every call runs locally."""
    if _forwarder is None:
        return None
    return _forwarder.route(pool=pool, accounts=accounts)
