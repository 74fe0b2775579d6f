"""The StateChange object (RFC 8620 §7.1) and pushState strings (RFC 8887 §4.3.5).

Pure values, no Django: a StateChange maps accountId -> {type name: state}.
Merging two changes keeps, per type, the newer state, so several quick
changes coalesce into one event (RFC 8620 §7: "the format allows multiple
changes to be coalesced").

A pushState (also our EventSource event id, RFC 8620 §7.3) encodes the modseq
of every account the client watches: ``p1.<base64url(JSON {accountId: modseq})>``.
It is opaque to clients; one that does not parse is treated as absent.
"""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jmapcore.protocol.errors import MethodError
from jmapcore.protocol.state import state_decode

PUSH_STATE_PREFIX = "p1."
# A pushState from a client is bounded: a pool never has this many accounts.
PUSH_STATE_MAX_LENGTH = 16 * 1024


def _state_order(state: str) -> int:
    try:
        return state_decode(state).modseq
    except MethodError:
        return -1


def types_merge(older: Mapping[str, str], newer: Mapping[str, str]) -> dict[str, str]:
    """Per type, the state with the higher modseq (`newer` wins ties and unknown formats)."""
    merged = dict(older)
    for type_name, state in newer.items():
        previous = merged.get(type_name)
        if previous is None or _state_order(state) >= _state_order(previous):
            merged[type_name] = state
    return merged


@dataclass
class StateChange:
    """RFC 8620 §7.1: `changed` is accountId -> TypeState (type name -> state string)."""

    changed: dict[str, dict[str, str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any(self.changed.values())

    def merge(self, account_id: str, types: Mapping[str, str]) -> None:
        """Fold in a later change of one account (coalescing)."""
        if types:
            self.changed[account_id] = types_merge(self.changed.get(account_id, {}), types)

    def filtered(self, types: frozenset[str] | None) -> StateChange:
        """Only the given type names (None: all); accounts left with nothing are dropped."""
        if types is None:
            return StateChange({acc: dict(ts) for acc, ts in self.changed.items() if ts})
        kept: dict[str, dict[str, str]] = {}
        for account_id, type_states in self.changed.items():
            chosen = {name: state for name, state in type_states.items() if name in types}
            if chosen:
                kept[account_id] = chosen
        return StateChange(kept)

    def to_json(self, *, push_state: str | None = None) -> dict[str, Any]:
        """The wire object; `pushState` only over WebSocket (RFC 8887 §4.3.5)."""
        body: dict[str, Any] = {"@type": "StateChange", "changed": self.changed}
        if push_state is not None:
            body["pushState"] = push_state
        return body


def push_state_encode(positions: Mapping[str, int]) -> str:
    """The pushState for the given account modseqs."""
    raw = json.dumps(dict(sorted(positions.items())), separators=(",", ":")).encode("utf-8")
    return PUSH_STATE_PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def push_state_decode(value: object, *, account_ids: Iterable[str]) -> dict[str, int] | None:
    """The modseqs in a client's pushState, restricted to `account_ids`; None if it does not parse."""
    if not isinstance(value, str) or not value.startswith(PUSH_STATE_PREFIX) or len(value) > PUSH_STATE_MAX_LENGTH:
        return None
    text = value[len(PUSH_STATE_PREFIX) :]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(decoded, dict):
        return None
    wanted = set(account_ids)
    positions: dict[str, int] = {}
    for account_id, modseq in decoded.items():
        if type(modseq) is not int or modseq < 0:
            return None
        if account_id in wanted:
            positions[account_id] = modseq
    return positions
