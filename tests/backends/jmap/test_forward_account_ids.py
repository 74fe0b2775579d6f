"""Account ids are rewritten by position, never by text (backends.jmap.account_ids).

Pure functions: alice's passthrough account "alice" stands for two upstream
accounts, "u-alice" (her own) and "u-shared" (bob's mailbox shared with her).
mallory's upstream account "u-mallory" is on the same server but not in alice's
map: it must never come back as one of alice's ids.
"""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import Account
from backends.jmap.account_ids import (
    UnknownAccountId,
    arguments_from_upstream,
    arguments_to_upstream,
    state_change_from_upstream,
)
from backends.jmap.targets import UpstreamTarget

ALICE = Account(accountid="alice", kind=Account.Kind.JMAP)


def _target(proxy_id: str, upstream_id: str) -> UpstreamTarget:
    return UpstreamTarget(account=ALICE, upstream_id=upstream_id, proxy_id=proxy_id, name=proxy_id,
                          is_personal=True, is_read_only=False, capabilities={})


TARGETS = {"alice": _target("alice", "u-alice"), "alice-shared": _target("alice-shared", "u-shared")}
UPSTREAM_TO_PROXY = {"u-alice": "alice", "u-shared": "alice-shared"}


def test_top_level_account_arguments_go_upstream() -> None:
    sent = arguments_to_upstream(
        "Email/copy", {"accountId": "alice", "fromAccountId": "alice-shared", "create": {"k": {"id": "alice"}}},
        TARGETS,
    )
    assert sent == {"accountId": "u-alice", "fromAccountId": "u-shared", "create": {"k": {"id": "alice"}}}


def test_ids_that_equal_an_account_id_elsewhere_are_left_alone() -> None:
    # A blob id, an object id and a subject that happen to be "u-alice" are data, not account ids.
    answer = {
        "accountId": "u-alice",
        "list": [{"id": "u-alice", "blobId": "u-alice", "subject": "u-alice u-shared"}],
        "notFound": ["u-shared"],
    }
    back = arguments_from_upstream("Email/get", answer, UPSTREAM_TO_PROXY)
    assert back == {
        "accountId": "alice",
        "list": [{"id": "u-alice", "blobId": "u-alice", "subject": "u-alice u-shared"}],
        "notFound": ["u-shared"],
    }


def test_the_input_is_not_modified() -> None:
    arguments = {"accountId": "alice", "ids": None}
    arguments_to_upstream("Mailbox/get", arguments, TARGETS)
    assert arguments == {"accountId": "alice", "ids": None}


def test_errors_carrying_account_ids_are_rewritten() -> None:
    error = {"type": "fromAccountNotFound", "fromAccountId": "u-shared"}
    assert arguments_from_upstream("error", error, UPSTREAM_TO_PROXY) == {
        "type": "fromAccountNotFound", "fromAccountId": "alice-shared"
    }


def test_an_upstream_account_the_pool_lacks_is_an_error_not_a_leak() -> None:
    with pytest.raises(UnknownAccountId) as raised:
        arguments_from_upstream("Mailbox/get", {"accountId": "u-mallory", "list": []}, UPSTREAM_TO_PROXY)
    assert raised.value.argument == "accountId"


def test_a_proxy_id_without_upstream_account_is_refused() -> None:
    with pytest.raises(UnknownAccountId):
        arguments_to_upstream("Mailbox/get", {"accountId": "mallory"}, TARGETS)


def test_principal_accounts_keys_both_ways() -> None:
    answer: dict[str, Any] = {
        "accountId": "u-alice",
        "list": [{"id": "p1", "name": "Bob", "accounts": {
            "u-shared": {"urn:ietf:params:jmap:mail": {}}, "u-mallory": {"urn:ietf:params:jmap:mail": {}},
        }}],
    }
    back = arguments_from_upstream("Principal/get", answer, UPSTREAM_TO_PROXY)
    # mallory's account is dropped: alice's pool has no such account.
    assert back["list"][0]["accounts"] == {"alice-shared": {"urn:ietf:params:jmap:mail": {}}}
    sent = arguments_to_upstream(
        "Principal/set", {"accountId": "alice", "update": {"p1": {"accounts": {"alice-shared": {}}}}}, TARGETS
    )
    assert sent["update"] == {"p1": {"accounts": {"u-shared": {}}}}


def test_other_methods_keep_an_accounts_property_as_data() -> None:
    # Only Principal objects carry an accounts map of account ids.
    answer = {"accountId": "u-alice", "list": [{"id": "x", "accounts": {"u-alice": 1}}]}
    back = arguments_from_upstream("Foo/get", answer, UPSTREAM_TO_PROXY)
    assert back["list"] == [{"id": "x", "accounts": {"u-alice": 1}}]


def test_state_change_keys() -> None:
    changed = {"u-alice": {"Email": "s1"}, "u-mallory": {"Email": "s9"}, "u-shared": {"Mailbox": "s2"}}
    assert state_change_from_upstream(changed, UPSTREAM_TO_PROXY) == {
        "alice": {"Email": "s1"}, "alice-shared": {"Mailbox": "s2"}
    }
    assert state_change_from_upstream("not a map", UPSTREAM_TO_PROXY) == {}


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


@given(arguments=st.dictionaries(st.text(max_size=12), _json, max_size=5), account=st.sampled_from(list(TARGETS)))
def test_round_trip_changes_nothing_but_account_ids(arguments: dict[str, Any], account: str) -> None:
    arguments = {**arguments, "accountId": account}
    for name in ("fromAccountId", "toAccountId"):
        arguments.pop(name, None)
    sent = arguments_to_upstream("Email/get", arguments, TARGETS)
    assert sent["accountId"] == TARGETS[account].upstream_id
    assert {k: v for k, v in sent.items() if k != "accountId"} == {
        k: v for k, v in arguments.items() if k != "accountId"
    }
    assert arguments_from_upstream("Email/get", sent, UPSTREAM_TO_PROXY) == arguments
