"""Writes to the CardDAV server (issue 10 item 4; RFC 6352 §6.3, RFC 4918, RFC 7232, RFC 5689).

The server first: these services only talk to the server and return what it
confirmed (href, ETag); the JMAP layer changes the cache afterwards, in one
transaction, or reports a SetError and resyncs (DESIGN.md "Writes").

- carddav_card_put: create (If-None-Match: *, at a new href named from the
  card's UID when that is a safe file name, else a random one) or update
  (If-Match with the cached ETag). An answer without an ETag (RFC 6352 §6.3.2.3
  allows a server to change what it stores) is followed by a PROPFIND for it,
  so the cache always has the ETag of what the server holds.
- carddav_card_delete: DELETE, If-Match when an ETag is given.
- carddav_card_move: MOVE with Overwrite: F (RFC 4918 §9.9) and If-Match,
  after a PROPFIND comparing the ETag (Radicale and Xandikos ignore If-Match
  on MOVE, so the comparison is what stops a stale move); a server that
  refuses MOVE between collections (405/501/502/403 without precondition) gets
  PUT (If-None-Match) at the destination, then DELETE (If-Match) of the source,
  so the card exists on the server at every moment.
- carddav_book_create: extended MKCOL with resourcetype addressbook and
  displayname (RFC 5689 §5.1, RFC 6352 §6.3.1); a server without extended MKCOL
  (415/501/400) gets a plain MKCOL followed by a PROPPATCH of resourcetype and
  names. The privileges and vCard version of the new book are read back.
- carddav_book_update: PROPPATCH displayname / CARDDAV:addressbook-description.
- carddav_book_delete: DELETE of the collection.

Refusals raise DavRefused (412 → DavConflict); DELETE of something already
gone raises DavRefused with status 404, which callers may treat as done.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import quote

from accounts.models import Account
from backends.carddav.davxml import (
    DAV,
    displayname_props,
    mkcol_addressbook_body,
    proppatch_body,
    qname,
)
from backends.carddav.discovery import BOOK_PROPS, book_info, carddav_locate, is_address_book
from backends.carddav.progress import carddav_progress
from backends.dav.client import DavClient, etag_normalise
from backends.dav.errors import DavRefused, dav_permanent
from backends.dav.hrefs import href_absolute, url_collection, url_name, url_parent, url_path
from backends.dav.resources import DavPutResult, dav_created, dav_etag_fetch, dav_move_by_copy, dav_move_conflict
from jmapcore.models.contacts import AddressBook

VCARD_TYPE = "text/vcard; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass
class DavBookResult:
    href: str
    privileges: list[str] = field(default_factory=list)
    vcard_version: str = "3.0"


def _card_uid(vcard_text: str) -> str:
    """The UID of a vCard text ('' when it has none)."""
    from jmapcore.contacts.jscontact.vcard_syntax import value_unescape, vcard_parse

    card = vcard_parse(vcard_text)
    for prop in card.properties:
        if prop.name == "UID":
            return value_unescape(prop.value).strip()
    return ""


def card_href_new(*, book: AddressBook, uid: str) -> str:
    """Where a new card goes: <book>/<uid>.vcf when the UID is a safe file name
    (what most clients do, and what makes hrefs readable), else a random name.
    A "urn:uuid:" prefix is dropped first."""
    name = uid.removeprefix("urn:uuid:")
    if not _SAFE_NAME.match(name):
        name = secrets.token_hex(16)
    return url_collection(book.dav_href) + quote(name) + ".vcf"


def _book_check(account: Account, book: AddressBook) -> None:
    if book.account_id != account.pk:
        raise ValueError("the address book belongs to another account")


def _href_check(account: Account, href: str, *, book: AddressBook | None = None) -> None:
    """`href` must name a resource in `book`, or in one of the account's books:
    the account's credentials go with the request."""
    parent = url_parent(href)
    if book is not None:
        if url_collection(book.dav_href) != parent:
            raise ValueError("the card is not in this address book")
        return
    if not AddressBook.objects.filter(account=account, dav_href=parent).exists():
        raise ValueError("the card is not in an address book of this account")


def carddav_card_put(*, account: Account, book: AddressBook, vcard_text: str, href: str | None = None,
                     etag: str | None = None) -> DavPutResult:
    """Create (href None) or replace the vCard at `href` (see the module docstring)."""
    _book_check(account, book)
    creating = href is None
    if href is not None:
        _href_check(account, href, book=book)
    target = card_href_new(book=book, uid=_card_uid(vcard_text)) if href is None else href
    headers = {"Content-Type": VCARD_TYPE}
    if creating:
        headers["If-None-Match"] = "*"
    elif etag:
        headers["If-Match"] = etag_normalise(etag)
    with DavClient.for_account(account) as client:
        answer = client.checked("PUT", target, ok=(200, 201, 204), body=vcard_text, headers=headers)
        # Some servers answer with the new location (RFC 7231 §7.1.2) when they rename.
        location = answer.headers.get("location")
        final = href_absolute(target, location) if creating and location and answer.status == 201 else target
        final = href_absolute(final, final)
        if url_parent(final) != url_collection(book.dav_href):
            # A Location outside the book is not believed: the credentials would follow it.
            final = href_absolute(target, target)
        return DavPutResult(href=final, etag=answer.etag or dav_etag_fetch(client, final))


def carddav_card_delete(*, account: Account, href: str, etag: str | None) -> None:
    """DELETE the vCard at `href` (If-Match: etag when given); ValueError for an
    href outside the account's address books."""
    _href_check(account, href)
    headers = {"If-Match": etag_normalise(etag)} if etag else {}
    with DavClient.for_account(account) as client:
        client.checked("DELETE", href, ok=(200, 204), headers=headers)


# MOVE statuses after which PUT+DELETE is tried instead (the server cannot move there).
_MOVE_UNSUPPORTED = frozenset({405, 501, 502})


def carddav_card_move(*, account: Account, href: str, etag: str | None, book: AddressBook) -> DavPutResult:
    """Move the vCard at `href` into `book` (see the module docstring)."""
    _book_check(account, book)
    _href_check(account, href)
    destination = url_collection(book.dav_href) + url_name(href)
    headers = {"Destination": destination, "Overwrite": "F"}
    if etag:
        headers["If-Match"] = etag_normalise(etag)
    with DavClient.for_account(account) as client:
        if etag and dav_etag_fetch(client, href) != etag_normalise(etag):
            # Radicale and Xandikos ignore If-Match on MOVE: without this check a
            # card another client just changed would move unseen.
            raise dav_move_conflict(href, why="the card changed on the server")
        answer = client.request("MOVE", href, headers=headers)
        if answer.status in (201, 204):
            return DavPutResult(href=destination, etag=answer.etag or dav_etag_fetch(client, destination))
        if answer.status not in _MOVE_UNSUPPORTED:
            raise answer.refused(f"MOVE {url_path(href)}")
        return dav_move_by_copy(client, href=href, etag=etag, destination=destination, content_type=VCARD_TYPE)


def _home(client: DavClient, account: Account) -> str:
    homes = carddav_progress(account).get("homes")
    if isinstance(homes, list) and homes:
        return str(homes[0])
    _url, _principal, found = carddav_locate(client=client, account=account)
    return found[0]


def _book_read(client: DavClient, href: str) -> DavBookResult:
    listing = client.propfind(href, depth="0", props=BOOK_PROPS)
    for response in listing.responses:
        if response.found and url_collection(response.href) == href and is_address_book(response):
            info = book_info(response)
            return DavBookResult(href=href, privileges=info.privileges, vcard_version=info.vcard_version)
    raise dav_permanent(f"MKCOL {url_path(href)}: the new collection is not an address book")


def carddav_book_create(*, account: Account, name: str, description: str = "") -> DavBookResult:
    """Create an address book named `name` in the account's home set."""
    with DavClient.for_account(account) as client:
        home = _home(client, account)
        href = url_collection(home) + secrets.token_hex(12) + "/"
        answer = client.request("MKCOL", href, body=mkcol_addressbook_body(name=name, description=description),
                                headers={"Content-Type": XML_TYPE})
        if answer.status in (400, 415, 501):
            client.checked("MKCOL", href, ok=(201,))
            with dav_created(client, href):
                client.checked("PROPPATCH", href, ok=(200, 207), headers={"Content-Type": XML_TYPE},
                               body=proppatch_body(set_props=displayname_props(name=name, description=description
                                                                               or None), resourcetype=True))
        elif answer.status != 201:
            raise answer.refused(f"MKCOL {url_path(href)}")
        with dav_created(client, href):
            if description:
                # Some servers (Xandikos) ignore the description of an extended MKCOL: set it again.
                _proppatch(client, href, name=None, description=description)
            return _book_read(client, href)


def _proppatch(client: DavClient, href: str, *, name: str | None, description: str | None) -> None:
    what = f"PROPPATCH {url_path(href)}"
    answer = client.checked("PROPPATCH", href, ok=(200, 207), headers={"Content-Type": XML_TYPE},
                            body=proppatch_body(set_props=displayname_props(name=name, description=description)))
    if answer.status == 207:
        # RFC 4918 §9.2.1: each property has its own status; all succeed or none does.
        _propstat_check(answer.body, what)


def _propstat_check(body: bytes, what: str) -> None:
    from backends.carddav.davxml import status_code, xml_parse

    root = xml_parse(body, what=what)
    for status in root.iter(qname(DAV, "status")):
        code = status_code(status.text)
        if code is not None and code >= 400:
            raise DavRefused(f"{what}: a property was refused ({code})", status=code)


def carddav_book_update(*, account: Account, book: AddressBook, name: str | None = None,
                        description: str | None = None) -> None:
    """PROPPATCH the book's displayname and/or description (None leaves one as it is)."""
    _book_check(account, book)
    if name is None and description is None:
        return
    with DavClient.for_account(account) as client:
        _proppatch(client, book.dav_href, name=name, description=description)


def carddav_book_delete(*, account: Account, book: AddressBook) -> None:
    """DELETE the book's collection (with every card in it: RFC 4918 §9.6.1)."""
    _book_check(account, book)
    with DavClient.for_account(account) as client:
        client.checked("DELETE", book.dav_href, ok=(200, 204))
