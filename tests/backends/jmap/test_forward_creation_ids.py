"""Creation ids with a passthrough account (RFC 8620 §3.3, §5.3): "#id"
references resolve upstream within one upstream request and across requests
the proxy sends for one client request; the upstream's createdIds come back in
the client's Response. Checked on Cyrus with alice's own IMAP session."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from backends.jmap.client import upstream_clients_clear
from tests.backends.jmap.forward_people import MixedPerson, by_call_id, mixed_person
from tests.servers.cyrus import CyrusServer
from tests.servers.dovecot import DovecotServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    upstream_clients_clear()
    yield
    upstream_clients_clear()


@pytest.fixture
def alice(dovecot: DovecotServer, cyrus: CyrusServer) -> MixedPerson:
    return mixed_person(name="alice", dovecot=dovecot, cyrus=cyrus)


def _cyrus_folders(alice: MixedPerson) -> set[str]:
    connection = alice.cyrus_imap()
    try:
        status, lines = connection.list()
    finally:
        connection.logout()
    assert status == "OK"
    return {line.decode().rsplit(" ", 1)[-1].strip('"') for line in lines if isinstance(line, bytes)}


def test_mailbox_set_with_creation_ids_across_upstream_requests(alice: MixedPerson) -> None:
    response = alice.request([
        ["Mailbox/set", {"accountId": alice.cyrus_id, "create": {"proj": {"name": "Projects"}}}, "a"],
        ["Mailbox/set", {"accountId": alice.cyrus_id,
                         "create": {"sub": {"name": "Plans", "parentId": "#proj"}}}, "b"],
        # A local call in between: what follows is a second upstream request, which learns
        # "proj" and "sub" from the createdIds the proxy sends.
        ["Core/echo", {"between": True}, "c"],
        ["Mailbox/set", {"accountId": alice.cyrus_id,
                         "create": {"deep": {"name": "Deeper", "parentId": "#sub"}}}, "d"],
        ["Mailbox/get", {"accountId": alice.cyrus_id, "ids": ["#proj", "#deep"], "properties": ["name", "parentId"]},
         "e"],
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
    assert {"Projects", "Projects/Plans", "Projects/Plans/Deeper"} <= _cyrus_folders(alice)


def test_a_response_has_no_createdids_when_the_request_had_none(alice: MixedPerson) -> None:
    response = alice.request([
        ["Mailbox/set", {"accountId": alice.cyrus_id, "create": {"k": {"name": "Receipts"}}}, "a"],
    ])
    assert response["methodResponses"][0][0] == "Mailbox/set"
    assert "createdIds" not in response
    assert "Receipts" in _cyrus_folders(alice)
