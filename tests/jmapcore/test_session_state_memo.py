"""sessionState is taken from a per-process memo, and changes as soon as anything
the Session object is built from changes (RFC 8620 §2, §3.4; jmapcore.session_object).

Every check reads the accounts as a request reads them (accounts.auth.pool_accounts),
asks session_state for them, and compares with a fresh session_object_build: the
memo must never serve a state the object built now would not have. alice has a
local IMAP account; her second login carries a passthrough Account whose
upstream Session and UpstreamAccount rows are written here as
backends.jmap.session_store writes them (Account saved with a new updated_at).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.test import override_settings

from accounts.auth import pool_accounts
from accounts.models import Account, Pool, UpstreamAccount
from accounts.upstream_rows import upstream_rows_forget
from jmapcore import limits, session_object
from jmapcore.registry import CAPABILITIES, CapabilitySpec
from jmapcore.session_object import session_object_build, session_state, session_state_forget
from tests.personas import Persona

pytestmark = pytest.mark.django_db

MAIL = "urn:ietf:params:jmap:mail"
EXTRA = "urn:example:state-memo-only"
# A capability the proxy does not define: the Session shows the upstream's own session value.
UPSTREAM_ONLY = "urn:example:upstream-only"


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    session_state_forget()
    upstream_rows_forget()
    yield
    session_state_forget()
    upstream_rows_forget()


def _state(pool: Pool) -> str:
    """The memo's state for `pool`, checked against the object built from the same reads."""
    accounts = pool_accounts(Pool.objects.get(pk=pool.pk))
    state = session_state(pool=pool, accounts=accounts)
    assert state == session_object_build(pool=pool, accounts=accounts)["state"]
    return state


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the real session_object_build calls session_state makes."""
    calls: list[int] = []
    real = session_object.session_object_build

    def counted(**kwargs: Any) -> dict[str, Any]:
        calls.append(1)
        return real(**kwargs)

    monkeypatch.setattr(session_object, "session_object_build", counted)
    return calls


def test_a_repeated_request_does_not_rebuild_the_session(alice: Persona, builds: list[int]) -> None:
    first = session_state(pool=alice.pool, accounts=pool_accounts(alice.pool))
    assert len(builds) == 1
    for _ in range(3):
        assert session_state(pool=alice.pool, accounts=pool_accounts(alice.pool)) == first
    assert len(builds) == 1


def _account_change(alice: Persona, **fields: Any) -> Callable[[], None]:
    def change() -> None:
        Account.objects.filter(pk=alice.account.pk).update(**fields)  # no updated_at: not needed here

    return change


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda alice: _account_change(alice, is_read_only=True)(), id="read-only"),
        pytest.param(lambda alice: _account_change(alice, name="Alice Two")(), id="name"),
        pytest.param(lambda alice: _account_change(alice, name="", email="a2@example.test")(), id="address-as-name"),
        pytest.param(lambda alice: _account_change(alice, carddav_url="https://dav.example.test/")(), id="carddav"),
        pytest.param(
            lambda alice: _account_change(alice, sync_progress={"carddav": {"url": "https://d.example.test/"}})(),
            id="discovered-carddav",
        ),
        pytest.param(lambda alice: _account_change(alice, accountid="alice2")(), id="account-id"),
        pytest.param(lambda alice: _account_change(alice, kind=Account.Kind.JMAP)(), id="kind"),
        pytest.param(
            lambda alice: Account.objects.create(accountid="alice-more", pool=alice.pool, email="m@example.test"),
            id="account-added",
        ),
        pytest.param(lambda alice: Account.objects.filter(pk=alice.account.pk).delete(), id="account-removed"),
        pytest.param(
            lambda alice: Pool.objects.filter(pk=alice.pool.pk).update(login="alice-renamed@example.test"),
            id="login",
        ),
    ],
)
def test_each_account_input_changes_the_state(alice: Persona, change: Callable[[Persona], Any]) -> None:
    before = _state(alice.pool)
    change(alice)
    after = _state(Pool.objects.get(pk=alice.pool.pk))
    assert after != before


def test_settings_limits_and_capabilities_change_the_state(alice: Persona, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {_state(alice.pool)}
    with override_settings(BASEURL="https://other.example.test"):
        state = _state(alice.pool)
        assert state not in seen
        seen.add(state)
    assert _state(alice.pool) in seen  # back to the first settings, the first state
    monkeypatch.setattr(limits, "LIMITS", dataclasses.replace(limits.LIMITS, maxSizeUpload=1234))
    state = _state(alice.pool)
    assert state not in seen  # maxSizeBlobSet follows maxSizeUpload
    seen.add(state)
    spec = CapabilitySpec(urn=EXTRA, session_value=lambda: {"maxThings": 3}, account_value=lambda account: None)
    monkeypatch.setitem(CAPABILITIES, EXTRA, spec)
    state = _state(alice.pool)
    assert state not in seen
    seen.add(state)
    monkeypatch.setitem(CAPABILITIES, EXTRA, dataclasses.replace(spec, session_value=lambda: {"maxThings": 4}))
    assert _state(alice.pool) not in seen


@pytest.fixture
def passthrough(db: None) -> Account:
    """A passthrough Account with a stored upstream Session (large enough to be shared) and two rows."""
    pool = Pool.objects.create(login="alice-pt@example.test", password_hash=make_password("alice-pt-password"))
    account = Account.objects.create(
        accountid="alicept", pool=pool, email="alice@upstream.example.test", kind=Account.Kind.JMAP,
        session_url="https://upstream.example.test/jmap/session",
    )  # fmt: skip
    _upstream_store(account, state="s1", extra={"maxThings": 1})
    return account


def _upstream_store(account: Account, *, state: str, extra: dict[str, Any], read_only: bool = False) -> None:
    """As backends.jmap.session_store stores a refresh: rows replaced, the Account saved with updated_at."""
    UpstreamAccount.objects.filter(account=account).delete()
    for position, upstream_id in enumerate(["u1", "u2"]):
        UpstreamAccount.objects.create(
            account=account, upstream_id=upstream_id, proxy_id=f"{account.accountid}{upstream_id}",
            name=upstream_id, is_read_only=read_only and upstream_id == "u2",
            capabilities={MAIL: {}, UPSTREAM_ONLY: {}}, position=position,
        )  # fmt: skip
    account.upstream_session = {
        "state": state,
        "capabilities": {MAIL: {"pad": "x" * 2000}, UPSTREAM_ONLY: extra},
        "primaryAccounts": {MAIL: "u1"},
        "accounts": {"u1": {}, "u2": {}},
    }
    account.save(update_fields=["upstream_session", "updated_at"])


def test_passthrough_upstream_changes_change_the_state(passthrough: Account, builds: list[int]) -> None:
    pool = passthrough.pool
    first = _state(pool)
    _state(pool)
    assert len(builds) == 1  # the shared rows and Session were recognised
    _upstream_store(passthrough, state="s2", extra={"maxThings": 1}, read_only=True)
    second = _state(pool)
    assert second != first
    # The upstream keeps its state string but its capability changes: the proxy's state still moves.
    _upstream_store(passthrough, state="s2", extra={"maxThings": 2}, read_only=True)
    third = _state(pool)
    assert third not in (first, second)
    # A Session stored directly (no updated_at, same upstream state) with another primary account.
    session = dict(passthrough.upstream_session, primaryAccounts={MAIL: "u2"})
    Account.objects.filter(pk=passthrough.pk).update(upstream_session=session)
    assert _state(pool) not in (first, second, third)
