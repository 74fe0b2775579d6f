"""The JMAP Request object: decoding and validating it (RFC 8620 §3.3).

Pure: no Django. Two steps, so that each failure gets its own problem type
(RFC 8620 §3.6.1):

- `json_decode` turns the body into a JSON value, or raises `notJSON` when the
  body is not I-JSON (RFC 7493): not UTF-8, not JSON, NaN/Infinity, duplicate
  member names, lone surrogates, or nesting deeper than we accept.
- `request_from_json` checks the value against the Request type signature, or
  raises `notRequest`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from jmapcore.protocol.errors import RequestError

# JMAP filters nest (FilterOperator), but nothing legitimate comes close to
# this; the cap keeps recursive code further down far from Python's limit.
MAX_JSON_DEPTH = 128


@dataclass(frozen=True)
class Invocation:
    """One method call or response: [name, arguments, methodCallId] (RFC 8620 §3.2)."""

    name: str
    arguments: dict[str, Any]
    call_id: str


@dataclass(frozen=True)
class Request:
    """A validated Request object (RFC 8620 §3.3).

    `created_ids` is None when the client sent no createdIds property: the
    response then carries none either.
    """

    using: frozenset[str]
    method_calls: tuple[Invocation, ...]
    created_ids: dict[str, str] | None = None
    # Other top-level members (e.g. "@type"/"id" of RFC 8887 WebSocket requests).
    extra: dict[str, Any] = field(default_factory=dict)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate member name in an object")
    return obj


def _check_ijson(value: Any) -> None:
    """Reject lone surrogates and excessive nesting, without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_string(item)
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise RequestError("notJSON", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            if isinstance(item, dict):
                for key, member in item.items():
                    _check_string(key)
                    stack.append((member, depth + 1))
            else:
                stack.extend((member, depth + 1) for member in item)


def _check_string(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # I-JSON (RFC 7493 §2.1): no code points that are lone surrogates.
        raise RequestError("notJSON", "string contains a lone surrogate code point")


def json_decode(body: bytes | bytearray | memoryview | str) -> Any:
    """Decode a request body as I-JSON (RFC 7493), or raise RequestError notJSON."""
    if isinstance(body, bytes | bytearray | memoryview):
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise RequestError("notJSON", "the request body is not valid UTF-8")
    else:
        text = body
    # RFC 8259 §8.1 lets a parser ignore a leading byte order mark.
    text = text.removeprefix("\ufeff")
    try:
        value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_object)
    except RecursionError:
        raise RequestError("notJSON", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    except ValueError as exc:  # JSONDecodeError, duplicates, NaN, over-long integers
        raise RequestError("notJSON", f"the request body is not valid JSON: {_short(exc)}")
    _check_ijson(value)
    return value


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def _not_request(detail: str) -> RequestError:
    return RequestError("notRequest", detail)


def invocation_from_json(value: Any, *, index: int) -> Invocation:
    """Validate one element of methodCalls: [String, String[*], String]."""
    if not isinstance(value, list) or len(value) != 3:
        raise _not_request(f"methodCalls[{index}] is not an array of 3 elements")
    name, arguments, call_id = value
    if not isinstance(name, str):
        raise _not_request(f"methodCalls[{index}][0] (method name) is not a string")
    if not isinstance(arguments, dict):
        raise _not_request(f"methodCalls[{index}][1] (arguments) is not an object")
    if not isinstance(call_id, str):
        raise _not_request(f"methodCalls[{index}][2] (method call id) is not a string")
    return Invocation(name=name, arguments=arguments, call_id=call_id)


def request_from_json(value: Any) -> Request:
    """Check a decoded JSON value against the Request type (RFC 8620 §3.3).

    Raises RequestError notRequest naming the first mismatch. Unknown
    top-level members are kept in `extra` and otherwise ignored.
    """
    if not isinstance(value, dict):
        raise _not_request("the request is not a JSON object")
    if "using" not in value:
        raise _not_request("the request has no 'using' property")
    if "methodCalls" not in value:
        raise _not_request("the request has no 'methodCalls' property")
    using = value["using"]
    if not isinstance(using, list) or not all(isinstance(urn, str) for urn in using):
        raise _not_request("'using' is not an array of strings")
    calls = value["methodCalls"]
    if not isinstance(calls, list):
        raise _not_request("'methodCalls' is not an array")
    invocations = tuple(invocation_from_json(call, index=i) for i, call in enumerate(calls))
    created_ids: dict[str, str] | None = None
    if "createdIds" in value and value["createdIds"] is not None:
        raw_ids = value["createdIds"]
        if not isinstance(raw_ids, dict) or not all(isinstance(v, str) for v in raw_ids.values()):
            raise _not_request("'createdIds' is not a map of creation ids to ids")
        created_ids = dict(raw_ids)
    extra = {k: v for k, v in value.items() if k not in ("using", "methodCalls", "createdIds")}
    return Request(using=frozenset(using), method_calls=invocations, created_ids=created_ids, extra=extra)


def request_parse(body: bytes | str | Any) -> Request:
    """Bytes or text are decoded as I-JSON first; any other value is taken as
    already-decoded JSON. Raises RequestError notJSON or notRequest."""
    if isinstance(body, bytes | bytearray | memoryview | str):
        body = json_decode(body)
    else:
        _check_ijson(body)
    return request_from_json(body)
