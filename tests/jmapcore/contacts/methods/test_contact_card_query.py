"""ContactCard/query (RFC 9610 §3.3): every FilterCondition of §3.3.1 and the
sorts of §3.3.2, over cache rows read from vCards by the real converter."""
from __future__ import annotations

from typing import Any

import pytest

from jmapcore.models.contacts import AddressBook, ContactCard
from tests.jmapcore.contacts.methods.address_book_people import ContactsPerson
from tests.jmapcore.contacts.methods.contact_card_people import card_row, vcard
from tests.personas import Persona

ADA = vcard(
    "FN:Ada Lovelace",
    "N:Lovelace;Ada;;;",
    "NICKNAME:Enchantress",
    "ORG:Analytical Engines Ltd",
    "EMAIL:ada@example.org",
    "TEL;VALUE=uri:tel:+44-20-7946-0001",
    "IMPP:xmpp:ada@jabber.example",
    "ADR:;;12 St James's Square;London;;SW1Y 4JH;United Kingdom",
    "NOTE:Wrote the first program",
    "CREATED:20200101T000000Z",
    "REV:20240301T120000Z",
    uid="urn:uuid:ada",
)
GRACE = vcard(
    "FN:Grace Hopper",
    "N:Hopper;Grace;;;",
    "NICKNAME:Amazing Grace",
    "ORG:US Navy",
    "EMAIL:grace@navy.example",
    "TEL;VALUE=uri:tel:+1-555-0100",
    "ADR:;;1 Main St;Arlington;VA;22201;USA",
    "NOTE:Found a moth_100%",
    "CREATED:20210101T000000Z",
    "REV:20230101T000000Z",
    uid="urn:uuid:grace",
)
ZOLTAN = vcard(
    "FN:Zoltán Ábel",
    "N:Ábel;Zoltán;;;",
    "EMAIL:ZOLTAN@Example.NET",
    "REV:20220101T000000Z",
    uid="urn:uuid:zoltan",
)
PIONEERS = vcard(
    "KIND:group",
    "FN:Pioneers",
    "MEMBER:urn:uuid:ada",
    "MEMBER:urn:uuid:grace",
    uid="urn:uuid:pioneers",
)


class Cards:
    def __init__(self, person: ContactsPerson) -> None:
        self.person = person
        self.friends: AddressBook = person.book_row("Friends")
        self.work: AddressBook = person.book_row("Work")
        self.ada: ContactCard = card_row(person.account, self.friends, ADA)
        self.grace: ContactCard = card_row(person.account, self.work, GRACE)
        self.zoltan: ContactCard = card_row(person.account, self.friends, ZOLTAN)
        self.pioneers: ContactCard = card_row(person.account, self.friends, PIONEERS)

    def ids(self, filter: Any = None, sort: Any = None, **extra: Any) -> list[str]:
        return list(self.person.ok("ContactCard/query", filter=filter, sort=sort, **extra)["ids"])

    def matching(self, **condition: Any) -> set[str]:
        return set(self.ids(condition))

    def name_of(self, jmap_id: str) -> str:
        return {
            self.ada.jmap_id: "ada",
            self.grace.jmap_id: "grace",
            self.zoltan.jmap_id: "zoltan",
            self.pioneers.jmap_id: "pioneers",
        }[jmap_id]

    def names(self, ids: list[str]) -> list[str]:
        return [self.name_of(i) for i in ids]

    def name_set(self, ids: set[str] | list[str]) -> set[str]:
        return {self.name_of(i) for i in ids}


@pytest.fixture
def cards(alice: Persona) -> Cards:
    return Cards(ContactsPerson.of(alice))


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"uid": "urn:uuid:grace"}, {"grace"}),
        ({"uid": "urn:uuid:GRACE"}, set()),  # exact, case-sensitive
        ({"uid": "urn:uuid:gra"}, set()),  # whole value, not a substring
        ({"hasMember": "urn:uuid:ada"}, {"pioneers"}),
        ({"hasMember": "urn:uuid:ad"}, set()),  # a whole member uid
        ({"kind": "group"}, {"pioneers"}),
        ({"text": "navy"}, {"grace"}),
        ({"text": "LOVELACE"}, {"ada"}),
        ({"name": "hopper"}, {"grace"}),
        ({"name/given": "grace"}, {"grace"}),
        ({"name/given": "hopper"}, set()),
        ({"name/surname": "lovel"}, {"ada"}),
        ({"name/surname": "ÁBEL"}, {"zoltan"}),  # case-insensitive beyond ASCII
        ({"nickname": "enchant"}, {"ada"}),
        ({"organization": "analytical"}, {"ada"}),
        ({"email": "zoltan@example.net"}, {"zoltan"}),
        ({"email": "@navy."}, {"grace"}),
        ({"phone": "555"}, {"grace"}),
        ({"onlineService": "jabber"}, {"ada"}),
        ({"address": "arlington"}, {"grace"}),
        ({"address": "london"}, {"ada"}),
        ({"note": "first program"}, {"ada"}),
        ({"createdAfter": "2020-06-01T00:00:00Z"}, {"grace"}),
        ({"createdBefore": "2020-06-01T00:00:00Z"}, {"ada"}),
        ({"createdAfter": "2021-01-01T00:00:00Z"}, {"grace"}),  # "after" includes the instant
        ({"updatedBefore": "2023-06-01T00:00:00Z"}, {"grace", "zoltan"}),
        ({"updatedAfter": "2024-03-01T12:00:00Z"}, {"ada"}),
    ],
)
def test_each_filter_condition(cards: Cards, condition: dict[str, Any], expected: set[str]) -> None:
    assert cards.name_set(cards.matching(**condition)) == expected


def test_in_address_book(cards: Cards) -> None:
    assert cards.name_set(cards.matching(inAddressBook=cards.work.jmap_id)) == {"grace"}
    assert cards.name_set(cards.matching(inAddressBook=cards.friends.jmap_id)) == {"ada", "zoltan", "pioneers"}
    assert cards.matching(inAddressBook="anothere") == set()


def test_like_wildcards_in_the_text_match_themselves(cards: Cards) -> None:
    assert cards.name_set(cards.matching(note="moth_100%")) == {"grace"}
    assert cards.matching(note="moth%") == set()
    assert cards.matching(note="first_program") == set()
    assert cards.matching(text="%") == {cards.grace.jmap_id}


def test_operators_combine_conditions(cards: Cards) -> None:
    either = {"operator": "OR", "conditions": [{"name/given": "ada"}, {"name/given": "grace"}]}
    assert cards.name_set(set(cards.ids(either))) == {"ada", "grace"}
    neither = {"operator": "NOT", "conditions": [either]}
    assert cards.name_set(set(cards.ids(neither))) == {"zoltan", "pioneers"}
    both = {"operator": "AND", "conditions": [{"kind": "individual"}, {"email": "example"}]}
    assert cards.name_set(set(cards.ids(both))) >= {"ada", "zoltan"}


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ([{"property": "name/given"}], ["ada", "grace", "zoltan"]),
        ([{"property": "name/given", "isAscending": False}], ["zoltan", "grace", "ada"]),
        ([{"property": "updated"}], ["zoltan", "grace", "ada"]),  # REV 2022, 2023, 2024
        ([{"property": "updated", "isAscending": False}], ["ada", "grace", "zoltan"]),
        ([{"property": "created"}], ["ada", "grace", "zoltan"]),  # no CREATED sorts last
    ],
)
def test_sorts(cards: Cards, sort: list[dict[str, Any]], expected: list[str]) -> None:
    individuals = {"kind": "individual"}
    assert cards.names(cards.ids(individuals, sort)) == expected


def test_sort_by_surname(cards: Cards) -> None:
    pair = {"operator": "OR", "conditions": [{"uid": "urn:uuid:ada"}, {"uid": "urn:uuid:grace"}]}
    assert cards.names(cards.ids(pair, [{"property": "name/surname"}])) == ["grace", "ada"]  # Hopper, Lovelace
    assert cards.names(cards.ids(pair, [{"property": "name/surname", "isAscending": False}])) == ["ada", "grace"]


def test_sort_by_surname2_and_window(cards: Cards) -> None:
    everything = cards.ids(None, [{"property": "name/surname2"}, {"property": "name/given"}], calculateTotal=True)
    assert len(everything) == 4
    result = cards.person.ok("ContactCard/query", sort=[{"property": "name/given"}], position=1, limit=2,
                             calculateTotal=True)
    assert result["total"] == 4 and result["position"] == 1 and len(result["ids"]) == 2
    anchored = cards.person.ok("ContactCard/query", sort=[{"property": "name/given"}], anchor=result["ids"][0],
                               anchorOffset=-1, limit=1)
    assert anchored["ids"] == cards.ids(None, [{"property": "name/given"}])[:1]


def test_foreign_cards_never_match(alice: Persona, bob: Persona) -> None:
    alice_cards, bob_person = Cards(ContactsPerson.of(alice)), ContactsPerson.of(bob)
    card_row(bob_person.account, bob_person.book_row("Bob's"), vcard("FN:Ada Bobs", "N:Bobs;Ada;;;"))
    assert alice_cards.name_set(alice_cards.matching(text="ada")) == {"ada"}
    bob_book = AddressBook.objects.get(account=bob_person.account)
    assert alice_cards.matching(inAddressBook=bob_book.jmap_id) == set()


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"filter": {"text": 5}}, "invalidArguments"),
        ({"filter": {"text": "x" * 5000}}, "invalidArguments"),
        ({"filter": {"createdAfter": "yesterday"}}, "invalidArguments"),
        ({"filter": {"createdAfter": "2024-01-01T00:00:00+02:00"}}, "invalidArguments"),
        ({"filter": {"inAddressBook": ["a1"]}}, "invalidArguments"),
        ({"filter": {"hasMember": "a\nb"}}, "invalidArguments"),
        ({"filter": {"hasMember": None}}, "invalidArguments"),
        ({"filter": {"uid": {"$ne": 1}}}, "invalidArguments"),
        ({"filter": {"shoeSize": "42"}}, "unsupportedFilter"),
        ({"filter": "text"}, "invalidArguments"),
        ({"filter": {"operator": "XOR", "conditions": []}}, "invalidArguments"),
        ({"sort": [{"property": "emails"}]}, "unsupportedSort"),
        ({"sort": [{"property": "created", "collation": "i;unicode-casemap"}]}, "unsupportedSort"),
        ({"sort": [{"property": "name/given", "collation": "i;octet-bogus"}]}, "unsupportedSort"),
        ({"sort": {"property": "created"}}, "invalidArguments"),
        ({"limit": -1}, "invalidArguments"),
        ({"position": "1"}, "invalidArguments"),
        ({"anchor": "cnosuchcard"}, "anchorNotFound"),
    ],
)
def test_hostile_arguments_get_jmap_errors(cards: Cards, arguments: dict[str, Any], error: str) -> None:
    assert cards.person.error("ContactCard/query", **arguments)["type"] == error


def test_deep_and_wide_filters_are_refused(cards: Cards) -> None:
    deep: dict[str, Any] = {"text": "ada"}
    for _ in range(50):
        deep = {"operator": "NOT", "conditions": [deep]}
    assert cards.person.error("ContactCard/query", filter=deep)["type"] == "unsupportedFilter"
    wide = {"operator": "OR", "conditions": [{"text": f"t{i}"} for i in range(5000)]}
    assert cards.person.error("ContactCard/query", filter=wide)["type"] == "unsupportedFilter"
