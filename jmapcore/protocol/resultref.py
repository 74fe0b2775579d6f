"""Result references (RFC 8620 §3.7) and the JSON Pointer they use (RFC 6901).

An argument whose name starts with "#" holds a ResultReference
{"resultOf", "name", "path"}: its value is taken from the response of an
earlier call in the same request. The path is a JSON Pointer with one
addition: on an array, the token "*" applies the rest of the pointer to every
item and flattens arrays in the result by one level.

Pure: no Django.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

from jmapcore.protocol.envelope import Invocation
from jmapcore.protocol.errors import MethodError
from jmapcore.protocol.response_size import RESPONSE_SIZE_LIMIT_NAME, RESPONSE_TOO_LARGE, json_size_within

_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")
_BAD_ESCAPE = re.compile(r"~(?![01])")
WILDCARD = "*"
# Real paths are short ("/ids", "/list/*/threadId", "/created/k1/id"); the
# caps keep a hostile pointer from costing more than a glance, and bound the
# recursion at "*" far below Python's limit.
MAX_POINTER_LENGTH = 1024
MAX_POINTER_TOKENS = 32


class PointerError(ValueError):
    """The pointer is malformed or does not reference a value in the document."""


def pointer_tokens(pointer: str) -> list[str]:
    """Split a JSON Pointer into unescaped reference tokens (RFC 6901 §3, §4).

    "" is the whole document. Any other pointer starts with "/". "~1" stands
    for "/" and "~0" for "~" (unescaped in that order); any other "~" is an
    error.
    """
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PointerError("a JSON Pointer must be empty or start with '/'")
    if len(pointer) > MAX_POINTER_LENGTH:
        raise PointerError(f"a path longer than {MAX_POINTER_LENGTH} characters is not accepted")
    if pointer.count("/") > MAX_POINTER_TOKENS:
        raise PointerError(f"a path of more than {MAX_POINTER_TOKENS} parts is not accepted")
    tokens = pointer[1:].split("/")
    for token in tokens:
        if _BAD_ESCAPE.search(token):
            raise PointerError(f"invalid '~' escape in token {_shown(token)}")
    return [token.replace("~1", "/").replace("~0", "~") for token in tokens]


def _step(value: Any, token: str) -> Any:
    if isinstance(value, dict):
        if token not in value:
            raise PointerError(f"no member {_shown(token)}")
        return value[token]
    if isinstance(value, list):
        if not _ARRAY_INDEX.fullmatch(token):
            raise PointerError(f"{_shown(token)} is not an array index")
        index = int(token)
        if index >= len(value):
            raise PointerError(f"index {index} is past the end of an array of {len(value)}")
        return value[index]
    raise PointerError(f"cannot apply {_shown(token)} to a {type(value).__name__}")


def _evaluate(value: Any, tokens: Sequence[str]) -> Any:
    # Iterative over plain tokens; recursion only at "*", which consumes a
    # token each time, so the depth is bounded by the pointer's length.
    for position, token in enumerate(tokens):
        if token == WILDCARD and isinstance(value, list):
            rest = tokens[position + 1 :]
            flattened: list[Any] = []
            for item in value:
                result = _evaluate(item, rest)
                if isinstance(result, list):
                    flattened.extend(result)
                else:
                    flattened.append(result)
            return flattened
        value = _step(value, token)
    return value


def pointer_evaluate(document: Any, pointer: str) -> Any:
    """Evaluate `pointer` against `document` (RFC 6901 with RFC 8620 §3.7 "*").

    Raises PointerError when the pointer is malformed or references nothing.
    """
    return _evaluate(document, pointer_tokens(pointer))


def _invalid(description: str) -> MethodError:
    return MethodError("invalidResultReference", description)


def _shown(text: str) -> str:
    """`text` for an error description: a hostile path or call id is not echoed whole."""
    return repr(text if len(text) <= 100 else text[:100] + "…")


def result_reference_resolve(reference: Any, *, responses: Sequence[Invocation]) -> Any:
    """The value a ResultReference points to (RFC 8620 §3.7).

    `responses` are the method responses produced so far in this request, in
    order. Raises MethodError invalidResultReference when the reference is
    malformed, names no earlier call, names the wrong response, or its path
    references nothing.
    """
    if not isinstance(reference, dict):
        raise _invalid("a result reference must be an object")
    result_of, name, path = reference.get("resultOf"), reference.get("name"), reference.get("path")
    if not isinstance(result_of, str) or not isinstance(name, str) or not isinstance(path, str):
        raise _invalid("a result reference needs string properties resultOf, name and path")
    # RFC 8620 §3.7 step 1: the *first* response with that method call id.
    response = next((r for r in responses if r.call_id == result_of), None)
    if response is None:
        raise _invalid(f"no earlier method call has id {_shown(result_of)}")
    if response.name != name:
        raise _invalid(f"the response to {_shown(result_of)} is {_shown(response.name)}, not {_shown(name)}")
    try:
        return pointer_evaluate(response.arguments, path)
    except PointerError as exc:
        raise _invalid(f"path {_shown(path)} in the response to {_shown(result_of)}: {exc}")


def _referenced_copy(value: Any, *, budget: int | None, used: int, memo: dict[int, Any]) -> tuple[Any, int]:
    """A private copy of a referenced value and the running size of the references.

    The copy keeps a handler that modifies its arguments from changing an
    earlier response (or another reference to it). It is a deep copy that
    keeps shared parts shared (`memo`), so a value that references an earlier
    value twice costs one copy, not two; its JSON size is what it will cost
    in a response, and is measured without building the JSON
    (`json_size_within`), stopping as soon as it passes what is left of
    `budget`.
    """
    remaining = None if budget is None else budget - used
    size = json_size_within(value, limit=remaining)
    if size is None:
        raise MethodError(
            RESPONSE_TOO_LARGE,
            f"the values this call references add up to more than the {budget} octets left for the response "
            "(maxSizeResponse); ask for less in one request",
            limit=RESPONSE_SIZE_LIMIT_NAME,
        )
    return copy.deepcopy(value, memo), used + size


def arguments_resolve(
    arguments: dict[str, Any], *, responses: Sequence[Invocation], max_size: int | None = None
) -> dict[str, Any]:
    """Replace every "#name" argument by "name" with the referenced value.

    Returns a new dict; `arguments` is left untouched and each referenced
    value is a copy, never shared with the response it came from. An argument
    given both plainly and as a reference is invalidArguments (RFC 8620
    §3.7). When the referenced values add up to more than `max_size` octets of
    JSON the call answers requestTooLarge before anything is copied further:
    one call may otherwise reference the largest earlier response many times
    over.
    """
    if not any(key.startswith("#") for key in arguments):
        return arguments
    resolved: dict[str, Any] = {}
    used = 0
    memo: dict[int, Any] = {}
    for key, value in arguments.items():
        if not key.startswith("#"):
            resolved[key] = value
            continue
        plain = key[1:]
        if plain in arguments:
            raise MethodError(
                "invalidArguments", f"argument {_shown(plain)} is given both as a value and as {_shown(key)}"
            )
        referenced = result_reference_resolve(value, responses=responses)
        resolved[plain], used = _referenced_copy(referenced, budget=max_size, used=used, memo=memo)
    return resolved
