"""ContactCard/set and /copy arguments refused before any CardDAV request
(RFC 8620 §5.3, §5.4): wrong types, foreign ids, read-only accounts. The
account's CardDAV URL has no server behind it, so a test that reached the
server would fail with serverFail instead of the error it expects."""
from __future__ import annotations

from typing import Any

import pytest

from jmapcore.limits import CORE_CAPABILITY, LIMITS
from tests.jmapcore.contacts.methods.address_book_people import ContactsPerson
from tests.jmapcore.contacts.methods.contact_card_people import card_row, vcard
from tests.personas import Persona


@pytest.fixture
def alice_cards(alice: Persona) -> ContactsPerson:
    return ContactsPerson.of(alice)


@pytest.mark.parametrize(
    "arguments",
    [
        {"create": []},
        {"create": {"bad id!": {}}},
        {"update": ["c1"]},
        {"destroy": "c1"},
        {"destroy": [1]},
        {"ifInState": 5},
    ],
)
def test_malformed_set_arguments(alice_cards: ContactsPerson, arguments: dict[str, Any]) -> None:
    assert alice_cards.error("ContactCard/set", **arguments)["type"] == "invalidArguments"


def test_too_many_objects(alice_cards: ContactsPerson) -> None:
    destroy = [f"c{n}" for n in range(LIMITS.maxObjectsInSet + 1)]
    assert alice_cards.error("ContactCard/set", destroy=destroy)["type"] == "requestTooLarge"


def test_state_mismatch(alice_cards: ContactsPerson) -> None:
    assert alice_cards.error("ContactCard/set", ifInState="nope", destroy=[])["type"] == "stateMismatch"


def test_foreign_cards_are_not_found(alice_cards: ContactsPerson, bob: Persona) -> None:
    bob_cards = ContactsPerson.of(bob)
    bobs = card_row(bob_cards.account, bob_cards.book_row("Bob's"), vcard("FN:Bob"))
    result = alice_cards.ok(
        "ContactCard/set", update={bobs.jmap_id: {"name/full": "Mallory"}}, destroy=[bobs.jmap_id]
    )
    assert result["notUpdated"][bobs.jmap_id]["type"] in ("notFound", "willDestroy")
    assert result["notDestroyed"][bobs.jmap_id]["type"] == "notFound"
    book = {bob_cards.book_row("Another").jmap_id: True}
    created = alice_cards.ok("ContactCard/set", create={"x": {"addressBookIds": book}})
    assert created["notCreated"]["x"]["properties"] == ["addressBookIds"]
    bobs.refresh_from_db()
    assert bobs.card["name"]["full"] == "Bob" and not bobs.destroyed


def test_read_only_account(alice_cards: ContactsPerson) -> None:
    alice_cards.account.is_read_only = True
    alice_cards.account.save(update_fields=["is_read_only"])
    assert alice_cards.error("ContactCard/set", destroy=[])["type"] == "accountReadOnly"


def test_an_account_without_carddav(alice_cards: ContactsPerson) -> None:
    alice_cards.account.carddav_url = ""
    alice_cards.account.save(update_fields=["carddav_url"])
    assert alice_cards.error("ContactCard/set", destroy=[])["type"] == "accountNotSupportedByMethod"
    assert alice_cards.error("ContactCard/changes", sinceState="x")["type"] == "accountNotSupportedByMethod"


def test_the_capability_must_be_in_using(alice_cards: ContactsPerson) -> None:
    [(name, result, _)] = alice_cards.request(
        ["ContactCard/get", {"accountId": alice_cards.account_id, "ids": None}, "0"], using=[CORE_CAPABILITY]
    )
    assert name == "error" and result["type"] == "unknownMethod"


def test_copy_arguments(alice_cards: ContactsPerson, mallory: Persona) -> None:
    assert alice_cards.error("ContactCard/copy", fromAccountId=5, create={})["type"] == "invalidArguments"
    assert alice_cards.error("ContactCard/copy", fromAccountId=mallory.account_id, create={})["type"] == (
        "accountNotFound"
    )
    assert alice_cards.error("ContactCard/copy", fromAccountId=alice_cards.account_id, create=[])["type"] == (
        "invalidArguments"
    )
