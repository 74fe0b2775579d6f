"""Helpers for the ContactCard method tests.

`card_row` and friends make cache rows the way CardDAV sync makes them, for
the ContactCard/get, /changes, /query and /queryChanges tests (no DAV server):
each row is read from real vCard text by the real converter
(jscontact.card_read + card_search_fields), inside state_change_atomic like a
sync, so its state, search and sort columns are what a sync would store.
`dav_card_text` reads a card back from the DAV server as any other client would.
"""
from __future__ import annotations

import secrets

from accounts.models import Account
from jmapcore.contacts.jscontact import card_read, card_search_fields
from jmapcore.datatypes.orm import jmap_id_new
from jmapcore.models.contacts import AddressBook, ContactCard
from jmapcore.state import state_change_atomic
from tests.jmapcore.contacts.methods.address_book_people import ContactsPerson


def vcard(*lines: str, uid: str | None = None, version: str = "4.0") -> str:
    """A vCard of `version` with `lines` between its UID and END."""
    body = [
        "BEGIN:VCARD",
        f"VERSION:{version}",
        f"UID:{uid or 'urn:uuid:' + secrets.token_hex(16)}",
        *lines,
        "END:VCARD",
    ]
    return "\r\n".join(body) + "\r\n"


def card_row(account: Account, book: AddressBook, text: str) -> ContactCard:
    """A new cache row for the vCard `text` in `book` (as sync writes it)."""
    reading = card_read(text)
    with state_change_atomic(account=account, type_names=["ContactCard"]) as modseq:
        return ContactCard.objects.create(
            account=account,
            jmap_id=jmap_id_new("c"),
            created_modseq=modseq,
            updated_modseq=modseq,
            address_book=book,
            card=reading.card,
            dav_href=f"{book.dav_href}{secrets.token_hex(6)}.vcf",
            dav_etag=f'"{secrets.token_hex(4)}"',
            vcard=text,
            parse_problems=reading.problems,
            **card_search_fields(reading.card),
        )


def card_row_replace(row: ContactCard, text: str) -> ContactCard:
    """The vCard of `row` changed on the server: the row as sync rewrites it."""
    reading = card_read(text)
    with state_change_atomic(account=row.account, type_names=["ContactCard"]) as modseq:
        row.card = reading.card
        row.vcard = text
        for column, value in card_search_fields(reading.card).items():
            setattr(row, column, value)
        row.updated_modseq = modseq
        row.save()
    return row


def card_row_destroy(row: ContactCard) -> None:
    """The vCard of `row` is gone from the server: sync tombstones the row."""
    with state_change_atomic(account=row.account, type_names=["ContactCard"]) as modseq:
        row.destroyed = True
        row.updated_modseq = modseq
        row.save(update_fields=["destroyed", "updated_modseq", "updated_at"])


def dav_card_text(person: ContactsPerson, href: str) -> str | None:
    """The vCard at `href` as another CardDAV client reads it; None when gone."""
    with person.dav() as client:
        answer = client.get(href)
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, answer.text
    return answer.text


def vcard_lines(text: str) -> list[str]:
    """The unfolded content lines of a vCard (RFC 6350 §3.2)."""
    unfolded = text.replace("\r\n", "\n").replace("\n ", "").replace("\n\t", "")
    return [line for line in unfolded.split("\n") if line]


def row_of(account: Account, card_id: str) -> ContactCard:
    """The cache row of card `card_id` in `account` (destroyed or not)."""
    return ContactCard.objects.select_related("address_book").get(account=account, jmap_id=card_id)
