"""Review finding: account ids the structural rewriting missed
(backends.jmap.account_ids; pure functions, no servers): RFC 9670 puts
account ids in a ShareNotification's objectAccountId and in the filters of
Principal/query (accountIds) and ShareNotification/query (objectAccountId).
Going upstream they must become the upstream's ids; coming back, a
notification about an account the pool does not have must not reach the
client with the upstream's id (which may equal another of the pool's ids).
"""
from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Account
from backends.jmap.account_ids import UnknownAccountId, arguments_from_upstream, arguments_to_upstream
from backends.jmap.targets import UpstreamTarget

ALICE = Account(accountid="alice")


def _target(proxy_id: str, upstream_id: str) -> UpstreamTarget:
    return UpstreamTarget(account=ALICE, upstream_id=upstream_id, proxy_id=proxy_id, name=proxy_id,
                          is_personal=True, is_read_only=False, capabilities={})  # fmt: skip


TARGETS = {"alice": _target("alice", "u-alice"), "alice-bob": _target("alice-bob", "bob")}
UPSTREAM_TO_PROXY = {"u-alice": "alice", "bob": "alice-bob"}


def test_principal_query_account_ids_go_upstream_in_upstream_terms() -> None:
    arguments: dict[str, Any] = {"accountId": "alice", "filter": {"operator": "OR", "conditions": [
        {"accountIds": ["alice-bob"]}, {"name": "Bob", "accountIds": ["alice"]},
    ]}}
    sent = arguments_to_upstream("Principal/query", arguments, TARGETS)
    assert sent == {"accountId": "u-alice", "filter": {"operator": "OR", "conditions": [
        {"accountIds": ["bob"]}, {"name": "Bob", "accountIds": ["u-alice"]},
    ]}}
    assert arguments["filter"]["conditions"][0] == {"accountIds": ["alice-bob"]}  # not modified


def test_share_notification_query_object_account_id_goes_upstream_in_upstream_terms() -> None:
    sent = arguments_to_upstream("ShareNotification/query",
                                 {"accountId": "alice", "filter": {"objectAccountId": "alice-bob"}}, TARGETS)
    assert sent["filter"] == {"objectAccountId": "bob"}


def test_a_filter_naming_an_account_the_pool_lacks_upstream_is_refused() -> None:
    with pytest.raises(UnknownAccountId):
        arguments_to_upstream("Principal/query", {"accountId": "alice", "filter": {"accountIds": ["carol"]}},
                              TARGETS)


def test_share_notifications_come_back_in_proxy_terms() -> None:
    answer = {"accountId": "u-alice", "state": "1", "notFound": [], "list": [
        {"id": "n1", "objectType": "Mailbox", "objectAccountId": "bob", "objectId": "M1"},
        {"id": "n2", "objectType": "Mailbox", "objectAccountId": "someone-else", "objectId": "M2"},
    ]}
    rewritten = arguments_from_upstream("ShareNotification/get", answer, UPSTREAM_TO_PROXY)
    assert rewritten["accountId"] == "alice"
    assert rewritten["list"] == [{"id": "n1", "objectType": "Mailbox", "objectAccountId": "alice-bob",
                                  "objectId": "M1"}]


def test_object_ids_that_look_like_account_ids_are_left_alone() -> None:
    answer = {"accountId": "u-alice", "list": [{"id": "bob", "objectAccountId": "u-alice", "objectId": "bob"}]}
    rewritten = arguments_from_upstream("ShareNotification/get", answer, UPSTREAM_TO_PROXY)
    assert rewritten["list"] == [{"id": "bob", "objectAccountId": "alice", "objectId": "bob"}]
