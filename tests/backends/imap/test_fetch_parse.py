"""The fast FETCH parser (backends.imap.fetch_parse) answers exactly as
IMAPClient's parse_fetch_response: on real Dovecot answers to the sync's own
FETCH commands (ordinary, malformed and hostile messages, on every server
flavour), and on generated responses, where it must either agree or leave the
response to IMAPClient."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from imapclient import IMAPClient
from imapclient.response_parser import parse_fetch_response

from backends.imap.fetch_parse import fetch_parse, internaldate_parse
from backends.imap.messages import HEADER_ITEM, _fetch_items
from backends.imap.sync_commands import Capabilities
from tests.backends.imap.conftest import Mailstore, message
from tests.backends.imap.test_malformed import BAD_VALUES, BROKEN_MIME, EIGHT_BIT, HUGE_HEADERS, NO_HEADERS

MULTIPART = (
    b"From: \"Dave O'Brien\" <dave@example.com>\r\nTo: a@example.test\r\nSubject: with (parens) \"quotes\" \\ and %\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n"
    b"Content-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n--b2\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"\r\nplain \xc3\xa9 \"quoted\" \\ back\r\n--b2\r\nContent-Type: text/html; charset=\"iso-8859-1\"\r\n\r\n"
    b"<p>html \xe9</p>\r\n--b2--\r\n--b1\r\nContent-Type: application/pdf; name=\"a \\\"b\\\" (c).pdf\"\r\n"
    b"Content-Disposition: attachment; filename*=UTF-8''%e2%82%ac.pdf\r\nContent-Transfer-Encoding: base64\r\n"
    b"Content-Language: en, de\r\nContent-Location: http://example.test/x\r\n\r\nJVBERi0xLjQK\r\n--b1\r\n"
    b"Content-Type: message/rfc822\r\n\r\nFrom: inner@example.test\r\nSubject: inner\r\n\r\ninner body\r\n--b1--\r\n"
)
SAMPLES = [
    MULTIPART, BROKEN_MIME, EIGHT_BIT, HUGE_HEADERS, BAD_VALUES, NO_HEADERS,
    message("Fine"),
    message("Re: =?utf-8?q?J=C3=B6rg?= {5}", sender='"Name, with \\"escapes\\"" <x@example.test>',
            extra="X-Weird: [bracket] {braces} %percent"),
    b"Subject: \x01control\x7f chars\tand tab\r\nFrom: a@b\r\n\r\n\x00nul body\r\n",
    b"Subject: " + b"long " * 3000 + b"\r\n\r\nbody",
]  # fmt: skip


def _raw_fetch(client: IMAPClient, items: str) -> list[Any]:
    tag = client._imap._command("UID", "FETCH", "1:*", items)
    typ, data = client._imap._command_complete("FETCH", tag)
    assert typ == "OK"
    return list(client._imap._untagged_response(typ, data, "FETCH")[1])


def _no_fallback(*args: object) -> Any:
    raise AssertionError(f"fell back to imapclient for {args[0]!r:.300}")


def test_real_answers_are_parsed_identically(any_mail: Mailstore) -> None:
    flags = [(), ("\\Seen",), ("\\Flagged", "$Forwarded", "Custom_kw"), ("\\Answered", "\\Draft")]
    for index, raw in enumerate(SAMPLES):
        any_mail.append(raw, flags=flags[index % len(flags)],
                        when=dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=index - 5))))
    with any_mail.client() as client:
        caps = Capabilities.of(client)
        client.select_folder("INBOX", readonly=True)
        for items in (
            "(UID " + " ".join(_fetch_items(caps)) + ")",
            "(UID FLAGS" + (" MODSEQ" if caps.condstore else "") + ")",
            "(UID BODY.PEEK[1]<0.2048>)",
            "(UID BODYSTRUCTURE " + HEADER_ITEM + " BODY.PEEK[2]<0.100> RFC822.SIZE)",
        ):
            data = _raw_fetch(client, items)
            expected = parse_fetch_response(data, False, False)
            assert len(expected) == len(SAMPLES)
            assert fetch_parse(data, fallback=_no_fallback) == expected


# -- generated responses -----------------------------------------------------------
atom_bytes = st.binary(min_size=1, max_size=6).filter(lambda b: not any(c in b' ()%"[\\{' or c < 32 for c in b))
quoted_text = st.binary(max_size=12)


def _quote(text: bytes) -> bytes:
    return b'"' + text.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def _item_text(value: Any) -> bytes:
    kind, payload = value
    if kind == "atom":
        return payload
    if kind == "number":
        return str(payload).encode()
    if kind == "nil":
        return b"NIL"
    if kind == "quoted":
        return _quote(payload)
    if kind == "raw_quoted":  # escapes imapclient keeps as they are, odd bytes
        return b'"' + payload.replace(b'"', b"") + b'"'
    return b"(" + b" ".join(_item_text(child) for child in payload) + b")"


values = st.recursive(
    st.one_of(
        st.tuples(st.just("atom"), atom_bytes),
        st.tuples(st.just("number"), st.integers(min_value=0, max_value=2**40)),
        st.tuples(st.just("nil"), st.none()),
        st.tuples(st.just("quoted"), quoted_text),
        st.tuples(st.just("raw_quoted"), quoted_text.filter(lambda b: not b.endswith(b"\\"))),
    ),
    lambda children: st.tuples(st.just("list"), st.lists(children, max_size=5)),
    max_leaves=25,
)
dates = st.one_of(
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)).map(
        lambda moment: moment.strftime("%d-%b-%Y %H:%M:%S").encode()
    ).flatmap(lambda text: st.sampled_from([b" +0000", b" -0000", b" +0200", b" -0530", b" +1400", b" +0099"]).map(
        lambda zone: text + zone)),
    st.sampled_from([b" 7-May-2024 10:11:12 +0200", b"31-Feb-2024 10:11:12 +0200", b"07-MAY-2024 10:11:12 +0200",
                     b"07-May-2024 25:11:12 +0200", b"nonsense", b""]),
)  # fmt: skip
item = st.one_of(
    st.tuples(st.sampled_from([b"FLAGS", b"X-GM-LABELS", b"MODSEQ", b"EMAILID", b"PREVIEW", b"RFC822.SIZE"]), values),
    st.tuples(st.just(b"INTERNALDATE"), dates.map(lambda text: ("quoted", text))),
    st.tuples(st.just(b"BODYSTRUCTURE"), values.filter(lambda v: v[0] == "list" and v[1])),
    st.tuples(st.sampled_from([b"BODY[HEADER.FIELDS (SUBJECT FROM)]", b"BODY[1]<0>", b"BODY[]"]), st.just(None)),
)


@st.composite
def responses(draw: st.DrawFn) -> list[Any]:
    """imaplib's records of several FETCH responses: text ending in {n} plus the literal."""
    records: list[Any] = []
    for seq in range(1, draw(st.integers(1, 4)) + 1):
        pieces = [b"%d (UID %d" % (seq, draw(st.integers(1, 10**6)))]
        pending = b""
        for name, value in draw(st.lists(item, max_size=6)):
            if value is None:
                literal = draw(st.binary(max_size=40))
                records.append((pending + b" ".join([*pieces, name, b"{%d}" % len(literal)]), literal))
                pieces, pending = [], b""
            else:
                pieces += [name, _item_text(value)]
        records.append(pending + b" ".join(pieces) + b")")
    return records


def _outcome(parse: Any, data: list[Any]) -> Any:
    try:
        return ("ok", parse(data))
    except Exception as exc:
        return ("error", type(exc))


@settings(max_examples=400, deadline=None)
@given(responses())
def test_generated_responses_parse_identically(data: list[Any]) -> None:
    assert _outcome(fetch_parse, data) == _outcome(lambda d: parse_fetch_response(d, False, False), data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=60), st.tuples(st.binary(max_size=30), st.binary(max_size=10))),
                min_size=1, max_size=4))  # fmt: skip
def test_arbitrary_bytes_agree_or_fall_back(data: list[Any]) -> None:
    data = [b"1 (UID 1 " + item if isinstance(item, bytes) else (b"2 (UID 2 X " + item[0] + b" {%d}" % len(item[1]),
            item[1]) for item in data]  # fmt: skip
    assert _outcome(fetch_parse, data) == _outcome(lambda d: parse_fetch_response(d, False, False), data)


@given(dates)
def test_internaldate_is_imapclients(text: bytes) -> None:
    from imapclient.response_parser import _convert_INTERNALDATE

    ours, theirs = internaldate_parse(text), _convert_INTERNALDATE(text, False)
    assert ours == theirs
    if ours is not None and theirs is not None:
        assert ours.utcoffset() == theirs.utcoffset() and ours.tzinfo is not None and theirs.tzinfo is not None


@pytest.mark.parametrize("data", [[None], [b"1 (UID 1 FLAGS ()"], [b"1 (UID 1) )"], [b"x (UID 1)"]])
def test_odd_inputs_behave_as_imapclient(data: list[Any]) -> None:
    assert _outcome(fetch_parse, data) == _outcome(lambda d: parse_fetch_response(d, False, False), data)
