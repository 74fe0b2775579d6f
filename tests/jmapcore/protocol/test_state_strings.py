"""State strings (jmapcore.protocol.state), pure."""
from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from jmapcore.protocol.errors import MethodError
from jmapcore.protocol.state import (
    StatePosition,
    query_state_decode,
    query_state_encode,
    state_decode,
    state_encode,
)

modseqs = st.integers(0, 2**53)


@given(modseqs, st.none() | st.integers(0, 2**40), st.data())
def test_state_round_trips(modseq: int, row: int | None, data: st.DataObject) -> None:
    origin = data.draw(st.none() | st.integers(0, modseq))
    text = state_encode(modseq, row, origin)
    assert state_decode(text) == StatePosition(modseq, row, origin)
    assert state_decode(text).start == (modseq if origin is None else origin)


@given(modseqs)
def test_query_state_round_trips(modseq: int) -> None:
    assert query_state_decode(query_state_encode(modseq)) == modseq


@given(st.text(max_size=40) | st.integers() | st.none() | st.lists(st.text()))
# Strings that are states after all, leading zeros included: the else branches run every time.
@example("s05.1-3")
@example("q0a")
def test_anything_else_cannot_calculate_changes(garbage: object) -> None:
    """Refused with cannotCalculateChanges, unless it is a state string after all
    (then it names the position its canonical form names)."""
    try:
        position = state_decode(garbage)
    except MethodError as error:
        assert error.type == "cannotCalculateChanges"
    else:
        assert isinstance(garbage, str) and garbage.startswith("s")
        assert state_decode(state_encode(position.modseq, position.row, position.origin)) == position
    try:
        modseq = query_state_decode(garbage)
    except MethodError as error:
        assert error.type == "cannotCalculateChanges"
    else:
        assert isinstance(garbage, str) and garbage.startswith("q")
        assert query_state_decode(query_state_encode(modseq)) == modseq


@pytest.mark.parametrize("text", ["s5-6", "S5", "s5.", "s-1", "q5", " s5", "s5\n", "s" + "1" * 16])
def test_malformed_states(text: str) -> None:
    with pytest.raises(MethodError):
        state_decode(text)


def test_state_and_query_state_are_distinct() -> None:
    with pytest.raises(MethodError):
        query_state_decode(state_encode(3))
    with pytest.raises(MethodError):
        state_decode(query_state_encode(3))
    with pytest.raises(ValueError):
        state_encode(3, origin=4)
