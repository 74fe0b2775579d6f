"""The corpus of real-world vCards (corpus/INDEX.md) through the conversion (issue 10 item 2):
vCard → JSContact → vCard without loss of meaning, and without a changed byte when nothing changed."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from jmapcore.contacts.jscontact import card_read, card_write
from jmapcore.contacts.jscontact.vcard_syntax import (
    value_components,
    value_split,
    value_unescape,
    vcard_parse,
    vcard_serialize,
)

CORPUS = Path(__file__).resolve().parent / "corpus"
WELL_FORMED = sorted(path.name for path in CORPUS.glob("*.vcf"))
BROKEN = sorted(path.name for path in (CORPUS / "broken").glob("*.vcf"))
# Values whose form the writer may change without changing their meaning (the JSContact
# comparison covers them): dates are written in the version's own date form.
# A JSPROP into the card is written afresh as part of the property it points into.
REFORMATTED = {"VERSION", "BDAY", "ANNIVERSARY", "DEATHDATE", "X-ABDATE", "REV", "CREATED", "JSPROP"}
# 3.0 has no RELATED: it is written as Apple's X-ABRELATEDNAMES when the target is a name.
RENAMED_IN_3_0 = {"RELATED": {"RELATED", "X-ABRELATEDNAMES"}}


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "replace")


def _without_groups(value: Any) -> Any:
    """The card without vCardParams.group: a rewritten labelled property may get a fresh group."""
    if isinstance(value, dict):
        cleaned = {key: _without_groups(item) for key, item in value.items()}
        if isinstance(cleaned.get("vCardParams"), dict):
            cleaned["vCardParams"].pop("group", None)
            if not cleaned["vCardParams"]:
                del cleaned["vCardParams"]
        return cleaned
    if isinstance(value, list):
        return [_without_groups(item) for item in value]
    return value


STRUCTURED = {"N", "ADR", "ORG", "GENDER"}
LISTS = {"NICKNAME", "CATEGORIES"}


def _atoms(text: str) -> dict[str, set[str]]:
    """Property name → every value piece (structured values and lists split, unescaped, stripped)."""
    found: dict[str, set[str]] = {}
    for prop in vcard_parse(text).properties:
        if prop.name in STRUCTURED:
            pieces = {piece for component in value_components(prop.value) for piece in component}
        elif prop.name in LISTS:
            pieces = {value_unescape(piece) for piece in value_split(prop.value, ",")}
        else:
            pieces = {value_unescape(prop.value)}
        pieces = {piece.replace("\\:", ":").strip() for piece in pieces}
        found.setdefault(prop.name, set()).update(piece for piece in pieces if piece)
    return found


def test_the_corpus_is_there() -> None:
    assert len(WELL_FORMED) >= 20 and len(BROKEN) >= 8


@pytest.mark.parametrize("name", WELL_FORMED)
def test_read_without_problems_and_kept_byte_for_byte(name: str) -> None:
    text = _text(CORPUS / name)
    reading = card_read(text)
    assert reading.problems == []
    assert reading.card["@type"] == "Card" and reading.card.get("name")
    written = card_write(reading.card, previous_text=text, version=reading.version)
    if vcard_parse(text).version == reading.version:
        # the same bytes the syntax layer writes for the untouched card
        assert written == vcard_serialize(vcard_parse(text))
    else:
        # 2.1 is read as 3.0 and written as 3.0 (a CardDAV server's 2.1 card becomes 3.0 on its first write)
        assert vcard_parse(written).version == "3.0"


@pytest.mark.parametrize("name", WELL_FORMED)
def test_written_afresh_without_loss_of_meaning(name: str) -> None:
    text = _text(CORPUS / name)
    reading = card_read(text)
    fresh = card_write(reading.card, previous_text=None, version=reading.version)
    again = card_read(fresh)
    assert again.problems == []
    assert _without_groups(again.card) == _without_groups(reading.card)
    if vcard_parse(text).version != reading.version:
        return    # 2.1 → 3.0 changes the form of many values; the JSContact comparison above covers it
    before, after = _atoms(text), _atoms(fresh)
    for prop_name, pieces in before.items():
        if prop_name in REFORMATTED:
            continue
        if prop_name == "KIND":
            pieces = pieces - {"individual"}    # the default kind goes unsaid when written afresh
        names = RENAMED_IN_3_0.get(prop_name, {prop_name}) if reading.version == "3.0" else {prop_name}
        present = set().union(*(after.get(candidate, set()) for candidate in names))
        assert pieces <= present, (prop_name, pieces - present)


@pytest.mark.parametrize("name", WELL_FORMED)
def test_one_changed_field_changes_one_line(name: str) -> None:
    text = _text(CORPUS / name)
    reading = card_read(text)
    if vcard_parse(text).version != reading.version:
        pytest.skip("a 2.1 card is rewritten as 3.0 as a whole on its first change")
    card = copy.deepcopy(reading.card)
    if card.get("emails"):
        card["emails"][next(iter(card["emails"]))]["address"] = "changed@example.com"
        expected = ":changed@example.com"
    else:
        card["name"]["full"] = "Changed Name"
        expected = "FN:Changed Name"
    written = card_write(card, previous_text=text, version=reading.version)
    old = vcard_serialize(vcard_parse(text)).replace("\r\n ", "").split("\r\n")
    new = written.replace("\r\n ", "").split("\r\n")
    assert len(old) == len(new)
    differing = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert len(differing) == 1 and differing[0][1].endswith(expected), differing


@pytest.mark.parametrize("name", BROKEN)
def test_broken_cards_give_a_card_and_problems(name: str) -> None:
    text = _text(CORPUS / "broken" / name)
    reading = card_read(text)
    assert reading.card["@type"] == "Card"
    assert reading.problems
    # what was read can be written back, and unchanged it stays as it was
    written = card_write(reading.card, previous_text=text, version=reading.version)
    assert card_read(written).card.keys() >= reading.card.keys() - {"vCardProps"}


def test_invalid_dates_are_reported_by_the_conversion() -> None:
    reading = card_read(_text(CORPUS / "broken" / "invalid_dates.vcf"))
    assert {problem.split()[0] for problem in reading.problems} >= {"BDAY", "ANNIVERSARY", "DEATHDATE"}
