"""AddressBook/set refuses what the DAV privileges do not allow (RFC 9610 §2:
myRights), before anything is sent to the server; what lives only in the cache
(sortOrder, isSubscribed) stays the user's own choice."""
from __future__ import annotations

from jmapcore.models.contacts import AddressBook
from tests.jmapcore.contacts.methods.address_book_people import ContactsPerson
from tests.personas import Persona


def test_a_read_only_book_cannot_be_renamed_or_destroyed(alice: Persona) -> None:
    # The CardDAV URL answers nothing: a refusal here never reached a server.
    person = ContactsPerson.of(alice)
    row = person.book_row("Company directory", privileges=["read"])
    before = person.state()
    result = person.ok(
        "AddressBook/set", update={row.jmap_id: {"name": "Mine now", "description": "x"}}
    )
    assert result["notUpdated"][row.jmap_id]["type"] == "forbidden"
    refused = person.ok("AddressBook/set", destroy=[row.jmap_id])
    assert refused["notDestroyed"][row.jmap_id]["type"] == "forbidden"
    assert refused["newState"] == before
    assert AddressBook.objects.get(pk=row.pk).name == "Company directory"


def test_sort_order_and_subscription_of_a_read_only_book_can_change(alice: Persona) -> None:
    person = ContactsPerson.of(alice)
    row = person.book_row("Company directory", privileges=["read"])
    result = person.ok("AddressBook/set", update={row.jmap_id: {"sortOrder": 9, "isSubscribed": False}})
    assert result["updated"] == {row.jmap_id: None}
    book = person.books()["Company directory"]
    assert (book["sortOrder"], book["isSubscribed"]) == (9, False)


def test_a_read_only_account_may_not_write_at_all(alice: Persona) -> None:
    person = ContactsPerson.of(alice)
    row = person.book_row("Work")
    alice.account.is_read_only = True
    alice.account.save(update_fields=["is_read_only"])
    error = person.error("AddressBook/set", update={row.jmap_id: {"sortOrder": 1}})
    assert error["type"] == "accountReadOnly"
    assert AddressBook.objects.get(pk=row.pk).sort_order == 0


def test_malformed_sets_get_clear_errors_and_change_nothing(alice: Persona) -> None:
    person = ContactsPerson.of(alice)
    row = person.book_row("Work")
    before = person.state()
    result = person.ok(
        "AddressBook/set",
        create={"text": "not an object"},
        update={row.jmap_id: ["not", "a", "patch"]},
    )
    assert result["notCreated"]["text"]["type"] == "invalidProperties"
    assert result["notUpdated"][row.jmap_id]["type"] == "invalidPatch"
    wrong_type = person.ok("AddressBook/set", update={row.jmap_id: {"name": 7, "sortOrder": "first"}})
    assert sorted(wrong_type["notUpdated"][row.jmap_id]["properties"]) == ["name", "sortOrder"]
    assert person.error("AddressBook/set", destroy="all of them")["type"] == "invalidArguments"
    assert person.state() == before
    assert AddressBook.objects.get(pk=row.pk).name == "Work"


def test_an_unreachable_carddav_server_is_a_set_error_not_a_half_write(alice: Persona) -> None:
    # Nothing listens at the persona's CardDAV URL (port 9): MKCOL cannot be sent.
    person = ContactsPerson.of(alice)
    person.book_row("Work")
    before = person.state()
    result = person.ok("AddressBook/set", create={"new": {"name": "Never made"}})
    failure = result["notCreated"]["new"]
    assert failure["type"] == "serverFail" and failure["description"]
    assert result["newState"] == before
    assert list(AddressBook.objects.filter(account=alice.account).values_list("name", flat=True)) == ["Work"]
