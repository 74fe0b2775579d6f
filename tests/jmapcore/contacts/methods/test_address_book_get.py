"""AddressBook/get (RFC 9610 §2.1) over cache rows as sync writes them:
every property, myRights from the DAV privileges, exactly one default book,
and no way into someone else's account."""
from __future__ import annotations

from jmapcore.limits import CORE_CAPABILITY
from jmapcore.models.contacts import AddressBook
from tests.jmapcore.contacts.methods.address_book_people import ContactsPerson
from tests.personas import Persona

PROPERTIES = {"id", "name", "description", "sortOrder", "isDefault", "isSubscribed", "shareWith", "myRights"}


def test_every_property_with_its_default(alice: Persona) -> None:
    person = ContactsPerson.of(alice)
    row = person.book_row("Family", sort_order=3)
    [book] = person.ok("AddressBook/get", ids=None)["list"]
    assert set(book) == PROPERTIES
    assert book["id"] == row.jmap_id and book["id"].startswith("a")
    assert (book["name"], book["description"], book["sortOrder"]) == ("Family", None, 3)
    assert (book["isSubscribed"], book["shareWith"]) == (True, None)
    assert book["myRights"] == {"mayRead": True, "mayWrite": True, "mayShare": False, "mayDelete": True}


def test_rights_follow_the_dav_privileges(alice: Persona) -> None:
    person = ContactsPerson.of(alice)
    person.book_row("Shared read-only", privileges=["read", "read-current-user-privilege-set"])
    person.book_row("Everything", privileges=["all"])
    person.book_row("Cards only", privileges=["read", "write-content", "bind", "unbind", "parent:read"])
    books = person.books()
    assert books["Shared read-only"]["myRights"] == {
        "mayRead": True, "mayWrite": False, "mayShare": False, "mayDelete": False
    }
    assert books["Everything"]["myRights"] == {"mayRead": True, "mayWrite": True, "mayShare": False, "mayDelete": True}
    # The parent's privileges are known and lack unbind: the book cannot be removed.
    assert books["Cards only"]["myRights"] == {
        "mayRead": True, "mayWrite": True, "mayShare": False, "mayDelete": False
    }


def test_a_read_only_account_has_no_write_right(alice: Persona) -> None:
    person = ContactsPerson.of(alice)
    person.book_row("Work", privileges=["all"])
    alice.account.is_read_only = True
    alice.account.save(update_fields=["is_read_only"])
    rights = person.books()["Work"]["myRights"]
    assert rights == {"mayRead": True, "mayWrite": False, "mayShare": False, "mayDelete": False}


def test_exactly_one_default_the_first_by_sort_order_then_name(alice: Persona) -> None:
    person = ContactsPerson.of(alice)
    person.book_row("Zeta", sort_order=1)
    person.book_row("Beta", sort_order=2)
    person.book_row("Alpha", sort_order=2)
    books = person.books()
    assert [name for name, book in books.items() if book["isDefault"]] == ["Zeta"]


def test_two_defaults_from_the_cache_become_one(alice: Persona) -> None:
    person = ContactsPerson.of(alice)
    person.book_row("Second", sort_order=5, is_default=True)
    person.book_row("First", sort_order=1, is_default=True)
    books = person.books()
    assert [name for name, book in books.items() if book["isDefault"]] == ["First"]
    assert AddressBook.objects.filter(account=alice.account, is_default=True).count() == 1


def test_properties_and_ids_select_what_is_returned(alice: Persona) -> None:
    person = ContactsPerson.of(alice)
    wanted = person.book_row("Wanted")
    person.book_row("Other")
    result = person.ok("AddressBook/get", ids=[wanted.jmap_id, "anothing"], properties=["name"])
    assert result["list"] == [{"id": wanted.jmap_id, "name": "Wanted"}]
    assert result["notFound"] == ["anothing"]
    assert person.error("AddressBook/get", ids=None, properties=["colour"])["type"] == "invalidArguments"


def test_mallory_cannot_read_alices_books(alice: Persona, mallory: Persona) -> None:
    alices = ContactsPerson.of(alice)
    secret = alices.book_row("Secret")
    intruder = ContactsPerson.of(mallory)
    assert intruder.error("AddressBook/get", accountId=alice.account_id, ids=None)["type"] == "accountNotFound"
    own = intruder.ok("AddressBook/get", ids=[secret.jmap_id])
    assert (own["list"], own["notFound"]) == ([], [secret.jmap_id])


def test_an_account_without_carddav_is_not_supported(alice: Persona) -> None:
    person = ContactsPerson.of(alice)
    alice.account.carddav_url = ""
    alice.account.save(update_fields=["carddav_url"])
    assert person.error("AddressBook/get", ids=None)["type"] == "accountNotSupportedByMethod"


def test_the_capability_must_be_used(alice: Persona) -> None:
    person = ContactsPerson.of(alice)
    [(name, result, _)] = person.request(
        ["AddressBook/get", {"accountId": alice.account_id, "ids": None}, "c0"], using=[CORE_CAPABILITY]
    )
    assert (name, result["type"]) == ("error", "unknownMethod")
