"""card_search_fields: the ContactCard query columns (RFC 9610 §3.3)."""
from __future__ import annotations

from datetime import UTC, datetime

from jmapcore.contacts.jscontact import card_read, card_search_fields
from tests.jmapcore.contacts.jscontact.vcards import vcard

EXPECTED_KEYS = {
    "uid", "kind", "created", "updated", "members", "search_text", "search_name", "search_name_given",
    "search_name_surname", "search_name_surname2", "search_nickname", "search_organization", "search_email",
    "search_phone", "search_online_service", "search_address", "search_note", "sort_name_given",
    "sort_name_surname", "sort_name_surname2"}


def test_columns_of_alice() -> None:
    card = card_read(vcard("UID:urn:uuid:alice", "FN:Alice Liddell", "N:Liddell;Alice;;;;Pleasance;",
                           "NICKNAME:Ally", "ORG:Wonderland;Holes", "EMAIL:Alice@Example.COM", "TEL:+44 1",
                           "IMPP:xmpp:alice@chat.example", "ADR:;;1 Hole;Oxford;;;UK", "NOTE:Straße",
                           "REV:20240101T000000Z")).card
    fields = card_search_fields(card)
    assert set(fields) == EXPECTED_KEYS
    assert fields["uid"] == "urn:uuid:alice" and fields["kind"] == "individual"
    assert fields["updated"] == datetime(2024, 1, 1, tzinfo=UTC) and fields["created"] is None
    assert fields["search_email"] == "alice@example.com"
    assert fields["search_name_given"] == "alice" and fields["search_name_surname"] == "liddell"
    assert fields["search_name_surname2"] == "pleasance"
    assert fields["search_nickname"] == "ally" and fields["search_organization"] == "wonderland\nholes"
    assert fields["search_address"] == "1 hole\noxford\nuk"
    assert fields["search_note"] == "strasse"    # casefolded, so "STRASSE" finds it
    assert fields["search_online_service"] == "xmpp:alice@chat.example"
    assert "ally" in fields["search_text"] and "alice@example.com" in fields["search_text"]
    assert fields["sort_name_surname"] == "liddell" and fields["members"] == ""


def test_sort_as_wins_and_sort_keys_are_bounded() -> None:
    card = card_read(vcard("FN:x", 'N;SORT-AS="Harten,Rene":van der Harten;Rene;;;')).card
    fields = card_search_fields(card)
    assert fields["sort_name_surname"] == "harten" and fields["sort_name_given"] == "rene"
    long = card_search_fields({"name": {"components": [{"kind": "given", "value": "A" * 1000}]}})
    assert long["sort_name_given"] == "a" * 255


def test_garbage_card_gives_empty_columns() -> None:
    fields = card_search_fields({"name": "oops", "emails": ["x"], "members": None, "updated": 5})
    assert set(fields) == EXPECTED_KEYS
    assert fields["search_text"] == "" and fields["updated"] is None and fields["kind"] == "individual"
