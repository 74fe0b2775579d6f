"""What destroying an AddressBook does to its cards in the cache (RFC 9610 §2.3).

A vCard lives in exactly one collection, so deleting the collection on the
CardDAV server deletes its cards there too; the cache follows in the same
transaction as the book's tombstone, so ContactCard/changes reports them.
"""
from __future__ import annotations

from django.utils import timezone

from jmapcore.models.contacts import AddressBook, ContactCard

__all__ = ["address_book_cards_count", "address_book_cards_remove"]


def address_book_cards_count(*, book: AddressBook) -> int:
    """How many live cards the cache holds in `book`."""
    return ContactCard.objects.filter(address_book=book, destroyed=False).count()


def address_book_cards_remove(*, book: AddressBook, modseq: int) -> int:
    """Inside the caller's state_change_atomic (types AddressBook and
    ContactCard): every live card of `book` becomes a tombstone at `modseq`.
    Returns how many."""
    return ContactCard.objects.filter(address_book=book, destroyed=False).update(
        destroyed=True, updated_modseq=modseq, updated_at=timezone.now()
    )
