"""Creation ids with a passthrough account (RFC 8620 §3.3, §5.3): "#id"
references resolve upstream within one upstream request and across requests
the proxy sends for one client request; the upstream's createdIds come back in
the client's Response. Checked on Cyrus with alice's own IMAP session."""
from __future__ import annotations

import pytest

from tests.backends.jmap.forward_people import MixedPerson, by_call_id

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_upstream_clients")]


def _cyrus_folders(mixed_alice: MixedPerson) -> set[str]:
    connection = mixed_alice.cyrus_imap()
    try:
        status, lines = connection.list()
    finally:
        connection.logout()
    assert status == "OK"
    return {line.decode().rsplit(" ", 1)[-1].strip('"') for line in lines if isinstance(line, bytes)}


def test_mailbox_set_with_creation_ids_across_upstream_requests(mixed_alice: MixedPerson) -> None:
    response = mixed_alice.request([
        ["Mailbox/set", {"accountId": mixed_alice.cyrus_id, "create": {"proj": {"name": "Projects"}}}, "a"],
        ["Mailbox/set", {"accountId": mixed_alice.cyrus_id,
                         "create": {"sub": {"name": "Plans", "parentId": "#proj"}}}, "b"],
        # A local call in between: what follows is a second upstream request, which learns
        # "proj" and "sub" from the createdIds the proxy sends.
        ["Core/echo", {"between": True}, "c"],
        ["Mailbox/set", {"accountId": mixed_alice.cyrus_id,
                         "create": {"deep": {"name": "Deeper", "parentId": "#sub"}}}, "d"],
        ["Mailbox/get", {"accountId": mixed_alice.cyrus_id, "ids": ["#proj", "#deep"],
                         "properties": ["name", "parentId"]}, "e"],
    ], createdIds={"client-made": "x1"})
    answers = by_call_id(response)
    assert [answers[c][0] for c in "abcde"] == ["Mailbox/set", "Mailbox/set", "Core/echo", "Mailbox/set", "Mailbox/get"]
    proj = answers["a"][1]["created"]["proj"]["id"]
    sub = answers["b"][1]["created"]["sub"]["id"]
    deep = answers["d"][1]["created"]["deep"]["id"]
    # The client's createdIds come back, with the upstream's creations added (RFC 8620 §3.4).
    assert response["createdIds"] == {"client-made": "x1", "proj": proj, "sub": sub, "deep": deep}
    got = {box["id"]: box for box in answers["e"][1]["list"]}
    assert got[proj]["parentId"] is None and got[deep]["parentId"] == sub
    assert {"Projects", "Projects/Plans", "Projects/Plans/Deeper"} <= _cyrus_folders(mixed_alice)


def test_a_response_has_no_createdids_when_the_request_had_none(mixed_alice: MixedPerson) -> None:
    response = mixed_alice.request([
        ["Mailbox/set", {"accountId": mixed_alice.cyrus_id, "create": {"k": {"name": "Receipts"}}}, "a"],
    ])
    assert response["methodResponses"][0][0] == "Mailbox/set"
    assert "createdIds" not in response
    assert "Receipts" in _cyrus_folders(mixed_alice)
