"""ContactCard/copy (RFC 9610 §3.6, RFC 8620 §5.4) between two accounts of one
login, each on its own CardDAV user, checked on the server."""
from __future__ import annotations

import secrets
from typing import Any

import pytest

from accounts.models import Account
from backends.carddav import carddav_account_sync
from tests.backends.carddav.dav_people import carddav_account
from tests.jmapcore.contacts.methods.address_book_people import ContactsPerson
from tests.jmapcore.contacts.methods.contact_card_people import dav_card_text, row_of, vcard_lines


@pytest.fixture
def alice(db: None, radicale: Any) -> ContactsPerson:
    person = ContactsPerson.on(radicale, persona="alice")
    person.sync()
    return person


@pytest.fixture
def alice_work(alice: ContactsPerson, radicale: Any) -> Account:
    """A second account in alice's login, on a CardDAV user of its own."""
    account = carddav_account(server=radicale, persona="alice", accountid=f"alicework{secrets.token_hex(3)}")
    account.pool = alice.account.pool
    account.save(update_fields=["pool"])
    carddav_account_sync(account=account)
    return account


def _book_id(person: ContactsPerson, account: Account) -> str:
    [book] = person.ok("AddressBook/get", accountId=account.accountid, ids=None)["list"]
    return str(book["id"])


def _ada(person: ContactsPerson) -> dict[str, Any]:
    [book] = person.ok("AddressBook/get", ids=None)["list"]
    result = person.ok(
        "ContactCard/set",
        create={"ada": {"name": {"full": "Ada Lovelace"}, "emails": {"e": {"address": "ada@example.org"}},
                        "addressBookIds": {book["id"]: True}}},
    )
    return dict(result["created"]["ada"])


def test_copy_writes_the_card_into_the_other_account(alice: ContactsPerson, alice_work: Account) -> None:
    ada = _ada(alice)
    target_book = _book_id(alice, alice_work)
    result = alice.ok(
        "ContactCard/copy",
        fromAccountId=alice.account_id,
        accountId=alice_work.accountid,
        create={"copy": {"id": ada["id"], "addressBookIds": {target_book: True}}},
    )
    assert result["notCreated"] is None, result["notCreated"]
    assert result["fromAccountId"] == alice.account_id and result["accountId"] == alice_work.accountid
    copy_id = result["created"]["copy"]["id"]
    # Only what the server set is reported, not the copied properties (RFC 8620 §5.4).
    assert "name" not in result["created"]["copy"] and "emails" not in result["created"]["copy"]
    [copied] = alice.ok("ContactCard/get", accountId=alice_work.accountid, ids=[copy_id])["list"]
    assert copied["name"]["full"] == "Ada Lovelace"
    assert copied["uid"] == ada["uid"]
    assert copied["addressBookIds"] == {target_book: True}
    # Both accounts' servers hold the card now.
    copy_row = row_of(alice_work, copy_id)
    assert copy_row.dav_href.startswith(alice_work.carddav_url)
    assert dav_card_text(alice, row_of(alice.account, ada["id"]).dav_href) is not None
    assert alice.ok("ContactCard/get", ids=[ada["id"]])["notFound"] == []


def test_on_success_destroy_original(alice: ContactsPerson, alice_work: Account) -> None:
    ada = _ada(alice)
    original_href = row_of(alice.account, ada["id"]).dav_href
    responses = alice.request(
        [
            "ContactCard/copy",
            {
                "fromAccountId": alice.account_id,
                "accountId": alice_work.accountid,
                "create": {"copy": {"id": ada["id"], "addressBookIds": {_book_id(alice, alice_work): True}}},
                "onSuccessDestroyOriginal": True,
            },
            "0",
        ]
    )
    assert [name for name, _, _ in responses] == ["ContactCard/copy", "ContactCard/set"]
    implicit = responses[1][1]
    assert implicit["accountId"] == alice.account_id and implicit["destroyed"] == [ada["id"]]
    assert dav_card_text(alice, original_href) is None
    assert alice.ok("ContactCard/get", ids=[ada["id"]])["notFound"] == [ada["id"]]


def test_copy_refusals(alice: ContactsPerson, alice_work: Account, bob: Any) -> None:
    ada = _ada(alice)
    target_book = _book_id(alice, alice_work)
    result = alice.ok(
        "ContactCard/copy",
        fromAccountId=alice.account_id,
        accountId=alice_work.accountid,
        create={
            "missing": {"id": "cnosuchcard", "addressBookIds": {target_book: True}},
            "noId": {"addressBookIds": {target_book: True}},
            "noBook": {"id": ada["id"], "addressBookIds": {"anosuchbook": True}},
            "badOverride": {"id": ada["id"], "addressBookIds": {target_book: True}, "emails": "x"},
        },
    )
    assert result["created"] is None
    assert result["notCreated"]["missing"]["type"] == "notFound"
    assert result["notCreated"]["noId"]["type"] == "invalidProperties"
    assert result["notCreated"]["noBook"]["properties"] == ["addressBookIds"]
    assert result["notCreated"]["badOverride"]["properties"] == ["emails"]
    same = alice.error("ContactCard/copy", fromAccountId=alice.account_id, create={})
    assert same["type"] == "invalidArguments"
    foreign = alice.error("ContactCard/copy", fromAccountId=bob.account_id, accountId=alice_work.accountid,
                          create={})
    assert foreign["type"] == "accountNotFound"
    stale = alice.error("ContactCard/copy", fromAccountId=alice.account_id, accountId=alice_work.accountid,
                        ifFromInState="not-the-state", create={})
    assert stale["type"] == "stateMismatch"
    lines = vcard_lines(dav_card_text(alice, row_of(alice.account, ada["id"]).dav_href) or "")
    assert "FN:Ada Lovelace" in lines
