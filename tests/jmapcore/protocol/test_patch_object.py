"""PatchObject (RFC 8620 §5.3), pure."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jmapcore.protocol.errors import SetErrorException
from jmapcore.protocol.patch import patch_apply, pointer_escape, pointer_split

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=10,
)

TARGET: dict[str, Any] = {
    "title": "t",
    "keywords": {"$seen": True, "a/b": True, "c~d": True},
    "list": [1, {"x": 1}],
    "n": None,
}


def invalid_patch(target: dict[str, Any], patch: Any) -> None:
    with pytest.raises(SetErrorException) as caught:
        patch_apply(target, patch)
    assert caught.value.error.type == "invalidPatch"


def test_sets_nested_and_top_level_values() -> None:
    patched, touched = patch_apply(TARGET, {"title": "new", "keywords/$flagged": True, "keywords/$seen": None})
    assert patched["title"] == "new"
    assert patched["keywords"] == {"$flagged": True, "a/b": True, "c~d": True}
    assert touched == {"title", "keywords"}
    assert TARGET["keywords"]["$seen"] is True  # the target is not modified


def test_escapes() -> None:
    patched, _ = patch_apply(TARGET, {"keywords/a~1b": None, "keywords/c~0d": None, "keywords/e~01": True})
    assert patched["keywords"] == {"$seen": True, "e~1": True}


def test_null_uses_the_default_or_removes() -> None:
    patched, _ = patch_apply(TARGET, {"title": None, "n": None}, defaults={"title": "untitled"})
    assert patched["title"] == "untitled"
    assert "n" not in patched
    patched, _ = patch_apply(TARGET, {"keywords/absent": None})
    assert patched["keywords"] == TARGET["keywords"]


@pytest.mark.parametrize(
    "patch",
    [
        {"list/0": 5},
        {"list/1/x": 2},
        {"missing/x": 1},
        {"title/x": 1},
        {"keywords": {}, "keywords/$seen": None},
        {"": 1},
        {"keywords/": True},
        {"/title": "x"},
        {"bad~2": 1},
        {"trailing~": 1},
        ["title"],
        "title",
    ],
)
def test_invalid_patches(patch: Any) -> None:
    invalid_patch(TARGET, patch)


@given(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=4))
def test_pointer_escape_round_trips(tokens: list[str]) -> None:
    assert pointer_split("/".join(pointer_escape(token) for token in tokens)) == tokens


@given(st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=5))
def test_arbitrary_patches_apply_or_fail_cleanly(patch: dict[str, Any]) -> None:
    try:
        patched, touched = patch_apply(TARGET, patch)
    except SetErrorException as error:
        assert error.error.type == "invalidPatch"
        return
    assert touched <= {pointer_split(key)[0] for key in patch}
    for key, value in patch.items():
        tokens = pointer_split(key)
        node: Any = patched
        for token in tokens[:-1]:
            node = node[token]
        if value is None:
            assert tokens[-1] not in node
        else:
            assert node[tokens[-1]] == value


@given(st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda k: "/" not in k and "~" not in k), json_values))
def test_top_level_values_replace_whole_properties(patch: dict[str, Any]) -> None:
    patched, touched = patch_apply(TARGET, patch)
    assert touched == set(patch)
    for key, value in patch.items():
        assert patched.get(key) == value
    for key in TARGET.keys() - patch.keys():
        assert patched[key] == TARGET[key]
