"""The sync's header parsing shortcuts give exactly what the full parsers give
(backends.imap.message_parse): the common Date form read directly, and
address lists parsed once per distinct value."""
from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from backends.imap import message_parse as mp
from jmapcore.mime.dates import parse_rfc5322_datetime
from tests.hostile_mail import ADDRESS_SHAPES, DATE_SHAPES

DATES = [
    "Mon, 7 Dec 2026 00:43:30 +0100",
    "Mon, 07 Dec 2026 00:43:30 -0000",
    "Tue,1 Jan 2024 10:00:00 +0000",
    "1 Jan 2024 10:00:00 -1130",
    "Wed, 29 Feb 2023 10:00:00 +0000",  # no such day
    "Wed, 31 Apr 2024 10:00:00 +0000",
    "Sat, 31 Dec 2022 23:59:60 +0000",  # a leap second is read as :59
    "Sat, 31 Dec 2022 24:00:00 +0000",
    "Sat, 31 Dec 2022 23:60:00 +0000",
    "Sat, 31 Dec 2022 23:00:00 +2400",
    "Sat, 31 Dec 2022 23:00:00 +0060",
    "Sat, 31 Dec 2022 23:00:00 +9999",
    "Sat, 31 Xyz 2022 23:00:00 +0000",
    "Sat, 31 dec 2022 23:00:00 +0000",
    "  Sat, 31 Dec 2022 23:00:00 +0000  \r\n",
    "Sat, 31 Dec 0001 00:00:00 +0100",  # before year 1 in UTC
    "Fri, 31 Dec 9999 23:59:59 -2359",  # after 9999 in UTC
    "Sat, 31 Dec 2022 23:00:00 +0000 (UTC)",
    "Sat, 31 Dec 2022 23:00 +0000",
    "Sat, 31 Dec 22 23:00:00 +0000",
    "Sat, 31 Dec 2022 23:00:00 GMT",
    "Sat, 31 Dec 2022 23:00:00",
    "Sat, 31 Dec 2022 ٢٣:00:00 +0000",  # Arabic-Indic digits are not RFC 5322 digits
    "",
    "not a date",
]


def test_the_common_date_form_reads_as_the_full_parser_reads_it() -> None:
    for value in [*DATES, *(shape(50) for shape in DATE_SHAPES.values())]:
        assert mp.date_parse(value) == _full(value), value
        fast = mp._date_plain(value)
        if fast is not None:  # the same moment and the same offset as the full parser's
            full = parse_rfc5322_datetime(value)
            assert full is not None and (fast, fast.utcoffset()) == (full, full.utcoffset()), value


def _full(value: str) -> dt.datetime | None:
    """What date_parse gave before the shortcut: the full parser, then the range check."""
    if not value:
        return None
    parsed = parse_rfc5322_datetime(value)
    if parsed is None:
        return None
    try:
        parsed.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        return None
    return parsed


@settings(max_examples=400, deadline=None)
@given(
    weekday=st.sampled_from(["", "Mon, ", "Sun,", "Xy, ", "mon, "]),
    day=st.integers(min_value=0, max_value=39),
    month=st.sampled_from(["Jan", "Feb", "Dec", "dec", "Foo", "Sept"]),
    year=st.integers(min_value=0, max_value=9999),
    hour=st.integers(min_value=0, max_value=30),
    minute=st.integers(min_value=0, max_value=70),
    second=st.integers(min_value=0, max_value=70),
    sign=st.sampled_from("+-"),
    zone=st.integers(min_value=0, max_value=9999),
    pad=st.sampled_from(["", " ", "\r\n"]),
)
def test_generated_dates_read_alike(
    weekday: str, day: int, month: str, year: int, hour: int, minute: int, second: int, sign: str, zone: int,
    pad: str,
) -> None:
    value = f"{weekday}{day} {month} {year:04d} {hour:02d}:{minute:02d}:{second:02d} {sign}{zone:04d}{pad}"
    assert _with_offset(mp.date_parse(value)) == _with_offset(_full(value))


def _with_offset(moment: dt.datetime | None) -> tuple[dt.datetime | None, dt.timedelta | None]:
    return moment, moment.utcoffset() if moment is not None else None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789 :+-,MonDecJa\t\r\n(")), max_size=40))
def test_any_text_reads_alike(value: str) -> None:
    assert mp.date_parse(value) == _full(value)


def test_address_lists_parse_alike_with_and_without_the_memo() -> None:
    values = [
        *(shape(size) for shape in ADDRESS_SHAPES.values() for size in (1, 20, 400)),
        "Alice <alice@example.test>, =?utf-8?q?Ren=C3=A9?= <rene@example.test>",
        '"=?utf-8?q?J=C3=B6rg?=" <joerg@example.test>',
        "undisclosed-recipients:;",
        "a" * (mp.ADDRESS_MEMO_VALUE_MAX + 10) + "@example.test",
        "",
    ]
    for value in values:
        expected = [{"name": name, "email": email} for name, email in mp._addresses_pairs(value[:mp.HEADER_VALUE_MAX])]
        first, second = mp.addresses_parse(value), mp.addresses_parse(value)
        assert first == second == expected, value
        # Every call gets its own lists and dicts: changing one changes no other.
        if first:
            first[0]["name"] = "changed"
            first.append({"name": None, "email": "x@example.test"})
            assert mp.addresses_parse(value) == expected
    assert mp.addresses_parse(None) is None


def _preview_collapsed(text: str) -> str:
    """preview_clean without its shortcut: every run of white space collapsed."""
    return mp._WHITESPACE.sub(" ", text).strip()[: mp.PREVIEW_MAX]


PREVIEWS = [
    "Flight more may message over proxy ticket shipping after he only with be.",
    "  leading and trailing  ",
    "tab\there",
    "line\r\nbreak",
    "no\u00a0break\u2003em space\u2028line separator\x85next line\x1cfile separator",
    "x" * 300,
    ("word " * 80).strip(),
    "",
    " ",
]


def test_a_preview_cleans_as_the_full_collapse_cleans_it() -> None:
    for text in PREVIEWS:
        assert mp.preview_clean(text) == _preview_collapsed(text), repr(text)


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(" a\t\n\r\u00a0\u2003\u2028\x85\x1c\x0bé"), max_size=40))
def test_any_preview_cleans_as_the_full_collapse_cleans_it(text: str) -> None:
    assert mp.preview_clean(text) == _preview_collapsed(text)


HEADER_BLOCKS = [
    b"Message-ID: <a@example.test>\r\nDate: Fri, 16 May 2025 20:47:11 +0000\r\nFrom: Bob <bob@example.test>\r\n"
    b"To: \"Bench User\" <bench@example.test>\r\nSubject: On are the deploy\r\n\r\n",
    b"Subject: folded\r\n  over two lines\r\n\r\n",
    b"Subject: bare\nLF\r\n\r\n",
    b"From somebody Mon Jan 1\r\nSubject: mbox line first\r\n\r\n",
    b"Subject: \xe9t\xe9 raw 8-bit\r\n\r\n",
    b"Subject: nul\x00inside\r\n\r\n",
    b"Subject : blank before the colon\r\nX:\r\n:no name\r\n\r\n",
    b"Message-ID: <first@x>\r\nMessage-ID: <last@x>\r\nSubject: one\r\nSubject: two\r\n\r\n",
    b"Subject: carriage\rinside\r\r\n\r\n",
    b"Subject: ends with CR\r",
    b"Subject: no final line",
    b"Subject: body follows\r\n\r\nnot: a field\r\n",
    b"Subject: " + b"x" * (mp.HEADER_VALUE_MAX + 10) + b"\r\n\r\n",
    "Subject: ünïcödé ☃\r\nFröm: x\r\n\r\n".encode(),
    b"",
    b"\r\n",
]


def test_plain_header_blocks_read_as_the_full_reader_reads_them() -> None:
    read_plain = 0
    for raw in HEADER_BLOCKS:
        assert mp.header_fields(raw, last=mp._LAST_WINS) == mp._header_fields_full(raw, mp._LAST_WINS), raw
        read_plain += mp._header_fields_plain(raw, mp._LAST_WINS) is not None
    assert read_plain >= 5  # the shortcut is taken where it applies


_HEADER_PIECES = st.sampled_from([
    "Subject", "subject", "Message-ID", "From", "X-A", ":", ": ", " ", "\t", "\r\n", "\n", "\r", "value", "é",
    "<a@b>", "\x00", "\x7f", "\u2028", "From ", "a:b",
])  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(_HEADER_PIECES, max_size=25), st.sampled_from([b"", b"\xe9", b"\r\n\r\n"]))
def test_generated_header_blocks_read_alike(pieces: list[str], tail: bytes) -> None:
    raw = "".join(pieces).encode() + tail
    assert mp.header_fields(raw, last=mp._LAST_WINS) == mp._header_fields_full(raw, mp._LAST_WINS)
