"""Bounding the size of a Response (RFC 8620 §3.4) while it is being built.

Result references (RFC 8620 §3.7) let every call copy earlier results, so a
request of a few hundred octets can ask for a response that doubles with each
call (Core/echo referencing the previous echo twice: 22 calls, 121 MB).
Nothing in the request's own size tells that apart from an honest request, so
the engine keeps a running total of the octets it has produced and stops as
soon as the total passes the server's bound.

Every method response is encoded to JSON once, when it is produced: that
encoding is both the measurement and the bytes that go on the wire, so the
bound costs no second serialisation.

Pure: no Django.
"""
from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any

# The error type of a call whose response would pass the bound, and of the
# calls after it that were not run. See `response_too_large_arguments`.
RESPONSE_TOO_LARGE = "requestTooLarge"
# Named in the error object so that a client (and a log reader) can tell this
# bound from maxObjectsInGet/maxObjectsInSet, which use the same type.
RESPONSE_SIZE_LIMIT_NAME = "maxSizeResponse"


def json_encode(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON.

    A lone surrogate (from a backend that produced one) cannot be UTF-8: the
    value is then encoded with \\u escapes, which keeps the output valid JSON
    and valid UTF-8. Raises TypeError/ValueError/RecursionError for a value
    JSON cannot express.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode("ascii")


class _OverLimit(Exception):
    pass


def json_size_within(value: Any, *, limit: int | None) -> int | None:
    """The length in octets of `value` as compact UTF-8 JSON, or None once it
    passes `limit` (None: no limit).

    Works on the value itself, without building its JSON: a part that occurs
    several times (result references share it) is measured once and counted
    each time, so a value that doubles with each result reference is
    measured in time linear in its number of distinct parts, and the walk
    stops as soon as the running count passes `limit`.
    """
    sizes: dict[int, int] = {}
    total = [0]

    def add(octets: int) -> None:
        total[0] += octets
        if limit is not None and total[0] > limit:
            raise _OverLimit

    def measure(item: Any) -> int:
        # The count of the parts of `item` goes to `total` as it is found, so
        # a huge value stops early; the return value is its own length.
        if isinstance(item, str):
            octets = len(encode_basestring(item).encode("utf-8", "surrogatepass"))
            add(octets)
            return octets
        if item is None or isinstance(item, bool):
            octets = 4 if item is not False else 5
            add(octets)
            return octets
        if isinstance(item, int | float):
            octets = len(repr(item))
            add(octets)
            return octets
        known = sizes.get(id(item))
        if known is not None:
            add(known)
            return known
        if isinstance(item, dict):
            octets = 2 + max(0, len(item) - 1)
            add(octets)
            for key, member in item.items():
                key_octets = len(encode_basestring(str(key)).encode("utf-8", "surrogatepass")) + 1
                add(key_octets)
                octets += key_octets + measure(member)
        elif isinstance(item, list | tuple):
            octets = 2 + max(0, len(item) - 1)
            add(octets)
            for member in item:
                octets += measure(member)
        else:
            raise TypeError(f"{type(item).__name__} is not a JSON value")
        sizes[id(item)] = octets
        return octets

    try:
        measure(value)
    except _OverLimit:
        return None
    return total[0]


def response_too_large_arguments(*, limit: int, ran: bool) -> dict[str, Any]:
    """The arguments of the error answered instead of a response past the bound.

    Why a method-level error and not a request-level one: RFC 8620 §3.6.1
    `limit` means "the request was not processed" and must name a limit of
    the core capability object; but the calls before the one that passed the
    bound *were* processed (a /set among them may have created objects the
    client needs to learn about), and there is no response-size limit in the
    capability. So every call keeps its own answer, and the call that would
    pass the bound, and each one after it, answers an error (§3.6.2).

    Why `requestTooLarge`: RFC 8620 §5.1/§5.3 define it as "the client asked
    for more than the server is willing to process in one call"; a client that
    knows it splits its request, and §3.6.2 requires a client that does not
    know a type to treat it as serverFail. `limit` says which bound applied.
    """
    if ran:
        description = (
            f"the response would be larger than {limit} octets (maxSizeResponse); "
            "ask for less in one request (fewer ids or properties, or split the request)"
        )
    else:
        description = f"not run: the responses before it already reached the limit of {limit} octets"
    return {"type": RESPONSE_TOO_LARGE, "description": description, "limit": RESPONSE_SIZE_LIMIT_NAME}


class ResponseBudget:
    """The running size of one Response against its bound.

    `charge(n)` adds n octets when they fit and answers whether they did;
    once a charge did not fit the budget is exhausted for good, so that no
    later call runs (RFC 8620 §3.6.2 answers still go out, see
    `response_too_large_arguments`).
    """

    def __init__(self, *, limit: int) -> None:
        if limit <= 0:
            raise ValueError("the response size limit must be positive")
        self.limit = limit
        self.used = 0
        self.exhausted = False

    def charge(self, octets: int) -> bool:
        if self.exhausted or self.used + octets > self.limit:
            self.exhausted = True
            return False
        self.used += octets
        return True
