"""Hypothesis round trips (issue 10 item 2): JSContact → vCard → JSContact gives the card back, and
vCard → JSContact → vCard keeps every line (byte for byte against the previous text, and in meaning
when written afresh), in 3.0 and in 4.0."""
from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jmapcore.contacts.jscontact import card_read, card_write
from jmapcore.contacts.jscontact.vcard_model import VCard
from jmapcore.contacts.jscontact.vcard_syntax import vcard_serialize
from tests.jmapcore.contacts.jscontact.jscontact_strategies import cards, known_vcards

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _without_groups(value: Any) -> Any:
    """A card without vCardParams.group: the writer picks a fresh Apple group for a labelled entry."""
    if isinstance(value, dict):
        cleaned = {key: _without_groups(item) for key, item in value.items()}
        params = cleaned.get("vCardParams")
        if isinstance(params, dict):
            params.pop("group", None)
            if not params:
                del cleaned["vCardParams"]
        return cleaned
    if isinstance(value, list):
        return [_without_groups(item) for item in value]
    return value


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_jscontact_to_vcard_and_back(version: str) -> None:
    @SETTINGS
    @given(cards(version))
    def check(card: dict[str, Any]) -> None:
        written = card_write(card, previous_text=None, version=version)
        reading = card_read(written)
        assert reading.version == version
        assert reading.problems == []
        assert _without_groups(reading.card) == _without_groups(card)
        # and the written text, given back as previous text, is kept as it is
        assert card_write(reading.card, previous_text=written, version=version) == written

    check()


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_vcard_to_jscontact_and_back(version: str) -> None:
    @SETTINGS
    @given(known_vcards(version))
    def check(vcard: VCard) -> None:
        text = vcard_serialize(vcard)
        reading = card_read(text)
        # minimal change: nothing changed, so every line comes back byte for byte
        assert card_write(reading.card, previous_text=text, version=version) == text
        # written afresh, the meaning is the same: reading it again gives the same card
        again = card_read(card_write(reading.card, previous_text=None, version=version))
        assert _without_groups(again.card) == _without_groups(reading.card)

    check()


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_one_changed_email_changes_one_line(version: str) -> None:
    @SETTINGS
    @given(cards(version).filter(lambda c: "emails" in c), st.data())
    def check(card: dict[str, Any], data: st.DataObject) -> None:
        before = card_write(card, previous_text=None, version=version)
        changed = copy.deepcopy(card_read(before).card)
        email_id = data.draw(st.sampled_from(sorted(changed["emails"])))
        changed["emails"][email_id]["address"] = "changed@example.com"
        after = card_write(changed, previous_text=before, version=version)
        old, new = before.replace("\r\n ", "").split("\r\n"), after.replace("\r\n ", "").split("\r\n")
        assert len(old) == len(new)
        differing = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
        if card["emails"][email_id]["address"] != "changed@example.com":
            assert len(differing) == 1 and differing[0][1].endswith(":changed@example.com")

    check()
