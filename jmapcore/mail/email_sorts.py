"""Email/query sort (RFC 8621 §4.4.2) as ORDER BY terms."""
from __future__ import annotations

from typing import Any

from django.db.models import Case, Exists, F, IntegerField, OrderBy, OuterRef, Value, When
from django.db.models.functions import Lower

from accounts.models import Account
from jmapcore.datatypes.sql import CASEMAP_COLLATIONS
from jmapcore.datatypes.values import InvalidValue
from jmapcore.mail.keywords import keyword_read
from jmapcore.models.mail import Email
from jmapcore.protocol.errors import MethodError
from jmapcore.protocol.query import Comparator

COLUMNS = {"receivedAt": "received_at", "sentAt": "sent_at", "size": "size"}
TEXT_COLUMNS = {"from": "from_text", "to": "to_text", "subject": "base_subject"}
KEYWORD_SORTS = frozenset({"hasKeyword", "allInThreadHaveKeyword", "someInThreadHaveKeyword"})
SORT_NAMES = frozenset({*COLUMNS, *TEXT_COLUMNS, *KEYWORD_SORTS})
# Sorts on values an email never changes (RFC 8620 §5.6 upToId).
IMMUTABLE_SORTS = frozenset({*COLUMNS, *TEXT_COLUMNS})


def _ordered(expression: Any, ascending: bool) -> OrderBy:
    return expression.asc() if ascending else expression.desc()


def _keyword(comparator: Comparator) -> str:
    extra = dict(comparator.extra)
    if set(extra) != {"keyword"}:
        raise MethodError("invalidArguments", f"sort: {comparator.property} takes exactly a keyword")
    try:
        return keyword_read(extra["keyword"])
    except InvalidValue as error:
        raise MethodError("invalidArguments", f"sort keyword: {error}") from None


def sort_terms(account: Account, comparator: Comparator) -> list[OrderBy]:
    """ORDER BY terms for one Comparator."""
    name = comparator.property
    if name in KEYWORD_SORTS:
        keyword = _keyword(comparator)
        if name == "hasKeyword":
            has: Any = Case(
                When(keywords__has_key=keyword, then=Value(1)), default=Value(0), output_field=IntegerField()
            )
        elif name == "someInThreadHaveKeyword":
            has = Exists(
                Email.objects.filter(
                    account=account, destroyed=False, thread_id=OuterRef("thread_id"), keywords__has_key=keyword
                )
            )
        else:
            has = ~Exists(
                Email.objects.filter(account=account, destroyed=False, thread_id=OuterRef("thread_id")).exclude(
                    keywords__has_key=keyword
                )
            )
        return [_ordered(has, comparator.is_ascending)]
    if comparator.extra:
        raise MethodError("invalidArguments", "sort: unknown Comparator key " + ", ".join(sorted(comparator.extra)))
    if name in COLUMNS:
        return [_ordered(F(COLUMNS[name]), comparator.is_ascending)]
    if comparator.collation not in CASEMAP_COLLATIONS:
        raise MethodError("unsupportedSort", f"collation {comparator.collation} is not offered for {name}")
    return [_ordered(Lower(TEXT_COLUMNS[name]), comparator.is_ascending)]
