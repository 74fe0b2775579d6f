"""The default address book (RFC 9610 §2 isDefault): exactly one live
AddressBook of an account has isDefault true whenever it has any.

CardDAV has no notion of a default collection, so the proxy keeps the flag in
its cache: when no book is default (the first sync, or the default one was
removed by this or another client), the first by sortOrder, then name, then
age becomes the default; AddressBook/set's onSuccessSetIsDefault (§2.3)
moves it. Every flag change moves the row's modseq, so /changes reports it.
"""
from __future__ import annotations

from django.utils import timezone

from accounts.models import Account
from jmapcore.models.contacts import AddressBook
from jmapcore.state import state_change_atomic

__all__ = ["address_book_default_ensure", "address_book_default_repair", "address_book_default_set"]


def _flag(book: AddressBook, *, value: bool, modseq: int) -> None:
    # update() skips auto_now: updated_at is set by hand (the tombstone window reads it).
    AddressBook.objects.filter(pk=book.pk).update(is_default=value, updated_modseq=modseq, updated_at=timezone.now())
    book.is_default = value
    book.updated_modseq = modseq


def address_book_default_repair(*, account: Account, modseq: int) -> list[str]:
    """Inside the caller's state_change_atomic (type AddressBook): make exactly
    one live book default, at `modseq`. Returns the ids of the books whose
    flag changed (empty when it was already right)."""
    live = list(
        AddressBook.objects.select_for_update()
        .filter(account=account, destroyed=False)
        .order_by("sort_order", "name", "pk")
    )
    defaults = [book for book in live if book.is_default]
    keep = defaults[0] if defaults else (live[0] if live else None)
    changed: list[str] = []
    for book in live:
        wanted = book is keep
        if book.is_default != wanted:
            _flag(book, value=wanted, modseq=modseq)
            changed.append(book.jmap_id)
    return changed


def address_book_default_ensure(*, account: Account) -> None:
    """Repair the default flag when it is not exactly one live book; costs one
    query when it is (every AddressBook/get and /changes calls this before
    reading the state)."""
    live = AddressBook.objects.filter(account=account, destroyed=False)
    defaults = live.filter(is_default=True).count()
    if defaults == 1 or (defaults == 0 and not live.exists()):
        return
    with state_change_atomic(account=account, type_names=["AddressBook"]) as modseq:
        address_book_default_repair(account=account, modseq=modseq)


def address_book_default_set(*, account: Account, jmap_id: str) -> dict[str, bool]:
    """Make the live book `jmap_id` of `account` the default (RFC 9610 §2.3
    onSuccessSetIsDefault). Returns {id: new isDefault} for every book whose
    flag changed; {} when the id names no live book of the account or it is
    already the default (the RFC says to ignore such a request)."""
    target = AddressBook.objects.filter(account=account, destroyed=False, jmap_id=jmap_id).first()
    if target is None or target.is_default:
        return {}
    with state_change_atomic(account=account, type_names=["AddressBook"]) as modseq:
        changed: dict[str, bool] = {}
        others = AddressBook.objects.select_for_update().filter(account=account, destroyed=False, is_default=True)
        for book in others.exclude(pk=target.pk):
            _flag(book, value=False, modseq=modseq)
            changed[book.jmap_id] = False
        _flag(target, value=True, modseq=modseq)
        changed[target.jmap_id] = True
    return changed
