"""Discovery of an account's address books (backends.carddav.discovery) on Radicale and Xandikos."""
from __future__ import annotations

import pytest

from accounts.models import Account
from backends.carddav.discovery import carddav_discover, discovery_start_url
from backends.dav.client import DavClient
from backends.dav.errors import DavRefused
from backends.dav.hrefs import url_normalise
from tests.backends.carddav.conftest import other_client
from tests.backends.carddav.dav_people import DavServer, carddav_account

pytestmark = pytest.mark.django_db


def test_principal_url_finds_the_default_book_with_its_properties(alice: Account, dav_server: DavServer) -> None:
    user = alice.dav_user  # type: ignore[attr-defined]
    with DavClient.for_account(alice) as client:
        found = carddav_discover(client=client, account=alice)
    assert found.principal == url_normalise(user.carddav_url)
    assert [book.href for book in found.books] == [url_normalise(user.addressbook_url)]
    book = found.books[0]
    assert book.name == "Contacts"
    assert {"read", "write-content", "bind", "unbind"} <= set(book.privileges)
    assert book.vcard_version == "3.0"
    assert book.sync_token and book.sync_collection


def test_server_root_is_enough(alice: Account, dav_server: DavServer) -> None:
    """From the bare server URL, current-user-principal (or /.well-known/carddav) leads to the books."""
    alice.carddav_url = dav_server.base_url + "/"
    with DavClient.for_account(alice) as client:
        found = carddav_discover(client=client, account=alice)
    assert [book.name for book in found.books] == ["Contacts"]


def test_the_well_known_url_redirects_to_the_service(alice: Account, dav_server: DavServer) -> None:
    """RFC 6764 §5: /.well-known/carddav answers with a redirect (followed on the same host only)."""
    alice.carddav_url = dav_server.base_url + "/.well-known/carddav"
    with DavClient.for_account(alice) as client:
        found = carddav_discover(client=client, account=alice)
    assert [book.name for book in found.books] == ["Contacts"]
    assert not found.url.endswith("/.well-known/carddav")


def test_every_book_with_name_and_description(alice: Account, dav_server: DavServer) -> None:
    user = alice.dav_user  # type: ignore[attr-defined]
    home = user.addressbook_url.rstrip("/").rsplit("/", 1)[0] + "/"
    body = ('<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>'
            "<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>Work &amp; co"
            "</D:displayname><C:addressbook-description>Colleagues</C:addressbook-description>"
            "</D:prop></D:set></D:mkcol>")
    with other_client(dav_server, alice) as http:
        made = http.request("MKCOL", home + "work%20book/", content=body,
                            headers={"Content-Type": "application/xml"})
        assert made.status_code == 201, made.text
        # Xandikos ignores the description in an extended MKCOL; a PROPPATCH sets it on both.
        patch = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">'
                 "<D:set><D:prop><C:addressbook-description>Colleagues</C:addressbook-description></D:prop>"
                 "</D:set></D:propertyupdate>")
        patched = http.request("PROPPATCH", home + "work%20book/", content=patch,
                               headers={"Content-Type": "application/xml"})
        assert patched.status_code == 207, patched.text
    with DavClient.for_account(alice) as client:
        found = carddav_discover(client=client, account=alice)
    by_name = {book.name: book for book in found.books}
    assert set(by_name) == {"Contacts", "Work & co"}
    assert by_name["Work & co"].description == "Colleagues"
    assert by_name["Work & co"].href == url_normalise(home + "work%20book/")


def test_wrong_password_is_a_permanent_refusal(alice: Account, dav_server: DavServer) -> None:
    with DavClient(username=alice.username, password="not-the-password") as client, \
            pytest.raises(DavRefused) as refused:
        carddav_discover(client=client, account=alice)
    assert refused.value.status == 401
    assert refused.value.permanent
    assert "not-the-password" not in str(refused.value)


def test_mallory_cannot_list_alices_books(db: None, dav_server: DavServer) -> None:
    alice = carddav_account(server=dav_server, persona="alice")
    mallory = carddav_account(server=dav_server, persona="mallory")
    mallory.carddav_url = alice.carddav_url
    with DavClient.for_account(mallory) as client, pytest.raises(DavRefused) as refused:
        carddav_discover(client=client, account=mallory)
    # Radicale answers 403; Xandikos's experimental multi-user mode fails the request (500).
    assert refused.value.status in (403, 404, 500)


def test_without_url_discovery_starts_at_the_well_known_url_of_the_host(db: None) -> None:
    account = Account(email="alice@example.test", imap_host="mail.example.test")
    assert discovery_start_url(account) == "https://mail.example.test/.well-known/carddav"
    account.carddav_url = "https://dav.example.test/Alice%40x/"
    assert discovery_start_url(account) == "https://dav.example.test/Alice@x/"
