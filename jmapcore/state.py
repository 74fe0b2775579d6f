"""Services for the per-account modseq and per-type state (DESIGN.md "The cache and state").

- `account_modseq_next` hands out the next modseq of an account. It must run
  inside the caller's transaction: the UPDATE locks the account row until
  commit, so writes to one account are serialised and modseqs become visible
  in order.
- `type_state_*` keep each type's last modseq (its state) and tombstone horizon.
- `state_change_atomic` wraps one cache write: a transaction, a new modseq,
  the touched types' state, and a StateChange published after commit.
- `on_state_change` / `state_change_publish`: a tiny publish registry; push
  (EventSource, WebSocket, PushSubscription) subscribes to it.
- `tombstones_purge` drops old tombstones and raises the horizon so that an
  older state answers cannotCalculateChanges.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db import transaction
from django.db.models import F, Max, QuerySet

from accounts.models import Account
from jmapcore.datatypes.orm import JmapObject
from jmapcore.datatypes.prepared import PreparedValues
from jmapcore.models.state import TypeState
from jmapcore.protocol.state import state_encode

logger = logging.getLogger(__name__)

# (account, {type name: new state string}) -> None; called after commit.
StateChangeCallback = Callable[[Account, dict[str, str]], None]
_SUBSCRIBERS: list[StateChangeCallback] = []


def account_modseq_next(*, account: Account) -> int:
    """Increment the account's modseq atomically and return the new value.

    Call inside transaction.atomic(): the row lock taken by the UPDATE is what
    keeps concurrent writers of one account in modseq order.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("account_modseq_next must run inside a transaction")
    Account.objects.filter(pk=account.pk).update(modseq=F("modseq") + 1)
    modseq: int = Account.objects.filter(pk=account.pk).values_list("modseq", flat=True).get()
    account.modseq = modseq
    return modseq


# The name the team brief uses for the same service.
account_modseq_bump = account_modseq_next


def _type_state_query(account_id: int, type_name: str) -> QuerySet[Any]:
    # (account, type_name) is unique: no ORDER BY needed for at most one row.
    return TypeState.objects.filter(account_id=account_id, type_name=type_name).values_list(
        "modseq", "tombstone_horizon"
    )


# Every /get, /changes and /query reads it: SQL compiled once (jmapcore.datatypes.prepared).
_TYPE_STATE = PreparedValues(_type_state_query, kinds=("int", "str"))


def type_state_position(*, account: Account, type_name: str) -> tuple[int, int]:
    """(modseq of the type's last change, tombstone horizon); (0, 0) if never changed."""
    found = _TYPE_STATE(account.pk, type_name)
    return (found[0][0], found[0][1]) if found else (0, 0)


def type_state_get(*, account: Account, type_name: str) -> str:
    """The current state string of `type_name` in `account` (RFC 8620 §5.1)."""
    modseq, _ = type_state_position(account=account, type_name=type_name)
    return state_encode(modseq)


def type_state_touch(*, account: Account, type_name: str, modseq: int) -> None:
    """Record that `type_name` changed at `modseq` (never moves backwards)."""
    updated = TypeState.objects.filter(account=account, type_name=type_name, modseq__lt=modseq).update(modseq=modseq)
    if not updated:
        TypeState.objects.get_or_create(account=account, type_name=type_name, defaults={"modseq": modseq})


def on_state_change(callback: StateChangeCallback) -> StateChangeCallback:
    """Subscribe `callback` to every state change (usable as a decorator)."""
    if callback not in _SUBSCRIBERS:
        _SUBSCRIBERS.append(callback)
    return callback


def state_change_unsubscribe(callback: StateChangeCallback) -> None:
    if callback in _SUBSCRIBERS:
        _SUBSCRIBERS.remove(callback)


def state_change_publish(*, account: Account, type_names: Iterable[str]) -> None:
    """Tell subscribers that `type_names` changed, once the transaction commits.

    Nothing is published for a write that rolls back. The states are read at
    commit time, so a subscriber always sees committed states. A failing
    subscriber is logged and does not stop the others.
    """
    names = sorted(set(type_names))
    if not names:
        return

    def publish() -> None:
        changed = {name: type_state_get(account=account, type_name=name) for name in names}
        for callback in list(_SUBSCRIBERS):
            try:
                callback(account, changed)
            except Exception:
                logger.exception("state change subscriber %r failed", callback)

    transaction.on_commit(publish)


@contextmanager
def state_change_atomic(*, account: Account, type_names: Iterable[str]) -> Iterator[int]:
    """One cache write: yields a fresh modseq inside a transaction.

    On success the types' states move to that modseq and a StateChange is
    published after commit; if the body raises, everything rolls back and the
    modseq is not consumed.
    """
    names = list(type_names)
    with transaction.atomic():
        modseq = account_modseq_next(account=account)
        yield modseq
        for name in names:
            type_state_touch(account=account, type_name=name, modseq=modseq)
        state_change_publish(account=account, type_names=names)


def jmap_object_models() -> list[type[JmapObject]]:
    """Every installed concrete model that stores JMAP objects."""
    return [model for model in apps.get_models() if issubclass(model, JmapObject)]


def tombstones_purge(*, older_than: datetime) -> int:
    """Delete tombstones last changed before `older_than`; returns how many.

    For each (account, type) the horizon rises to the highest purged modseq, so
    /changes and /queryChanges from an older state answer
    cannotCalculateChanges instead of silently missing a destruction.
    """
    purged = 0
    for model in jmap_object_models():
        if not model.jmap_type:
            raise RuntimeError(f"{model.__name__} does not declare jmap_type")
        stale = model._default_manager.filter(destroyed=True, updated_at__lt=older_than)
        with transaction.atomic():
            tops = stale.values("account_id").annotate(top=Max("updated_modseq")).values_list("account_id", "top")
            for account_id, top in tops:
                state, _ = TypeState.objects.select_for_update().get_or_create(
                    account_id=account_id, type_name=model.jmap_type, defaults={"modseq": top}
                )
                if state.tombstone_horizon < top:
                    state.tombstone_horizon = top
                    state.save(update_fields=["tombstone_horizon"])
            count, _ = stale.delete()
            purged += count
    return purged
