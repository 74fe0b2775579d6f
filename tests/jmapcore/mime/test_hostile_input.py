"""Hostile and broken input never raises and always yields JSON-ready values
(DESIGN "Testing": property-based tests for the format converters)."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jmapcore.mime import header_form_parse, message_parse
from jmapcore.mime.headers import PARSED_VALUE_MAX
from jmapcore.mime.structure import MAX_DEPTH

from .samples import LIST_MANAGER, blob_id, crlf, everything

ATTACHED = crlf("""\
From: =?utf-8?B?QWxpY2U=?= <alice@example.com>
To: Friends: bob@example.org, =?iso-8859-1?q?Mall=F6ry?= <mallory@example.com>;
Subject: =?utf-8?q?Caf=C3=A9?= report
Date: Tue, 5 Jun 2018 10:17:01 +0200
List-Post: <mailto:list@example.org>
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Caf=E9 =
soon
--b1
Content-Type: application/octet-stream; name*=utf-8''r%C3%A9sum%C3%A9.bin
Content-Transfer-Encoding: base64

AAECAwQF
--b1--
""")

SEEDS = [LIST_MANAGER, ATTACHED]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    result = everything(message_parse(raw))
    assert result["size"] == len(raw)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 40), st.binary(max_size=12)),
                                        max_size=6))
def test_mutated_real_messages_never_raise(seed: bytes, edits: list[tuple[int, int, bytes]]) -> None:
    raw = bytearray(seed)
    for position, delete, insert in edits:
        at = position % (len(raw) + 1)
        raw[at : at + delete] = insert
    result = everything(message_parse(bytes(raw)))
    assert isinstance(result["preview"], str) and len(result["preview"]) <= 256


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["Raw", "Text", "Addresses", "GroupedAddresses", "MessageIds", "Date", "URLs"]),
       st.text(alphabet=st.characters(codec="utf-8"), max_size=200)
       | st.sampled_from(['"', "(", "<", "=?utf-8?B?=?=", "=?utf-7?Q?+2D3-?=", ":;,", "\\"]))
def test_header_forms_never_raise(form: str, value: str) -> None:
    parsed = header_form_parse(form, value)
    if form in ("Addresses", "GroupedAddresses"):
        assert isinstance(parsed, list)
    else:
        assert parsed is None or isinstance(parsed, str | list)


def test_deep_nesting_is_capped() -> None:
    depth = 500
    head = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(depth))
    raw = head + b"Content-Type: text/plain\r\n\r\ndeep\r\n"
    message = message_parse(raw)
    node = message.body_structure(blob_id, ["type", "subParts", "partId"])
    levels = 0
    while node["subParts"]:
        node = node["subParts"][0]
        levels += 1
    assert levels == MAX_DEPTH
    assert node["type"] == "application/octet-stream" and node["partId"] is not None
    everything(message)


def test_missing_boundary_and_missing_delimiters() -> None:
    no_param = message_parse(crlf("Content-Type: multipart/mixed\n\nhello there\n"))
    assert no_param.body_structure(blob_id, ["type", "partId"]) == {"type": "text/plain", "partId": "1"}
    assert no_param.preview == "hello there"
    never_found = message_parse(crlf("Content-Type: multipart/mixed; boundary=zz\n\nno delimiter at all\n"))
    assert never_found.body_structure(blob_id, ["type", "subParts"]) == {"type": "multipart/mixed", "subParts": []}
    unterminated = message_parse(crlf("Content-Type: multipart/mixed; boundary=zz\n\n--zz\n\ntruncated body"))
    assert unterminated.body_values(["1"])["1"]["value"] == "truncated body"


def test_huge_header_and_many_parts_are_parsed_whole_or_capped() -> None:
    # Their speed is checked by test_parsing_scales.py (sizes n and 16 n under a
    # hard timeout), not by a timed assertion here.
    huge = b"Subject: " + b"x " * 500_000 + b"\r\nTo: " + b"a@b, " * 20_000 + b"\r\n\r\nbody"
    parts = b"Content-Type: multipart/mixed; boundary=p\r\n\r\n" + b"--p\r\n\r\nx\r\n" * 20_000 + b"--p--\r\n"
    big = message_parse(huge)
    many = message_parse(parts)
    assert len(big.metadata()["to"]) == 20_000
    subject = big.metadata()["subject"]  # a parsed form: the first PARSED_VALUE_MAX characters of the field
    assert subject.startswith("x x ") and PARSED_VALUE_MAX - 2 <= len(subject) <= PARSED_VALUE_MAX
    assert len(many.text_body(blob_id)) == 4999  # capped at MAX_PARTS entities, the root included
    longer = b"To: " + b"a@b, " * 100_000 + b"\r\n\r\n"
    # Parsed forms read the first PARSED_VALUE_MAX characters (a leading blank, then "a@b, " repeated).
    assert len(message_parse(longer).metadata()["to"]) == -(-(PARSED_VALUE_MAX - 1) // len(b"a@b, "))
    assert len(message_parse(longer).header("To")) == len(b" " + b"a@b, " * 100_000)  # Raw is not


def test_eight_bit_headers_and_bad_encodings_are_json_ready() -> None:
    raw = (b"Subject: \xff\xfe =?utf-8?B?!!!?= =?unknown?Q?x?=\r\nFrom: \xe9l\xe8ve <e@x>\r\n"
           b"Content-Type: text/plain; charset=utf-7\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
           b"+2D3- =ZZ =\r\n")
    result = everything(message_parse(raw))
    assert result["metadata"]["from"][0]["email"] == "e@x"
    assert "\ufffd" in result["metadata"]["subject"]
