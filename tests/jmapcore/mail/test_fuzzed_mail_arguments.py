"""Arbitrary JSON arguments to the mail methods, against a real synced account,
get a JMAP answer — a result or a method error — never a serverFail, a 500 or
a traceback (DESIGN.md: bad input of any kind gets a clear JMAP error)."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.jmapcore.mail.conftest import MailUser, message

KEYS = [
    "ids", "properties", "bodyProperties", "sinceState", "maxChanges", "create", "update", "destroy", "ifInState",
    "filter", "sort", "position", "anchor", "anchorOffset", "limit", "calculateTotal", "sinceQueryState", "upToId",
    "collapseThreads", "fetchAllBodyValues", "fetchTextBodyValues", "maxBodyValueBytes", "blobIds", "emailIds",
    "emails", "mailboxIds", "keywords", "keywords/$seen", "name", "parentId", "role", "sortOrder", "inMailbox",
    "text", "header", "hasKeyword", "operator", "conditions", "property", "isAscending", "keyword", "k1", "#k1",
    "onDestroyRemoveEmails", "sortAsTree", "filterAsTree", "subject", "textBody", "bodyValues", "partId", "type",
]
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | finite_floats | st.text(max_size=6)
    | st.sampled_from(["header:Subject:asText", "$seen", "receivedAt", "inbox", "AND", "NOT", "text/plain"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=3), inner, max_size=4),
    max_leaves=15,
)
METHODS = [
    "Mailbox/get", "Mailbox/changes", "Mailbox/query", "Mailbox/queryChanges", "Mailbox/set",
    "Thread/get", "Thread/changes",
    "Email/get", "Email/changes", "Email/query", "Email/queryChanges", "Email/set", "Email/import", "Email/parse",
    "SearchSnippet/get",
]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(METHODS), st.dictionaries(st.sampled_from(KEYS), json_values, max_size=5))
def test_any_arguments_get_a_jmap_answer(fuzz_account: MailUser, method: str, arguments: dict[str, Any]) -> None:
    [(name, result, _)] = fuzz_account.request([method, {"accountId": fuzz_account.account_id, **arguments}, "c0"])
    if name == "error":
        assert result["type"] != "serverFail", result
        return
    # Not an error: the method's own response, for the account asked about (RFC 8620 §3.4).
    assert name == method, (name, result)
    assert result["accountId"] == fuzz_account.account_id, result
    for failures in ("notCreated", "notUpdated", "notDestroyed"):
        for set_error in (result.get(failures) or {}).values():
            assert set_error["type"] != "serverFail", set_error


@pytest.fixture
def fuzz_account(alice_mail: MailUser) -> MailUser:
    alice_mail.deliver(message(subject="fuzz target"))
    alice_mail.sync()
    return alice_mail
