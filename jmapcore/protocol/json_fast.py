"""JSON on the API path with orjson, falling back to the standard library wherever they would differ.

Encoding and decoding what a Response carries is a large share of a forwarded
request's CPU (the list view's Email/get of 50 messages: ~0.7 ms with the
json module, a tenth of that with orjson). The two do not accept and produce
exactly the same things, so each function here uses orjson only where the
result is the same, and the json module (the behaviour the rest of the code
was written against) for everything else:

- json_dumps: orjson's compact UTF-8 output is what
  jmapcore.protocol.response_size.json_encode writes (ensure_ascii=False,
  separators "," and ":", insertion order, U+2028/U+2029 unescaped). Values
  orjson refuses go to json_encode unchanged: integers beyond 64 bits, lone
  surrogates (escaped there), non-string keys (stringified there). Dates and
  dataclasses are refused as the json module refuses them (TypeError),
  instead of being serialised the orjson way. Floats may be spelled
  differently (1e16 for 1e+16): the same JSON number. A NaN or infinity, which
  json writes as the non-JSON NaN/Infinity, becomes null.
- json_loads: orjson parses RFC 8259 JSON; an answer it refuses (NaN or
  Infinity literals, lone surrogates in strings, nesting past 1024 levels) is
  parsed by json.loads as before, with json.loads's errors. orjson reads an
  integer beyond 64 bits as a float: a body holding a run of 19 or more digits
  anywhere (even inside a string) is parsed by json.loads, which keeps every
  integer exact. Duplicate member names: the last wins, with both.
"""
from __future__ import annotations

import json
from typing import Any

import orjson

from jmapcore.protocol.response_size import json_encode

# Refused by orjson like the json module refuses them (TypeError), not serialised its own way.
_DUMPS_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
# 19 digits reach 2^63 (9223372036854775808): from there orjson's integers become floats. A run is
# found by mapping every digit to "0" and everything else to " " (bytes.translate) and searching the
# result for 19 zeros: linear, and ~25 times faster than a regular expression scanning every position.
_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= octet <= 0x39 else 0x20 for octet in range(256))
_LONG_RUN = b"0" * 19


def json_dumps(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON, as response_size.json_encode writes it (see the module).

    Raises TypeError/ValueError/RecursionError for a value JSON cannot express.
    """
    try:
        return orjson.dumps(value, option=_DUMPS_OPTIONS)
    except (TypeError, orjson.JSONEncodeError):
        return json_encode(value)


def json_loads(body: bytes) -> Any:
    """Parse UTF-8 JSON `body` (see the module); raises ValueError, UnicodeDecodeError or RecursionError."""
    if _LONG_RUN not in body.translate(_DIGITS_AS_ZEROS):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return json.loads(body)
