"""Groups in both forms (KIND:group + MEMBER; Apple X-ADDRESSBOOKSERVER-KIND/-MEMBER) and RELATED /
X-ABRELATEDNAMES (RFC 9555 §2.1, RFC 9553 §2.1.4, §2.1.6, §2.1.8)."""
from __future__ import annotations

from jmapcore.contacts.jscontact import card_read, card_search_fields, card_write
from tests.jmapcore.contacts.jscontact.vcards import content_lines, vcard


def test_4_0_group_with_members() -> None:
    card = card_read(vcard("KIND:group", "FN:Friends", "UID:urn:uuid:friends",
                           "MEMBER:urn:uuid:alice", "MEMBER:urn:uuid:bob")).card
    assert card["kind"] == "group" and card["uid"] == "urn:uuid:friends"
    assert card["members"] == {"urn:uuid:alice": True, "urn:uuid:bob": True}
    assert card_search_fields(card)["members"] == "\nurn:uuid:alice\nurn:uuid:bob\n"
    assert card_search_fields(card)["kind"] == "group"
    lines = content_lines(card_write(card, previous_text=None, version="4.0"))
    assert {"KIND:group", "MEMBER:urn:uuid:alice", "MEMBER:urn:uuid:bob"} <= set(lines)


def test_apple_group_members_are_bare_uids_and_written_back_with_urn_uuid() -> None:
    card = card_read(vcard("X-ADDRESSBOOKSERVER-KIND:group", "FN:Family", "N:Family;;;;", "UID:family-1",
                           "X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:alice-1",
                           "X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:bob-1", version="3.0")).card
    assert card["kind"] == "group"
    assert card["members"] == {"alice-1": True, "bob-1": True}
    lines = content_lines(card_write(card, previous_text=None, version="3.0"))
    assert "X-ADDRESSBOOKSERVER-KIND:group" in lines
    assert "X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:alice-1" in lines
    assert not any(line.startswith(("KIND:", "MEMBER:")) for line in lines)


def test_the_default_kind_is_not_written_into_a_3_0_card_but_kept_when_it_was_there() -> None:
    card = {"uid": "u1", "kind": "individual", "name": {"full": "Alice"}}
    assert not any("KIND" in line for line in content_lines(card_write(card, previous_text=None, version="3.0")))
    assert "KIND:individual" in content_lines(card_write(card, previous_text=None, version="4.0"))
    text = vcard("FN:Alice", "X-ADDRESSBOOKSERVER-KIND:individual", "UID:u1", version="3.0")
    reading = card_read(text)
    assert "kind" not in reading.card    # the default, as RFC 9553 has it
    assert card_write(reading.card, previous_text=text, version="3.0") == text


def test_a_member_removed_removes_one_line() -> None:
    text = vcard("X-ADDRESSBOOKSERVER-KIND:group", "FN:Family", "N:Family;;;;", "UID:family-1",
                 "X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:alice-1", "X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:bob-1",
                 version="3.0")
    card = card_read(text).card
    del card["members"]["alice-1"]
    written = card_write(card, previous_text=text, version="3.0")
    assert [line for line in content_lines(text) if line not in content_lines(written)] == [
        "X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:alice-1"]
    assert len(content_lines(written)) == len(content_lines(text)) - 1


def test_related_and_apple_related_names() -> None:
    card = card_read(vcard("FN:A", "RELATED;TYPE=friend,x-custom:urn:uuid:bob",
                           "RELATED;VALUE=text;TYPE=spouse:Carol")).card
    assert card["relatedTo"]["urn:uuid:bob"] == {"relation": {"friend": True}, "vCardParams": {"type": "x-custom"}}
    assert card["relatedTo"]["Carol"] == {"relation": {"spouse": True}}
    assert card_read(card_write(card, previous_text=None, version="4.0")).card["relatedTo"] == card["relatedTo"]
    apple = card_read(vcard("FN:A", "item1.X-ABRELATEDNAMES:Jane", "item1.X-ABLabel:_$!<Spouse>!$_",
                            "item2.X-ABRELATEDNAMES:Max", "item2.X-ABLabel:Godfather", version="3.0")).card
    assert apple["relatedTo"]["Jane"]["relation"] == {"spouse": True}
    assert apple["relatedTo"]["Max"]["relation"] == {} and apple["relatedTo"]["Max"]["label"] == "Godfather"
    assert "vCardProps" not in apple
    lines = content_lines(card_write(apple, previous_text=None, version="3.0"))
    assert {"item1.X-ABRELATEDNAMES:Jane", "item1.X-ABLabel:_$!<Spouse>!$_", "item2.X-ABRELATEDNAMES:Max",
            "item2.X-ABLabel:Godfather"} <= set(lines)
