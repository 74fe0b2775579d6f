"""State strings derived from the per-account modseq (RFC 8620 §1.2 "state", §5.1, §5.5).

A state string is opaque to clients. Ours encode a position in the account's
change history:

- a type state ``s<modseq>`` means "every change up to and including modseq";
- an intermediate /changes state (hasMoreChanges, RFC 8620 §5.2) records how
  far the paging got and where it started: ``s<modseq>[.<row>]-<origin>``.
  Rows changed up to <modseq> (at <modseq> itself only rows up to <row>, when
  paging stopped inside one modseq) have been reported, counted from the
  client's real state <origin>. A row keeps only its latest change, so the
  origin is what tells "created since the client last synced" apart from
  "updated";
- a query state ``q<modseq>`` (RFC 8620 §5.5 queryState).

Numbers are lowercase hex. Anything that does not parse is garbage from the
client's point of view and answers ``cannotCalculateChanges`` (§5.2, §5.6).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from jmapcore.protocol.errors import MethodError

_STATE_RE = re.compile(r"^s([0-9a-f]{1,15})(?:\.([0-9a-f]{1,15}))?(?:-([0-9a-f]{1,15}))?$")
_QUERY_STATE_RE = re.compile(r"^q([0-9a-f]{1,15})$")


@dataclass(frozen=True)
class StatePosition:
    """A point in an account's change history.

    Changes up to `modseq` are known; when `row` is set, only rows with a
    primary key up to `row` at exactly `modseq`. `origin` is the state the
    client started paging from (equal to `modseq` for an ordinary state).
    """

    modseq: int
    row: int | None = None
    origin: int | None = None

    @property
    def start(self) -> int:
        """The modseq of the client's last complete state."""
        return self.modseq if self.origin is None else self.origin


def state_encode(modseq: int, row: int | None = None, origin: int | None = None) -> str:
    if modseq < 0 or (row is not None and row < 0) or (origin is not None and not 0 <= origin <= modseq):
        raise ValueError("modseq and row are non-negative and origin is at most modseq")
    text = f"s{modseq:x}"
    if row is not None:
        text += f".{row:x}"
    if origin is not None:
        text += f"-{origin:x}"
    return text


def state_decode(state: object) -> StatePosition:
    """Parse a state string, or raise MethodError cannotCalculateChanges."""
    match = _STATE_RE.fullmatch(state) if isinstance(state, str) else None
    if match is None:
        raise MethodError("cannotCalculateChanges", "unknown state string")
    modseq = int(match.group(1), 16)
    row = None if match.group(2) is None else int(match.group(2), 16)
    origin = None if match.group(3) is None else int(match.group(3), 16)
    if origin is not None and origin > modseq:
        raise MethodError("cannotCalculateChanges", "unknown state string")
    return StatePosition(modseq, row, origin)


def query_state_encode(modseq: int) -> str:
    if modseq < 0:
        raise ValueError("modseq is non-negative")
    return f"q{modseq:x}"


def query_state_decode(state: object) -> int:
    """Parse a queryState, or raise MethodError cannotCalculateChanges (RFC 8620 §5.6)."""
    match = _QUERY_STATE_RE.fullmatch(state) if isinstance(state, str) else None
    if match is None:
        raise MethodError("cannotCalculateChanges", "unknown query state string")
    return int(match.group(1), 16)
