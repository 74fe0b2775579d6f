"""ContactCard writes: the CardDAV server first, then the cache (RFC 9610 §3.5,
DESIGN.md "Writes: the backend first, nothing lost").

Each service builds the vCard with jscontact.card_write (a minimal change of
the stored vCard when there is one, in the address book's own vCard version),
sends it with PUT / DELETE / MOVE, and only when the server has confirmed it
rewrites the cache row from the text actually sent, in one
state_change_atomic (one modseq, one StateChange after commit). Any refusal
raises SetErrorException before the cache is touched, so a failed write
leaves cache and server as they were.

Refusals: CardInvalid -> invalidProperties naming every property; a 412 (the
card changed on the server since the last sync) -> the book is synced again,
so the next /get shows the server's version, and the write fails; any other
refusal -> a SetError carrying the server's reason.
"""
from __future__ import annotations

import logging
from typing import Any

from accounts.models import Account
from backends.base import BackendError
from backends.carddav.cards import card_columns
from backends.carddav.sync import carddav_book_sync
from backends.carddav.writes import carddav_card_delete, carddav_card_move, carddav_card_put
from backends.dav.errors import DavConflict, DavRefused
from backends.dav.resources import DavPutResult
from jmapcore.contacts.jscontact import CardInvalid, card_read, card_write
from jmapcore.datatypes.orm import jmap_id_new
from jmapcore.models.contacts import AddressBook, ContactCard
from jmapcore.protocol.errors import SetError, SetErrorException
from jmapcore.state import state_change_atomic

logger = logging.getLogger(__name__)

TYPE_NAMES = ("ContactCard",)
DEFAULT_VCARD_VERSION = "4.0"
# The JSON properties JMAP adds to a Card (RFC 9610 §3); never stored in `card`.
_JMAP_ONLY = ("id", "addressBookIds")

# RFC 3744 §3.12: "all" and "write" contain the finer privileges.
_AGGREGATES = frozenset({"all", "write"})


def book_privilege(*, account: Account, book: AddressBook, privilege: str) -> bool:
    """Whether the caller holds `privilege` ("bind", "unbind", "write-content")
    on `book`, from the current-user-privilege-set sync recorded (RFC 3744 §5.4).

    A read-only account holds none. A book whose server reported no privilege
    set is treated as writable: the server itself decides on the PUT.
    """
    if account.is_read_only:
        return False
    granted = {str(item).lower() for item in (book.dav_privileges or [])}
    if not granted:
        return True
    return privilege in granted or bool(granted & _AGGREGATES)


def _vcard_text(card: dict[str, Any], *, previous_text: str | None, version: str) -> str:
    try:
        return card_write(card, previous_text=previous_text, version=version)
    except CardInvalid as invalid:
        raise SetErrorException(
            SetError("invalidProperties", invalid.description, properties=sorted(set(invalid.properties)))
        ) from None


def _book_resync(*, account: Account, book: AddressBook) -> None:
    """After a 412: read the book again so the cache shows what the server holds.
    A failure here only leaves that to the next periodic sync."""
    try:
        carddav_book_sync(account=account, book=book)
    except BackendError as sync_error:
        logger.warning("resync of address book %s after a 412 failed: %s", book.jmap_id, sync_error)


def _refusal(error: DavRefused, *, account: Account, book: AddressBook, doing: str) -> SetErrorException:
    """The SetError for a CardDAV refusal (RFC 6352 §6.3.2.1 preconditions, RFC 7232 412)."""
    reason = (error.reason or str(error))[:500]
    if isinstance(error, DavConflict):
        _book_resync(account=account, book=book)
        return SetErrorException(
            SetError(
                "stateMismatch",
                f"{doing}: the card changed on the CardDAV server meanwhile (412); "
                "it has been read again: fetch it and retry",
            )
        )
    precondition = error.precondition or ""
    if precondition == "no-uid-conflict":
        return SetErrorException(
            SetError("invalidProperties", f"uid: the CardDAV server holds another card with it ({reason})",
                     properties=["uid"])
        )
    if precondition in ("valid-address-data", "supported-address-data", "supported-address-data-conversion"):
        return SetErrorException(SetError("invalidProperties", f"the CardDAV server refused the vCard: {reason}"))
    if precondition == "max-resource-size" or error.status == 413:
        return SetErrorException(SetError("tooLarge", f"the CardDAV server refused the size: {reason}"))
    if error.status == 507:
        return SetErrorException(SetError("overQuota", f"the CardDAV server is out of space: {reason}"))
    if error.status in (401, 403):
        return SetErrorException(SetError("forbidden", f"the CardDAV server refused it: {reason}"))
    return SetErrorException(SetError("serverFail", f"the CardDAV server refused {doing}: {reason}"))


def _row_columns(*, text: str, etag: str, href: str, book: AddressBook) -> dict[str, Any]:
    """The cache columns for a vCard the server now holds as `text`.

    Read with the sync's own conversion (backends.carddav.cards.card_columns),
    which never raises and cuts values to the columns' sizes: once the server
    has confirmed the write, the cache must be able to take it.
    """
    columns = card_columns(text=text, href=href)
    card = {key: value for key, value in columns.card.items() if key not in _JMAP_ONLY}
    return {
        "address_book": book,
        "card": card,
        "vcard": text,
        "dav_href": href,
        "dav_etag": etag or "",
        "parse_problems": list(columns.problems),
        **columns.fields,
    }


def contact_card_create(*, account: Account, book: AddressBook, card: dict[str, Any]) -> ContactCard:
    """Create `card` (a JSContact Card with a uid) in `book`: PUT with
    If-None-Match: * (RFC 6352 §6.3.2), then a new cache row.

    If a sync already brought the new resource into the cache between the PUT
    and this write, that row becomes ours, so the card never shows twice.
    """
    if not book_privilege(account=account, book=book, privilege="bind"):
        raise SetErrorException(SetError("forbidden", "the address book does not allow adding cards"))
    version = book.vcard_version or DEFAULT_VCARD_VERSION
    text = _vcard_text(card, previous_text=None, version=version)
    try:
        put = carddav_card_put(account=account, book=book, vcard_text=text)
    except DavConflict:
        # If-None-Match: * failed: the server already holds a resource of that
        # name, which is named after the uid. Read the book again so it shows.
        _book_resync(account=account, book=book)
        raise SetErrorException(
            SetError("invalidProperties", "uid: the address book on the server already has a card with this uid",
                     properties=["uid"])
        ) from None
    except DavRefused as refused:
        raise _refusal(refused, account=account, book=book, doing="the new card") from None
    columns = _row_columns(text=text, etag=put.etag, href=put.href, book=book)
    with state_change_atomic(account=account, type_names=TYPE_NAMES) as modseq:
        row = ContactCard.objects.filter(account=account, address_book=book, dav_href=put.href, destroyed=False).first()
        if row is None:
            row = ContactCard(
                account=account, jmap_id=jmap_id_new("c"), created_modseq=modseq, updated_modseq=modseq, **columns
            )
            row.save()
        else:
            for column, value in columns.items():
                setattr(row, column, value)
            row.updated_modseq = modseq
            row.save()
    return row


def _delete_quietly(*, account: Account, href: str, etag: str) -> None:
    """Undo a copy this write made (best effort: the next sync shows what is left)."""
    try:
        carddav_card_delete(account=account, href=href, etag=etag or None)
    except BackendError as error:
        logger.warning("could not remove the new copy of a card after a failed move: %s", error)


def _move_source_delete(*, account: Account, row: ContactCard, copy: DavPutResult,
                        books: tuple[AddressBook, AddressBook]) -> None:
    """The second half of a move with a change: DELETE the old resource.

    - Deleted, or already gone (404/410): the move is done.
    - Refused for certain (412, 403, …): the new copy is removed again, so the
      card is never in two books, and the refusal is raised.
    - No answer (timeout, dropped connection): the DELETE may have happened, so
      removing the new copy could lose the card. Both copies may stay; both
      books are read again, the cache shows what the server holds, and the
      error is raised.
    """
    try:
        carddav_card_delete(account=account, href=row.dav_href, etag=row.dav_etag or None)
    except DavRefused as refused:
        if refused.status in (404, 410) and not isinstance(refused, DavConflict):
            return
        if refused.permanent:
            _delete_quietly(account=account, href=copy.href, etag=copy.etag)
            raise
        for book in books:
            _book_resync(account=account, book=book)
        raise
    except BackendError:
        for book in books:
            _book_resync(account=account, book=book)
        raise


def contact_card_update(
    *, account: Account, row: ContactCard, card: dict[str, Any], book: AddressBook
) -> ContactCard:
    """Make the card `card` in `book` (its own book, or another one: a move).

    - Content changed, same book: PUT with If-Match (a minimal change of the stored vCard).
    - Same content, other book: MOVE (carddav_card_move keeps the card if it must fall back to PUT+DELETE).
    - Both: PUT into the new book, then DELETE the old resource with If-Match
      (see _move_source_delete for what happens when that DELETE fails).
    """
    source: AddressBook = row.address_book
    moving = book.pk != source.pk
    content_changed = card != row.card
    if content_changed and not moving and not book_privilege(account=account, book=book, privilege="write-content"):
        raise SetErrorException(SetError("forbidden", "the address book does not allow changing cards"))
    if moving and not book_privilege(account=account, book=source, privilege="unbind"):
        raise SetErrorException(SetError("forbidden", "the card's address book does not allow removing cards"))
    if moving and not book_privilege(account=account, book=book, privilege="bind"):
        raise SetErrorException(SetError("forbidden", "the target address book does not allow adding cards"))

    text = row.vcard
    if content_changed:
        version = book.vcard_version or source.vcard_version or card_read(row.vcard).version or DEFAULT_VCARD_VERSION
        text = _vcard_text(card, previous_text=row.vcard or None, version=version)
    try:
        if not moving:
            put = carddav_card_put(
                account=account, book=book, vcard_text=text, href=row.dav_href, etag=row.dav_etag or None
            )
        elif not content_changed:
            put = carddav_card_move(account=account, href=row.dav_href, etag=row.dav_etag or None, book=book)
        else:
            put = carddav_card_put(account=account, book=book, vcard_text=text)
            _move_source_delete(account=account, row=row, copy=put, books=(source, book))
    except DavRefused as refused:
        # A 412 means the stored ETag of the card is stale: its own book is resynced.
        raise _refusal(refused, account=account, book=source, doing="the change") from None
    columns = _row_columns(text=text, etag=put.etag, href=put.href, book=book)
    with state_change_atomic(account=account, type_names=TYPE_NAMES) as modseq:
        for column, value in columns.items():
            setattr(row, column, value)
        row.updated_modseq = modseq
        row.save()
    return row


def contact_card_destroy(*, account: Account, row: ContactCard) -> None:
    """DELETE the vCard with If-Match (RFC 7232 §3.1), then tombstone the row.
    A card the server no longer has (404) is gone either way: tombstoned too."""
    book: AddressBook = row.address_book
    if not book_privilege(account=account, book=book, privilege="unbind"):
        raise SetErrorException(SetError("forbidden", "the address book does not allow removing cards"))
    try:
        carddav_card_delete(account=account, href=row.dav_href, etag=row.dav_etag or None)
    except DavRefused as refused:
        if refused.status not in (404, 410) or isinstance(refused, DavConflict):
            raise _refusal(refused, account=account, book=book, doing="the removal") from None
    with state_change_atomic(account=account, type_names=TYPE_NAMES) as modseq:
        row.destroyed = True
        row.updated_modseq = modseq
        row.save(update_fields=["destroyed", "updated_modseq", "updated_at"])
