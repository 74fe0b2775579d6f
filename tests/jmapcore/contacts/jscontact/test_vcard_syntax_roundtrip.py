"""Property-based round trips of the vCard syntax layer (hypothesis).

A card made of hostile names, parameters and values (vcard_strategies.py) is
written and read back to the same fields without a problem; the text written
is valid RFC 6350 §3.2 (CRLF, ≤ 75 octets a line); re-writing what was read is
byte-identical; and arbitrary or mangled text never makes the reader raise.
"""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from jmapcore.contacts.jscontact.vcard_model import VCard
from jmapcore.contacts.jscontact.vcard_syntax import (
    value_components,
    value_components_join,
    value_escape,
    value_split,
    value_unescape,
    vcard_parse,
    vcard_serialize,
    vcards_parse,
)
from tests.jmapcore.contacts.jscontact.vcard_strategies import texts, vcards, without_raw


@settings(max_examples=300, deadline=None)
@given(vcards())
def test_written_card_reads_back_to_the_same_fields(card: VCard) -> None:
    text = vcard_serialize(card)
    again = vcard_parse(text)
    assert again.problems == []
    assert without_raw(again) == without_raw(card)


@settings(max_examples=200, deadline=None)
@given(vcards())
def test_written_text_is_crlf_and_folded_at_75_octets(card: VCard) -> None:
    text = vcard_serialize(card)
    assert text.startswith("BEGIN:VCARD\r\n") and text.endswith("\r\nEND:VCARD\r\n")
    lines = text.split("\r\n")
    assert all("\n" not in line and "\r" not in line for line in lines)
    assert max(len(line.encode("utf-8")) for line in lines) <= 75


@settings(max_examples=200, deadline=None)
@given(vcards())
def test_rewriting_an_untouched_card_is_byte_identical(card: VCard) -> None:
    text = vcard_serialize(card)
    read = vcard_parse(text)
    assert all(prop.raw is not None for prop in read.properties)
    assert vcard_serialize(read) == text


@settings(max_examples=100, deadline=None)
@given(st.lists(vcards(max_properties=4), min_size=1, max_size=4))
def test_several_cards_in_one_text(cards: list[VCard]) -> None:
    text = "".join(vcard_serialize(card) for card in cards)
    read = vcards_parse(text)
    assert [without_raw(card) for card in read] == [without_raw(card) for card in cards]


@st.composite
def _mangled(draw: st.DrawFn) -> str:
    """A written card with junk spliced in, line ends changed, or cut short."""
    text = vcard_serialize(draw(vcards(max_properties=5)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        how = draw(st.sampled_from(["junk", "cut", "lf", "cr", "drop"]))
        if how == "junk":
            text = text[:at] + draw(st.text(st.sampled_from('\r\n :;="\\^BEGINVCARD\x00é'), max_size=12)) + text[at:]
        elif how == "cut":
            text = text[:at]
        elif how == "lf":
            text = text.replace("\r\n", "\n", 1)
        elif how == "cr":
            text = text.replace("\r\n", "\r", 2)
        else:
            text = text[:at] + text[at + 1:]
    return text


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=300), _mangled()))
def test_any_text_reads_without_raising_and_writes_again(text: str) -> None:
    cards = vcards_parse(text)
    card = vcard_parse(text)
    assert (card.properties == []) == (not cards or cards[0].properties == [])
    rewritten = "".join(vcard_serialize(one) for one in cards)
    assert len(vcards_parse(rewritten)) == len(cards)


@settings(max_examples=300, deadline=None)
@given(texts.map(lambda text: text.replace("\r", "")), st.booleans())
def test_value_escape_round_trips(text: str, structured: bool) -> None:
    escaped = value_escape(text, structured=structured)
    assert "\n" not in escaped
    assert value_unescape(escaped) == text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(texts.map(lambda text: text.replace("\r", "")), min_size=1, max_size=3), min_size=1,
                max_size=7))
def test_value_components_round_trip(components: list[list[str]]) -> None:
    assert value_components(value_components_join(components)) == components


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("ab\\;,"), max_size=40), st.sampled_from([";", ","]))
def test_value_split_pieces_join_back(raw: str, sep: str) -> None:
    pieces = value_split(raw, sep)
    assert sep.join(pieces) == raw
    # No piece ends in an unescaped backslash before the separator it was cut at.
    for piece in pieces[:-1]:
        trailing = len(piece) - len(piece.rstrip("\\"))
        assert trailing % 2 == 0
