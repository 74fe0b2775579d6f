"""ContactCard/changes and /queryChanges (RFC 9610 §3.2, §3.4; RFC 8620 §5.2, §5.6)
as sync creates, rewrites and removes cache rows."""
from __future__ import annotations

import pytest

from tests.jmapcore.contacts.methods.address_book_people import ContactsPerson
from tests.jmapcore.contacts.methods.contact_card_people import card_row, card_row_destroy, card_row_replace, vcard
from tests.personas import Persona


@pytest.fixture
def alice_cards(alice: Persona) -> ContactsPerson:
    return ContactsPerson.of(alice)


def test_changes_report_creations_updates_and_destructions(alice_cards: ContactsPerson) -> None:
    book = alice_cards.book_row("Friends")
    kept = card_row(alice_cards.account, book, vcard("FN:Kept"))
    changed = card_row(alice_cards.account, book, vcard("FN:Before", uid="urn:uuid:changed"))
    doomed = card_row(alice_cards.account, book, vcard("FN:Doomed"))
    since = alice_cards.ok("ContactCard/get", ids=[])["state"]

    new = card_row(alice_cards.account, book, vcard("FN:New"))
    card_row_replace(changed, vcard("FN:After", uid="urn:uuid:changed"))
    card_row_destroy(doomed)
    short_lived = card_row(alice_cards.account, book, vcard("FN:Short-lived"))
    card_row_destroy(short_lived)

    result = alice_cards.ok("ContactCard/changes", sinceState=since)
    assert result["created"] == [new.jmap_id]
    assert result["updated"] == [changed.jmap_id]
    assert result["destroyed"] == [doomed.jmap_id]
    assert result["hasMoreChanges"] is False
    assert kept.jmap_id not in result["created"] + result["updated"] + result["destroyed"]
    assert result["newState"] == alice_cards.ok("ContactCard/get", ids=[])["state"]
    [card] = alice_cards.ok("ContactCard/get", ids=[changed.jmap_id])["list"]
    assert card["name"]["full"] == "After"


def test_changes_page_with_max_changes(alice_cards: ContactsPerson) -> None:
    book = alice_cards.book_row("Friends")
    since = alice_cards.ok("ContactCard/get", ids=[])["state"]
    made = [card_row(alice_cards.account, book, vcard(f"FN:Card {n}")).jmap_id for n in range(5)]
    seen: list[str] = []
    state, more = since, True
    while more:
        page = alice_cards.ok("ContactCard/changes", sinceState=state, maxChanges=2)
        assert len(page["created"]) <= 2
        seen += page["created"]
        state, more = page["newState"], page["hasMoreChanges"]
    assert seen == made


@pytest.mark.parametrize("since", ["", "not-a-state", 5, None])
def test_bad_states(alice_cards: ContactsPerson, since: object) -> None:
    error = alice_cards.error("ContactCard/changes", sinceState=since)["type"]
    assert error in ("invalidArguments", "cannotCalculateChanges")


def test_query_changes_follow_a_filtered_sorted_query(alice_cards: ContactsPerson) -> None:
    book = alice_cards.book_row("Friends")
    other = alice_cards.book_row("Other")
    ada = card_row(alice_cards.account, book, vcard("FN:Ada", "N:Lovelace;Ada;;;", uid="urn:uuid:ada"))
    card_row(alice_cards.account, other, vcard("FN:Bob", "N:Builder;Bob;;;"))
    query = {"filter": {"inAddressBook": book.jmap_id}, "sort": [{"property": "name/given"}]}
    first = alice_cards.ok("ContactCard/query", **query)
    assert first["ids"] == [ada.jmap_id]

    carl = card_row(alice_cards.account, book, vcard("FN:Carl", "N:Sagan;Carl;;;"))
    aaron = card_row(alice_cards.account, book, vcard("FN:Aaron", "N:Swartz;Aaron;;;"))
    card_row_destroy(ada)
    changes = alice_cards.ok("ContactCard/queryChanges", sinceQueryState=first["queryState"], calculateTotal=True,
                             **query)
    assert ada.jmap_id in changes["removed"]
    assert changes["added"] == [{"id": aaron.jmap_id, "index": 0}, {"id": carl.jmap_id, "index": 1}]
    assert changes["total"] == 2
    assert changes["newQueryState"] == alice_cards.ok("ContactCard/query", **query)["queryState"]


def test_query_changes_with_too_few_max_changes(alice_cards: ContactsPerson) -> None:
    book = alice_cards.book_row("Friends")
    start = alice_cards.ok("ContactCard/query")["queryState"]
    for n in range(3):
        card_row(alice_cards.account, book, vcard(f"FN:Card {n}"))
    error = alice_cards.error("ContactCard/queryChanges", sinceQueryState=start, maxChanges=1)
    assert error["type"] == "tooManyChanges"
