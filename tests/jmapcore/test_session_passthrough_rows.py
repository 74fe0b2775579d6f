"""The Session state and the routing of a passthrough account's calls read its
upstream accounts once per change, not once per request (accounts.upstream_rows).

alice's login has one passthrough Account on the suite's Cyrus. Once a
request has been answered, the next one reads no UpstreamAccount row from the
database (neither for its sessionState, RFC 8620 §3.4, nor to route its calls
upstream). When bob shares his INBOX with her and her upstream Session is
refreshed elsewhere (another Account instance, as the worker process does
it), her next request and her Session both show the new state and the new
account at once.
"""
from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from accounts.auth import pool_accounts
from accounts.models import Account, Pool
from accounts.upstream_rows import upstream_rows_forget
from backends.jmap.client import upstream_clients_clear
from backends.jmap.session_store import upstream_session_refresh
from jmapcore.engine import request_run
from tests.backends.jmap.passthrough import passthrough_account_make
from tests.jmapcore.apiclient import api_post
from tests.servers.cyrus import CyrusServer, CyrusUser

pytestmark = pytest.mark.django_db(transaction=True)

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    upstream_clients_clear()
    upstream_rows_forget()
    yield
    upstream_clients_clear()
    upstream_rows_forget()


@dataclass
class Person:
    pool: Pool
    password: str
    account: Account
    cyrus_user: CyrusUser
    client: Client

    @property
    def auth(self) -> str:
        return "Basic " + base64.b64encode(f"{self.pool.login}:{self.password}".encode()).decode()

    def request(self, calls: list[list[Any]]) -> dict[str, Any]:
        answer = api_post(self.client, self.auth, {"using": [CORE, MAIL], "methodCalls": calls})
        assert answer.status_code == 200, answer.content
        response: dict[str, Any] = json.loads(answer.content)
        return response

    def session(self) -> dict[str, Any]:
        answer = self.client.get("/session", HTTP_AUTHORIZATION=self.auth)
        assert answer.status_code == 200, answer.content
        body: dict[str, Any] = json.loads(answer.content)
        return body


@pytest.fixture
def alice(cyrus: CyrusServer) -> Person:
    tag = secrets.token_hex(3)
    password = f"alice-{secrets.token_hex(4)}"
    pool = Pool.objects.create(login=f"alice-rows-{tag}@example.test", password_hash=make_password(password))
    cyrus_user = cyrus.user(f"alice-q2-rows-{tag}", f"alice-cyrus-{secrets.token_hex(4)}")
    account = passthrough_account_make(accountid=f"alicecyrus{tag}", user=cyrus_user, pool=pool)
    upstream_session_refresh(account=account)
    return Person(pool=pool, password=password, account=account, cyrus_user=cyrus_user, client=Client())


def _calls(account_id: str) -> list[list[Any]]:
    return [
        ["Core/echo", {"hello": "alice"}, "e"],
        ["Mailbox/get", {"accountId": account_id, "properties": ["role"]}, "m"],
    ]


def test_a_warm_request_reads_no_upstream_rows(alice: Person,
                                               django_assert_num_queries: DjangoAssertNumQueries) -> None:  # fmt: skip
    alice.request(_calls(alice.account.accountid))
    # Read as every request reads them (accounts.auth.pool_accounts); the rest is the engine's.
    accounts = pool_accounts(alice.pool)
    body = {"using": [CORE, MAIL], "methodCalls": _calls(alice.account.accountid)}
    with django_assert_num_queries(0):
        processed = request_run(pool=alice.pool, body=body, accounts=accounts)
    names = [response.name for response in processed.responses]
    assert names == ["Core/echo", "Mailbox/get"], processed.to_json()
    assert processed.session_state == alice.session()["state"]


def test_the_session_and_responses_follow_a_refresh_stored_elsewhere(alice: Person, cyrus: CyrusServer) -> None:
    before = alice.session()
    assert list(before["accounts"]) == [alice.account.accountid]
    assert alice.request(_calls(alice.account.accountid))["sessionState"] == before["state"]
    bob = cyrus.user(f"bob-q2-rows-{secrets.token_hex(3)}", "bob-rows-pw")
    cyrus.share(owner=bob.login, sharee=alice.cyrus_user.login, rights="lr")
    # The worker's periodic refresh: another Account instance, another write.
    upstream_session_refresh(account=Account.objects.get(pk=alice.account.pk))
    response = alice.request(_calls(alice.account.accountid))
    after = alice.session()
    assert response["sessionState"] == after["state"] != before["state"]
    [shared_id] = [account_id for account_id in after["accounts"] if account_id != alice.account.accountid]
    assert after["accounts"][shared_id]["isReadOnly"] is True
    shared = alice.request([["Mailbox/get", {"accountId": shared_id, "properties": ["role"]}, "s"]])
    name, arguments, _ = shared["methodResponses"][0]
    assert name == "Mailbox/get", arguments
    assert arguments["accountId"] == shared_id
