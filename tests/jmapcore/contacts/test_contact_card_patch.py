"""The ContactCard PatchObject (jmapcore.contacts.contact_card_patch): RFC 8620
§5.3 paths, plus stepping into existing array elements (name components)."""
from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jmapcore.contacts.contact_card_patch import card_patch_apply
from jmapcore.protocol.errors import SetErrorException

CARD: dict[str, Any] = {
    "@type": "Card",
    "uid": "urn:uuid:ada",
    "name": {"components": [{"kind": "given", "value": "Ada"}, {"kind": "surname", "value": "Lovelace"}]},
    "emails": {"e1": {"address": "ada@example.org"}, "e2": {"address": "ada@work.example", "pref": 1}},
    "keywords": {"math": True},
}


def test_nested_map_paths_keep_everything_else() -> None:
    patched, touched = card_patch_apply(CARD, {"emails/e2/address": "countess@example.org", "keywords/poetry": True})
    assert patched["emails"]["e2"] == {"address": "countess@example.org", "pref": 1}
    assert patched["emails"]["e1"] == CARD["emails"]["e1"]
    assert patched["keywords"] == {"math": True, "poetry": True}
    assert patched["name"] == CARD["name"]
    assert touched == {"emails", "keywords"}


def test_an_existing_array_element_can_be_reached() -> None:
    patched, _ = card_patch_apply(CARD, {"name/components/0/value": "Augusta Ada"})
    assert patched["name"]["components"] == [
        {"kind": "given", "value": "Augusta Ada"},
        {"kind": "surname", "value": "Lovelace"},
    ]
    patched, _ = card_patch_apply(CARD, {"name/components/1": {"kind": "surname", "value": "King"}})
    assert len(patched["name"]["components"]) == 2


def test_null_removes_a_key_and_the_target_is_untouched() -> None:
    before = copy.deepcopy(CARD)
    patched, _ = card_patch_apply(CARD, {"emails/e1": None, "keywords": None, "notes": None})
    assert "e1" not in patched["emails"] and "keywords" not in patched
    assert CARD == before


@pytest.mark.parametrize(
    "patch",
    [
        {"name/components/2/value": "x"},  # past the end: no insertion
        {"name/components/-": {"kind": "given", "value": "x"}},
        {"name/components/01/value": "x"},  # leading zero
        {"name/components/0": None},  # removing an element
        {"name/components/x/value": "x"},
        {"emails/e9/address": "x"},  # parent missing
        {"uid/x": "y"},  # parent not an object
        {"emails": {}, "emails/e1/address": "x"},  # prefix of another path
        {"": 1},
        {"emails/~2": 1},  # bad escape
        {"/".join(["a"] * 40): 1},  # too many parts
    ],
)
def test_malformed_paths_are_invalid_patch(patch: dict[str, Any]) -> None:
    with pytest.raises(SetErrorException) as raised:
        card_patch_apply(CARD, patch)
    assert raised.value.error.type == "invalidPatch"


def test_a_patch_must_be_an_object() -> None:
    patch: object
    for patch in ([], "emails", None, 3):
        with pytest.raises(SetErrorException):
            card_patch_apply(CARD, patch)


_TOKENS = st.sampled_from(["name", "components", "0", "1", "2", "emails", "e1", "e2", "address", "keywords", "x"])
_PATHS = st.lists(_TOKENS, min_size=1, max_size=5).map("/".join)
_VALUES = st.one_of(st.none(), st.text(max_size=5), st.integers(), st.dictionaries(st.text(max_size=3), st.booleans()))


@given(st.dictionaries(_PATHS, _VALUES, max_size=6))
def test_any_patch_either_applies_or_is_invalid_and_never_resizes_arrays(patch: dict[str, Any]) -> None:
    before = copy.deepcopy(CARD)
    try:
        patched, touched = card_patch_apply(CARD, patch)
    except SetErrorException as error:
        assert error.error.type == "invalidPatch"
        return
    assert CARD == before
    assert touched <= {path.split("/")[0] for path in patch}
    components = patched.get("name", {}).get("components") if isinstance(patched.get("name"), dict) else None
    replaced_whole = any(path in ("name", "name/components") for path in patch)
    if isinstance(components, list) and not replaced_whole:
        assert len(components) == 2
