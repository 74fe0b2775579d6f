"""Database reads behind push: where each account is, and which types moved.

Synchronous (ORM); the async side calls them in a thread. Each is one indexed
query: Account by primary key, TypeState by (account, type) with a modseq
bound, never a scan of cached objects.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import reduce
from operator import or_

from django.db.models import Q

from accounts.models import Account
from jmapcore.models.state import TypeState
from jmapcore.protocol.state import state_encode


def account_positions(*, account_pks: Iterable[int]) -> dict[int, int]:
    """Account pk -> its current modseq (DESIGN.md "The cache and state"), one query."""
    pks = list(account_pks)
    if not pks:
        return {}
    return dict(Account.objects.filter(pk__in=pks).values_list("pk", "modseq"))


def passthrough_account_pks(*, account_pks: Iterable[int]) -> set[int]:
    """Those of `account_pks` that are passthrough accounts (their changes are relayed), one query."""
    pks = list(account_pks)
    if not pks:
        return set()
    return set(Account.objects.filter(pk__in=pks, kind=Account.Kind.JMAP).values_list("pk", flat=True))


def types_moved(*, since: Mapping[int, int]) -> dict[int, dict[str, str]]:
    """Account pk -> {type name: current state} for every type whose state moved
    past since[pk]; accounts with nothing moved are left out."""
    if not since:
        return {}
    condition = reduce(or_, (Q(account_id=pk, modseq__gt=modseq) for pk, modseq in since.items()))
    moved: dict[int, dict[str, str]] = {}
    for account_id, type_name, modseq in TypeState.objects.filter(condition).values_list(
        "account_id", "type_name", "modseq"
    ):
        moved.setdefault(account_id, {})[type_name] = state_encode(modseq)
    return moved


def positions_advance(*, since: Mapping[int, int]) -> tuple[dict[int, int], dict[int, dict[str, str]]]:
    """One poll: (current modseq of every account in `since`, types moved past `since`).

    The TypeState rows are read only for accounts whose modseq moved; a write
    bumps both in one transaction (jmapcore.state.state_change_atomic), so a
    moved modseq always comes with its committed type states.
    """
    now = account_positions(account_pks=since.keys())
    moved_since = {pk: since[pk] for pk, modseq in now.items() if modseq != since[pk]}
    return now, types_moved(since=moved_since)
