"""Names and descriptions that go into WebDAV XML bodies (address books,
calendars) refuse what XML 1.0 cannot carry, instead of making the server
answer 400 to malformed XML (jmapcore.datatypes.values.xml_text_check)."""
from __future__ import annotations

import pytest

from jmapcore.datatypes.values import InvalidValue, xml_text_check


@pytest.mark.parametrize("text", ["Work", "Kontakte \u2013 privé", "two\nlines\tand tab\r", "𝄞 music", ""])
def test_xml_text_passes(text: str) -> None:
    assert xml_text_check(text) == text


@pytest.mark.parametrize("text", ["a\x01b", "\x00", "bell\x07", "del\x7f", "x\ufffe", "\uffff", "esc\x1b[31m"])
def test_what_xml_cannot_carry_is_refused(text: str) -> None:
    with pytest.raises(InvalidValue, match="control characters"):
        xml_text_check(text)
