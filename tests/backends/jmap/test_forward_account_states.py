"""Passthrough accounts in states other than "fetched and writable": one whose
upstream Session was never stored has it fetched by its first call (and, while
the upstream cannot be reached, answers serverUnavailable rather than a local
answer from an empty cache); one the operator made read-only answers
accountReadOnly to writes, which never reach Cyrus (RFC 8620 §3.6.2)."""
from __future__ import annotations

import imaplib
import secrets

import pytest

from accounts.models import UpstreamAccount
from backends.jmap.client import upstream_client
from tests.backends.jmap.forward_people import MixedPerson, by_call_id
from tests.backends.jmap.passthrough import passthrough_account_make
from tests.servers.cyrus import CyrusServer
from tests.servers.dovecot import free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_upstream_clients")]


def test_a_never_fetched_session_is_fetched_by_the_first_call(mixed_alice: MixedPerson, cyrus: CyrusServer) -> None:
    bob_cyrus = cyrus.user(f"bob-q2-states-{secrets.token_hex(3)}", "bob-states-pw")
    late = passthrough_account_make(accountid=f"late{secrets.token_hex(3)}", user=bob_cyrus, pool=mixed_alice.pool)
    assert late.upstream_session == {} and not UpstreamAccount.objects.filter(account=late).exists()
    response = mixed_alice.request([
        ["Mailbox/query", {"accountId": late.accountid, "filter": {"role": "inbox"}}, "q"],
        ["Mailbox/get", {"accountId": late.accountid, "#ids": {"resultOf": "q", "name": "Mailbox/query",
                                                                "path": "/ids"}, "properties": ["role"]}, "g"],
    ])
    answers = by_call_id(response)
    assert answers["q"][0] == "Mailbox/query", answers["q"]
    assert answers["g"][1]["accountId"] == late.accountid
    assert [box["role"] for box in answers["g"][1]["list"]] == ["inbox"]
    assert UpstreamAccount.objects.get(account=late).upstream_id == bob_cyrus.login


def test_an_unreachable_never_fetched_upstream_is_server_unavailable(
    mixed_alice: MixedPerson, cyrus: CyrusServer
) -> None:
    bob_cyrus = cyrus.user(f"bob-q2-states-{secrets.token_hex(3)}", "bob-states-pw")
    # Nothing listens on this port.
    down = passthrough_account_make(accountid=f"down{secrets.token_hex(3)}", user=bob_cyrus, pool=mixed_alice.pool,
                                    session_url=f"http://127.0.0.1:{free_port()}/jmap")
    response = mixed_alice.request([
        ["Mailbox/get", {"accountId": down.accountid, "ids": None}, "d"],
        ["Mailbox/get", {"accountId": mixed_alice.cyrus_id, "ids": [], "properties": ["role"]}, "ok"],
    ])
    answers = by_call_id(response)
    assert answers["d"][0] == "error" and answers["d"][1]["type"] == "serverUnavailable", answers["d"]
    assert answers["ok"][0] == "Mailbox/get"


def test_a_read_only_account_refuses_writes_before_the_upstream(mixed_alice: MixedPerson) -> None:
    mixed_alice.passthrough.is_read_only = True
    mixed_alice.passthrough.save(update_fields=["is_read_only", "updated_at"])
    upstream_client(mixed_alice.passthrough).session_refresh()
    name = f"Never{secrets.token_hex(3)}"
    response = mixed_alice.request([
        ["Mailbox/get", {"accountId": mixed_alice.cyrus_id, "ids": [], "properties": ["role"]}, "read"],
        ["Mailbox/set", {"accountId": mixed_alice.cyrus_id, "create": {"k": {"name": name}}}, "write"],
        ["Mailbox/query", {"accountId": mixed_alice.cyrus_id}, "after"],
    ])
    answers = by_call_id(response)
    assert answers["read"][0] == "Mailbox/get"
    assert answers["write"] == ["error", {"type": "accountReadOnly"}]
    assert answers["after"][0] == "Mailbox/query"
    connection = imaplib.IMAP4(mixed_alice.cyrus_user.imap_host, mixed_alice.cyrus_user.imap_port, timeout=30)
    try:
        connection.login(mixed_alice.cyrus_user.login, mixed_alice.cyrus_user.password)
        status, lines = connection.list()
    finally:
        connection.logout()
    assert status == "OK" and not any(name.encode() in line for line in lines if isinstance(line, bytes))
