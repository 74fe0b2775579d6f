"""ContactCard/get (RFC 9610 §3.1) over cache rows written as sync writes them."""
from __future__ import annotations

import pytest

from tests.jmapcore.contacts.methods.address_book_people import ContactsPerson
from tests.jmapcore.contacts.methods.contact_card_people import card_row, card_row_destroy, vcard
from tests.personas import Persona

ADA = vcard(
    "FN:Ada Lovelace",
    "N:Lovelace;Ada;;;",
    "EMAIL;TYPE=work:ada@example.org",
    "NOTE:First programmer",
    uid="urn:uuid:ada",
)


@pytest.fixture
def alice_cards(alice: Persona) -> ContactsPerson:
    return ContactsPerson.of(alice)


def test_get_returns_the_card_with_id_and_its_book(alice_cards: ContactsPerson) -> None:
    book = alice_cards.book_row("Friends")
    row = card_row(alice_cards.account, book, ADA)
    result = alice_cards.ok("ContactCard/get", ids=[row.jmap_id])
    [card] = result["list"]
    assert card["id"] == row.jmap_id
    assert card["addressBookIds"] == {book.jmap_id: True}
    assert card["uid"] == "urn:uuid:ada"
    assert card["@type"] == "Card"
    assert card["name"]["full"] == "Ada Lovelace"  # FN, RFC 9555 §2.3.2
    assert [email["address"] for email in card["emails"].values()] == ["ada@example.org"]
    assert result["notFound"] == []
    assert result["state"] == alice_cards.ok("ContactCard/get", ids=[])["state"]


def test_properties_limit_the_top_level_properties(alice_cards: ContactsPerson) -> None:
    book = alice_cards.book_row("Friends")
    row = card_row(alice_cards.account, book, ADA)
    [card] = alice_cards.ok("ContactCard/get", ids=[row.jmap_id], properties=["emails", "uid"])["list"]
    assert set(card) == {"id", "emails", "uid"}
    [card] = alice_cards.ok("ContactCard/get", ids=[row.jmap_id], properties=["addressBookIds"])["list"]
    assert card == {"id": row.jmap_id, "addressBookIds": {book.jmap_id: True}}
    # A property the card does not have is left out, not null.
    [card] = alice_cards.ok("ContactCard/get", ids=[row.jmap_id], properties=["phones"])["list"]
    assert card == {"id": row.jmap_id}


def test_ids_null_lists_every_live_card(alice_cards: ContactsPerson) -> None:
    book = alice_cards.book_row("Friends")
    first = card_row(alice_cards.account, book, ADA)
    second = card_row(alice_cards.account, book, vcard("FN:Grace Hopper"))
    gone = card_row(alice_cards.account, book, vcard("FN:Gone"))
    card_row_destroy(gone)
    listed = {card["id"] for card in alice_cards.ok("ContactCard/get", ids=None)["list"]}
    assert listed == {first.jmap_id, second.jmap_id}


def test_unknown_destroyed_and_foreign_ids_are_not_found(alice: Persona, bob: Persona) -> None:
    alice_cards, bob_cards = ContactsPerson.of(alice), ContactsPerson.of(bob)
    bobs = card_row(bob_cards.account, bob_cards.book_row("Bob's"), ADA)
    book = alice_cards.book_row("Friends")
    gone = card_row(alice_cards.account, book, vcard("FN:Gone"))
    card_row_destroy(gone)
    result = alice_cards.ok("ContactCard/get", ids=[bobs.jmap_id, gone.jmap_id, "cnothere"])
    assert result["list"] == []
    assert result["notFound"] == [bobs.jmap_id, gone.jmap_id, "cnothere"]
    # Nor can alice name bob's account.
    assert alice_cards.error("ContactCard/get", accountId=bob.account_id, ids=None)["type"] == "accountNotFound"


@pytest.mark.parametrize(
    "arguments",
    [
        {"properties": ["notAProperty"]},
        {"properties": "emails"},
        {"properties": [1]},
        {"ids": "c1"},
        {"ids": [{"id": "c1"}]},
    ],
)
def test_bad_arguments_are_invalid_arguments(alice_cards: ContactsPerson, arguments: dict[str, object]) -> None:
    assert alice_cards.error("ContactCard/get", **{"ids": None, **arguments})["type"] == "invalidArguments"


def test_vendor_properties_may_be_asked_for(alice_cards: ContactsPerson) -> None:
    """RFC 9553 §1.3: vendor-specific property names have a colon; asking for one is fine."""
    book = alice_cards.book_row("Friends")
    row = card_row(alice_cards.account, book, ADA)
    [card] = alice_cards.ok("ContactCard/get", ids=[row.jmap_id], properties=["example.com:foo"])["list"]
    assert card == {"id": row.jmap_id}


def test_an_account_without_carddav_is_not_supported(alice: Persona) -> None:
    cards = ContactsPerson.of(alice)
    cards.account.carddav_url = ""
    cards.account.save(update_fields=["carddav_url"])
    assert cards.error("ContactCard/get", ids=None)["type"] == "accountNotSupportedByMethod"
    assert cards.error("ContactCard/query")["type"] == "accountNotSupportedByMethod"
