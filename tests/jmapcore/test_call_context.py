"""CallContext.account scopes every account lookup to the caller's pool (RFC 8620 §3.6.2)."""

from __future__ import annotations

import pytest

from accounts.auth import pool_accounts
from accounts.models import Account
from jmapcore.context import CallContext
from jmapcore.limits import CORE_CAPABILITY
from jmapcore.protocol.errors import MethodError
from tests.personas import Persona


def context_for(persona: Persona) -> CallContext:
    return CallContext(pool=persona.pool, accounts=pool_accounts(persona.pool), using=frozenset({CORE_CAPABILITY}))


def test_own_account_is_found(alice: Persona) -> None:
    assert context_for(alice).account(alice.account_id) == alice.account


def test_someone_elses_account_is_not_found(alice: Persona, bob: Persona, mallory: Persona) -> None:
    for intruder, victim in ((alice, bob), (mallory, alice), (mallory, bob)):
        with pytest.raises(MethodError) as caught:
            context_for(intruder).account(victim.account_id)
        assert caught.value.type == "accountNotFound"


def test_read_only_account_refuses_writes(alice: Persona) -> None:
    Account.objects.create(accountid="alice-ro", pool=alice.pool, email="ro@example.test", is_read_only=True)
    ctx = context_for(alice)
    assert ctx.account("alice-ro").accountid == "alice-ro"
    with pytest.raises(MethodError) as caught:
        ctx.account("alice-ro", write=True)
    assert caught.value.type == "accountReadOnly"
    assert ctx.account(alice.account_id, write=True) == alice.account


@pytest.mark.parametrize("bad", [None, 3, ["alice"], {"id": "alice"}])
def test_non_string_account_id_is_invalid_arguments(alice: Persona, bad: object) -> None:
    with pytest.raises(MethodError) as caught:
        context_for(alice).account(bad)
    assert caught.value.type == "invalidArguments"
