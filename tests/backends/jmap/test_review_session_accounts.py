"""Review finding: the upstream accounts a hostile Session lists are bounded
(backends.jmap.session_store): at most UPSTREAM_ACCOUNTS_MAX kept, the
primary first, and ids that are not JMAP Ids (over 255 characters, which
PostgreSQL's column refuses) left out instead of failing the refresh; the
stored Session holds only those, and a Session over 4 MiB is refused.
"""
from __future__ import annotations

import secrets
from typing import Any

import pytest

from accounts.models import UpstreamAccount
from backends.jmap import session_store
from backends.jmap.client import UpstreamError, upstream_client
from backends.jmap.session_store import UPSTREAM_ACCOUNTS_MAX, upstream_ids_ordered
from tests.backends.jmap.passthrough import passthrough_account_make
from tests.backends.jmap.review_servers import CyrusFront
from tests.servers.cyrus import CyrusServer

pytestmark = pytest.mark.usefixtures("fresh_upstream_clients")

MAIL = "urn:ietf:params:jmap:mail"


def _session(count: int, *, primary: str) -> dict[str, Any]:
    accounts = {f"acct{index}": {"name": f"n{index}", "accountCapabilities": {}} for index in range(count)}
    accounts[primary] = {"name": "mine", "accountCapabilities": {MAIL: {}}}
    return {"accounts": accounts, "primaryAccounts": {MAIL: primary}}


def test_a_session_with_too_many_accounts_keeps_the_primary_and_the_first() -> None:
    ordered = upstream_ids_ordered(_session(UPSTREAM_ACCOUNTS_MAX + 500, primary="me"))
    assert len(ordered) == UPSTREAM_ACCOUNTS_MAX
    assert ordered[0] == "me"
    assert ordered[1:4] == ["acct0", "acct1", "acct2"]


def test_an_upstream_id_longer_than_a_jmap_id_is_left_out() -> None:
    session = _session(2, primary="me")
    session["accounts"]["x" * 256] = {"name": "long", "accountCapabilities": {}}
    session["accounts"]["y" * 255] = {"name": "longest allowed", "accountCapabilities": {}}
    assert upstream_ids_ordered(session) == ["me", "acct0", "acct1", "y" * 255]


@pytest.mark.django_db
def test_a_refresh_stores_the_bounded_accounts(
    cyrus: CyrusServer, mallory_server: CyrusFront, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_store, "UPSTREAM_ACCOUNTS_MAX", 4)

    def crowd(session: dict[str, Any]) -> dict[str, Any]:
        extra = {f"extra{index}": {**next(iter(session["accounts"].values())), "name": f"extra {index}"}
                 for index in range(20)}
        extra["z" * 300] = next(iter(session["accounts"].values()))
        return {**session, "accounts": {**extra, **session["accounts"]}}

    mallory_server.session_edit = crowd
    user = cyrus.user("alice-r1-crowd", "alice-r1-crowd-pw")
    account = passthrough_account_make(accountid=f"alicer1c{secrets.token_hex(3)}", user=user,
                                       session_url=mallory_server.session_url)
    upstream_client(account).session_refresh()
    rows = list(UpstreamAccount.objects.filter(account=account).order_by("position"))
    assert [row.upstream_id for row in rows] == [user.login, "extra0", "extra1", "extra2"]
    assert rows[0].proxy_id == account.accountid
    account.refresh_from_db()
    assert set(account.upstream_session["accounts"]) == {row.upstream_id for row in rows}


@pytest.mark.django_db
def test_a_session_over_its_size_limit_is_refused(cyrus: CyrusServer, mallory_server: CyrusFront) -> None:
    """A Session is read with its Account by every request of the pool: 4 MiB at most."""
    mallory_server.session_edit = lambda session: {**session, "padding": "x" * (5 * 1024 * 1024)}
    user = cyrus.user("bob-r1-crowd", "bob-r1-crowd-pw")
    account = passthrough_account_make(accountid=f"bobr1c{secrets.token_hex(3)}", user=user,
                                       session_url=mallory_server.session_url)
    with pytest.raises(UpstreamError, match="too large"):
        upstream_client(account).session_refresh()
    account.refresh_from_db()
    assert account.upstream_session == {}
