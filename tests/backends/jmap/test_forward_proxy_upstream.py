"""Forwarding to a second kind of native JMAP server: another jmap-proxy
(`runproxy`, tests/servers/proxy.py) serving dave's IMAP mail on the suite's
Dovecot. dave's local login mixes an IMAP account and a passthrough account on
that upstream proxy; a message APPENDed on Dovecot is found and read through
both hops, with the upstream proxy's account id rewritten to the local one."""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client

from accounts.models import Account, Pool, SslMode
from backends.jmap.client import upstream_client
from tests.backends.jmap.forward_people import CORE, MAIL, by_call_id
from tests.backends.jmap.passthrough import passthrough_account_make
from tests.jmapcore.apiclient import api_post
from tests.servers.cyrus import CyrusUser
from tests.servers.dovecot import DovecotServer
from tests.servers.proxy import ProxyProcess

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.usefixtures("fresh_upstream_clients"),
]
# Seconds the upstream proxy may take for its first sync of dave's mailbox.
SYNC_WAIT = 30.0


@dataclass(frozen=True)
class UpstreamDave:
    login: str
    password: str
    accountid: str


@pytest.fixture(scope="module")
def upstream_dave(upstream_proxy: ProxyProcess, dovecot: DovecotServer) -> UpstreamDave:
    """dave's Dovecot mail as an IMAP account of the upstream proxy (management API)."""
    login = f"dave-fwd-{secrets.token_hex(3)}@example.test"
    password = dovecot.user_add(login)
    accountid = f"dave-up-{secrets.token_hex(3)}"
    answer = httpx.post(f"{upstream_proxy.mgmt_url}/api/accounts", json={
        "accountid": accountid, "email": login, "type": "imap", "username": login, "password": password,
        "imapHost": dovecot.host, "imapPort": dovecot.imap_port, "imapSSL": 0,
    }, timeout=60)  # fmt: skip
    assert answer.status_code == 201, answer.text
    return UpstreamDave(login=login, password=password, accountid=accountid)


def _request(client: Client, auth: str, calls: list[list[Any]]) -> dict[str, Any]:
    answer = api_post(client, auth, {"using": [CORE, MAIL], "methodCalls": calls})
    assert answer.status_code == 200, answer.content
    body: dict[str, Any] = answer.json()
    return body


def test_calls_reach_an_upstream_jmap_proxy(
    upstream_proxy: ProxyProcess, upstream_dave: UpstreamDave, dovecot: DovecotServer
) -> None:
    import base64

    subject = f"Through two proxies {secrets.token_hex(4)}"
    dovecot.message_append(upstream_dave.login, (
        f"From: Erin <erin@example.test>\r\nTo: {upstream_dave.login}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{secrets.token_hex(6)}@example.test>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nTwo hops.\r\n"
    ).encode())
    # The upstream proxy's first sync of dave may have run before this APPEND (it starts at once): ask it for
    # another, as an operator would (README: POST /api/accounts/{accountid}/sync), rather than wait for its beat.
    queued = httpx.post(f"{upstream_proxy.mgmt_url}/api/accounts/{upstream_dave.accountid}/sync", json={},
                        timeout=30)  # fmt: skip
    assert queued.status_code in (200, 202), queued.text
    jmap_password = f"dave-local-{secrets.token_hex(4)}"
    pool = Pool.objects.create(login=f"dave-local-{secrets.token_hex(3)}@example.test",
                               password_hash=make_password(jmap_password))
    local_login = f"dave-local-imap-{secrets.token_hex(3)}@example.test"
    imap = Account.objects.create(
        accountid=f"davelocal{secrets.token_hex(3)}", pool=pool, email=local_login, username=local_login,
        password=dovecot.user_add(local_login), imap_host=dovecot.host, imap_port=dovecot.imap_port,
        imap_ssl=SslMode.PLAIN,
    )
    upstream_user = CyrusUser(login=upstream_dave.login, password=upstream_dave.password,
                              session_url=upstream_proxy.jmap_url + "/.well-known/jmap", imap_host="", imap_port=0)
    passthrough = passthrough_account_make(accountid=f"daveup{secrets.token_hex(3)}", user=upstream_user,
                                           pool=pool)
    upstream_client(passthrough).session_refresh()
    auth = "Basic " + base64.b64encode(f"{pool.login}:{jmap_password}".encode()).decode()
    client = Client()
    calls = [
        ["Mailbox/query", {"accountId": passthrough.accountid, "filter": {"role": "inbox"}}, "box"],
        ["Email/query", {"accountId": passthrough.accountid,
                         "#filter": {"resultOf": "echo", "name": "Core/echo", "path": "/filter"}}, "q"],
        ["Email/get", {"accountId": passthrough.accountid, "properties": ["subject"],
                       "#ids": {"resultOf": "q", "name": "Email/query", "path": "/ids"}}, "g"],
        ["Mailbox/get", {"accountId": imap.accountid, "ids": [], "properties": ["role"]}, "local"],
    ]
    deadline = time.monotonic() + SYNC_WAIT
    while True:
        boxes = by_call_id(_request(client, auth, calls[:1]))["box"][1]
        if boxes.get("ids"):
            break
        assert time.monotonic() < deadline, f"the upstream proxy never listed dave's inbox: {boxes}"
        time.sleep(0.5)
    inbox = boxes["ids"][0]
    # Core/echo runs locally; the forwarded Email/query takes its filter by reference (resolved locally).
    mixed = [["Core/echo", {"filter": {"inMailbox": inbox}}, "echo"], *calls[1:]]
    deadline = time.monotonic() + SYNC_WAIT
    while True:
        answers = by_call_id(_request(client, auth, mixed))
        subjects = [email["subject"] for email in answers["g"][1].get("list", [])]
        if subject in subjects:
            break
        assert time.monotonic() < deadline, f"the appended message never showed up: {answers}"
        time.sleep(0.5)
    assert answers["q"][1]["accountId"] == answers["g"][1]["accountId"] == passthrough.accountid
    assert upstream_dave.accountid not in str(answers)
    assert answers["local"][0] == "Mailbox/get" and answers["local"][1]["accountId"] == imap.accountid
