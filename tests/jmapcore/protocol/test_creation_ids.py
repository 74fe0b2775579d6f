"""Creation-id references in Id values (RFC 8620 §3.3, §5.3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jmapcore.protocol.creation_ids import (
    UnknownCreationId,
    creation_id_keys_resolve,
    creation_id_resolve,
    creation_ids_resolve,
    is_creation_reference,
)

CREATED = {"k1": "M123", "k2": "M456"}


def test_plain_ids_pass_through_and_references_resolve() -> None:
    assert creation_id_resolve("M999", created_ids=CREATED) == "M999"
    assert creation_id_resolve("#k1", created_ids=CREATED) == "M123"
    assert creation_id_resolve("#unknown", created_ids=CREATED) is None
    assert is_creation_reference("#k1") and not is_creation_reference("k1") and not is_creation_reference(3)


def test_lists_and_map_keys() -> None:
    assert creation_ids_resolve(["#k1", "X", "#k2"], created_ids=CREATED) == ["M123", "X", "M456"]
    assert creation_id_keys_resolve({"#k2": True, "Y": False}, created_ids=CREATED) == {"M456": True, "Y": False}
    with pytest.raises(UnknownCreationId) as caught:
        creation_ids_resolve(["#k1", "#zz"], created_ids=CREATED)
    assert caught.value.creation_id == "zz"


@given(st.dictionaries(st.text(min_size=1, max_size=6), st.text(min_size=1, max_size=6)), st.text(max_size=8))
def test_resolution_matches_the_map(created: dict[str, str], value: str) -> None:
    resolved = creation_id_resolve(value, created_ids=created)
    if value.startswith("#"):
        assert resolved == created.get(value[1:])
    else:
        assert resolved == value
