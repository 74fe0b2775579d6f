"""PatchObject for ContactCard/set update (RFC 8620 §5.3, RFC 9610 §3.5).

The same rules as jmapcore.protocol.patch (paths as RFC 6901 pointers without
the leading "/", every parent must exist, no path a prefix of another, null
removes), with one widening that JSContact needs: the name components of a
Card are an *array* of objects (RFC 9553 §2.2.1.2), so a client that corrects
one component ("name/components/0/value") must be able to reach into it. A
path may step through an existing array element by its index; it never
inserts into or removes from an array (an index past the end, "-", a leading
zero or null on an element itself is invalidPatch), so the array's length and
order only change when the client replaces it whole, as RFC 8620 asks.
"""
from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from typing import Any

from jmapcore.protocol.errors import SetError, SetErrorException
from jmapcore.protocol.patch import MAX_PATHS, pointer_split


def _invalid(description: str) -> SetErrorException:
    return SetErrorException(SetError("invalidPatch", description))


def _array_index(token: str, array: list[Any], shown: str) -> int:
    """An index of an existing element: decimal digits, no leading zero."""
    if not token.isascii() or not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise _invalid(f"{shown}: an array is reached by the index of an existing element")
    index = int(token)
    if index >= len(array):
        raise _invalid(f"{shown}: no element {index} (arrays are not extended by a patch)")
    return index


def card_patch_apply(target: Mapping[str, Any], patch: object) -> tuple[dict[str, Any], set[str]]:
    """Apply `patch` to a copy of `target`; returns (patched object, touched top-level names).

    Raises SetErrorException(invalidPatch) for a malformed PatchObject.
    """
    if not isinstance(patch, Mapping):
        raise _invalid("a PatchObject must be a JSON object")
    if len(patch) > MAX_PATHS:
        raise _invalid(f"a PatchObject of more than {MAX_PATHS} paths")
    paths: list[tuple[list[str], Any]] = []
    for key, value in patch.items():
        if not isinstance(key, str):
            raise _invalid("patch paths are strings")
        paths.append((pointer_split(key), value))
    ordered = sorted(paths, key=lambda item: item[0])
    for (shorter, _), (longer, _) in itertools.pairwise(ordered):
        if longer[: len(shorter)] == shorter:
            raise _invalid("one patch path is a prefix of another: " + "/".join(shorter)[:200])

    result = copy.deepcopy(dict(target))
    touched: set[str] = set()
    for tokens, value in paths:
        shown = "/".join(tokens)[:200]
        touched.add(tokens[0])
        parent: Any = result
        for depth, token in enumerate(tokens[:-1]):
            if isinstance(parent, list):
                parent = parent[_array_index(token, parent, shown)]
            elif isinstance(parent, dict) and token in parent:
                parent = parent[token]
            else:
                raise _invalid("patch path parent does not exist: " + "/".join(tokens[: depth + 1])[:200])
        last = tokens[-1]
        if isinstance(parent, list):
            if value is None:
                raise _invalid(f"{shown}: an array element cannot be removed by a patch; replace the array")
            parent[_array_index(last, parent, shown)] = copy.deepcopy(value)
        elif isinstance(parent, dict):
            if value is None:
                parent.pop(last, None)
            else:
                parent[last] = copy.deepcopy(value)
        else:
            raise _invalid("patch path parent is not an object: " + "/".join(tokens[:-1])[:200])
    return result, touched
