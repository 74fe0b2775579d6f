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
