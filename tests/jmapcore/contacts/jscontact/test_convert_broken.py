"""Broken vCards give a card and problems, never an exception (issue 10 item 2)."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from jmapcore.contacts.jscontact import card_read, card_write


def test_missing_fn_bad_dates_and_junk_lines() -> None:
    text = ("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;Jane;;;\r\nthis line has no colon\r\nBDAY:1985-13-45\r\n"
            "EMAIL:jane@example.com\r\nREV:not-a-date\r\nEND:VCARD\r\n")
    reading = card_read(text)
    assert reading.version == "3.0"
    assert reading.card["emails"]["e1"]["address"] == "jane@example.com"
    components = reading.card["name"]["components"]
    assert {"kind": "given", "value": "Jane"} in components and {"kind": "surname", "value": "Doe"} in components
    assert any("BDAY" in problem for problem in reading.problems)
    assert any("REV" in problem for problem in reading.problems)
    assert len(reading.problems) >= 3
    # what was read can be written again, and the bad values are still there
    written = card_write(reading.card, previous_text=text, version="3.0")
    assert "BDAY:1985-13-45" in written and "REV:not-a-date" in written


def test_unterminated_and_empty_input() -> None:
    unterminated = card_read("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Half\r\nEMAIL:half@example.com")
    assert unterminated.card["emails"]["e1"]["address"] == "half@example.com"
    assert unterminated.problems
    empty = card_read("")
    assert empty.card == {"@type": "Card", "version": "1.0"} and empty.problems


def test_unknown_encoding_and_charset() -> None:
    reading = card_read("BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=klingon;ENCODING=QUOTED-PRINTABLE:M=FCller;Hans\r\n"
                        "NOTE;ENCODING=x-rot13:uryyb\r\nEND:VCARD\r\n")
    assert reading.card["name"]["components"][1]["kind"] == "surname"
    assert reading.problems


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("BEGIN:VCARD\r\n;,=\\\"ENDFNTELitem.1XAB-:é\t ")), max_size=300))
def test_no_input_makes_card_read_raise(junk: str) -> None:
    reading = card_read("BEGIN:VCARD\r\nVERSION:4.0\r\n" + junk + "\r\nEND:VCARD\r\n")
    assert reading.card["@type"] == "Card"
    # and whatever was read can be written back
    card_write(reading.card, previous_text=None, version="4.0")
