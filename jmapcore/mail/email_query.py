"""Email/query and Email/queryChanges (RFC 8621 §4.4, §4.5).

Filtering and sorting run in SQL on the cache; collapseThreads keeps the first
email of each thread in the sorted results. The commonest list view — one
mailbox, newest first — reads the MailboxMessage (mailbox, receivedAt) index
and stops as soon as the window is full, so its cost does not grow with the
size of the mailbox. `total` (calculateTotal, or a negative position) is a
SQL COUNT of the matches, or of their threads with collapseThreads, not a
count of ids read; only an anchor makes the query read every result.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, cast

from django.db.models import Count, Q, QuerySet

from accounts.models import Account
from jmapcore.context import CallContext
from jmapcore.datatypes.prepared import PreparedValues
from jmapcore.datatypes.sql import filter_to_q
from jmapcore.datatypes.standard import reference_resolve
from jmapcore.datatypes.values import InvalidValue
from jmapcore.limits import COLLATION_ALGORITHMS
from jmapcore.mail.email_filters import FILTER_NAMES, IMMUTABLE_FILTERS, condition_q
from jmapcore.mail.email_search import email_server_search
from jmapcore.mail.email_sorts import IMMUTABLE_SORTS, SORT_NAMES, sort_terms
from jmapcore.models.mail import Email, MailboxMessage
from jmapcore.protocol.arguments import (
    read_bool,
    read_id,
    read_int,
    read_positive_int,
    read_string,
    read_unsigned_int,
)
from jmapcore.protocol.errors import MethodError
from jmapcore.protocol.query import (
    Comparator,
    Filter,
    FilterCondition,
    anchor_index,
    filter_condition_names,
    filter_parse,
    limit_effective,
    sort_parse,
    window_start,
)
from jmapcore.protocol.state import query_state_decode, query_state_encode
from jmapcore.state import type_state_position
from jmapcore.strictness import KNOWN_COMPARATOR_KEYS, client_workarounds

MAX_QUERY_LIMIT = 5000
MAX_QUERY_CHANGES = 20000
CHUNK = 1000


# Distinct server-side searches (body, text and header conditions, RFC 8621
# §4.4.1) one query may run. Each is a UID SEARCH in every folder, so a filter
# of up to 500 such conditions (jmapcore.protocol.query) could cost 500 times
# the folders in IMAP round trips; real clients send one or two.
MAX_SERVER_SEARCHES = 8


class _Searcher:
    """Runs each distinct server search once per query; with `dry`, only
    records which searches the filter needs and finds nothing."""

    def __init__(self, *, dry: bool = False) -> None:
        self.dry = dry
        self.done: dict[tuple[str, ...], set[int]] = {}

    def __call__(self, account: Account, criteria: list[str]) -> set[int]:
        key = tuple(criteria)
        if key not in self.done:
            self.done[key] = set() if self.dry else email_server_search(account=account, criteria=criteria)
        return self.done[key]


def _parse(args: dict[str, Any]) -> tuple[Filter | None, list[Comparator]]:
    parsed = filter_parse(args.get("filter"), condition_properties=FILTER_NAMES)
    comparators = sort_parse(
        args.get("sort"),
        sortable=SORT_NAMES,
        collations=COLLATION_ALGORITHMS,
        known_keys=KNOWN_COMPARATOR_KEYS if client_workarounds() else None,
    )
    return parsed, comparators


def _where(account: Account, parsed: Filter | None) -> Q:
    """The filter as a Q. Its server-side searches are counted first (a dry
    pass that searches nothing): past MAX_SERVER_SEARCHES distinct ones the
    query is unsupportedFilter (RFC 8620 §5.5) before any reaches the server."""

    def build(searcher: _Searcher) -> Q:
        def one(name: str, value: Any) -> Q:
            try:
                return condition_q(account, name, value, search=searcher)
            except InvalidValue as error:
                raise MethodError("invalidArguments", f"filter {name}: {error}") from None

        return filter_to_q(parsed, one)

    planned = _Searcher(dry=True)
    where = build(planned)
    if len(planned.done) > MAX_SERVER_SEARCHES:
        raise MethodError(
            "unsupportedFilter",
            f"the filter needs {len(planned.done)} different body, text or header searches; at most "
            f"{MAX_SERVER_SEARCHES} are run per query (each searches every folder on the mail server)",
        )
    if not planned.done:
        return where  # nothing to search: the dry pass is the real one
    return build(_Searcher())


def _order(account: Account, comparators: list[Comparator]) -> list[Any]:
    order: list[Any] = []
    for comparator in comparators:
        order.extend(sort_terms(account, comparator))
    # RFC 8621 §4.4.2: without a sort the order is the server's choice; newest first.
    if not comparators:
        order.append("-received_at")
    order.append("-pk")
    return order


def _fast_mailbox(parsed: Filter | None, comparators: list[Comparator]) -> str | None:
    """The mailbox id when the query is exactly "inMailbox X, by receivedAt"."""
    if not isinstance(parsed, FilterCondition) or set(parsed.values) != {"inMailbox"}:
        return None
    if len(comparators) > 1 or (comparators and (comparators[0].property != "receivedAt" or comparators[0].extra)):
        return None
    value = parsed.values["inMailbox"]
    return value if isinstance(value, str) else None


def _mailbox_window(account_id: int, mailbox_id: str, ascending: bool, start: int, stop: int) -> QuerySet[Any]:
    """(email id, thread id) of one mailbox's messages by receivedAt, rows
    start..stop: a range of the MailboxMessage (mailbox, received_at) index."""
    direction = "" if ascending else "-"
    return (
        MailboxMessage.objects.filter(
            account_id=account_id, mailbox__jmap_id=mailbox_id, mailbox__account_id=account_id
        )
        .filter(email__destroyed=False)
        .order_by(f"{direction}received_at", f"{direction}email_id")
        .values_list("email__jmap_id", "thread_id")[start:stop]
    )


# The list view's query, compiled to SQL once per window (jmapcore.datatypes.prepared).
_MAILBOX_WINDOW = PreparedValues(_mailbox_window, kinds=("int", "str", "literal", "literal", "literal"))


class _Matches:
    """The emails a query's filter matches, read two ways: in order, in chunks
    (`rows`), or counted in SQL (`total`). The filter is turned into SQL once,
    so its server-side searches run once however both are used."""

    def __init__(self, account: Account, parsed: Filter | None, comparators: list[Comparator]) -> None:
        self.account = account
        self.parsed = parsed
        self.comparators = comparators
        self.mailbox_id = _fast_mailbox(parsed, comparators)
        self._where: Q | None = None

    def where(self) -> Q:
        if self._where is None:
            self._where = _where(self.account, self.parsed)
        return self._where

    def _emails(self) -> QuerySet[Email]:
        return Email.objects.filter(account=self.account, destroyed=False).filter(self.where())

    def rows(self, *, first: int = CHUNK) -> Iterator[tuple[str, str]]:
        """(email id, thread id) of every result in order, read in chunks: the
        first of `first` rows (a list view needs a few dozen), then each twice
        the last, up to CHUNK."""
        account, comparators, mailbox_id = self.account, self.comparators, self.mailbox_id
        read: Callable[[int, int], list[tuple[str, str]]]
        if mailbox_id is not None:
            ascending = bool(comparators) and comparators[0].is_ascending

            def read(start: int, stop: int) -> list[tuple[str, str]]:
                return cast(list[tuple[str, str]], _MAILBOX_WINDOW(account.pk, mailbox_id, ascending, start, stop))

        else:
            qs = self._emails().order_by(*_order(account, comparators)).values_list("jmap_id", "thread_id")

            def read(start: int, stop: int) -> list[tuple[str, str]]:
                return list(qs[start:stop])

        start = 0
        size = max(1, first)
        seen: set[str] = set()
        while True:
            chunk = read(start, start + size)
            for email_id, thread_id in chunk:
                # An email in several folders appears once per folder in the fast path.
                if email_id not in seen:
                    seen.add(email_id)
                    yield email_id, thread_id
            if len(chunk) < size:
                return
            start += size
            size = max(size, min(size * 2, CHUNK))

    def total(self, *, collapse: bool) -> int:
        """How many ids `rows` (collapsed by thread with `collapse`) yields, counted
        in SQL instead of read (RFC 8620 §5.5 `total`): COUNT(DISTINCT email) or,
        collapsed, COUNT(DISTINCT thread) over the rows `rows` reads. Order does
        not change either number, so no ORDER BY; DISTINCT stands for the
        de-duplication `rows` and `_collapsed` do in Python (an email listed once
        per mailbox row, a thread kept once)."""
        column = "thread_id" if collapse else ("email_id" if self.mailbox_id is not None else "pk")
        if self.mailbox_id is not None:
            counted: QuerySet[Any] = MailboxMessage.objects.filter(
                account_id=self.account.pk, mailbox__jmap_id=self.mailbox_id, mailbox__account_id=self.account.pk
            ).filter(email__destroyed=False)
        else:
            counted = self._emails()
        return int(counted.aggregate(n=Count(column, distinct=True))["n"])


def _rows(
    account: Account, parsed: Filter | None, comparators: list[Comparator], *, first: int = CHUNK
) -> Iterator[tuple[str, str]]:
    """(email id, thread id) of every result in order (see _Matches.rows)."""
    return _Matches(account, parsed, comparators).rows(first=first)


def _collapsed(rows: Iterator[tuple[str, str]], collapse: bool) -> Iterator[str]:
    threads: set[str] = set()
    for email_id, thread_id in rows:
        if collapse:
            if thread_id in threads:
                continue
            threads.add(thread_id)
        yield email_id


def email_query(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Email/query (RFC 8621 §4.4, RFC 8620 §5.5)."""
    account = ctx.account(args.get("accountId"))
    parsed, comparators = _parse(args)
    collapse = read_bool(args, "collapseThreads", default=False)
    position = read_int(args, "position", default=0)
    anchor = read_id(args, "anchor", references=True)
    anchor_offset = read_int(args, "anchorOffset", default=0)
    requested = read_unsigned_int(args, "limit")
    calculate_total = read_bool(args, "calculateTotal", default=False)
    modseq, _ = type_state_position(account=account, type_name="Email")
    limit, capped = limit_effective(requested, MAX_QUERY_LIMIT)
    matches = _Matches(account, parsed, comparators)

    total: int | None = None
    if anchor is not None:
        # The anchor's index is known only by reading the results up to it.
        every = list(_collapsed(matches.rows(), collapse))
        total = len(every)
        index = anchor_index(every, reference_resolve(ctx, anchor) or anchor)
        start = window_start(total=total, position=position, anchor_index=index, anchor_offset=anchor_offset)
        ids = every[start : start + limit]
    else:
        if calculate_total or position < 0:
            # Counted in SQL: reading every id to count them cost ~0.28 s at 20,000 (issue 9).
            total = matches.total(collapse=collapse)
        start = window_start(total=total, position=position, anchor_index=None, anchor_offset=anchor_offset)
        ids = []
        rows = matches.rows(first=max(100, 2 * (start + limit)))
        for index, email_id in enumerate(_collapsed(rows, collapse)):
            if index >= start + limit:
                break
            if index >= start:
                ids.append(email_id)
    response: dict[str, Any] = {
        "accountId": account.accountid,
        "queryState": query_state_encode(modseq),
        "canCalculateChanges": True,
        "position": start,
        "ids": ids,
        "collapseThreads": collapse,
    }
    if calculate_total:
        response["total"] = total
    if capped and (requested is not None or len(ids) == limit):
        response["limit"] = limit
    return response


def email_query_changes(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Email/queryChanges (RFC 8621 §4.5, RFC 8620 §5.6).

    Every email changed since the old state that existed then is in
    `removed`; every changed email in the current results is in `added`.
    With collapseThreads a thread's representative can change without the
    email itself changing, so every email of a changed thread counts as changed.
    """
    account = ctx.account(args.get("accountId"))
    parsed, comparators = _parse(args)
    collapse = read_bool(args, "collapseThreads", default=False)
    since_raw = read_string(args, "sinceQueryState", required=True)
    assert since_raw is not None
    max_changes = read_positive_int(args, "maxChanges")
    up_to_id = read_id(args, "upToId", references=True)
    calculate_total = read_bool(args, "calculateTotal", default=False)
    since = query_state_decode(since_raw)
    current, horizon = type_state_position(account=account, type_name="Email")
    if since > current:
        raise MethodError("cannotCalculateChanges", "query state is not from this server")
    if since < horizon:
        raise MethodError("cannotCalculateChanges", "query state is older than the retained change history")
    changed = Email.objects.filter(account=account, updated_modseq__gt=since, updated_modseq__lte=current)
    if changed.count() > MAX_QUERY_CHANGES:
        raise MethodError("cannotCalculateChanges", "too many changes; run the query again")
    columns = ("jmap_id", "created_modseq", "destroyed", "thread_id")
    rows = list(changed.order_by("updated_modseq", "pk").values_list(*columns))
    if collapse:
        threads = {thread_id for _, _, _, thread_id in rows}
        extra = Email.objects.filter(account=account, thread_id__in=threads, created_modseq__lte=since).exclude(
            jmap_id__in=[row[0] for row in rows]
        )
        rows.extend(extra.values_list(*columns))
    removed = [jmap_id for jmap_id, created, _destroyed, _thread in rows if created <= since]
    live_changed = {jmap_id for jmap_id, _created, destroyed, _thread in rows if not destroyed}
    if max_changes is not None and len(removed) > max_changes:
        raise MethodError("tooManyChanges")
    results = list(_collapsed(_rows(account, parsed, comparators), collapse))
    added: list[dict[str, Any]] = [
        {"id": jmap_id, "index": index} for index, jmap_id in enumerate(results) if jmap_id in live_changed
    ]
    used = filter_condition_names(parsed) | {comparator.property for comparator in comparators}
    if up_to_id is not None and not collapse and used <= IMMUTABLE_FILTERS | IMMUTABLE_SORTS:
        real = reference_resolve(ctx, up_to_id)
        if real in results:
            last = results.index(real)
            added = [item for item in added if item["index"] <= last]
    if max_changes is not None and len(removed) + len(added) > max_changes:
        raise MethodError("tooManyChanges")
    response: dict[str, Any] = {
        "accountId": account.accountid,
        "oldQueryState": since_raw,
        "newQueryState": query_state_encode(current),
        "removed": removed,
        "added": added,
        "collapseThreads": collapse,
    }
    if calculate_total:
        response["total"] = len(results)
    return response
