"""EmailSubmission/get, /changes, /query and /queryChanges (RFC 8621 §7.1-§7.4)."""
from __future__ import annotations

from typing import Any

from tests.jmapcore.mail.submission.conftest import Sender


def _submit(user: Sender, to: Sender, *, hold: str | None = None) -> dict[str, Any]:
    email_id, _ = user.draft_create(to=[to.login])
    create: dict[str, Any] = {"identityId": user.identity_id(), "emailId": email_id}
    if hold is not None:
        create["envelope"] = {"mailFrom": {"email": user.login, "parameters": {"HOLDFOR": hold}},
                              "rcptTo": [{"email": to.login}]}
    submitted, _ = user.submission_set(create={"s": create})
    assert submitted["notCreated"] is None, submitted["notCreated"]
    return {**create, **submitted["created"]["s"]}


def test_get_changes_query(alice: Sender, bob: Sender) -> None:
    start = alice.state("EmailSubmission")
    now_sent = _submit(alice, bob)
    held = _submit(alice, bob, hold="3600")
    later = _submit(alice, bob, hold="7200")

    listed = alice.ok("EmailSubmission/get")["list"]
    assert {item["id"] for item in listed} == {now_sent["id"], held["id"], later["id"]}
    [one] = alice.ok("EmailSubmission/get", ids=[held["id"]], properties=["emailId", "undoStatus"])["list"]
    assert one == {"id": held["id"], "emailId": held["emailId"], "undoStatus": "pending"}
    assert alice.ok("EmailSubmission/get", ids=["snothere"])["notFound"] == ["snothere"]

    changes = alice.ok("EmailSubmission/changes", sinceState=start)
    assert changes["created"] == [now_sent["id"], held["id"], later["id"]]
    assert (changes["updated"], changes["destroyed"], changes["hasMoreChanges"]) == ([], [], False)

    def query(**arguments: Any) -> list[str]:
        return list(alice.ok("EmailSubmission/query", **arguments)["ids"])

    assert query(filter={"undoStatus": "pending"}, sort=[{"property": "sentAt"}]) == [held["id"], later["id"]]
    assert query(filter={"undoStatus": "final"}) == [now_sent["id"]]
    assert query(filter={"emailIds": [held["emailId"], later["emailId"]]},
                 sort=[{"property": "sentAt", "isAscending": False}]) == [later["id"], held["id"]]
    assert query(filter={"threadIds": [now_sent["threadId"]]}) == [now_sent["id"]]
    assert set(query(filter={"identityIds": [alice.identity_id()]})) == {now_sent["id"], held["id"], later["id"]}
    assert query(filter={"identityIds": ["inothere"]}) == []
    assert query(filter={"after": held["sendAt"]}, sort=[{"property": "sentAt"}]) == [held["id"], later["id"]]
    assert query(filter={"before": held["sendAt"]}) == [now_sent["id"]]
    assert query(filter={"operator": "NOT", "conditions": [{"undoStatus": "pending"}]}) == [now_sent["id"]]
    by_email = sorted([now_sent, held, later], key=lambda item: item["emailId"])
    assert query(sort=[{"property": "emailId"}]) == [item["id"] for item in by_email]

    bad = alice.error("EmailSubmission/query", filter={"undoStatus": "sent"})
    assert bad["type"] == "invalidArguments"
    bad = alice.error("EmailSubmission/query", sort=[{"property": "subject"}])
    assert bad["type"] == "unsupportedSort"


def test_query_changes_after_cancel(alice: Sender, bob: Sender) -> None:
    held = _submit(alice, bob, hold="3600")
    pending = alice.ok("EmailSubmission/query", filter={"undoStatus": "pending"})
    assert pending["ids"] == [held["id"]]
    alice.ok("EmailSubmission/set", update={held["id"]: {"undoStatus": "canceled"}})
    changed = alice.ok("EmailSubmission/queryChanges", filter={"undoStatus": "pending"},
                       sinceQueryState=pending["queryState"])
    assert changed["removed"] == [held["id"]]
    assert changed["added"] == []
    canceled = alice.ok("EmailSubmission/queryChanges", filter={"undoStatus": "canceled"},
                        sinceQueryState=pending["queryState"])
    assert canceled["added"] == [{"id": held["id"], "index": 0}]


def test_destroy_removes_the_record(alice: Sender, bob: Sender) -> None:
    sent = _submit(alice, bob)
    state = alice.state("EmailSubmission")
    assert alice.ok("EmailSubmission/set", destroy=[sent["id"]])["destroyed"] == [sent["id"]]
    assert alice.ok("EmailSubmission/changes", sinceState=state)["destroyed"] == [sent["id"]]
    assert alice.ok("EmailSubmission/query")["ids"] == []


def test_submissions_are_private(alice: Sender, bob: Sender) -> None:
    mine = _submit(alice, bob)
    assert bob.ok("EmailSubmission/get", ids=[mine["id"]])["notFound"] == [mine["id"]]
    assert bob.ok("EmailSubmission/query")["ids"] == []
    # Bob cannot send Alice's email either.
    submitted, _ = bob.submission_set(create={"s": {"identityId": bob.identity_id(), "emailId": mine["emailId"]}})
    assert submitted["notCreated"]["s"]["type"] == "invalidProperties"
    result = bob.ok("EmailSubmission/set", destroy=[mine["id"]])
    assert result["notDestroyed"][mine["id"]]["type"] == "notFound"
    error = bob.error("EmailSubmission/get", accountId=alice.account_id)
    assert error["type"] == "accountNotFound"


def test_submission_needs_the_capability(alice: Sender, settings: Any) -> None:
    """With JMAP_STRICT; the default accepts mail alone (tests/jmapcore/mail/test_client_workarounds.py)."""
    from tests.jmapcore.apiclient import api_post, jmap_request, method_responses
    from tests.jmapcore.mail.conftest import USING

    settings.JMAP_STRICT = True
    body = jmap_request(["EmailSubmission/get", {"accountId": alice.account_id}, "0"], using=USING)
    [(name, result, _)] = method_responses(api_post(alice.client, alice.auth, body))
    assert (name, result["type"]) == ("error", "unknownMethod")
