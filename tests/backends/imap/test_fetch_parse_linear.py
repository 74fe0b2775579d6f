"""The FETCH response tokenizer stays linear on hostile answers (issue 8).

A server (hostile, or relaying a hostile message) decides what FETCH answers
hold: huge literals, deeply nested parentheses in BODYSTRUCTURE, long quoted
strings full of escapes, unterminated quotes and brackets that make the fast
path give up and hand the record to imapclient's parser. Each shape runs at
size n and 16 n in a fresh interpreter (tests/linear_run.py) under a hard
timeout; superlinear growth fails by the timeout, nothing is timed. Whatever
the parser answers — a parsed response, or a ProtocolError for what is not
IMAP — it answers at both sizes.
"""
from __future__ import annotations

import pytest
from imapclient.exceptions import ProtocolError

from backends.imap.fetch_parse import MAX_NESTING, fetch_parse
from tests.linear_run import sizes_run

# name -> (Python expression of the imaplib records for size n, base n, expected summary prefix)
SHAPES: dict[str, tuple[str, int, str]] = {
    "huge-literal": ("[(b'1 (UID 1 BODY[] {%d}' % n, b'x' * n), b')']", 1_000_000, "defaultdict"),
    "literal-per-message": (
        "[item for k in range(1, n + 1) for item in ((b'%d (UID %d BODY[HEADER] {3}' % (k, k), b'a\\r\\n'), b')')]",
        2_000, "defaultdict",
    ),
    "nested-parens-at-the-limit": (
        "[b'1 (UID 1 ' + b''.join(b'X%d ' % k + b'(' * 300 + b'NIL' + b')' * 300 + b' ' for k in range(n // 300))"
        " + b')']", 12_000, "defaultdict",
    ),
    "nested-parens-too-deep": ("[b'1 (UID 1 BODYSTRUCTURE ' + b'(' * n + b'\"a\"' + b')' * n + b')']", 10_000,
                               "ProtocolError"),
    "nested-too-deep-with-envelope": (
        "[b'1 (UID 1 ENVELOPE NIL X ' + b'(' * n + b'\"a\"' + b')' * n + b')']", 10_000, "ProtocolError",
    ),
    "multipart-bodystructure": (
        "[b'1 (UID 1 BODYSTRUCTURE (' + b'(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 1 1)' * n"
        " + b' \"mixed\"))']", 2_000, "defaultdict",
    ),
    "quoted-escapes": ("[b'1 (UID 1 X \"' + b'\\\\\"a\\\\\\\\' * n + b'\")']", 20_000, "defaultdict"),
    "unterminated-quote": ("[b'1 (UID 1 X \"' + b'\\\\\"a' * n]", 20_000, "ProtocolError"),
    "unterminated-bracket": ("[b'1 (UID 1 BODY[' + b'a ' * n]", 20_000, "ProtocolError"),
    "open-brackets": ("[b'1 (UID 1 X ' + b'[' * n + b')']", 20_000, "ProtocolError"),
    "atom-touching-quote": ("[b'1 (UID 1 X ' + b'a' * n + b'\"b\")']", 20_000, "ProtocolError"),
    "many-flags": ("[b'1 (UID 1 FLAGS (' + b'\\\\Seen $label ' * n + b'))']", 5_000, "defaultdict"),
    "atom-touching-paren": ("[b'1 (UID 1 BODYSTRUCTURE (' + b'a' * n + b'(x)))']", 20_000, "defaultdict"),
    "number-touching-letter": ("[b'1 (UID 1 X (' + b'1' * n + b'a))']", 20_000, "defaultdict"),
    "trailing-whitespace": ("[b'1 (UID 1 X Y)' + b' ' * n]", 20_000, "defaultdict"),
    "whitespace-then-percent": ("[b'1 (UID 1 X' + b' ' * n + b'%)']", 20_000, "defaultdict"),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_fetch_parse_is_linear(shape: str) -> None:
    expression, base, expected = SHAPES[shape]
    setup = (
        "from imapclient.exceptions import ProtocolError\n"
        "from backends.imap.fetch_parse import fetch_parse\n"
        f"def make(n):\n    return {expression}\n"
        "def run(data):\n"
        "    try:\n        return fetch_parse(data)\n"
        "    except ProtocolError:\n        return ProtocolError('')\n"
    )
    summaries = sizes_run(setup, base=base, what=f"fetch_parse on {shape}")
    assert all(summary.startswith(expected) for summary in summaries), summaries


def test_deep_nesting_is_a_protocol_error_not_a_crash() -> None:
    deep = [b"1 (UID 1 BODYSTRUCTURE " + b"(" * 2000 + b'"a"' + b")" * 2000 + b")"]
    with pytest.raises(ProtocolError, match="nested more than"):
        fetch_parse(deep)
    with pytest.raises(ProtocolError, match="nested more than"):  # ENVELOPE: imapclient's parser would recurse
        fetch_parse([b"1 (UID 1 ENVELOPE NIL X " + b"(" * 2000 + b")" * 2000 + b")"])
    inside = [b"1 (UID 7 X " + b"(" * (MAX_NESTING - 1) + b"NIL" + b")" * (MAX_NESTING - 1) + b")"]
    assert fetch_parse(inside)[1][b"UID"] == 7


def test_unterminated_quote_with_escapes_is_parsed_once() -> None:
    """An unterminated quoted string full of escapes: the record is refused in
    one pass (the anchored _RECORD check) and imapclient reports the protocol
    error; closed, the same string parses with its escapes undone."""
    with pytest.raises(ProtocolError):
        fetch_parse([b'1 (UID 1 X "' + b'\\"a' * 1000])
    parsed = fetch_parse([b'1 (UID 1 X "' + b'\\"a' * 1000 + b'")'])
    assert parsed[1][b"X"] == b'"a' * 1000
