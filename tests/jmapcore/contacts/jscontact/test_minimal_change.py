"""card_write with previous_text changes only what the client changed (issue 10 item 2, RFC 9555)."""
from __future__ import annotations

import copy

from jmapcore.contacts.jscontact import card_read, card_write
from tests.jmapcore.contacts.jscontact.vcards import content_lines, vcard

ALICE_30 = vcard(
    "PRODID:-//Apple Inc.//iPhone OS 17.0//EN",
    "N:Liddell;Alice;;;",
    "FN:Alice Liddell",
    "ORG:Wonderland Ltd.;Rabbit Holes",
    "EMAIL;type=INTERNET;type=WORK;type=pref:alice@work.example",
    "item1.EMAIL;type=INTERNET:alice@home.example",
    "item1.X-ABLabel:_$!<Other>!$_",
    "TEL;type=CELL;type=VOICE;type=pref:+44 20 7946 0000",
    "item2.ADR;type=HOME:;;1 Rabbit Hole;Oxford;;OX1;UK",
    "item2.X-ABADR:gb",
    "X-SOCIALPROFILE;type=twitter;x-user=alice:https://twitter.com/alice",
    "NOTE:Curious\\, very curious",
    "X-FOO;X-BAR=baz:unknown\\;stuff",
    "UID:3f9a6c1e-alice",
    version="3.0",
)

BOB_40 = vcard(
    "UID:urn:uuid:bob-0001",
    "FN:Bob Builder",
    "N:Builder;Bob;;;",
    "EMAIL;TYPE=work;PREF=1;X-PARAM=keep:bob@work.example",
    "EMAIL;TYPE=home:bob@home.example",
    "TEL;VALUE=uri;TYPE=cell:tel:+1-555-0100",
    "X-UNKNOWN:stays",
)


def _changed(before: str, after: str) -> tuple[list[str], list[str]]:
    old, new = content_lines(before), content_lines(after)
    return [line for line in old if line not in new], [line for line in new if line not in old]


def test_unchanged_card_is_written_back_byte_for_byte() -> None:
    for text, version in ((ALICE_30, "3.0"), (BOB_40, "4.0")):
        reading = card_read(text)
        assert card_write(reading.card, previous_text=text, version=version) == text


def test_one_email_change_changes_one_line_in_a_3_0_card() -> None:
    card = copy.deepcopy(card_read(ALICE_30).card)
    card["emails"]["e2"]["address"] = "alice@rabbit.example"
    written = card_write(card, previous_text=ALICE_30, version="3.0")
    removed, added = _changed(ALICE_30, written)
    assert removed == ["item1.EMAIL;type=INTERNET:alice@home.example"]
    assert len(added) == 1 and added[0].endswith(":alice@rabbit.example") and added[0].startswith("item1.EMAIL")
    # the line kept its place, its group (and so its label) and its unknown TYPE
    assert content_lines(written).index(added[0]) == content_lines(ALICE_30).index(removed[0])
    assert "INTERNET" in added[0].upper()
    assert card_read(written).card["emails"]["e2"] == {**card["emails"]["e2"]}


def test_one_email_change_keeps_unknown_params_in_a_4_0_card() -> None:
    card = copy.deepcopy(card_read(BOB_40).card)
    card["emails"]["e1"]["address"] = "bob@site.example"
    written = card_write(card, previous_text=BOB_40, version="4.0")
    removed, added = _changed(BOB_40, written)
    assert removed == ["EMAIL;TYPE=work;PREF=1;X-PARAM=keep:bob@work.example"]
    assert added == ["EMAIL;TYPE=work;PREF=1;X-PARAM=keep:bob@site.example"]


def test_removing_an_entry_removes_its_lines_only() -> None:
    card = copy.deepcopy(card_read(ALICE_30).card)
    del card["emails"]["e2"]
    written = card_write(card, previous_text=ALICE_30, version="3.0")
    removed, added = _changed(ALICE_30, written)
    assert sorted(removed) == ["item1.EMAIL;type=INTERNET:alice@home.example", "item1.X-ABLabel:_$!<Other>!$_"]
    assert added == []


def test_adding_an_entry_appends_it_and_keeps_the_rest() -> None:
    card = copy.deepcopy(card_read(BOB_40).card)
    card["phones"]["work"] = {"number": "+1 555 0199", "contexts": {"work": True}}
    written = card_write(card, previous_text=BOB_40, version="4.0")
    removed, added = _changed(BOB_40, written)
    assert removed == []
    assert added == ["TEL;TYPE=work;PROP-ID=work:+1 555 0199"]
    assert card_read(written).card["phones"]["work"]["number"] == "+1 555 0199"


def test_a_removed_unknown_property_goes_and_the_other_stays() -> None:
    card = copy.deepcopy(card_read(ALICE_30).card)
    card["vCardProps"] = [entry for entry in card["vCardProps"] if entry[0] != "x-foo"]
    written = card_write(card, previous_text=ALICE_30, version="3.0")
    removed, added = _changed(ALICE_30, written)
    assert removed == ["X-FOO;X-BAR=baz:unknown\\;stuff"]
    assert added == []
    assert "item2.X-ABADR:gb" in content_lines(written)


def test_changing_the_full_name_rewrites_fn_and_keeps_n() -> None:
    card = copy.deepcopy(card_read(ALICE_30).card)
    card["name"]["full"] = "Alice P. Liddell"
    written = card_write(card, previous_text=ALICE_30, version="3.0")
    removed, added = _changed(ALICE_30, written)
    assert removed == ["FN:Alice Liddell"]
    assert added == ["FN:Alice P. Liddell"]


def test_a_3_0_card_is_written_as_3_0() -> None:
    card = copy.deepcopy(card_read(ALICE_30).card)
    card["emails"]["e1"]["pref"] = 1
    card["kind"] = "group"
    card["members"] = {"3f9a6c1e-bob": True}
    written = card_write(card, previous_text=ALICE_30, version="3.0")
    lines = content_lines(written)
    assert "VERSION:3.0" in lines
    assert "X-ADDRESSBOOKSERVER-KIND:group" in lines
    assert "X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:3f9a6c1e-bob" in lines
    assert not any(line.startswith(("KIND", "MEMBER")) or ";PREF=" in line for line in lines)
