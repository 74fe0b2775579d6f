"""PatchObject (RFC 8620 §5.3, "update").

A PatchObject maps JSON pointers (RFC 6901, without the leading "/", relative
to the object being updated) to new values. We enforce the RFC's rules:

- a pointer never reaches inside an array (arrays are replaced whole);
- every part before the last must already exist, as an object;
- no pointer is a prefix of another in the same patch;
- a null value sets a top-level property to its default when it has one and
  otherwise removes the property (or nested key); removing what is absent is
  a no-op.

Violations raise SetErrorException(invalidPatch). Whether the patched values
are valid for the data type is the caller's business (invalidProperties).
"""
from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Mapping
from typing import Any

from jmapcore.protocol.errors import SetError, SetErrorException

# Real patch paths are short ("keywords/$seen", "mailboxIds/<id>",
# "participants/<id>/roles/owner"); the caps keep a hostile PatchObject from
# costing more than a glance per path, and a bounded number of paths.
MAX_PATH_LENGTH = 2048
MAX_PATH_TOKENS = 32
MAX_PATHS = 1024
# A "~" that does not start "~0" or "~1" (RFC 6901 §3).
_BAD_ESCAPE = re.compile(r"~(?![01])")


def _invalid(description: str) -> SetErrorException:
    return SetErrorException(SetError("invalidPatch", description))


def pointer_split(pointer: str) -> list[str]:
    """Split a PatchObject key into unescaped reference tokens (RFC 6901 §3-§4).

    "~1" stands for "/" and "~0" for "~"; any other "~" sequence is invalid,
    and so is an empty token (no JMAP property or map key is empty).
    """
    if not pointer:
        raise _invalid("empty patch path")
    if len(pointer) > MAX_PATH_LENGTH:
        raise _invalid(f"a patch path longer than {MAX_PATH_LENGTH} characters")
    if pointer.count("/") >= MAX_PATH_TOKENS:
        raise _invalid(f"a patch path of more than {MAX_PATH_TOKENS} parts")
    tokens: list[str] = []
    for raw in pointer.split("/"):
        if not raw:
            raise _invalid(f"empty part in patch path {_shown(pointer)}")
        if _BAD_ESCAPE.search(raw):
            raise _invalid(f"bad escape in patch path {_shown(pointer)}")
        tokens.append(raw.replace("~1", "/").replace("~0", "~"))
    return tokens


def _shown(pointer: str) -> str:
    return repr(pointer if len(pointer) <= 100 else pointer[:100] + "…")


def pointer_escape(token: str) -> str:
    """The inverse of one step of pointer_split: escape "~" then "/"."""
    return token.replace("~", "~0").replace("/", "~1")


def patch_apply(
    target: Mapping[str, Any],
    patch: object,
    *,
    defaults: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], set[str]]:
    """Apply `patch` to a copy of `target`.

    Returns the patched object and the set of top-level properties the patch
    touched. `defaults` gives the default value of top-level properties that
    have one (used when the patch sets them to null). `target` is not changed.
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

    # A pointer that is a prefix of another makes the result depend on order.
    ordered = sorted(paths, key=lambda item: item[0])
    for (shorter, _), (longer, _) in itertools.pairwise(ordered):
        if longer[: len(shorter)] == shorter:
            raise _invalid("one patch path is a prefix of another: " + "/".join(shorter))

    result = copy.deepcopy(dict(target))
    touched: set[str] = set()
    for tokens, value in paths:
        touched.add(tokens[0])
        parent: Any = result
        for depth, token in enumerate(tokens[:-1]):
            if isinstance(parent, list):
                raise _invalid("patch paths cannot point inside an array")
            if not isinstance(parent, dict) or token not in parent:
                raise _invalid("patch path parent does not exist: " + "/".join(tokens[: depth + 1]))
            parent = parent[token]
        last = tokens[-1]
        if isinstance(parent, list):
            raise _invalid("patch paths cannot point inside an array")
        if not isinstance(parent, dict):
            raise _invalid("patch path parent is not an object: " + "/".join(tokens[:-1]))
        if value is None:
            if len(tokens) == 1 and defaults is not None and last in defaults:
                parent[last] = copy.deepcopy(defaults[last])
            else:
                parent.pop(last, None)
        else:
            parent[last] = copy.deepcopy(value)
    return result, touched
