"""jmapcore.state: the account modseq, type states, publishing after commit
and the tombstone horizon."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from jmapcore.models import TypeState
from jmapcore.protocol.state import state_encode
from jmapcore.state import (
    account_modseq_next,
    on_state_change,
    state_change_atomic,
    state_change_publish,
    state_change_unsubscribe,
    tombstones_purge,
    type_state_get,
    type_state_position,
    type_state_touch,
)
from tests.personas import Persona
from tests.sampletypes.models import Note


@pytest.mark.django_db(transaction=True)
def test_modseq_needs_a_transaction(alice: Persona) -> None:
    with pytest.raises(RuntimeError):
        account_modseq_next(account=alice.account)


def test_modseq_increments_per_account(alice: Persona, bob: Persona) -> None:
    with transaction.atomic():
        assert [account_modseq_next(account=alice.account) for _ in range(3)] == [1, 2, 3]
        assert account_modseq_next(account=bob.account) == 1
    assert Account.objects.get(pk=alice.account.pk).modseq == 3
    assert alice.account.modseq == 3


def test_rolled_back_write_consumes_no_modseq(alice: Persona) -> None:
    with pytest.raises(ValueError), state_change_atomic(account=alice.account, type_names=["Note"]):
        raise ValueError("backend said no")
    assert Account.objects.get(pk=alice.account.pk).modseq == 0
    assert type_state_get(account=alice.account, type_name="Note") == state_encode(0)


def test_type_state_never_moves_backwards(alice: Persona) -> None:
    assert type_state_position(account=alice.account, type_name="Note") == (0, 0)
    type_state_touch(account=alice.account, type_name="Note", modseq=5)
    type_state_touch(account=alice.account, type_name="Note", modseq=3)
    assert type_state_position(account=alice.account, type_name="Note") == (5, 0)
    assert type_state_get(account=alice.account, type_name="Other") == state_encode(0)
    assert TypeState.objects.filter(account=alice.account).count() == 1


def test_published_after_commit_only(alice: Persona, django_capture_on_commit_callbacks: Any) -> None:
    seen: list[tuple[str, dict[str, str]]] = []

    def listener(account: Account, changed: dict[str, str]) -> None:
        seen.append((account.accountid, changed))

    def broken(account: Account, changed: dict[str, str]) -> None:
        raise RuntimeError("a subscriber bug must not stop the others")

    on_state_change(broken)
    on_state_change(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with state_change_atomic(account=alice.account, type_names=["Note", "Other"]) as modseq:
                assert seen == []
            with pytest.raises(ValueError), state_change_atomic(account=alice.account, type_names=["Note"]):
                raise ValueError
            state_change_publish(account=alice.account, type_names=[])
        assert len(callbacks) == 1
    finally:
        state_change_unsubscribe(broken)
        state_change_unsubscribe(listener)
    assert seen == [("alice", {"Note": state_encode(modseq), "Other": state_encode(modseq)})]


def test_purge_raises_the_horizon_per_account(alice: Persona, bob: Persona) -> None:
    def note(persona: Persona, name: str, *, destroyed: bool) -> int:
        with state_change_atomic(account=persona.account, type_names=["Note"]) as modseq:
            Note.objects.create(account=persona.account, jmap_id=name, created_modseq=modseq,
                                updated_modseq=modseq, destroyed=destroyed, title=name)
        return modseq

    note(alice, "na1", destroyed=True)
    top = note(alice, "na2", destroyed=True)
    note(alice, "na3", destroyed=False)
    note(bob, "nb1", destroyed=False)
    old = timezone.now() - timedelta(days=30)
    Note.objects.filter(jmap_id="na2").update(updated_at=old)

    assert tombstones_purge(older_than=timezone.now() - timedelta(days=7)) == 1
    assert type_state_position(account=alice.account, type_name="Note")[1] == top
    assert type_state_position(account=bob.account, type_name="Note")[1] == 0
    assert sorted(Note.objects.values_list("jmap_id", flat=True)) == ["na1", "na3", "nb1"]
