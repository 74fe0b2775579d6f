"""Any JSON as ContactCard/get and /query arguments gets a response or a JMAP
method error, never a server failure (DESIGN.md "Testing": bad input of any
kind gets a JMAP error)."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jmapcore.contacts.contact_card_query import CONTACT_CARD_FILTERS, CONTACT_CARD_SORTS
from tests.jmapcore.contacts.methods.address_book_people import ContactsPerson
from tests.jmapcore.contacts.methods.contact_card_people import card_row, vcard
from tests.personas import Persona

ANSWERS = {"invalidArguments", "unsupportedFilter", "unsupportedSort", "anchorNotFound", "requestTooLarge"}

_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20), st.sampled_from(["2024-01-01T00:00:00Z", "%", "_", "\\", "urn:uuid:ada", "\n"]),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)
_CONDITIONS = st.dictionaries(st.sampled_from([*CONTACT_CARD_FILTERS, "bogus"]), _JSON, max_size=3)
_FILTERS = st.recursive(
    st.one_of(_CONDITIONS, _JSON),
    lambda inner: st.fixed_dictionaries(
        {"operator": st.sampled_from(["AND", "OR", "NOT", "XOR", 1]), "conditions": st.lists(inner, max_size=3)}
    ),
    max_leaves=6,
)
_COMPARATOR = st.fixed_dictionaries(
    {"property": st.sampled_from([*CONTACT_CARD_SORTS, "emails", 3])},
    optional={"isAscending": _SCALARS, "collation": st.sampled_from(["i;unicode-casemap", "i;octet", 7]),
              "keyword": _SCALARS},
)
_QUERY_ARGS = st.fixed_dictionaries(
    {},
    optional={
        "filter": _FILTERS,
        "sort": st.one_of(st.lists(_COMPARATOR, max_size=3), _JSON),
        "position": _SCALARS,
        "anchor": _SCALARS,
        "anchorOffset": _SCALARS,
        "limit": _SCALARS,
        "calculateTotal": _SCALARS,
    },
)
_GET_ARGS = st.fixed_dictionaries(
    {}, optional={"ids": st.one_of(_JSON, st.lists(st.text(max_size=12), max_size=4)), "properties": _JSON}
)


@pytest.fixture
def alice_cards(alice: Persona) -> ContactsPerson:
    person = ContactsPerson.of(alice)
    book = person.book_row("Friends")
    card_row(person.account, book, vcard("FN:Ada Lovelace", "N:Lovelace;Ada;;;", "EMAIL:ada@example.org"))
    return person


def _answered(person: ContactsPerson, name: str, arguments: dict[str, Any]) -> None:
    response_name, result = person.call(name, **arguments)
    if response_name == "error":
        assert result["type"] in ANSWERS, result
    else:
        assert response_name == name and result["accountId"] == person.account_id


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arguments=_QUERY_ARGS)
def test_any_query_arguments(alice_cards: ContactsPerson, arguments: dict[str, Any]) -> None:
    _answered(alice_cards, "ContactCard/query", arguments)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arguments=_GET_ARGS)
def test_any_get_arguments(alice_cards: ContactsPerson, arguments: dict[str, Any]) -> None:
    _answered(alice_cards, "ContactCard/get", arguments)
