"""Typed readers for method arguments (RFC 8620 §1.2-§1.3, §3.6.2).

Each reader takes the raw arguments object and one argument name and returns
the value with its JMAP type checked; anything else raises a MethodError
`invalidArguments` whose description names the argument, so a client always
learns which argument was wrong.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jmapcore.protocol.errors import MethodError

# RFC 8620 §1.2: 1-255 octets of the URL-safe base64 alphabet.
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
# RFC 8620 §1.3: Int and UnsignedInt are limited to the range of IEEE 754 safe integers.
MAX_SAFE_INT = 2**53 - 1
# Bounds of a list of names (read_strings): a /get asks for a few dozen
# properties; header:{name} forms make more possible, never thousands.
MAX_NAMES = 256
MAX_NAME_LENGTH = 1024


def _bad(name: str, wanted: str) -> MethodError:
    return MethodError("invalidArguments", f"{name}: must be {wanted}")


def is_id(value: object) -> bool:
    """True for a syntactically valid Id (RFC 8620 §1.2)."""
    return isinstance(value, str) and ID_RE.fullmatch(value) is not None


def is_id_or_reference(value: object) -> bool:
    """An Id, or "#" followed by a creation id (RFC 8620 §5.3)."""
    if not isinstance(value, str):
        return False
    return is_id(value[1:]) if value.startswith("#") else is_id(value)


def is_int(value: object) -> bool:
    # bool is a subclass of int in Python but not a JSON number.
    return isinstance(value, int) and not isinstance(value, bool) and -MAX_SAFE_INT <= value <= MAX_SAFE_INT


def is_unsigned_int(value: object) -> bool:
    return isinstance(value, int) and is_int(value) and value >= 0


def read_id(args: Mapping[str, Any], name: str, *, required: bool = False, references: bool = False) -> str | None:
    """An `Id|null` argument; with references=True "#creationId" is accepted too."""
    value = args.get(name)
    if value is None:
        if required:
            raise _bad(name, "an Id")
        return None
    valid = is_id_or_reference(value) if references else is_id(value)
    if not valid:
        raise _bad(name, "an Id")
    return value


def read_ids(args: Mapping[str, Any], name: str, *, references: bool = False) -> list[str] | None:
    """An `Id[]|null` argument."""
    value = args.get(name)
    if value is None:
        return None
    check = is_id_or_reference if references else is_id
    if not isinstance(value, list) or not all(check(item) for item in value):
        raise _bad(name, "a list of Ids or null")
    return value


def read_int(args: Mapping[str, Any], name: str, *, default: int) -> int:
    value = args.get(name)
    if value is None:
        return default
    if not is_int(value):
        raise _bad(name, "an Int")
    return value


def read_unsigned_int(args: Mapping[str, Any], name: str, *, default: int | None = None) -> int | None:
    """An `UnsignedInt|null` argument (absent or null gives `default`)."""
    value = args.get(name)
    if value is None:
        return default
    if not is_unsigned_int(value):
        raise _bad(name, "an UnsignedInt")
    return value


def read_positive_int(args: Mapping[str, Any], name: str) -> int | None:
    """`UnsignedInt|null` that must be > 0 when given (maxChanges, RFC 8620 §5.2)."""
    value = read_unsigned_int(args, name)
    if value == 0:
        raise _bad(name, "greater than 0")
    return value


def read_bool(args: Mapping[str, Any], name: str, *, default: bool) -> bool:
    value = args.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _bad(name, "a Boolean")
    return value


def read_string(args: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = args.get(name)
    if value is None:
        if required:
            raise _bad(name, "a String")
        return None
    if not isinstance(value, str):
        raise _bad(name, "a String")
    return value


def read_strings(
    args: Mapping[str, Any], name: str, *, max_items: int = MAX_NAMES, max_length: int = MAX_NAME_LENGTH
) -> list[str] | None:
    """A `String[]|null` list of names (/get `properties`, `bodyProperties`).

    Duplicates are dropped (first occurrence kept): a name asked for twice is
    answered once, and a list of the same name repeated a million times costs
    nothing per object. More than `max_items` distinct names is
    requestTooLarge (RFC 8620 §5.1: more than the server will process in one
    call); a name longer than `max_length` is invalidArguments (no property
    name comes close).
    """
    value = args.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _bad(name, "a list of Strings or null")
    if any(len(item) > max_length for item in value):
        raise MethodError("invalidArguments", f"{name}: a name is longer than {max_length} characters")
    distinct = list(dict.fromkeys(value))
    if len(distinct) > max_items:
        raise MethodError("requestTooLarge", f"{name}: at most {max_items} different names in one call")
    return distinct


def read_object(args: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """A JSON object argument (`String[*]|null`)."""
    value = args.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad(name, "an object or null")
    return value


def read_list(args: Mapping[str, Any], name: str) -> list[Any] | None:
    value = args.get(name)
    if value is None:
        return None
    if not isinstance(value, list):
        raise _bad(name, "a list or null")
    return value
