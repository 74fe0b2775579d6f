"""Addresses and Date forms (RFC 8621 §4.1.2.3, §4.1.2.6) return exactly what
was written, for long tokens: local parts and domains of hundreds of
characters with many dots and dashes, list bounces, display names of up to 60
words, and dates with long runs of blanks (tests/jmapcore/mime/strategies.py)."""
from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings

from jmapcore.mime import header_form_parse
from jmapcore.mime.dates import format_jmap_date

from .strategies import address_lists, dates


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(address_lists)
def test_addresses_form_returns_the_written_mailboxes(written: tuple[str, list[tuple[str | None, str]]]) -> None:
    value, mailboxes = written
    expected = [{"name": name, "email": address} for name, address in mailboxes]
    assert header_form_parse("Addresses", " " + value) == expected
    assert header_form_parse("GroupedAddresses", " " + value) == [{"name": None, "addresses": expected}]
    grouped = header_form_parse("GroupedAddresses", f" Team: {value};")
    assert grouped == [{"name": "Team", "addresses": expected}]


@settings(max_examples=150, deadline=None)
@given(dates)
def test_date_form_returns_the_written_moment(written: tuple[str, dt.datetime]) -> None:
    text, moment = written
    assert header_form_parse("Date", " " + text) == format_jmap_date(moment)
