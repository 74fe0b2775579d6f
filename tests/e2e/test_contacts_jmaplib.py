"""Contacts end to end (issue 10 item 5): a third-party JMAP client (jmaplib, from
PyPI) drives the real proxy process over HTTP, and what it writes is read back
from the CardDAV server (the suite's Radicale) with a plain WebDAV client,
httpx, as another CardDAV client would see it.

alice is a Dovecot user with the same login and password on Radicale; her
account is added through the management API (POST /api/accounts) with her
principal as carddavURL. The steps run in order and share what they learn
through the module's `story`; a step whose prerequisite failed is skipped,
naming that step. vCards are read with vobject, a parser independent of the
proxy's own. RFC 9610 (JMAP Contacts), RFC 9553 (JSContact) and RFC 6350 /
RFC 2426 (vCard 4.0 / 3.0) sections are cited where a check comes from them.
"""
from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import vobject
from defusedxml import ElementTree
from jmap.client import JMAPClient

from tests.e2e.conftest import HTTP_TIMEOUT, E2EPerson, wait_for
from tests.servers.dovecot import DovecotServer
from tests.servers.proxy import ProxyProcess
from tests.servers.radicale import RadicaleServer
from tests.servers.smtp import SmtpServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

# An 8x8 PNG (a real image: signature, IHDR, IDAT, IEND), small enough for a data: URI.
PHOTO_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGM4UaGBFTEMLQkAUtVaAV8W4QQAAAAASUVORK5CYII="
)
PHOTO_URI = "data:image/png;base64," + base64.b64encode(PHOTO_PNG).decode()
REPORT_BODY = """<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:resourcetype/></D:prop></D:propfind>"""
# Lines a writer may refresh on any change (RFC 6350 §6.7.4 REV, §6.7.3 PRODID).
VOLATILE = ("REV", "PRODID")


class Story(dict[str, Any]):
    """What earlier steps found out. `need` skips a step whose input is missing."""

    def need(self, key: str, step: str) -> Any:
        if key not in self:
            pytest.skip(f"needs {key!r} from the earlier step {step}, which did not complete")
        return self[key]


@pytest.fixture(scope="module")
def story() -> Story:
    return Story(marker=secrets.token_hex(4))


@pytest.fixture(scope="module")
def contacts_alice(
    e2e_proxy: ProxyProcess, dovecot: DovecotServer, smtp_server: SmtpServer, radicale: RadicaleServer
) -> E2EPerson:
    """alice: one login and password for Dovecot and Radicale, her account added
    through the management API with her CardDAV principal."""
    login = f"alice-{secrets.token_hex(4)}@example.test"
    password = dovecot.user_add(login)
    dav = radicale.user(login, password)
    accountid = f"alice-{secrets.token_hex(3)}"
    body = {
        "accountid": accountid, "email": login, "name": "Alice", "type": "imap", "username": login,
        "password": password, "imapHost": dovecot.host, "imapPort": dovecot.imap_port, "imapSSL": 0,
        "smtpHost": smtp_server.host, "smtpPort": smtp_server.port, "smtpSSL": 3, "carddavURL": dav.carddav_url,
    }  # fmt: skip
    response = httpx.post(e2e_proxy.mgmt_url + "/api/accounts", json=body, timeout=60)
    assert response.status_code == 201, f"{response.status_code} {response.text}\n{e2e_proxy.log_text()[-3000:]}"
    person = E2EPerson(name="alice", login=login, password=password, accountid=accountid, proxy=e2e_proxy,
                       dovecot=dovecot)  # fmt: skip
    person.dav_book_url = dav.addressbook_url  # type: ignore[attr-defined]
    return person


@pytest.fixture(scope="module")
def client(contacts_alice: E2EPerson) -> Iterator[JMAPClient]:
    with contacts_alice.client() as jmap_client:
        yield jmap_client


# -- the CardDAV side, as a plain WebDAV client ---------------------------------------
def dav_cards(person: E2EPerson) -> dict[str, str]:
    """Every vCard in alice's address book on Radicale: {UID: vCard text}
    (PROPFIND Depth 1 for the members, then a GET of each, RFC 4918 §9.1)."""
    book: str = person.dav_book_url  # type: ignore[attr-defined]
    with httpx.Client(auth=person.httpx_auth, timeout=HTTP_TIMEOUT) as dav:
        listing = dav.request("PROPFIND", book, content=REPORT_BODY, headers={"Depth": "1"})
        assert listing.status_code == 207, listing.text
        hrefs = [element.text or "" for element in ElementTree.fromstring(listing.content).iter("{DAV:}href")]
        found: dict[str, str] = {}
        for href in hrefs:
            url = httpx.URL(book).join(href)
            if str(url).rstrip("/") == book.rstrip("/"):
                continue
            answer = dav.get(url)
            assert answer.status_code == 200, answer.text
            card = vobject.readOne(answer.text)
            found[card.uid.value] = answer.text
    return found


def unfolded_lines(text: str) -> list[str]:
    """The vCard's content lines, unfolded (RFC 6350 §3.2), without volatile ones."""
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]
        elif raw:
            lines.append(raw)
    return [line for line in lines if line.split(";", 1)[0].split(":", 1)[0].upper() not in VOLATILE]


def values(card: Any, name: str) -> list[Any]:
    return [item.value for item in card.contents.get(name, [])]


def uid_value(uid: str) -> str:
    return uid.removeprefix("urn:uuid:")


# -- the steps -------------------------------------------------------------------------
def test_address_books_are_listed(client: JMAPClient, contacts_alice: E2EPerson, story: Story) -> None:
    """RFC 9610 §2.1: the account's address books, found on Radicale by the sync."""

    def listed() -> list[Any]:
        with client.batch() as batch:
            got = batch.contacts.address_book.get(ids=None)
        return list(got.result.items)

    books = wait_for(listed, poke=contacts_alice.sync, what="the Radicale address book in AddressBook/get")
    [book] = books
    assert book.name == "Contacts"
    assert book.is_default is True
    assert book.my_rights is not None and book.my_rights.may_write is True
    story["book"] = book.id


def test_contact_with_two_emails_a_photo_and_an_address(
    client: JMAPClient, contacts_alice: E2EPerson, story: Story
) -> None:
    """RFC 9610 §3.6 create; the vCard on the server holds every field (RFC 6350 §6.2.2 N,
    §6.4.2 EMAIL, §6.2.4 PHOTO, §6.3.1 ADR)."""
    book = story.need("book", "test_address_books_are_listed")
    card = {
        "@type": "Card", "version": "1.0", "kind": "individual", "addressBookIds": {book: True},
        "name": {"components": [{"kind": "given", "value": "Ada"}, {"kind": "surname", "value": "Lovelace"}]},
        "emails": {
            "work": {"address": f"ada.{story['marker']}@engine.example", "contexts": {"work": True}},
            "home": {"address": "ada@home.example", "contexts": {"private": True}},
        },
        "media": {"face": {"kind": "photo", "uri": PHOTO_URI, "mediaType": "image/png"}},
        "addresses": {"home": {
            "components": [
                {"kind": "number", "value": "12"}, {"kind": "name", "value": "St James's Square"},
                {"kind": "locality", "value": "London"}, {"kind": "postcode", "value": "SW1Y 4JH"},
                {"kind": "country", "value": "United Kingdom"},
            ],
            "countryCode": "GB", "contexts": {"private": True},
        }},
    }  # fmt: skip
    with client.batch() as batch:
        made = batch.contacts.contact_card.set(create={"ada": card})
    assert not made.result.not_created, made.result.not_created
    created = made.result.created["ada"]
    with client.batch() as batch:
        got = batch.contacts.contact_card.get(ids=[created.id])
    [ada] = got.result.items
    assert ada.uid, "the server gives a card without uid one (RFC 9553 §2.1.9)"
    story["ada"], story["ada_uid"] = ada.id, ada.uid

    text = dav_cards(contacts_alice)[ada.uid]
    vcard = vobject.readOne(text)
    assert {str(address) for address in values(vcard, "email")} == {
        f"ada.{story['marker']}@engine.example", "ada@home.example"
    }
    name = vcard.n.value
    assert (name.given, name.family) == ("Ada", "Lovelace")
    [photo] = vcard.contents["photo"]
    photo_bytes = photo.value if isinstance(photo.value, bytes) else None
    if photo_bytes is None:
        assert photo.value.startswith("data:image/png;base64,")
        photo_bytes = base64.b64decode(photo.value.split(",", 1)[1])
    assert photo_bytes == PHOTO_PNG
    [address] = values(vcard, "adr")
    assert (address.city, address.code, address.country) == ("London", "SW1Y 4JH", "United Kingdom")
    assert "St James's Square" in str(address.street) and "12" in str(address.street)
    story["ada_vcard"] = text


def test_one_field_change_changes_only_that_field(
    client: JMAPClient, contacts_alice: E2EPerson, story: Story
) -> None:
    """RFC 9610 §3.6 update with a PatchObject (RFC 8620 §5.3): the other email,
    the photo and the address stay as they were, byte for byte in the vCard."""
    ada = story.need("ada", "test_contact_with_two_emails_a_photo_and_an_address")
    before = story["ada_vcard"]
    with client.batch() as batch:
        changed = batch.contacts.contact_card.set(update={ada: {"emails/home/address": "ada@newhome.example"}})
    assert not changed.result.not_updated, changed.result.not_updated
    after = dav_cards(contacts_alice)[story["ada_uid"]]
    removed = set(unfolded_lines(before)) - set(unfolded_lines(after))
    added = set(unfolded_lines(after)) - set(unfolded_lines(before))
    assert len(removed) == 1 and "ada@home.example" in removed.pop(), (before, after)
    assert len(added) == 1 and "ada@newhome.example" in added.pop(), (before, after)
    with client.batch() as batch:
        got = batch.contacts.contact_card.get(ids=[ada])
    emails = {entry.address for entry in (got.result.items[0].emails or {}).values()}
    assert emails == {f"ada.{story['marker']}@engine.example", "ada@newhome.example"}


def test_group_with_a_member(client: JMAPClient, contacts_alice: E2EPerson, story: Story) -> None:
    """A group card (RFC 9553 §2.1.4 kind group, §2.1.6 members) is a group on the
    server: KIND:group + MEMBER in vCard 4.0 (RFC 6350 §6.1.4, §6.6.5), or
    Apple's X-ADDRESSBOOKSERVER-KIND/-MEMBER in a 3.0 address book."""
    book = story.need("book", "test_address_books_are_listed")
    ada_uid = story.need("ada_uid", "test_contact_with_two_emails_a_photo_and_an_address")
    group = {"@type": "Card", "version": "1.0", "kind": "group", "addressBookIds": {book: True},
             "name": {"full": "Analytical Engine Society"}, "members": {ada_uid: True}}  # fmt: skip
    with client.batch() as batch:
        made = batch.contacts.contact_card.set(create={"g": group})
    assert not made.result.not_created, made.result.not_created
    group_id = made.result.created["g"].id
    with client.batch() as batch:
        got = batch.contacts.contact_card.get(ids=[group_id])
    [read] = got.result.items
    assert read.is_group
    story["group"], story["group_uid"] = group_id, read.uid

    text = dav_cards(contacts_alice)[read.uid]
    vcard = vobject.readOne(text)
    kinds = values(vcard, "kind") + values(vcard, "x-addressbookserver-kind")
    members = values(vcard, "member") + values(vcard, "x-addressbookserver-member")
    assert [kind.lower() for kind in kinds] == ["group"]
    assert [uid_value(member) for member in members] == [uid_value(ada_uid)]
    assert values(vcard, "fn") == ["Analytical Engine Society"]

    with client.batch() as batch:
        renamed = batch.contacts.contact_card.set(update={group_id: {"name/full": "Difference Engine Society"}})
    assert not renamed.result.not_updated, renamed.result.not_updated
    after = dav_cards(contacts_alice)[read.uid]
    removed = set(unfolded_lines(text)) - set(unfolded_lines(after))
    added = set(unfolded_lines(after)) - set(unfolded_lines(text))
    assert {line.split(":", 1)[0].upper() for line in removed} <= {"FN", "N"}, (text, after)
    assert any("Difference Engine Society" in line for line in added), (text, after)
    vcard_after = vobject.readOne(after)
    members_after = values(vcard_after, "member") + values(vcard_after, "x-addressbookserver-member")
    assert [uid_value(member) for member in members_after] == [uid_value(ada_uid)]


def test_group_members_are_the_member_uids(client: JMAPClient, story: Story) -> None:
    """RFC 9553 §2.1.6: the keys of members are the uids of the member cards, exactly,
    so that a client finds the members by uid (RFC 9610 §3.3.1 uid, hasMember) -
    also after the group went through a vCard 3.0 address book, where Apple's
    form writes a member as urn:uuid:UID."""
    group_id = story.need("group", "test_group_with_a_member")
    ada_uid = story["ada_uid"]
    with client.batch() as batch:
        got = batch.contacts.contact_card.get(ids=[group_id])
        found = batch.contacts.contact_card.query(filter={"hasMember": ada_uid})
    assert got.result.items[0].members() == [ada_uid]
    assert list(found.result.ids) == [group_id]
