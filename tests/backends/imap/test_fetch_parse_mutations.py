"""fetch_parse answers exactly as IMAPClient's parse_fetch_response on
Dovecot's real answers to the sync's own FETCH command over the hostile
corpus (tests/hostile_mail.py), on every server flavour, and on mutations of
those answers a hostile server could send: escapes, odd spacing, NIL,
leading zeros, 8-bit flags, nesting at and past MAX_NESTING, literal sizes
that lie, truncated records, lost and extra records (issue 8, issue 9).

The one intended difference: parentheses nested deeper than MAX_NESTING are
a ProtocolError here, whatever imapclient would have made of them.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import ProtocolError
from imapclient.response_parser import parse_fetch_response

from backends.imap import fetch_parse as fp
from backends.imap.messages import _fetch_items
from backends.imap.sync_commands import Capabilities, folder_examine
from tests.backends.imap.conftest import Mailstore
from tests.hostile_mail import hostile_messages

FOLDER = "Hostile"


def _raw_fetch(client: IMAPClient, items: str) -> list[Any]:
    """imaplib's records for UID FETCH 1:* `items` (what fetch_parse receives)."""
    tag = client._imap._command("UID", "FETCH", "1:*", items)
    typ, data = client._imap._command_complete("FETCH", tag)
    assert typ == "OK"
    return list(client._imap._untagged_response(typ, data, "FETCH")[1])


def _outcome(parse: Callable[[list[Any]], Any], data: list[Any]) -> Any:
    try:
        return ("ok", parse(data))
    except Exception as exc:
        return ("error", type(exc))


def _imapclient(data: list[Any]) -> Any:
    return parse_fetch_response(data, False, False)


class FallbackCount:
    """imapclient as fetch_parse's fallback, counting the responses it was handed."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, data: list[Any], normalise: bool, uid_is_key: bool) -> Any:
        self.calls += 1
        return parse_fetch_response(data, normalise, uid_is_key)


@pytest.fixture
def hostile_answers(any_mail: Mailstore) -> list[Any]:
    """Dovecot's records for the sync's FETCH over the hostile corpus, with flags and keywords."""
    flags = [(), ("\\Seen",), ("\\Flagged", "$Forwarded", "Custom_kw"), ("\\Answered", "\\Draft", "$Label1")]
    with any_mail.client() as client:
        client.create_folder(FOLDER)
        for index, item in enumerate(hostile_messages()):
            client.append(FOLDER, item.raw, flags=flags[index % len(flags)],
                          msg_time=dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=index % 13 - 6))))
        caps = Capabilities.of(client)
        folder_examine(client=client, caps=caps, name=FOLDER)
        return _raw_fetch(client, "(UID " + " ".join(_fetch_items(caps)) + ")")


def _per_message(data: list[Any]) -> list[list[Any]]:
    """The records of each message: up to and including the first plain (no literal) record."""
    groups: list[list[Any]] = [[]]
    for record in data:
        groups[-1].append(record)
        if isinstance(record, bytes):
            groups.append([])
    return groups[:-1] if not groups[-1] else groups


def test_real_answers_take_the_fast_path_and_parse_as_imapclient(hostile_answers: list[Any]) -> None:
    fallback = FallbackCount()
    parsed = fp.fetch_parse(hostile_answers, fallback=fallback)
    assert fallback.calls == 0
    assert len(parsed) == len(hostile_messages())
    assert parsed == _imapclient(hostile_answers)


# -- mutations of real answers ---------------------------------------------------------
def _sub(pattern: bytes, template: bytes) -> Callable[[bytes], bytes]:
    """The first match of `pattern` replaced by `template` (group references expanded)."""
    return lambda text: re.sub(pattern, template, text, count=1)


def _put(pattern: bytes, octets: bytes) -> Callable[[bytes], bytes]:
    """The first match of `pattern` replaced by exactly `octets` (backslashes and all)."""
    return lambda text: re.sub(pattern, lambda _found: octets, text, count=1)


# name -> what it does to the text of a message's first record (literal sizes stay)
TEXT_MUTATIONS: dict[str, Callable[[bytes], bytes]] = {
    "double space": _sub(rb" FLAGS", b"  FLAGS"),
    "tab": _sub(rb" FLAGS", b"\tFLAGS"),
    "CR LF between items": _sub(rb" RFC822.SIZE", b"\r\nRFC822.SIZE"),
    "lowercase names": lambda text: text.replace(b"FLAGS", b"flags").replace(b"UID", b"Uid"),
    "leading zero UID": _sub(rb"UID (\d+)", rb"UID 0\1"),
    "leading zero size": _sub(rb"RFC822.SIZE (\d+)", rb"RFC822.SIZE 00\1"),
    "leading zero MODSEQ": _sub(rb"MODSEQ \((\d+)\)", rb"MODSEQ (0\1)"),
    "MODSEQ of two": _sub(rb"MODSEQ \((\d+)\)", rb"MODSEQ (\1 7)"),
    "leading zero sequence number": _sub(rb"^(\d+)", rb"0\1"),
    "sequence number 0": _sub(rb"^(\d+)", b"0"),
    "UID NIL": _sub(rb"UID \d+", b"UID NIL"),
    "UID quoted": _sub(rb"UID (\d+)", rb'UID "\1"'),
    "size NIL": _sub(rb"RFC822.SIZE \d+", b"RFC822.SIZE NIL"),
    "NIL as an item name": _sub(rb"^(\d+) \(", rb"\1 (NIL 5 "),
    "nil as an item name": _sub(rb"^(\d+) \(", rb"\1 (nil 5 "),
    "number as an item name": _sub(rb"^(\d+) \(", rb"\1 (42 5 "),
    "digits and NIL among flags": _sub(rb"FLAGS \(", b"FLAGS (42 NIL 007 "),
    "8-bit flag": _sub(rb"FLAGS \(", b"FLAGS (caf\xc3\xa9 "),
    "bracketed flag": _sub(rb"FLAGS \(", b"FLAGS ([x] "),
    "braced flag": _sub(rb"FLAGS \(", b"FLAGS ({3} "),
    "percent flag": _sub(rb"FLAGS \(", b"FLAGS (50% "),
    "quoted flag": _sub(rb"FLAGS \(", b'FLAGS ("quoted flag" '),
    "nested flags": _sub(rb"FLAGS \(", b"FLAGS ((a) "),
    "unclosed flags": _sub(rb"FLAGS \(([^)]*)\)", rb"FLAGS (\1"),
    "escapes in PREVIEW": _put(rb'PREVIEW "', b'PREVIEW "\\"hi\\" \\\\ \\x '),
    "escape at the end of PREVIEW": _sub(rb'PREVIEW "([^"]*)"', rb'PREVIEW "\1\\\\"'),
    "NUL and 8-bit in PREVIEW": _put(rb'PREVIEW "', b'PREVIEW "\x00\xff\xc3\xa9 '),
    "PREVIEW NIL": _sub(rb'PREVIEW "[^"]*"', b"PREVIEW NIL"),
    "PREVIEW an atom": _sub(rb'PREVIEW "[^"]*"', b"PREVIEW atom"),
    "unterminated PREVIEW": _sub(rb'PREVIEW "([^"]*)"', rb'PREVIEW "\1'),
    "quote glued to an atom": _sub(rb'PREVIEW "([^"]*)"', rb'PREVIEW "\1"x'),
    "escapes in INTERNALDATE": _sub(rb'INTERNALDATE "(\d+)', rb'INTERNALDATE "\\\1'),
    "INTERNALDATE nonsense": _sub(rb'INTERNALDATE "[^"]*"', b'INTERNALDATE "31-Feb-2024 10:11:12 +0200"'),
    "INTERNALDATE NIL": _sub(rb'INTERNALDATE "[^"]*"', b"INTERNALDATE NIL"),
    "INTERNALDATE a number": _sub(rb'INTERNALDATE "[^"]*"', b"INTERNALDATE 5"),
    "BODYSTRUCTURE NIL": _sub(rb"BODYSTRUCTURE \(", b"BODYSTRUCTURE NIL ANOTHER ("),
    "BODYSTRUCTURE empty": _sub(rb"BODYSTRUCTURE \(", b"BODYSTRUCTURE () ANOTHER ("),
    "escapes in BODYSTRUCTURE": _put(rb'BODYSTRUCTURE \("', b'BODYSTRUCTURE ("\\"x\\"'),
    "leading zero in BODYSTRUCTURE": _sub(rb"BODYSTRUCTURE (.*?) (\d+) ", rb"BODYSTRUCTURE \1 0\2 "),
    "atom touching a paren": _sub(rb"BODYSTRUCTURE \(", b"BODYSTRUCTURE (atom("),
    "number touching a letter": _sub(rb"BODYSTRUCTURE \(", b"BODYSTRUCTURE (12ab "),
    "tab in BODYSTRUCTURE": _sub(rb"BODYSTRUCTURE \(", b"BODYSTRUCTURE (\t"),
    "unbalanced BODYSTRUCTURE": _sub(rb"BODYSTRUCTURE \(", b"BODYSTRUCTURE (("),
    "extra close in BODYSTRUCTURE": _sub(rb"BODYSTRUCTURE \(", b"BODYSTRUCTURE )("),
    "BODYSTRUCTURE 100 levels deeper": _sub(  # still within MAX_NESTING, even for the deepest of the corpus
        rb"BODYSTRUCTURE (\(.*?\)) BODY", b"BODYSTRUCTURE " + b"(" * 100 + b"\\1" + b")" * 100 + b" BODY"),
    "BODYSTRUCTURE past the nesting limit": _sub(
        rb"BODYSTRUCTURE (\(.*?\)) BODY", b"BODYSTRUCTURE " + b"(" * fp.MAX_NESTING + b"\\1"
        + b")" * fp.MAX_NESTING + b" BODY"),
    "ENVELOPE": _sub(rb"^(\d+) \(", rb"\1 (ENVELOPE NIL "),
    "BODY without section": _sub(rb"BODYSTRUCTURE", b"BODY"),
    "EMAILID and THREADID": _sub(rb"BODYSTRUCTURE", b"EMAILID (Mabc-1) THREADID NIL BODYSTRUCTURE"),
    "unclosed bracket in a name": lambda text: text.replace(b"DATE)]", b"DATE)"),
    "bracket in a bracket": lambda text: text.replace(b"[HEADER.", b"[[HEADER."),
    "partial in a name": lambda text: text.replace(b"DATE)]", b"DATE)]<0>"),
    "8-bit in a bracket": lambda text: text.replace(b"[HEADER.", b"[\xe9HEADER."),
    "lying literal +1": lambda text: re.sub(rb"\{(\d+)\}$", lambda m: b"{%d}" % (int(m.group(1)) + 1), text),
    "lying literal -1": lambda text: re.sub(rb"\{(\d+)\}$", lambda m: b"{%d}" % (int(m.group(1)) - 1), text),
    "literal with leading zeros": lambda text: re.sub(rb"\{(\d+)\}$", rb"{00\1}", text),
    "literal glued to the name": lambda text: re.sub(rb" \{(\d+)\}$", rb"{\1}", text),
    "huge UID": _sub(rb"UID \d+", b"UID " + b"9" * 5000),
    "trailing space": lambda text: text + b" ",
    "empty item list": _sub(rb"^(\d+) \(.*", rb"\1 ()"),
}


def _mutated(group: list[Any], mutate: Callable[[bytes], bytes]) -> list[Any]:
    first = group[0]
    if isinstance(first, tuple):
        return [(mutate(first[0]), first[1]), *group[1:]]
    return [mutate(first), *group[1:]]


def _first_text(group: list[Any]) -> bytes:
    first = group[0]
    return first[0] if isinstance(first, tuple) else first


def _structural_mutations(group: list[Any]) -> Iterator[tuple[str, list[Any]]]:
    """Mutations of a message's records as a whole: truncations, lost and extra records."""
    first, text = group[0], _first_text(group)
    for cut in range(1, len(text), 7):
        yield f"truncated at {cut}", [text[:cut]]
        yield f"truncated at {cut}, continuation kept", [text[:cut], *group[1:]]
    if isinstance(first, tuple):
        yield "continuation lost", [first]
        yield "literal cut short", [(first[0], first[1][: len(first[1]) // 2])]
        yield "continuation with a second message", [first, b") 99 (UID 99)"]
        yield "continuation with more items", [first, b" X-ITEM (a b NIL 3) Y \"q\")"]
        yield "continuation with a second literal", [first, (b" BODY[TEXT] {3}", b"abc"), b")"]
        yield "continuation not closing", [first, b" X-ITEM"]
        yield "literal as the continuation's text", [first, (b")", b"x")]
        yield "a non-bytes record", [first, None]
        yield "a record of three", [(first[0], first[1], b"x"), *group[1:]]
    yield "twice", group + group
    yield "a str record", [text.decode("latin-1"), *group[1:]]


TOO_DEEP = {"BODYSTRUCTURE past the nesting limit"}


def test_mutated_answers_parse_as_imapclient_or_fail_alike(hostile_answers: list[Any]) -> None:
    groups = _per_message(hostile_answers)
    # A few shapes of message suffice: the first and last, and multiparts. Each mutation must give
    # imapclient's answer, or its error type; past MAX_NESTING, a ProtocolError whatever imapclient says.
    multipart = [group for group in groups if b'"mixed"' in _first_text(group).lower()]
    assert multipart
    sample = [groups[0], groups[-1], *multipart[:2]]
    fast: dict[str, int] = {}
    applied: dict[str, int] = {}
    for group in sample:
        cases = [(name, _mutated(group, mutate)) for name, mutate in TEXT_MUTATIONS.items()]
        for name, data in [*cases, *_structural_mutations(group)]:
            if data == group:
                continue  # nothing to mutate in this answer (no PREVIEW without the capability, ...)
            applied[name] = applied.get(name, 0) + 1
            fallback = FallbackCount()
            if name in TOO_DEEP:
                with pytest.raises(ProtocolError, match="nested more than"):
                    fp.fetch_parse(data, fallback=fallback)
            else:
                ours = _outcome(functools.partial(fp.fetch_parse, fallback=fallback), data)
                assert ours == _outcome(_imapclient, data), (name, data)
            if not fallback.calls:
                fast[name] = fast.get(name, 0) + 1
    # The fast path really is what is compared for mutations in its grammar ...
    for name in ("double space", "tab", "CR LF between items", "lowercase names", "escapes in BODYSTRUCTURE",
                 "8-bit flag", "nested flags", "BODYSTRUCTURE 100 levels deeper", "partial in a name"):
        assert applied.get(name) and fast.get(name) == applied[name], (name, sorted(fast))
    # ... and what it does not know goes to imapclient.
    for name in ("ENVELOPE", "percent flag", "unclosed bracket in a name", "leading zero UID", "lying literal +1"):
        assert applied.get(name) and name not in fast, (name, sorted(fast))
    assert sum(applied.values()) > 300
