"""ContactCard/set (RFC 9610 §3.5) against real CardDAV servers (Radicale and
Xandikos): every write is read back from the server with a plain WebDAV
client, and every refusal leaves server and cache as they were."""
from __future__ import annotations

import base64
import secrets
import uuid
from typing import Any

import pytest

from accounts.models import Account
from jmapcore.blobs import blob_store
from jmapcore.models.contacts import AddressBook, ContactCard
from jmapcore.state import on_state_change, state_change_unsubscribe
from tests.jmapcore.contacts.methods.address_book_people import ContactsPerson
from tests.jmapcore.contacts.methods.contact_card_people import dav_card_text, row_of, vcard_lines
from tests.servers.dav_user import dav_collection_make

ADA: dict[str, Any] = {
    "name": {
        "components": [{"kind": "given", "value": "Ada"}, {"kind": "surname", "value": "Lovelace"}],
        "full": "Ada Lovelace",
    },
    "emails": {
        "home": {"address": "ada@example.org", "contexts": {"private": True}},
        "work": {"address": "ada@engines.example", "contexts": {"work": True}},
    },
    "media": {"photo": {"kind": "photo", "uri": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAA="}},
    "addresses": {
        "home": {
            "components": [
                {"kind": "name", "value": "St James's Square"},
                {"kind": "number", "value": "12"},
                {"kind": "locality", "value": "London"},
                {"kind": "postcode", "value": "SW1Y 4JH"},
                {"kind": "country", "value": "United Kingdom"},
            ]
        }
    },
}


@pytest.fixture(params=["radicale", "xandikos"])
def dav_server(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(request.param)


@pytest.fixture
def alice(db: None, dav_server: Any) -> ContactsPerson:
    person = ContactsPerson.on(dav_server, persona="alice")
    person.sync()
    return person


def _contacts_id(person: ContactsPerson) -> str:
    return str(person.books()["Contacts"]["id"])


def _create(person: ContactsPerson, card: dict[str, Any], book_id: str | None = None) -> dict[str, Any]:
    result = person.ok(
        "ContactCard/set",
        create={"new": {**card, "addressBookIds": {book_id or _contacts_id(person): True}}},
    )
    assert result["notCreated"] is None, result["notCreated"]
    return dict(result["created"]["new"])


def _work_book_make(person: ContactsPerson) -> None:
    """A second address book "Work" beside "Contacts", made by another CardDAV client."""
    assert person.dav_user is not None
    home = person.dav_user.addressbook_url.rstrip("/").rsplit("/", 1)[0]
    with person.dav() as client:
        dav_collection_make(client, f"{home}/work/", kind="addressbook", name="Work")
    person.sync()


def _card(person: ContactsPerson, card_id: str) -> dict[str, Any]:
    [card] = person.ok("ContactCard/get", ids=[card_id])["list"]
    return dict(card)


def test_create_writes_the_vcard_to_the_server(alice: ContactsPerson) -> None:
    before = alice.ok("ContactCard/get", ids=[])["state"]
    created = _create(alice, ADA)
    assert created["id"].startswith("c")
    row = row_of(alice.account, created["id"])
    # Generated (RFC 9553 §2.1.9): a URN in a 4.0 book, bare (as Apple writes it) in a 3.0 one.
    bare = created["uid"].removeprefix("urn:uuid:")
    assert str(uuid.UUID(bare)) == bare
    assert created["uid"] == (bare if row.address_book.vcard_version == "3.0" else f"urn:uuid:{bare}")
    text = dav_card_text(alice, row.dav_href)
    assert text is not None
    lines = vcard_lines(text)
    assert any(line.startswith("UID:") and line.endswith(created["uid"].removeprefix("urn:uuid:")) for line in lines)
    assert "FN:Ada Lovelace" in lines
    emails = [line for line in lines if line.upper().startswith("EMAIL")]
    assert sorted(line.rsplit(":", 1)[1] for line in emails) == ["ada@engines.example", "ada@example.org"]
    assert any(line.upper().startswith("PHOTO") for line in lines)
    assert any(line.upper().startswith("ADR") and "London" in line for line in lines)
    # The cache holds what was sent, and the state moved.
    card = _card(alice, created["id"])
    assert card["addressBookIds"] == {_contacts_id(alice): True}
    assert {email["address"] for email in card["emails"].values()} == {"ada@example.org", "ada@engines.example"}
    assert card.get("kind", "individual") == "individual"
    assert alice.ok("ContactCard/get", ids=[])["state"] != before
    # The next sync sees the card this proxy wrote: same id, not a second card.
    alice.sync()
    assert [item["id"] for item in alice.ok("ContactCard/get", ids=None)["list"]] == [created["id"]]


def test_one_field_change_changes_only_that_line(alice: ContactsPerson) -> None:
    created = _create(alice, ADA)
    href = row_of(alice.account, created["id"]).dav_href
    before = vcard_lines(dav_card_text(alice, href) or "")
    result = alice.ok("ContactCard/set", update={created["id"]: {"emails/work/address": "countess@engines.example"}})
    assert result["notUpdated"] is None, result["notUpdated"]
    after = vcard_lines(dav_card_text(alice, href) or "")
    assert [line for line in before if line not in after] == [
        line for line in before if "ada@engines.example" in line
    ]
    assert [line for line in after if line not in before] == [
        line for line in after if "countess@engines.example" in line
    ]
    card = _card(alice, created["id"])
    assert card["emails"]["home"]["address"] == "ada@example.org"  # untouched sibling kept
    assert {email["address"] for email in card["emails"].values()} == {"ada@example.org", "countess@engines.example"}
    assert card["media"] == _card(alice, created["id"])["media"] and "photo" in str(card["media"])


def test_a_name_component_is_patched_in_place(alice: ContactsPerson) -> None:
    created = _create(alice, ADA)
    result = alice.ok("ContactCard/set", update={created["id"]: {"name/components/0/value": "Augusta Ada"}})
    assert result["notUpdated"] is None, result["notUpdated"]
    text = dav_card_text(alice, row_of(alice.account, created["id"]).dav_href) or ""
    [n_line] = [line for line in vcard_lines(text) if line.startswith("N:") or line.startswith("N;")]
    assert n_line.split(":", 1)[1].split(";")[:2] == ["Lovelace", "Augusta Ada"]
    assert _card(alice, created["id"])["name"]["components"][0]["value"] == "Augusta Ada"


def test_move_to_another_address_book_keeps_the_id(alice: ContactsPerson, dav_server: Any) -> None:
    _work_book_make(alice)
    work_id = alice.books()["Work"]["id"]
    created = _create(alice, ADA)
    old_href = row_of(alice.account, created["id"]).dav_href
    result = alice.ok("ContactCard/set", update={created["id"]: {"addressBookIds": {work_id: True}}})
    assert result["notUpdated"] is None, result["notUpdated"]
    row = row_of(alice.account, created["id"])
    assert row.address_book.jmap_id == work_id and row.dav_href != old_href
    assert dav_card_text(alice, old_href) is None
    assert "FN:Ada Lovelace" in vcard_lines(dav_card_text(alice, row.dav_href) or "")
    # Move back and change a field in the same update: one card, in the first book.
    contacts_id = _contacts_id(alice)
    result = alice.ok(
        "ContactCard/set",
        update={created["id"]: {f"addressBookIds/{contacts_id}": True, f"addressBookIds/{work_id}": None,
                                "emails/home/address": "ada@home.example"}},
    )
    assert result["notUpdated"] is None, result["notUpdated"]
    row = row_of(alice.account, created["id"])
    assert row.address_book.jmap_id == contacts_id
    assert any("ada@home.example" in line for line in vcard_lines(dav_card_text(alice, row.dav_href) or ""))
    alice.sync()
    assert [card["id"] for card in alice.ok("ContactCard/get", ids=None)["list"]] == [created["id"]]


def test_destroy_removes_the_vcard(alice: ContactsPerson) -> None:
    created = _create(alice, ADA)
    href = row_of(alice.account, created["id"]).dav_href
    result = alice.ok("ContactCard/set", destroy=[created["id"]])
    assert result["destroyed"] == [created["id"]]
    assert dav_card_text(alice, href) is None
    assert alice.ok("ContactCard/get", ids=[created["id"]])["notFound"] == [created["id"]]
    again = alice.ok("ContactCard/set", destroy=[created["id"]])
    assert again["notDestroyed"][created["id"]]["type"] == "notFound"


def test_a_group_with_members(alice: ContactsPerson) -> None:
    _create(alice, {**ADA, "uid": "ada-lovelace-1815"})
    group = _create(alice, {"kind": "group", "name": {"full": "Pioneers"}, "members": {"ada-lovelace-1815": True}})
    card = _card(alice, group["id"])
    assert card["kind"] == "group" and card["members"] == {"ada-lovelace-1815": True}
    found = alice.ok("ContactCard/query", filter={"hasMember": "ada-lovelace-1815"})["ids"]
    assert found == [group["id"]]
    text = dav_card_text(alice, row_of(alice.account, group["id"]).dav_href) or ""
    assert any("MEMBER" in line and line.endswith("ada-lovelace-1815") for line in vcard_lines(text))


def test_a_changed_card_on_the_server_is_a_conflict_then_reread(alice: ContactsPerson) -> None:
    created = _create(alice, ADA)
    row = row_of(alice.account, created["id"])
    # Another CardDAV client changes the card: the cached ETag is now stale.
    text = (row.vcard or "").replace("FN:Ada Lovelace", "FN:Ada King")
    with alice.dav() as client:
        answer = client.put(row.dav_href, content=text, headers={"Content-Type": "text/vcard; charset=utf-8"})
    assert answer.status_code in (200, 201, 204), answer.text
    result = alice.ok("ContactCard/set", update={created["id"]: {"emails/home/address": "lost@example.org"}})
    error = result["notUpdated"][created["id"]]
    assert error["type"] == "stateMismatch" and "412" in error["description"]
    # The server still has the other client's change and not ours; the cache was read again.
    lines = vcard_lines(dav_card_text(alice, row.dav_href) or "")
    assert "FN:Ada King" in lines and not any("lost@example.org" in line for line in lines)
    assert _card(alice, created["id"])["name"]["full"] == "Ada King"
    # A retry on the fresh card goes through.
    retry = alice.ok("ContactCard/set", update={created["id"]: {"emails/home/address": "kept@example.org"}})
    assert retry["notUpdated"] is None, retry["notUpdated"]


def test_a_read_only_book_refuses_every_write(alice: ContactsPerson) -> None:
    created = _create(alice, ADA)
    book = AddressBook.objects.get(account=alice.account, jmap_id=_contacts_id(alice))
    book.dav_privileges = ["read"]
    book.save(update_fields=["dav_privileges"])
    href = row_of(alice.account, created["id"]).dav_href
    before = dav_card_text(alice, href)
    result = alice.ok(
        "ContactCard/set",
        create={"x": {**ADA, "addressBookIds": {book.jmap_id: True}}},
        update={created["id"]: {"emails/home/address": "no@example.org"}},
    )
    assert result["notCreated"]["x"]["type"] == "forbidden"
    assert result["notUpdated"][created["id"]]["type"] == "forbidden"
    destroyed = alice.ok("ContactCard/set", destroy=[created["id"]])
    assert destroyed["notDestroyed"][created["id"]]["type"] == "forbidden"
    assert dav_card_text(alice, href) == before
    assert ContactCard.objects.filter(account=alice.account, destroyed=False).count() == 1


@pytest.mark.parametrize(
    ("create", "properties"),
    [
        ({"emails": "ada@example.org"}, ["emails"]),
        ({"uid": 7}, ["uid"]),
        ({"uid": ""}, ["uid"]),
        ({"kind": "spaceship"}, ["kind"]),
        ({"@type": "Event"}, ["@type"]),
        ({"id": "cmine"}, ["id"]),
        ({"members": {"urn:uuid:x": False}}, ["members"]),
        ({"notAProperty": 1, "emails": []}, ["emails", "notAProperty"]),
        # Refused by the converter (jscontact.CardInvalid), which names the path.
        ({"emails": {"e": {"address": 5}}}, ["emails/e/address"]),
        ({"anniversaries": {"b": {"kind": "birth", "date": "notadate"}}}, ["anniversaries/b/date"]),
    ],
)
def test_invalid_creates_name_every_bad_property(
    alice: ContactsPerson, create: dict[str, Any], properties: list[str]
) -> None:
    book_ids = {_contacts_id(alice): True}
    result = alice.ok("ContactCard/set", create={"x": {"name": {"full": "X"}, "addressBookIds": book_ids, **create}})
    error = result["notCreated"]["x"]
    assert error["type"] == "invalidProperties"
    assert error["properties"] == properties
    assert ContactCard.objects.filter(account=alice.account).count() == 0


@pytest.mark.parametrize(
    "book_ids",
    [None, {}, {"anosuchbook": True}, "a1", {"#unknown": True}, {"a1": False}],
)
def test_address_book_ids_must_name_one_book(alice: ContactsPerson, book_ids: Any) -> None:
    create: dict[str, Any] = {"name": {"full": "X"}}
    if book_ids is not None:
        create["addressBookIds"] = book_ids
    result = alice.ok("ContactCard/set", create={"x": create})
    assert result["notCreated"]["x"]["type"] == "invalidProperties"
    assert result["notCreated"]["x"]["properties"] == ["addressBookIds"]


def test_two_books_at_once_are_refused(alice: ContactsPerson) -> None:
    _work_book_make(alice)
    books = alice.books()
    both = {books["Contacts"]["id"]: True, books["Work"]["id"]: True}
    result = alice.ok("ContactCard/set", create={"x": {"name": {"full": "X"}, "addressBookIds": both}})
    assert result["notCreated"]["x"]["properties"] == ["addressBookIds"]


def test_bad_updates(alice: ContactsPerson) -> None:
    created = _create(alice, ADA)
    href = row_of(alice.account, created["id"]).dav_href
    before = dav_card_text(alice, href)
    cid = created["id"]
    cases: dict[str, tuple[Any, str]] = {
        "uid": ({"uid": "urn:uuid:other"}, "invalidProperties"),
        "id": ({"id": "cother"}, "invalidProperties"),
        "emails type": ({"emails": "x"}, "invalidProperties"),
        "array insert": ({"name/components/5/value": "x"}, "invalidPatch"),
        "missing parent": ({"emails/nope/address": "x"}, "invalidPatch"),
        "not an object": (["emails"], "invalidPatch"),
        "deep": ({"/".join(["emails"] * 40): 1}, "invalidPatch"),
        "two books": ({"addressBookIds/anotherbook": True}, "invalidProperties"),
    }
    for name, (patch, expected) in cases.items():
        result = alice.ok("ContactCard/set", update={cid: patch})
        assert result["notUpdated"][cid]["type"] == expected, (name, result)
    assert dav_card_text(alice, href) == before
    unknown = alice.ok("ContactCard/set", update={"cnosuchcard": {"emails/home/address": "x"}})
    assert unknown["notUpdated"]["cnosuchcard"]["type"] == "notFound"


def test_creation_references_and_if_in_state(alice: ContactsPerson) -> None:
    contacts_id = _contacts_id(alice)
    state = alice.ok("ContactCard/get", ids=[])["state"]
    responses = alice.request(
        ["ContactCard/set", {"accountId": alice.account_id, "ifInState": state,
                             "create": {"ada": {**ADA, "addressBookIds": {contacts_id: True}}}}, "0"],
        ["ContactCard/set", {"accountId": alice.account_id, "update": {"#ada": {"emails/home/address": "x@y.example"}}},
         "1"],
        ["ContactCard/get", {"accountId": alice.account_id, "ids": ["#ada"], "properties": ["emails"]}, "2"],
    )
    assert responses[1][1]["notUpdated"] is None, responses[1][1]
    [card] = responses[2][1]["list"]
    assert card["emails"]["home"]["address"] == "x@y.example"
    stale = alice.error("ContactCard/set", ifInState=state, destroy=[card["id"]])
    assert stale["type"] == "stateMismatch"


def test_a_hostile_card_gets_set_errors_never_a_server_failure(alice: ContactsPerson) -> None:
    deep: Any = "x"
    for _ in range(40):
        deep = {"k": deep}
    hostile = {
        "deep": {"notes": {"n": deep}},
        "huge": {"notes": {f"n{i}": {"note": "x" * 1000} for i in range(1100)}},
        "notAnObject": ["a card"],
        "vendor": {"example.com:thing": {"a": [1, 2, 3]}, "name": {"full": "V"}},
        "oddUid": {"uid": "urn:uuid:" + secrets.token_hex(4) + "\u0007"},
    }
    contacts_id = _contacts_id(alice)
    create = {
        key: ({**value, "addressBookIds": {contacts_id: True}} if isinstance(value, dict) else value)
        for key, value in hostile.items()
    }
    result = alice.ok("ContactCard/set", create=create)
    not_created = result["notCreated"] or {}
    assert not_created["deep"]["type"] == "invalidProperties"
    assert not_created["huge"]["type"] == "tooLarge"
    assert not_created["notAnObject"]["type"] == "invalidProperties"
    assert not_created["oddUid"]["type"] == "invalidProperties"
    assert all(error["type"] != "serverFail" for error in not_created.values())


def test_a_photo_given_by_blob_id_is_inlined(alice: ContactsPerson, settings: Any, tmp_path: Any) -> None:
    """RFC 9610 §3: a Media object may name an uploaded blob instead of a uri."""
    settings.BLOB_DIR = tmp_path / "blobs"
    png = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(40)
    blob = blob_store(account=alice.account, data=png, type="image/png")
    created = _create(alice, {"name": {"full": "Ada"}, "media": {"p": {"kind": "photo", "blobId": blob.blob_id}}})
    photo = _card(alice, created["id"])["media"]["p"]
    assert "blobId" not in photo
    assert photo["uri"].startswith("data:image/png;base64,")
    assert base64.b64decode(photo["uri"].split(",", 1)[1]) == png
    assert created["media"] == _card(alice, created["id"])["media"]  # reported as set by the server
    text = dav_card_text(alice, row_of(alice.account, created["id"]).dav_href) or ""
    assert any(line.upper().startswith("PHOTO") for line in vcard_lines(text))
    # A blob of another account, or none at all, is invalidProperties on media.
    book = {_contacts_id(alice): True}
    result = alice.ok("ContactCard/set", create={
        "x": {"addressBookIds": book, "media": {"p": {"kind": "photo", "blobId": "Bnosuchblob"}}},
    })
    assert result["notCreated"]["x"]["properties"] == ["media"]


def test_a_destroy_of_a_changed_card_is_refused_and_reread(alice: ContactsPerson) -> None:
    created = _create(alice, ADA)
    row = row_of(alice.account, created["id"])
    with alice.dav() as client:
        answer = client.put(row.dav_href, content=row.vcard.replace("FN:Ada Lovelace", "FN:Ada King"),
                            headers={"Content-Type": "text/vcard; charset=utf-8"})
    assert answer.status_code in (200, 201, 204), answer.text
    result = alice.ok("ContactCard/set", destroy=[created["id"]])
    assert result["notDestroyed"][created["id"]]["type"] == "stateMismatch"
    assert "FN:Ada King" in vcard_lines(dav_card_text(alice, row.dav_href) or "")
    assert _card(alice, created["id"])["name"]["full"] == "Ada King"


def test_a_uid_another_client_just_used_is_refused(alice: ContactsPerson) -> None:
    """The server already holds a card with this uid that the cache has not seen yet."""
    assert alice.dav_user is not None
    alice.dav_put_card(alice.dav_user.addressbook_url, uid="taken-uid-1", name="Other")
    result = alice.ok("ContactCard/set", create={
        "x": {**ADA, "uid": "taken-uid-1", "addressBookIds": {_contacts_id(alice): True}},
    })
    assert result["notCreated"]["x"]["type"] == "invalidProperties"
    assert result["notCreated"]["x"]["properties"] == ["uid"]
    # The book was read again: the other client's card is there, once.
    found = alice.ok("ContactCard/query", filter={"uid": "taken-uid-1"})["ids"]
    assert len(found) == 1
    assert _card(alice, found[0])["name"]["full"] == "Other"


def test_a_write_publishes_one_state_change_and_a_refusal_none(
    alice: ContactsPerson, django_capture_on_commit_callbacks: Any
) -> None:
    """DESIGN.md "Writes": the cache changes in one transaction after the server
    confirmed, and push hears of it after commit; a refused write moves nothing."""
    created = _create(alice, ADA)
    published: list[dict[str, str]] = []

    def listener(account: Account, changed: dict[str, str]) -> None:
        if account.pk == alice.account.pk:
            published.append(changed)

    on_state_change(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            done = alice.ok("ContactCard/set", update={created["id"]: {"emails/home/address": "new@example.org"}})
        assert done["notUpdated"] is None, done["notUpdated"]
        assert published == [{"ContactCard": done["newState"]}]
        modseq = Account.objects.get(pk=alice.account.pk).modseq
        with django_capture_on_commit_callbacks(execute=True):
            refused = alice.ok("ContactCard/set", update={created["id"]: {"emails/home/address": 5}})
        assert refused["notUpdated"][created["id"]]["type"] == "invalidProperties"
        assert refused["newState"] == refused["oldState"] == done["newState"]
        assert len(published) == 1
        assert Account.objects.get(pk=alice.account.pk).modseq == modseq
    finally:
        state_change_unsubscribe(listener)


def test_a_move_with_a_change_that_fails_half_way_leaves_one_card(alice: ContactsPerson) -> None:
    """Move + change is PUT into the new book, then DELETE (If-Match) of the old
    resource. When that DELETE meets a card another client changed, the new copy
    is removed again: the card is never in two books, and nothing of ours stays."""
    _work_book_make(alice)
    work_id = alice.books()["Work"]["id"]
    created = _create(alice, ADA)
    row = row_of(alice.account, created["id"])
    with alice.dav() as client:
        answer = client.put(row.dav_href, content=row.vcard.replace("FN:Ada Lovelace", "FN:Ada King"),
                            headers={"Content-Type": "text/vcard; charset=utf-8"})
    assert answer.status_code in (200, 201, 204), answer.text
    result = alice.ok("ContactCard/set", update={created["id"]: {
        "addressBookIds": {work_id: True}, "emails/home/address": "moved@example.org",
    }})
    assert result["notUpdated"][created["id"]]["type"] == "stateMismatch"
    work = AddressBook.objects.get(account=alice.account, jmap_id=work_id)
    with alice.dav() as client:
        listing = client.request("PROPFIND", work.dav_href, headers={"Depth": "1"})
    assert listing.status_code == 207
    assert ".vcf" not in listing.text  # no copy left in the target book
    assert "FN:Ada King" in vcard_lines(dav_card_text(alice, row.dav_href) or "")
    after = row_of(alice.account, created["id"])
    assert after.address_book.jmap_id != work_id and not after.destroyed


def test_a_move_with_a_change_whose_source_is_already_gone_keeps_the_new_copy(alice: ContactsPerson) -> None:
    """When another client deleted the card meanwhile, the DELETE of the old
    resource answers 404: the move is done, and the new copy must stay (removing
    it would lose the card everywhere)."""
    _work_book_make(alice)
    work_id = alice.books()["Work"]["id"]
    created = _create(alice, ADA)
    row = row_of(alice.account, created["id"])
    with alice.dav() as client:
        assert client.delete(row.dav_href).status_code in (200, 204)
    result = alice.ok("ContactCard/set", update={created["id"]: {
        "addressBookIds": {work_id: True}, "emails/home/address": "moved@example.org",
    }})
    assert created["id"] in result["updated"], result
    after = row_of(alice.account, created["id"])
    assert after.address_book.jmap_id == work_id and not after.destroyed
    assert "moved@example.org" in (dav_card_text(alice, after.dav_href) or "")


def test_a_group_names_a_card_by_the_uid_the_server_gave_it(alice: ContactsPerson) -> None:
    """Whatever the book's vCard version (4.0 MEMBER or Apple's 3.0
    X-ADDRESSBOOKSERVER-MEMBER form), members keys stay the members' uids."""
    ada = _create(alice, ADA)
    group = _create(alice, {"kind": "group", "name": {"full": "Pioneers"}, "members": {ada["uid"]: True}})
    assert _card(alice, group["id"])["members"] == {ada["uid"]: True}
    assert alice.ok("ContactCard/query", filter={"hasMember": ada["uid"]})["ids"] == [group["id"]]
    [found] = alice.ok("ContactCard/query", filter={"uid": ada["uid"]})["ids"]
    assert found == ada["id"]
