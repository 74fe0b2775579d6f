"""Upstream failures become the right method errors (backends.jmap.errors_map),
and an upstream answer of any shape is split into per-call responses without
a crash (backends.jmap.forward.response_split).

Cyrus gives the timeouts, refusals and refused passwords in
test_forward_upstream_failures.py; the problem documents and broken answers
below are ones no real server of the suite produces on demand, so they are
given as the values the client hands over (UpstreamError, a decoded Response).
"""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import Account
from backends.jmap.client import UpstreamError
from backends.jmap.errors_map import upstream_error_to_method_error
from backends.jmap.forward import response_split, upstream_max_calls, upstream_using
from jmapcore.protocol.envelope import Invocation
from tests.personas import Persona

LIMIT = "urn:ietf:params:jmap:error:limit"


def _mapped(error: UpstreamError, account: Account) -> dict[str, Any]:
    return upstream_error_to_method_error(error=error, account=account).to_arguments()


@pytest.mark.django_db
def test_problem_documents_and_statuses(alice: Persona) -> None:
    account = alice.account
    too_many = UpstreamError("apiUrl returned HTTP 400", permanent=True, status=400, problem={
        "type": LIMIT, "status": 400, "limit": "maxSizeRequest", "detail": "request of 12 MB, at most 10 MB"})
    assert _mapped(too_many, account) == {
        "type": "requestTooLarge", "limit": "maxSizeRequest",
        "description": "upstream limit: request of 12 MB, at most 10 MB",
    }
    busy = UpstreamError("x", permanent=False, status=400, problem={"type": LIMIT, "limit": "maxConcurrentRequests"})
    assert _mapped(busy, account)["type"] == "serverUnavailable"
    for refused in ("notJSON", "notRequest", "unknownCapability"):
        error = UpstreamError("x", permanent=True, status=400,
                              problem={"type": "urn:ietf:params:jmap:error:" + refused, "title": "bad"})
        arguments = _mapped(error, account)
        assert arguments["type"] == "serverFail"
        assert "the upstream refused the forwarded request" in arguments["description"]
    assert _mapped(UpstreamError("x", permanent=False, status=503), account)["type"] == "serverUnavailable"
    assert _mapped(UpstreamError("x", permanent=False, timed_out=True), account)["type"] == "serverUnavailable"
    assert _mapped(UpstreamError("apiUrl did not return JSON", permanent=False, status=200), account)["type"] == \
        "serverFail"
    assert _mapped(UpstreamError("x", permanent=True, status=404), account)["type"] == "serverFail"


@pytest.mark.django_db
def test_a_hostile_detail_is_cut_short(alice: Persona) -> None:
    error = UpstreamError("x", permanent=True, status=400, problem={"type": LIMIT, "detail": "A" * 5000,
                                                                     "limit": "L" * 5000})
    arguments = _mapped(error, alice.account)
    assert len(arguments["description"]) < 300 and len(arguments["limit"]) < 300


@pytest.mark.django_db
def test_a_refusal_is_recorded_on_the_account(alice: Persona) -> None:
    arguments = _mapped(UpstreamError("apiUrl returned HTTP 403", permanent=True, status=403), alice.account)
    assert arguments["type"] == "forbidden"
    alice.account.refresh_from_db()
    assert "refused the stored credentials (HTTP 403)" in alice.account.last_sync_error


CALLS = [Invocation("Mailbox/get", {}, "a"), Invocation("Email/query", {}, "b")]
MAP = {"u-alice": "alice"}


def test_responses_map_to_calls_and_missing_ones_fail() -> None:
    created: dict[str, str] = {"k0": "x0"}
    answer = {
        "methodResponses": [
            ["Mailbox/get", {"accountId": "u-alice", "list": []}, "0"],
            ["Email/set", {"accountId": "u-alice"}, "0"],  # an implicit second response of call 0
            ["Email/query", {"accountId": "u-mallory"}, "9"],  # no such call: dropped
            "garbage",
        ],
        "createdIds": {"k1": "x1", "k2": 7},
    }
    split = response_split(answer=answer, calls=CALLS, created_ids=created, upstream_to_proxy=MAP)
    assert split[0] == [Invocation("Mailbox/get", {"accountId": "alice", "list": []}, "a"),
                        Invocation("Email/set", {"accountId": "alice"}, "a")]
    [missing] = split[1]
    assert (missing.name, missing.arguments["type"], missing.call_id) == ("error", "serverFail", "b")
    assert created == {"k0": "x0", "k1": "x1"}


def test_an_answer_for_an_account_the_pool_lacks_fails_that_call() -> None:
    answer = {"methodResponses": [["Mailbox/get", {"accountId": "u-mallory", "list": [{"id": "secret"}]}, "0"],
                                  ["Email/query", {"accountId": "u-alice", "ids": []}, "1"]]}
    split = response_split(answer=answer, calls=CALLS, created_ids={}, upstream_to_proxy=MAP)
    assert split[0][0].name == "error" and split[0][0].arguments["type"] == "serverFail"
    assert "secret" not in str(split[0][0].arguments) and "u-mallory" not in str(split[0][0].arguments)
    assert split[1] == [Invocation("Email/query", {"accountId": "alice", "ids": []}, "b")]


@given(answer=st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["methodResponses", "createdIds", "accountId", "0", "1", "x"]), inner, max_size=4),
    max_leaves=20,
))
def test_any_answer_gives_every_call_a_response(answer: Any) -> None:
    document = answer if isinstance(answer, dict) else {"methodResponses": answer}
    created: dict[str, str] = {}
    split = response_split(answer=document, calls=CALLS, created_ids=created, upstream_to_proxy=MAP)
    assert len(split) == 2 and all(split)
    assert all(out.call_id == call.call_id for call, outs in zip(CALLS, split, strict=True) for out in outs)
    assert all(isinstance(key, str) and isinstance(value, str) for key, value in created.items())


def test_upstream_limits_and_using_from_the_stored_session() -> None:
    account = Account(accountid="alice", kind=Account.Kind.JMAP, upstream_session={"capabilities": {
        "urn:ietf:params:jmap:core": {"maxCallsInRequest": 7}, "urn:ietf:params:jmap:mail": {}}})
    assert upstream_max_calls(account) == 7
    using = frozenset({"urn:ietf:params:jmap:mail", "urn:ietf:params:jmap:contacts"})
    assert upstream_using(using, account) == ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"]
    broken = Account(accountid="bob", kind=Account.Kind.JMAP, upstream_session={"capabilities": {
        "urn:ietf:params:jmap:core": {"maxCallsInRequest": True}}})
    assert upstream_max_calls(broken) == 16
