"""StateChange coalescing, type filtering and pushState strings (pure values)."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from jmapcore.push.changes import StateChange, push_state_decode, push_state_encode


def test_merge_keeps_the_newer_state_per_type() -> None:
    change = StateChange()
    change.merge("alice", {"Email": "s5", "Mailbox": "s3"})
    change.merge("alice", {"Email": "s4", "Thread": "s5"})  # an older Email state arrives late
    change.merge("bob", {"Identity": "s1"})
    assert change.changed == {"alice": {"Email": "s5", "Mailbox": "s3", "Thread": "s5"}, "bob": {"Identity": "s1"}}


def test_filter_drops_accounts_left_empty() -> None:
    change = StateChange({"alice": {"Mailbox": "s2"}, "bob": {"Email": "s9", "Mailbox": "s9"}})
    assert change.filtered(frozenset({"Email"})).changed == {"bob": {"Email": "s9"}}
    assert not change.filtered(frozenset({"Contact"}))
    assert change.filtered(None).changed == change.changed


def test_wire_object() -> None:
    change = StateChange({"alice": {"Email": "s1"}})
    assert change.to_json() == {"@type": "StateChange", "changed": {"alice": {"Email": "s1"}}}
    assert change.to_json(push_state="p")["pushState"] == "p"


def test_push_state_round_trip_is_scoped_to_the_pool() -> None:
    state = push_state_encode({"alice": 7, "alice-work": 0})
    assert push_state_decode(state, account_ids=["alice", "alice-work"]) == {"alice": 7, "alice-work": 0}
    # mallory cannot name alice's accounts through a pushState.
    assert push_state_decode(state, account_ids=["mallory"]) == {}


@given(st.one_of(st.text(max_size=200), st.binary(max_size=50).map(lambda b: "p1." + b.hex()), st.integers()))
def test_garbage_push_state_is_ignored(value: object) -> None:
    decoded = push_state_decode(value, account_ids=["alice"])
    assert decoded is None or all(isinstance(v, int) and v >= 0 for v in decoded.values())
