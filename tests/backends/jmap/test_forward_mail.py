"""Mail through a passthrough account (RFC 8621 §4): Email/set creates a draft
on Cyrus, Email/query finds it, Email/get reads it, all in one client request;
the message is then seen on Cyrus by plain IMAP, as another client would."""
from __future__ import annotations

import secrets

import pytest

from tests.backends.jmap.forward_people import MixedPerson, by_call_id

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_upstream_clients")]


def test_draft_created_queried_and_read_in_one_request(mixed_alice: MixedPerson) -> None:
    [(_, found, _)] = mixed_alice.request([
        ["Mailbox/query", {"accountId": mixed_alice.cyrus_id, "filter": {"role": "inbox"}}, "boxes"],
    ])["methodResponses"]
    inbox_id = found["ids"][0]
    subject = f"Plans {secrets.token_hex(4)}"
    response = mixed_alice.request([
        ["Email/set", {"accountId": mixed_alice.cyrus_id, "create": {"draft": {
            "mailboxIds": {inbox_id: True},
            "keywords": {"$draft": True, "$seen": True},
            "from": [{"name": "Alice", "email": "alice@example.test"}],
            "to": [{"name": "Bob", "email": "bob@example.test"}],
            "subject": subject,
            "bodyValues": {"b": {"value": "See you at ten."}},
            "textBody": [{"partId": "b", "type": "text/plain"}],
        }}}, "set"],
        ["Email/query", {"accountId": mixed_alice.cyrus_id, "filter": {"inMailbox": inbox_id, "hasKeyword": "$draft"}},
         "query"],
        ["Email/get", {"accountId": mixed_alice.cyrus_id,
                       "#ids": {"resultOf": "query", "name": "Email/query", "path": "/ids"},
                       "properties": ["subject", "keywords", "mailboxIds", "preview"]}, "get"],
        ["Email/get", {"accountId": mixed_alice.cyrus_id, "ids": ["#draft"], "properties": ["subject"]},
         "byCreationId"],
    ])
    answers = by_call_id(response)
    assert answers["set"][0] == "Email/set", answers["set"]
    email_id = answers["set"][1]["created"]["draft"]["id"]
    assert answers["query"][1]["ids"] == [email_id]
    [email] = answers["get"][1]["list"]
    assert email["id"] == email_id and email["subject"] == subject
    assert email["keywords"] == {"$draft": True, "$seen": True}
    assert email["mailboxIds"] == {inbox_id: True}
    assert "See you at ten." in email["preview"]
    assert answers["byCreationId"][1]["list"] == [{"id": email_id, "subject": subject}]
    connection = mixed_alice.cyrus_imap()
    try:
        connection.select("INBOX", readonly=True)
        status, hits = connection.search(None, "SUBJECT", f'"{subject}"', "DRAFT")
    finally:
        connection.logout()
    assert status == "OK" and len(hits[0].split()) == 1


def test_a_foreign_accountid_next_to_a_passthrough_one_is_accountnotfound(mixed_alice: MixedPerson) -> None:
    # mallory's account id is not in alice's pool: not forwarded, answered locally.
    response = mixed_alice.request([
        ["Mailbox/get", {"accountId": mixed_alice.cyrus_id, "ids": []}, "a"],
        ["Mailbox/get", {"accountId": "mallory", "ids": []}, "b"],
    ])
    answers = by_call_id(response)
    assert answers["a"][0] == "Mailbox/get"
    assert answers["b"][0] == "error" and answers["b"][1]["type"] == "accountNotFound"
