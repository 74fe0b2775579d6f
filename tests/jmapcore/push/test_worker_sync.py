"""Embedded mode end to end: a sync run by the proxy's Celery worker (another
process than the web process holding the EventSource) is pushed to it."""
from __future__ import annotations

import secrets
import time

import httpx

from tests.jmapcore.push.clients import PushPerson, eventsource
from tests.servers.dovecot import DovecotServer
from tests.servers.proxy import ProxyProcess

SYNC_WAIT = 30.0


def dovecot_person(proxy: ProxyProcess, dovecot: DovecotServer, name: str) -> PushPerson:
    login = f"{name}-{secrets.token_hex(3)}@example.test"
    password = dovecot.user_add(login)
    accountid = f"{name}-{secrets.token_hex(3)}"
    body = {
        "accountid": accountid, "email": login, "type": "imap", "username": login, "password": password,
        "imapHost": dovecot.host, "imapPort": dovecot.imap_port, "imapSSL": 0, "check": False,
    }  # fmt: skip
    response = httpx.post(proxy.mgmt_url + "/api/accounts", json=body, timeout=30)
    assert response.status_code == 201, response.text
    return PushPerson(name=name, login=login, password=password, account_ids=[accountid], proxy=proxy)


def first_sync_recorded(proxy: ProxyProcess, account_id: str) -> bool:
    """Whether the sync queued at the account's creation has run (lastSyncAt set), waiting up to SYNC_WAIT.

    A fresh EventSource hears only changes committed after it subscribed (RFC 8620 §7.3): a stream
    opened while the first sync may still run could miss the very change this test waits for.
    """
    deadline = time.monotonic() + SYNC_WAIT
    while time.monotonic() < deadline:
        shown = httpx.get(f"{proxy.mgmt_url}/api/accounts/{account_id}", timeout=10).json()
        if shown.get("lastSyncAt"):
            return True
        time.sleep(0.1)
    return False


def test_worker_sync_is_pushed(push_proxy: ProxyProcess, dovecot: DovecotServer) -> None:
    erin = dovecot_person(push_proxy, dovecot, "erin")
    assert first_sync_recorded(push_proxy, erin.account_id), push_proxy.log_text()[-3000:]
    message = (
        f"From: a@example.test\r\nTo: {erin.login}\r\nSubject: hello\r\n"
        f"Message-ID: <{secrets.token_hex(6)}@example.test>\r\n\r\nhi\r\n"
    )
    with eventsource(erin, types="Email") as stream:
        dovecot.message_append(erin.login, message)
        response = httpx.post(f"{push_proxy.mgmt_url}/api/accounts/{erin.account_id}/sync", json={}, timeout=15)
        assert response.status_code == 202, response.text
        started = time.monotonic()
        change = stream.next_state(timeout=SYNC_WAIT)
    assert change is not None, f"no Email StateChange after a worker sync:\n{push_proxy.log_text()[-3000:]}"
    assert set(change["changed"]) == {erin.account_id}
    assert "Email" in change["changed"][erin.account_id]
    assert time.monotonic() - started < SYNC_WAIT
