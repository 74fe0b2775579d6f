"""A fast FETCH response parser giving exactly what IMAPClient's gives.

IMAPClient's `parse_fetch_response` lexes the response one byte at a time in
Python (a generator per record, a method call per character); for the initial
sync of 100,000 messages that is the largest single cost on the client side.
`fetch_parse` tokenizes each imaplib record with one compiled regular
expression instead, builds the same nested tuples, and then applies the very
same per-item conversions (UID, INTERNALDATE, BODYSTRUCTURE as BodyData) —
so its answer is identical: same keys, same types, same values.

Anything outside the grammar it knows (a `%` or control character outside a
quoted string, an unterminated quote or bracket, a literal marker that is not
the last token of its record, ENVELOPE, uneven item lists, ...) makes it give
up and parse the whole response with IMAPClient, which then answers — or
raises — as it always did. tests/backends/imap/test_fetch_parse.py compares
both parsers on real Dovecot answers and on generated ones.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from imapclient.datetime_util import parse_to_datetime
from imapclient.exceptions import ProtocolError
from imapclient.fixed_offset import FixedOffset
from imapclient.response_parser import parse_fetch_response
from imapclient.response_types import BodyData

# One token of imapclient's lexer, after optional whitespace (space, tab, CR, LF):
# a quoted string (backslash escapes) | an atom (no space, control character,
# ( ) % " or [, except inside [...] which may hold anything but "]") | "(" | ")".
# The groups are: opening quote, quoted text, atom, paren, anything else.
#
# findall runs _TOKEN only over a record _RECORD.fullmatch accepted, but the
# pattern is linear on its own too (tests/test_regex_safety.py checks it):
# every alternative succeeds wherever it starts — a closing quote or "]" is
# optional, and the last group takes any other character or the end — so a
# search never fails at one position only to rescan from the next, which is
# what made an unterminated quote or "[" quadratic. Whether the closing
# quote/bracket really was there (and that no atom touches a quote, a protocol
# error for imapclient) is _RECORD's business.
_QUOTED = rb'(")([^"\\]*(?:\\.[^"\\]*)*)"?'
_ATOM = rb'((?:[^\x00-\x20()%"\[]+|\[[^\]]*\]?)+)'
_TOKEN = re.compile(rb"[ \t\r\n]*(?:" + _QUOTED + b"|" + _ATOM + rb"|([()])|(\Z|[^ \t\r\n]))", re.DOTALL)
# A record is a sequence of such tokens and nothing else (findall would skip
# over what is not a token), checked once in C before findall. Written as a
# sequence of units that the first character decides — a space or paren, a
# quoted string, or a whole atom *with the space, paren or end that must
# follow it* (an atom is maximal, and never touches a quote) — so that the
# pattern is unambiguous: a record that does not match fails in linear time
# without needing possessive quantifiers (which recheck can only fuzz).
_ATOM_CHAR = rb'[^\x00-\x20()%"\[]'
_BRACKETED = rb"\[[^\]]*\]"
_RECORD = re.compile(
    rb'(?:[ \t\r\n()]|"[^"\\]*(?:\\.[^"\\]*)*"'
    rb"|(?:" + _ATOM_CHAR + rb"+(?:" + _BRACKETED + _ATOM_CHAR + rb"*)*|(?:" + _BRACKETED + _ATOM_CHAR + rb"*)+)"
    rb"(?:[ \t\r\n()]|\Z))*",
    re.DOTALL,
)
_ESCAPED = re.compile(rb'\\([\\"])')
_LITERAL = re.compile(rb"\{(\d+)\}")
_INTERNALDATE = re.compile(rb"( \d|\d\d)-([A-Z][a-z]{2})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)")
_MONTHS = {name.encode(): number for number, name in enumerate(
    "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}  # fmt: skip
_ZONES: dict[bytes, FixedOffset] = {}


# Parentheses nested deeper than this end the parse with a ProtocolError:
# imapclient's parser and BodyData.create recurse once per level or more, so a
# hostile server's "((((..." would otherwise end in RecursionError. Dovecot
# stops at 100 nested MIME parts; a BODYSTRUCTURE adds a few levels per part.
MAX_NESTING = 400


class _Unexpected(Exception):
    """The response is outside what the fast path knows: parse it with imapclient."""


def _too_deep() -> ProtocolError:
    return ProtocolError(f"FETCH response nested more than {MAX_NESTING} parentheses deep")


def _tokens_parse(data: list[Any]) -> list[Any]:
    """The top-level atoms of all records, as imapclient's gen_parsed_response gives them."""
    top: list[Any] = []
    stack: list[list[Any]] = []
    current = top
    findall = _TOKEN.findall
    record_match = _RECORD.fullmatch
    unescape = _ESCAPED.sub
    for record in data:
        if isinstance(record, tuple):
            if len(record) != 2:
                raise _Unexpected
            text, literal = record
            if not isinstance(text, bytes) or not isinstance(literal, bytes):
                raise _Unexpected
            marker = text.rfind(b"{")
            found = _LITERAL.fullmatch(text, marker) if marker >= 0 else None
            if found is None or int(found.group(1)) != len(literal):
                raise _Unexpected
            text = text[:marker]
            if marker and text[-1:] not in (b" ", b"(", b")", b"\t", b"\r", b"\n"):
                raise _Unexpected  # "{n}" glued to an atom or quote: imapclient's affair
        elif isinstance(record, bytes):
            text, literal = record, None
        else:
            raise _Unexpected
        if record_match(text) is None:
            raise _Unexpected
        for quote, quoted, atom, paren, _rest in findall(text):
            if paren:
                if paren == b"(":
                    if len(stack) >= MAX_NESTING:
                        raise _too_deep()
                    stack.append(current)
                    current = []
                else:
                    if not stack:
                        raise _Unexpected
                    done = tuple(current)
                    current = stack.pop()
                    current.append(done)
            elif atom:
                if atom == b"NIL":
                    current.append(None)
                elif atom.isdigit() and (atom[:1] != b"0" or len(atom) == 1):
                    current.append(int(atom))
                elif atom[:1] == b"{":
                    raise _Unexpected  # a literal marker anywhere but at the end of its record
                else:
                    current.append(atom)
            elif quote:
                current.append(unescape(rb"\1", quoted) if b"\\" in quoted else quoted)
            # else: the end of the record (whatever else _RECORD has refused already)
        if literal is not None:
            current.append(literal)
    if stack:
        raise _Unexpected  # an unclosed "(": imapclient raises its own error
    return top


def internaldate_parse(value: Any) -> dt.datetime | None:
    """INTERNALDATE as imapclient converts it with normalise_times=False."""
    if value is None:
        return None
    found = _INTERNALDATE.fullmatch(value) if isinstance(value, bytes) else None
    month = _MONTHS.get(found.group(2)) if found else None
    if found is None or month is None or found.group(7, 8, 9) == (b"-", b"00", b"00"):
        try:
            return parse_to_datetime(value, normalise=False)
        except ValueError:
            return None
    zone_text = found.group(7, 8, 9)
    zone = _ZONES.get(b"".join(zone_text))
    if zone is None:
        minutes = int(zone_text[1]) * 60 + int(zone_text[2])
        zone = _ZONES[b"".join(zone_text)] = FixedOffset(float(-minutes if zone_text[0] == b"-" else minutes))
    try:
        return dt.datetime(int(found.group(3)), month, int(found.group(1)), int(found.group(4)),
                           int(found.group(5)), int(found.group(6)), tzinfo=zone)  # fmt: skip
    except ValueError:
        return None


def _messages(top: list[Any]) -> defaultdict[int, dict[bytes, Any]]:
    """parse_fetch_response(text, normalise_times=False, uid_is_key=False) on parsed atoms."""
    parsed: defaultdict[int, dict[bytes, Any]] = defaultdict(dict)
    if len(top) % 2:
        raise _Unexpected
    for index in range(0, len(top), 2):
        seq, items = top[index], top[index + 1]
        if not isinstance(seq, int) or not isinstance(items, tuple) or len(items) % 2:
            raise _Unexpected
        values: dict[bytes, Any] = {b"SEQ": seq}
        for position in range(0, len(items), 2):
            name = items[position]
            if not isinstance(name, bytes):
                raise _Unexpected
            word = name.upper()
            value = items[position + 1]
            if word == b"UID":
                if not isinstance(value, int):
                    raise _Unexpected
                values[word] = value
            elif word == b"INTERNALDATE":
                values[word] = internaldate_parse(value)
            elif word in (b"BODY", b"BODYSTRUCTURE"):
                if not isinstance(value, tuple) or not value:
                    raise _Unexpected
                values[word] = BodyData.create(value)
            elif word == b"ENVELOPE":
                raise _Unexpected
            else:
                values[word] = value
        parsed[seq].update(values)
    return parsed


def fetch_parse(
    data: list[Any], *, fallback: Callable[..., Any] = parse_fetch_response
) -> defaultdict[int, dict[bytes, Any]]:
    """What `parse_fetch_response(data, False, False)` returns: {seq: {item: value}}.
    `fallback` (IMAPClient's parser) parses what the fast path does not know.
    Raises ProtocolError (an imaplib error) for parentheses nested deeper than
    MAX_NESTING, and whatever the fallback raises on what it cannot parse."""
    if data == [None]:
        return defaultdict()
    try:
        return _messages(_tokens_parse(data))
    except ProtocolError:
        raise  # too deep: imapclient would recurse its way into RecursionError
    except Exception:  # _Unexpected, or what imapclient's own conversions raise: its answer
        try:
            answer: defaultdict[int, dict[bytes, Any]] = fallback(data, False, False)
        except RecursionError:
            raise _too_deep() from None
        return answer
