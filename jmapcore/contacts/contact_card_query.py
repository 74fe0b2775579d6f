"""ContactCard/query filters and sorts (RFC 9610 §3.3.1, §3.3.2) over the cache's columns.

Every text condition is a case-insensitive substring test on one of the
``search_*`` columns, which hold casefolded text (jscontact.card_search_fields).
The client's text is casefolded the same way and goes into SQL as a LIKE
operand that Django escapes (``%``, ``_`` and ``\\`` match themselves), so no
user text ever becomes a pattern or a regular expression.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import F, OrderBy, Q, Value
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan

from jmapcore.datatypes.sql import FilterBuilder, SortBuilder, sort_text
from jmapcore.datatypes.values import InvalidValue, jmap_id, string, utc_date
from jmapcore.protocol.errors import MethodError
from jmapcore.protocol.query import Comparator

# Longer search text cannot match a card any client would hold and only costs SQL.
MAX_FILTER_TEXT = 1024
# A uid column holds at most this much (ContactCard.uid max_length).
MAX_UID = 1024


def _casefolded_text(column: str) -> FilterBuilder:
    """Substring of the casefolded column, whatever the case of the query text."""
    check = string(max_length=MAX_FILTER_TEXT)

    def build(value: Any) -> Q:
        text: str = check(value).casefold()
        return Q(**{f"{column}__icontains": text})

    return build


def _uid(value: Any) -> Q:
    """RFC 9610 §3.3.1 uid: the card's uid is exactly this (case-sensitive)."""
    return Q(uid=string(max_length=MAX_UID)(value))


def _has_member(value: Any) -> Q:
    """RFC 9610 §3.3.1 hasMember: this uid is a key of the card's `members`.

    ``members`` holds the member uids one per line between newlines, so a
    whole-line match is a search for "\\n<uid>\\n". instr/strpos rather than
    LIKE: it compares exactly (SQLite's LIKE ignores ASCII case) and a uid
    with a newline in it can never match across two lines because it is refused.
    """
    uid: str = string(max_length=MAX_UID, empty=False)(value)
    if "\n" in uid or "\r" in uid:
        raise InvalidValue("a uid has no line breaks")
    return Q(GreaterThan(StrIndex("members", Value(f"\n{uid}\n")), 0))


def _in_address_book(value: Any) -> Q:
    return Q(address_book__jmap_id=jmap_id()(value), address_book__destroyed=False)


def _kind(value: Any) -> Q:
    return Q(kind=string(max_length=64)(value))


def _date_compare(column: str, lookup: str) -> FilterBuilder:
    check = utc_date()

    def build(value: Any) -> Q:
        return Q(**{f"{column}__{lookup}": check(value)})

    return build


CONTACT_CARD_FILTERS: dict[str, FilterBuilder] = {
    "inAddressBook": _in_address_book,
    "uid": _uid,
    "hasMember": _has_member,
    "kind": _kind,
    # "before": strictly earlier; "after": the same time or later (RFC 9610 §3.3.1).
    "createdBefore": _date_compare("created", "lt"),
    "createdAfter": _date_compare("created", "gte"),
    "updatedBefore": _date_compare("updated", "lt"),
    "updatedAfter": _date_compare("updated", "gte"),
    "text": _casefolded_text("search_text"),
    "name": _casefolded_text("search_name"),
    "name/given": _casefolded_text("search_name_given"),
    "name/surname": _casefolded_text("search_name_surname"),
    "name/surname2": _casefolded_text("search_name_surname2"),
    "nickname": _casefolded_text("search_nickname"),
    "organization": _casefolded_text("search_organization"),
    "email": _casefolded_text("search_email"),
    "phone": _casefolded_text("search_phone"),
    "onlineService": _casefolded_text("search_online_service"),
    "address": _casefolded_text("search_address"),
    "note": _casefolded_text("search_note"),
}


def _sort_date(column: str) -> SortBuilder:
    """A date column; cards without the date sort after every dated one in
    both directions, so the order is the same on SQLite and PostgreSQL."""

    def build(comparator: Comparator) -> list[OrderBy]:
        if comparator.extra:
            raise MethodError("invalidArguments", "sort: unknown Comparator key " + ", ".join(sorted(comparator.extra)))
        if comparator.collation is not None:
            raise MethodError("unsupportedSort", f"{comparator.property} is a date: no collation applies")
        field = F(column)
        return [field.asc(nulls_last=True) if comparator.is_ascending else field.desc(nulls_last=True)]

    return build


CONTACT_CARD_SORTS: dict[str, Callable[[Comparator], list[OrderBy]]] = {
    "created": _sort_date("created"),
    "updated": _sort_date("updated"),
    "name/given": sort_text("sort_name_given"),
    "name/surname": sort_text("sort_name_surname"),
    "name/surname2": sort_text("sort_name_surname2"),
}

# uid cannot change once a card exists (contact_card_write), so /queryChanges
# may honour upToId for queries on uid alone.
CONTACT_CARD_IMMUTABLE_QUERY = frozenset({"uid"})
