"""The pure parts of sync: header fields, keywords, BODYSTRUCTURE, previews.
Property tests make sure no input makes them raise."""
from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from backends.imap import message_parse as mp
from backends.imap.sync_commands import sequence_set_format, sequence_set_parse


def test_headers_are_decoded() -> None:
    parsed = mp.headers_parse(
        b"From: =?iso-8859-1?q?Andr=E9?= <andre@example.test>\r\n"
        b"To: a@example.test, \"B, Bee\" <b@example.test>\r\n"
        b"Subject: =?utf-8?b?UmU6IEdyw7zDn2U=?=\r\n"
        b"Message-ID: <one@example.test>\r\nIn-Reply-To: <zero@example.test>\r\n"
        b"References: <minus@example.test>\r\n <zero@example.test>\r\n"
        b"Date: Tue, 2 Jan 2024 03:04:05 +0100\r\n\r\n"
    )
    assert parsed.from_addr == [{"name": "André", "email": "andre@example.test"}]
    assert parsed.to == [{"name": None, "email": "a@example.test"}, {"name": "B, Bee", "email": "b@example.test"}]
    assert parsed.subject == "Re: Grüße" and parsed.base_subject == "Grüße" and parsed.is_reply
    assert parsed.message_id == ["one@example.test"]
    assert parsed.in_reply_to == ["zero@example.test"]
    assert parsed.references == ["minus@example.test", "zero@example.test"]
    assert parsed.sent_at == dt.datetime(2024, 1, 2, 2, 4, 5, tzinfo=dt.UTC)
    assert parsed.cc is None and parsed.bcc is None
    assert mp.addresses_text(parsed.to) == "<a@example.test>, b, bee <b@example.test>"


def test_base_subject() -> None:
    assert mp.subject_base("Re: Fwd: RE: [list] Hello (fwd)") == "Hello"
    assert mp.subject_base("AW: Re[2]: Termin") == "Termin"
    assert mp.subject_base("Reminder") == "Reminder"
    assert not mp.subject_is_reply("Reminder")


def test_flags_to_keywords() -> None:
    flags = ["\\Seen", "\\Flagged", "\\Answered", "\\Draft", "\\Deleted", "\\Recent", "$Forwarded", "Work", "$Junk"]
    assert mp.flags_keywords(flags) == {
        "$seen": True, "$flagged": True, "$answered": True, "$draft": True, "$forwarded": True, "work": True,
        "$junk": True,
    }
    assert mp.flags_text((b"\\Seen", b"\\Recent")) == ["\\Seen"]
    assert mp.flags_deleted(["\\DELETED"]) and mp.flags_unread(["\\Flagged"])


TEXT = (b"text", b"plain", (b"charset", b"utf-8"), None, None, b"quoted-printable", 10, 1, None, None, None, None)
HTML = (b"text", b"html", (b"charset", b"utf-8"), None, None, b"base64", 10, 1, None, None, None, None)
PDF = (b"application", b"pdf", (b"name", b"x.pdf"), None, None, b"base64", 100, None,
       (b"attachment", (b"filename", b"x.pdf")), None, None)
INLINE_IMAGE = (b"image", b"png", None, b"<img>", None, b"base64", 100, None, (b"inline", None), None, None)
BARE_IMAGE = (b"image", b"png", None, b"<img>", None, b"base64", 100, None, None, None, None)


def test_attachments_from_bodystructure() -> None:
    assert not mp.bodystructure_has_attachment(TEXT)
    assert mp.bodystructure_has_attachment(([TEXT, PDF], b"mixed", None, None, None, None))
    assert not mp.bodystructure_has_attachment(([[HTML, INLINE_IMAGE], b"related"],))
    assert not mp.bodystructure_has_attachment(([([HTML, BARE_IMAGE], b"related", None, None, None, None)],
                                                b"mixed", None, None, None, None))
    assert mp.bodystructure_has_attachment(([TEXT, BARE_IMAGE], b"mixed", None, None, None, None))
    assert not mp.bodystructure_has_attachment(None)


def test_first_text_part_and_preview() -> None:
    structure = (
        [([TEXT, HTML], b"alternative", None, None, None, None), PDF], b"mixed", None, None, None, None,
    )
    part = mp.bodystructure_text_part(structure)
    assert part == mp.TextPart(section="1.1", subtype="plain", charset="utf-8", encoding="quoted-printable")
    assert mp.preview_from_part(b"Gr=C3=BC=C3=9Fe\r\n  an   alle=\r\n", part) == "Grüße an alle"
    html = mp.TextPart(section="1", subtype="html", charset="utf-8", encoding="")
    assert mp.preview_from_part(b"<style>p{}</style><p>Hi&amp;bye</p>", html) == "Hi&bye"
    assert mp.bodystructure_text_part(TEXT) == mp.TextPart(
        section="1", subtype="plain", charset="utf-8", encoding="quoted-printable"
    )
    assert len(mp.preview_value(b"word " * 200)) == 256


def test_sequence_sets() -> None:
    assert sequence_set_format([5, 1, 2, 3, 9]) == "1:3,5,9"
    assert sequence_set_parse("1:3,5,9:8") == [1, 2, 3, 5, 8, 9]


@given(st.binary(max_size=2000))
def test_header_parsing_never_raises(raw: bytes) -> None:
    parsed = mp.headers_parse(raw)
    assert isinstance(parsed.subject, str)


nested = st.recursive(
    st.one_of(st.none(), st.binary(max_size=8), st.integers()),
    lambda children: st.lists(children, max_size=6).map(tuple) | st.lists(children, max_size=4),
    max_leaves=30,
)


@given(nested)
def test_bodystructure_helpers_never_raise(structure: object) -> None:
    mp.bodystructure_has_attachment(structure)
    mp.bodystructure_text_part(structure)
    mp.preview_value(structure)


# -- the fast paths equal the email package -------------------------------------------
def _fields_slow(text: str) -> dict[str, str]:
    from email.parser import HeaderParser
    from email.policy import compat32

    fields: dict[str, str] = {}
    for name, value in HeaderParser(policy=compat32).parsestr(text, headersonly=True).items():
        fields.setdefault(name.strip().lower(), str(value)[: mp.HEADER_VALUE_MAX])
    return fields


_field_names = st.sampled_from(["Subject", "From", "to", "CC", "Message-ID", "X-A", "From ", "", " Subject", "Bad Name",
                                "Reply-To", "date"])  # fmt: skip
_field_values = st.text(alphabet=st.sampled_from(list("ab <>@.,:;\"\\()=?é\t \x00\x0b\x85\u2028")), max_size=20)
_header_lines = st.lists(
    st.one_of(
        st.tuples(_field_names, _field_values).map(lambda nv: f"{nv[0]}:{nv[1]}"),
        _field_values.map(lambda value: " " + value),  # continuation
        _field_values.map(lambda value: "\t" + value),
        st.sampled_from(["", "From someone Tue", "no colon here", ":no name"]),
    ),
    max_size=8,
)


@given(_header_lines, st.sampled_from(["\r\n", "\n", "\r"]), st.booleans())
def test_header_fields_fast_path_equals_email_parser(lines: list[str], newline: str, final: bool) -> None:
    text = newline.join(lines) + (newline if final else "")
    fast = mp._fields_fast(text)
    if newline == "\r\n":
        assert fast is not None
    if fast is not None:
        assert fast == _fields_slow(text)


_local = st.text(alphabet=st.sampled_from(list("abz09._-+=é")), min_size=1, max_size=6)
_address_like = st.lists(
    st.one_of(
        st.tuples(_local, _local).map(lambda pair: f"{pair[0]}@{pair[1]}"),
        st.tuples(_local, _local, _local).map(lambda t: f"{t[0]} {t[1]} <{t[1]}@{t[2]}>"),
        st.tuples(st.text(alphabet=st.sampled_from(list("ab ,.'é<>@()\\:;")), max_size=8), _local).map(
            lambda pair: f'"{pair[0]}" <{pair[1]}@x.test>'
        ),
        st.tuples(_local, _local).map(lambda pair: f"<{pair[0]}@{pair[1]}>"),
        st.text(alphabet=st.sampled_from(list("ab @.<>\",;:()\\[]=?\r\n\t")), max_size=10),
    ),
    min_size=1,
    max_size=4,
).flatmap(lambda items: st.sampled_from([",", ", ", " ,\r\n ", ",,"]).map(lambda sep: sep.join(items)))


@given(_address_like)
def test_addresses_fast_path_equals_getaddresses(value: str) -> None:
    import email.utils

    fast = mp._addresses_fast(value)
    if fast is not None:
        assert fast == email.utils.getaddresses([value])


def test_addresses_fast_path_takes_the_usual_shapes() -> None:
    value = '"Dave O\'Brien" <dave@example.com>, Bob Chen <bob@example.org>,\r\n carol@example.net, <d@e.f>'
    assert mp._addresses_fast(value) == [
        ("Dave O'Brien", "dave@example.com"), ("Bob Chen", "bob@example.org"), ("", "carol@example.net"),
        ("", "d@e.f"),
    ]  # fmt: skip
    assert mp._addresses_fast("Group: a@b;") is None and mp._addresses_fast("=?utf-8?q?x?= <a@b>") is None


@given(st.one_of(
    st.datetimes(min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9999, 1, 1)).flatmap(
        lambda moment: st.sampled_from(["+0000", "-0000", "+0200", "-0530", "+9999", "-0099"]).map(
            lambda zone: moment.strftime("%a, %d %b %Y %H:%M:%S ") + zone)),
    st.sampled_from(["Thu, 31 Feb 2020 23:26:49 +0000", "1 Jan 2020 00:00:00 +0100", "Thu, 31 Dec 0099 23:26:49 +0000",
                     "Thu, 31 Dec 2020 24:26:49 +0000", "Thu, 31 Dec 2020 23:26 +0000", "31 dec 2020 23:26:49 +0000"]),
))  # fmt: skip
def test_date_fast_path_equals_email_utils(text: str) -> None:
    import email.utils

    fast = mp._date_fast(text)
    if fast is not None:
        slow = email.utils.parsedate_to_datetime(text)
        assert fast == slow and fast.utcoffset() == slow.utcoffset()


@given(st.text(max_size=30))
def test_unfold_fast_path_equals_the_regex(value: str) -> None:
    import re

    assert mp.unfold(value) == re.sub(r"\s+", " ", value.replace("\r", "").replace("\n", "")).strip()
