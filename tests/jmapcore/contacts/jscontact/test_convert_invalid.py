"""card_write refuses a card of the wrong types with CardInvalid naming every bad property (RFC 9553)."""
from __future__ import annotations

import pytest

from jmapcore.contacts.jscontact import CardInvalid, card_write
from tests.jmapcore.contacts.jscontact.vcards import content_lines


def _invalid(card: object) -> list[str]:
    with pytest.raises(CardInvalid) as caught:
        card_write(card, previous_text=None, version="4.0")  # type: ignore[arg-type]
    return caught.value.properties


def test_every_bad_property_is_named() -> None:
    card = {
        "@type": "Card", "version": "1.0", "uid": 7, "kind": "robot",
        "name": {"full": ["not", "text"], "components": [{"kind": "given"}]},
        "emails": {"e1": {"address": 3}, "bad id!": {"address": "a@example.com"}, "e3": {"contexts": "work"}},
        "phones": {"p1": {"number": "1", "pref": 0, "features": {"mobile": "yes"}}},
        "anniversaries": {"d1": {"kind": "birth", "date": {"month": 13, "day": 1}}},
        "media": {"m1": {"kind": "photo"}},
        "keywords": {"a": False},
        "members": {"x": 1},
        "updated": "yesterday",
        "vCardProps": [["x-a", {}, "unknown"]],
    }
    assert sorted(_invalid(card)) == sorted([
        "uid", "kind", "name/full", "name/components/0/value", "emails/e1/address", "emails/bad id!",
        "emails/e3/address", "emails/e3/contexts", "phones/p1/pref", "phones/p1/features",
        "anniversaries/d1/date/month", "media/m1/uri", "keywords", "members/x", "updated", "vCardProps/0"])


def test_line_breaks_cannot_inject_properties() -> None:
    card = {"name": {"full": "A"}, "emails": {"e1": {"address": "a@example.com\r\nX-EVIL:1"}},
            "links": {"l1": {"uri": "https://example.com\nX-EVIL:2"}},
            "vCardProps": [["x-a", {"x-b": "1\r\nX-EVIL:3"}, "unknown", "v\nX-EVIL:4"]]}
    lines = content_lines(card_write(card, previous_text=None, version="4.0"))
    assert not any(line.startswith("X-EVIL") for line in lines)
    assert len(lines) == 5    # VERSION, FN, EMAIL, URL, X-A
    odd = {"vCardProps": [["x a:b", {"bad name": "1"}, "unknown", "v"], ["end", {}, "unknown", "vcard"]]}
    assert content_lines(card_write(odd, previous_text=None, version="4.0")) == [
        "VERSION:4.0", "FN:", "X-A-B;BAD-NAME=1:v"]
    assert _invalid({"vCardProps": [["", {}, "unknown", "v"]]}) == ["vCardProps/0"]


def test_multiline_text_is_escaped_not_refused() -> None:
    card = {"name": {"full": "A"}, "notes": {"n1": {"note": "two\nlines; with, commas"}}}
    lines = content_lines(card_write(card, previous_text=None, version="4.0"))
    assert "NOTE:two\\nlines; with\\, commas" in lines


def test_not_a_card_and_wrong_type() -> None:
    assert _invalid(["a list"]) == [""]
    assert _invalid({"@type": "Group"}) == ["@type"]


def test_an_unsupported_version_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="version"):
        card_write({"name": {"full": "A"}}, previous_text=None, version="2.1")
