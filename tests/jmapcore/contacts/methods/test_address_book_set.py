"""AddressBook/set (RFC 9610 §2.3) against real CardDAV servers (Radicale and
Xandikos): each write is checked on the server with a plain WebDAV client, and
each refusal leaves server and cache as they were."""
from __future__ import annotations

import secrets
from typing import Any

import pytest

from jmapcore.models.contacts import AddressBook, ContactCard
from tests.jmapcore.contacts.methods.address_book_people import ContactsPerson


@pytest.fixture(params=["radicale", "xandikos"])
def dav_server(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(request.param)


@pytest.fixture
def alice(db: None, dav_server: Any) -> ContactsPerson:
    person = ContactsPerson.on(dav_server, persona="alice")
    person.sync()
    return person


def _row(person: ContactsPerson, book_id: str) -> AddressBook:
    return AddressBook.objects.get(account=person.account, jmap_id=book_id)


def test_create_makes_a_collection_and_reports_server_set_values(alice: ContactsPerson) -> None:
    before = alice.state()
    result = alice.ok(
        "AddressBook/set",
        create={"w": {"name": "Kollegen & Büro", "description": "from the office", "sortOrder": 7}},
    )
    created = result["created"]["w"]
    assert set(created) >= {"id", "isDefault", "myRights", "isSubscribed", "shareWith"}
    assert created["isDefault"] is False and created["shareWith"] is None
    assert created["myRights"]["mayWrite"] is True and created["myRights"]["mayShare"] is False
    assert (result["oldState"], result["newState"]) != (before, before)
    row = _row(alice, created["id"])
    assert alice.dav_names(row.dav_href) == ("Kollegen & Büro", "from the office")
    # The next sync finds the collection this proxy made: same book, same id, values kept.
    alice.sync()
    books = alice.books()
    assert books["Kollegen & Büro"]["id"] == created["id"]
    assert books["Kollegen & Büro"]["sortOrder"] == 7
    listed = alice.ok("AddressBook/get", ids=None)["list"]
    assert [book["name"] for book in listed].count("Kollegen & Büro") == 1


def test_rename_and_description_go_to_the_server(alice: ContactsPerson) -> None:
    book = alice.books()["Contacts"]
    result = alice.ok("AddressBook/set", update={book["id"]: {"name": "Private", "description": "Mine"}})
    assert book["id"] in result["updated"]
    href = _row(alice, book["id"]).dav_href
    assert alice.dav_names(href) == ("Private", "Mine")
    alice.sync()
    assert alice.books()["Private"]["description"] == "Mine"


def test_sort_order_and_subscription_live_in_the_cache(alice: ContactsPerson) -> None:
    book = alice.books()["Contacts"]
    alice.ok("AddressBook/set", update={book["id"]: {"sortOrder": 42, "isSubscribed": False}})
    alice.sync()
    again = alice.books()["Contacts"]
    assert (again["sortOrder"], again["isSubscribed"]) == (42, False)


def test_destroy_an_empty_book_removes_the_collection(alice: ContactsPerson) -> None:
    made = alice.ok("AddressBook/set", create={"x": {"name": "Short-lived"}})["created"]["x"]
    href = _row(alice, made["id"]).dav_href
    result = alice.ok("AddressBook/set", destroy=[made["id"]])
    assert result["destroyed"] == [made["id"]]
    assert alice.dav_names(href) is None
    assert "Short-lived" not in alice.books()


def test_a_book_with_cards_is_kept_without_on_destroy_remove_contents(alice: ContactsPerson) -> None:
    book = alice.books()["Contacts"]
    href = _row(alice, book["id"]).dav_href
    uid = f"urn:uuid:{secrets.token_hex(8)}"
    alice.dav_put_card(href, uid=uid, name="Carol Cousin")
    # Not synced yet: the proxy must look at the server before it deletes anything.
    result = alice.ok("AddressBook/set", destroy=[book["id"]])
    assert result["notDestroyed"][book["id"]]["type"] == "addressBookHasContents"
    assert alice.dav_names(href) is not None
    assert ContactCard.objects.filter(address_book__jmap_id=book["id"], uid=uid, destroyed=False).exists()

    removed = alice.ok("AddressBook/set", destroy=[book["id"]], onDestroyRemoveContents=True)
    assert removed["destroyed"] == [book["id"]]
    assert alice.dav_names(href) is None
    assert not ContactCard.objects.filter(address_book__jmap_id=book["id"], destroyed=False).exists()


def test_on_success_set_is_default_with_a_creation_reference(alice: ContactsPerson) -> None:
    old = alice.books()["Contacts"]
    assert old["isDefault"] is True
    result = alice.ok("AddressBook/set", create={"n": {"name": "New default"}}, onSuccessSetIsDefault="#n")
    new_id = result["created"]["n"]["id"]
    assert result["created"]["n"]["isDefault"] is True
    assert result["updated"][old["id"]] == {"isDefault": False}
    books = alice.books()
    assert [name for name, book in books.items() if book["isDefault"]] == ["New default"]
    assert books["New default"]["id"] == new_id


def test_on_success_set_is_default_waits_for_every_success(alice: ContactsPerson) -> None:
    book = alice.books()["Contacts"]
    made = alice.ok("AddressBook/set", create={"o": {"name": "Other"}})["created"]["o"]
    result = alice.ok(
        "AddressBook/set",
        update={made["id"]: {"name": ""}},
        onSuccessSetIsDefault=made["id"],
    )
    assert result["notUpdated"][made["id"]]["type"] == "invalidProperties"
    assert alice.books()["Contacts"]["isDefault"] is True
    # An id that names nothing is ignored without an error.
    quiet = alice.ok("AddressBook/set", onSuccessSetIsDefault="anothing")
    assert quiet["updated"] is None
    assert alice.books()["Contacts"]["id"] == book["id"] and alice.books()["Contacts"]["isDefault"] is True


def test_share_with_is_refused_no_dav_sharing(alice: ContactsPerson) -> None:
    book = alice.books()["Contacts"]
    rights = {"mayRead": True, "mayWrite": False, "mayShare": False, "mayDelete": False}
    updated = alice.ok("AddressBook/set", update={book["id"]: {"shareWith": {"bob": rights}}})
    assert updated["notUpdated"][book["id"]]["type"] == "forbidden"
    created = alice.ok("AddressBook/set", create={"s": {"name": "Shared", "shareWith": {"bob": rights}}})
    assert created["notCreated"]["s"]["type"] == "forbidden"
    assert "Shared" not in alice.books()
    wrong = alice.ok("AddressBook/set", update={book["id"]: {"shareWith": {"bob": True}}})
    assert wrong["notUpdated"][book["id"]]["type"] == "invalidProperties"
    assert alice.books()["Contacts"]["shareWith"] is None


@pytest.mark.parametrize(
    ("create", "bad"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": "tab\there"}, "name"),
        ({}, "name"),
        ({"name": "ok", "sortOrder": -1}, "sortOrder"),
        ({"name": "ok", "isDefault": True}, "isDefault"),
        ({"name": "ok", "myRights": {}}, "myRights"),
        ({"name": "ok", "colour": "red"}, "colour"),
        ({"name": "ok", "description": 5}, "description"),
    ],
)
def test_invalid_creates_name_the_property_and_make_nothing(
    alice: ContactsPerson, create: dict[str, Any], bad: str
) -> None:
    before = alice.books()
    result = alice.ok("AddressBook/set", create={"bad": create})
    error = result["notCreated"]["bad"]
    assert error["type"] == "invalidProperties" and bad in error["properties"]
    assert alice.books() == before


def test_bad_arguments_are_invalid_arguments(alice: ContactsPerson) -> None:
    book = alice.books()["Contacts"]
    for arguments in ({"onDestroyRemoveContents": "yes"}, {"onSuccessSetIsDefault": 12}):
        error = alice.error("AddressBook/set", destroy=[book["id"]], **arguments)
        assert error["type"] == "invalidArguments"
    assert alice.books()["Contacts"]["id"] == book["id"]


def test_a_book_removed_by_another_client_refuses_a_rename(alice: ContactsPerson) -> None:
    made = alice.ok("AddressBook/set", create={"g": {"name": "Gone soon"}})["created"]["g"]
    href = _row(alice, made["id"]).dav_href
    alice.dav_delete(href)
    before = alice.state()
    result = alice.ok("AddressBook/set", update={made["id"]: {"name": "Too late"}})
    assert result["notUpdated"][made["id"]]["type"] in {"notFound", "serverFail"}
    assert result["newState"] == before
    assert _row(alice, made["id"]).name == "Gone soon"
    # A destroy looks at the server first: the book is gone there, so it is
    # notFound (nothing sent) and leaves the cache.
    gone = alice.ok("AddressBook/set", destroy=[made["id"]])
    assert gone["notDestroyed"][made["id"]]["type"] == "notFound"
    assert "Gone soon" not in alice.books()


def test_mallory_cannot_touch_alices_books(alice: ContactsPerson, dav_server: Any) -> None:
    book = alice.books()["Contacts"]
    mallory = ContactsPerson.on(dav_server, persona="mallory")
    error = mallory.error("AddressBook/set", accountId=alice.account_id, destroy=[book["id"]])
    assert error["type"] == "accountNotFound"
    updated = mallory.ok("AddressBook/set", update={book["id"]: {"name": "pwned"}})
    assert updated["notUpdated"][book["id"]]["type"] == "notFound"
    destroyed = mallory.ok("AddressBook/set", destroy=[book["id"]])
    assert destroyed["notDestroyed"][book["id"]]["type"] == "notFound"
    assert alice.books()["Contacts"]["id"] == book["id"]
