"""Writes to the CardDAV server (backends.carddav.writes) against Radicale and Xandikos:
what the server holds afterwards is read back with a plain WebDAV client."""
from __future__ import annotations

import pytest

from accounts.models import Account
from backends.carddav.writes import (
    carddav_book_create,
    carddav_book_delete,
    carddav_book_update,
    carddav_card_delete,
    carddav_card_move,
    carddav_card_put,
)
from backends.dav.errors import DavConflict, DavRefused
from backends.dav.hrefs import url_normalise
from jmapcore.datatypes.orm import jmap_id_new
from jmapcore.models.contacts import AddressBook
from tests.backends.carddav.conftest import other_client, vcard
from tests.backends.carddav.dav_people import DavServer, carddav_account

pytestmark = pytest.mark.django_db

PROPFIND_NAMES = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">'
                  "<D:prop><D:displayname/><C:addressbook-description/><D:resourcetype/></D:prop></D:propfind>")


def _book(account: Account, href: str | None = None) -> AddressBook:
    """The cache row of the account's default book (as the sync would have made it)."""
    return AddressBook.objects.create(
        account=account, jmap_id=jmap_id_new("a"), created_modseq=1, updated_modseq=1, name="Contacts",
        dav_href=url_normalise(href or account.dav_user.addressbook_url),  # type: ignore[attr-defined]
    )


def test_create_puts_a_new_resource_named_after_the_uid(alice: Account, dav_server: DavServer) -> None:
    book = _book(alice)
    text = vcard("4a1c7d0e-alice-1", "Bob Builder", email="bob@example.test")
    result = carddav_card_put(account=alice, book=book, vcard_text=text)
    assert result.href == book.dav_href + "4a1c7d0e-alice-1.vcf"
    assert result.etag.startswith('"')
    with other_client(dav_server, alice) as http:
        stored = http.get(result.href)
    assert stored.status_code == 200
    assert "bob@example.test" in stored.text
    assert stored.headers.get("etag") == result.etag


def test_an_unsafe_uid_gets_a_random_name(alice: Account, dav_server: DavServer) -> None:
    book = _book(alice)
    result = carddav_card_put(account=alice, book=book, vcard_text=vcard("../../etc/passwd x", "Eve"))
    name = result.href.rsplit("/", 1)[1]
    assert result.href.startswith(book.dav_href) and name.endswith(".vcf") and "passwd" not in name
    with other_client(dav_server, alice) as http:
        assert "UID:../../etc/passwd x" in http.get(result.href).text


def test_create_over_an_existing_resource_is_refused(alice: Account, dav_server: DavServer) -> None:
    book = _book(alice)
    carddav_card_put(account=alice, book=book, vcard_text=vcard("same-uid", "First"))
    with pytest.raises(DavRefused) as refused:
        carddav_card_put(account=alice, book=book, vcard_text=vcard("same-uid", "Second"))
    assert refused.value.status in (409, 412)
    with other_client(dav_server, alice) as http:
        assert "FN:First" in http.get(book.dav_href + "same-uid.vcf").text


def test_update_with_the_current_etag_replaces_the_card(alice: Account, dav_server: DavServer) -> None:
    book = _book(alice)
    first = carddav_card_put(account=alice, book=book, vcard_text=vcard("u1", "Old Name"))
    second = carddav_card_put(account=alice, book=book, vcard_text=vcard("u1", "New Name"), href=first.href,
                              etag=first.etag)
    assert second.href == first.href and second.etag != first.etag
    with other_client(dav_server, alice) as http:
        assert "FN:New Name" in http.get(first.href).text


def test_update_with_a_stale_etag_is_a_conflict_and_changes_nothing(alice: Account, dav_server: DavServer) -> None:
    book = _book(alice)
    first = carddav_card_put(account=alice, book=book, vcard_text=vcard("u2", "Mine"))
    with other_client(dav_server, alice) as http:
        theirs = http.put(first.href, content=vcard("u2", "Theirs"), headers={"Content-Type": "text/vcard"})
        assert theirs.status_code in (201, 204)
    with pytest.raises(DavConflict) as conflict:
        carddav_card_put(account=alice, book=book, vcard_text=vcard("u2", "Mine again"), href=first.href,
                         etag=first.etag)
    assert conflict.value.status == 412
    with other_client(dav_server, alice) as http:
        assert "FN:Theirs" in http.get(first.href).text


def test_delete_with_the_etag_removes_the_card(alice: Account, dav_server: DavServer) -> None:
    book = _book(alice)
    made = carddav_card_put(account=alice, book=book, vcard_text=vcard("u3", "Gone Soon"))
    carddav_card_delete(account=alice, href=made.href, etag=made.etag)
    with other_client(dav_server, alice) as http:
        assert http.get(made.href).status_code == 404


def test_delete_with_a_stale_etag_is_a_conflict(alice: Account, dav_server: DavServer) -> None:
    book = _book(alice)
    made = carddav_card_put(account=alice, book=book, vcard_text=vcard("u4", "Kept"))
    with other_client(dav_server, alice) as http:
        http.put(made.href, content=vcard("u4", "Changed"), headers={"Content-Type": "text/vcard"})
    with pytest.raises(DavConflict):
        carddav_card_delete(account=alice, href=made.href, etag=made.etag)
    with other_client(dav_server, alice) as http:
        assert "FN:Changed" in http.get(made.href).text


def test_delete_of_a_card_already_gone_says_404(alice: Account, dav_server: DavServer) -> None:
    book = _book(alice)
    with pytest.raises(DavRefused) as refused:
        carddav_card_delete(account=alice, href=book.dav_href + "never-there.vcf", etag=None)
    assert refused.value.status == 404


def test_move_to_another_book_keeps_the_content(alice: Account, dav_server: DavServer) -> None:
    book = _book(alice)
    made = carddav_card_put(account=alice, book=book, vcard_text=vcard("u5", "Mover", email="m@example.test"))
    other = carddav_book_create(account=alice, name="Work")
    target = _book(alice, other.href)
    moved = carddav_card_move(account=alice, href=made.href, etag=made.etag, book=target)
    assert moved.href == target.dav_href + "u5.vcf" and moved.etag
    with other_client(dav_server, alice) as http:
        assert http.get(made.href).status_code == 404
        arrived = http.get(moved.href)
    assert arrived.status_code == 200 and "m@example.test" in arrived.text


def test_move_with_a_stale_etag_is_a_conflict_and_moves_nothing(alice: Account, dav_server: DavServer) -> None:
    book = _book(alice)
    made = carddav_card_put(account=alice, book=book, vcard_text=vcard("u6", "Stay"))
    target = _book(alice, carddav_book_create(account=alice, name="Elsewhere").href)
    with other_client(dav_server, alice) as http:
        http.put(made.href, content=vcard("u6", "Stay changed"), headers={"Content-Type": "text/vcard"})
    with pytest.raises(DavConflict):
        carddav_card_move(account=alice, href=made.href, etag=made.etag, book=target)
    with other_client(dav_server, alice) as http:
        assert "FN:Stay changed" in http.get(made.href).text
        assert http.get(target.dav_href + "u6.vcf").status_code == 404


def test_book_create_update_delete(alice: Account, dav_server: DavServer) -> None:
    created = carddav_book_create(account=alice, name="Family & Friends", description="close ones")
    assert {"read", "write-content", "bind"} <= set(created.privileges)
    assert created.vcard_version in ("3.0", "4.0")
    book = _book(alice, created.href)
    with other_client(dav_server, alice) as http:
        listing = http.request("PROPFIND", created.href, content=PROPFIND_NAMES,
                               headers={"Depth": "0", "Content-Type": "application/xml"})
    assert listing.status_code == 207
    assert "Family &amp; Friends" in listing.text and "close ones" in listing.text
    assert "addressbook" in listing.text

    carddav_book_update(account=alice, book=book, name="Family", description="")
    with other_client(dav_server, alice) as http:
        listing = http.request("PROPFIND", created.href, content=PROPFIND_NAMES,
                               headers={"Depth": "0", "Content-Type": "application/xml"})
    assert ">Family<" in listing.text and "close ones" not in listing.text

    carddav_book_delete(account=alice, book=book)
    with other_client(dav_server, alice) as http:
        gone = http.request("PROPFIND", created.href, content=PROPFIND_NAMES,
                            headers={"Depth": "0", "Content-Type": "application/xml"})
    assert gone.status_code == 404 or "404" in gone.text


def test_a_book_of_another_account_is_refused(alice: Account, dav_server: DavServer) -> None:
    bob = carddav_account(server=dav_server, persona="bob")
    with pytest.raises(ValueError):
        carddav_card_put(account=bob, book=_book(alice), vcard_text=vcard("x", "X"))


def test_a_card_outside_the_accounts_books_is_refused_before_any_request(
    alice: Account, dav_server: DavServer
) -> None:
    """The account's credentials go with every request: an href that is not in
    one of its address books (another user's, another host) is never sent."""
    bob = carddav_account(server=dav_server, persona="bob")
    bobs_card = url_normalise(bob.dav_user.addressbook_url) + "card.vcf"  # type: ignore[attr-defined]
    book = _book(alice)
    with pytest.raises(ValueError):
        carddav_card_delete(account=alice, href=bobs_card, etag=None)
    with pytest.raises(ValueError):
        carddav_card_delete(account=alice, href="https://elsewhere.example.test/x/card.vcf", etag=None)
    with pytest.raises(ValueError):
        carddav_card_move(account=alice, href=bobs_card, etag=None, book=book)
    with pytest.raises(ValueError):
        carddav_card_put(account=alice, book=book, vcard_text=vcard("b", "B"), href=bobs_card, etag='"1"')
