"""A new account's first sync is queued when the account is created (issue 9):
through the management API, the admin and `manage.py create_account`, a
client finds the account's mail without waiting for a beat tick.

The proxy runs as a user runs it (`manage.py runproxy`: web, worker, beat)
with JMAP_SYNC_INTERVAL at an hour, so beat cannot be what syncs an account
within a test; every wait is bounded (SYNC_WAIT) and checks content, not time.
"""
from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers.dovecot import DovecotServer
from tests.servers.proxy import ROOT, ProxyProcess, proxy_running

# Seconds a wait may take; the proxy's beat would not sync before an hour.
SYNC_WAIT = 30.0
BEAT_INTERVAL = "3600"


@pytest.fixture(scope="module")
def slow_beat_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    datadir = tmp_path_factory.mktemp("first-sync-proxy")
    with proxy_running(datadir, extra_env={"JMAP_SYNC_INTERVAL": BEAT_INTERVAL}) as proxy:
        yield proxy


@dataclass
class Mailuser:
    """A Dovecot user with one message in its INBOX, not yet known to the proxy."""

    persona: str
    login: str
    password: str
    accountid: str
    subject: str


def mailuser_make(dovecot: DovecotServer, persona: str) -> Mailuser:
    login = f"{persona}-{secrets.token_hex(4)}@example.test"
    password = dovecot.user_add(login)
    subject = f"Welcome, {persona} {secrets.token_hex(3)}"
    message = (
        f"From: Carol <carol@example.test>\r\nTo: {login}\r\nSubject: {subject}\r\n"
        "Message-ID: <" + secrets.token_hex(8) + "@example.test>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello.\r\n"
    )
    dovecot.message_append(login, message)
    return Mailuser(persona=persona, login=login, password=password, accountid=f"{persona}-{secrets.token_hex(3)}",
                    subject=subject)  # fmt: skip


def subjects_seen(proxy: ProxyProcess, *, login: str, password: str, accountid: str) -> list[str]:
    """The subjects a JMAP client sees in the account now (Email/query + Email/get)."""
    with httpx.Client(auth=(login, password), timeout=10) as client:
        session = client.get(proxy.jmap_url + "/.well-known/jmap", follow_redirects=True)
        assert session.status_code == 200, session.text
        api_url = session.json()["apiUrl"]
        if api_url.startswith("/"):
            api_url = proxy.jmap_url + api_url
        answer = client.post(api_url, json={
            "using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
            "methodCalls": [
                ["Email/query", {"accountId": accountid}, "q"],
                ["Email/get", {"accountId": accountid, "#ids": {"resultOf": "q", "name": "Email/query", "path": "/ids"},
                               "properties": ["subject"]}, "g"],
            ],
        })  # fmt: skip
        assert answer.status_code == 200, answer.text
        get = answer.json()["methodResponses"][1]
        assert get[0] == "Email/get", get
        return [item["subject"] for item in get[1]["list"]]


def first_mail_arrives(proxy: ProxyProcess, user: Mailuser, *, login: str, password: str) -> list[str]:
    """Wait (at most SYNC_WAIT) until the account's message is queryable; its subjects."""
    deadline = time.monotonic() + SYNC_WAIT
    seen: list[str] = []
    while time.monotonic() < deadline:
        seen = subjects_seen(proxy, login=login, password=password, accountid=user.accountid)
        if seen:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"{user.accountid}: no mail after {SYNC_WAIT} s although beat waits "
                         f"{BEAT_INTERVAL} s:\n{proxy.log_text()[-3000:]}")  # fmt: skip


def test_an_account_added_through_the_api_syncs_at_once(slow_beat_proxy: ProxyProcess, dovecot: DovecotServer) -> None:
    alice = mailuser_make(dovecot, "alice")
    created = httpx.post(slow_beat_proxy.mgmt_url + "/api/accounts", json={
        "accountid": alice.accountid, "email": alice.login, "type": "imap", "username": alice.login,
        "password": alice.password, "imapHost": dovecot.host, "imapPort": dovecot.imap_port, "imapSSL": 0,
    }, timeout=60)  # fmt: skip
    assert created.status_code == 201, created.text
    assert first_mail_arrives(slow_beat_proxy, alice, login=alice.login, password=alice.password) == [alice.subject]
    shown = httpx.get(f"{slow_beat_proxy.mgmt_url}/api/accounts/{alice.accountid}", timeout=10).json()
    assert shown["syncProgress"]["state"] == "done"


def test_an_account_added_with_manage_py_syncs_at_once(
    slow_beat_proxy: ProxyProcess, dovecot: DovecotServer, tmp_path: Path
) -> None:
    bob = mailuser_make(dovecot, "bob")
    password_file = tmp_path / "password"
    password_file.write_text(bob.password + "\n")
    env = slow_beat_proxy_env(slow_beat_proxy)
    done = subprocess.run(
        [sys.executable, "manage.py", "create_account", bob.accountid, bob.login, "--type", "imap",
         "--password-file", str(password_file), "--imap-host", dovecot.host, "--imap-port", str(dovecot.imap_port),
         "--imap-ssl", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "first sync is queued" in done.stdout
    assert first_mail_arrives(slow_beat_proxy, bob, login=bob.login, password=bob.password) == [bob.subject]


def slow_beat_proxy_env(proxy: ProxyProcess) -> dict[str, str]:
    """The environment of a command run beside the proxy: same data directory, so
    the same database, credential key and (filesystem) queue."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JMAP_", "DJANGO_"))}
    env.update(JMAP_DATADIR=str(proxy.datadir), JMAP_SYNC_INTERVAL=BEAT_INTERVAL,
               JMAP_PORT=str(proxy.jmap_port), JMAP_MGMT_PORT=str(proxy.mgmt_port))  # fmt: skip
    return env


def admin_login(proxy: ProxyProcess) -> httpx.Client:
    browser = httpx.Client(base_url=proxy.mgmt_url, timeout=30)
    password = (proxy.datadir / "admin-password").read_text().strip()
    browser.get("/login/")
    answer = browser.post("/login/", data={
        "username": "admin", "password": password, "csrfmiddlewaretoken": browser.cookies["csrftoken"], "next": "/",
    }, headers={"Referer": proxy.mgmt_url + "/login/"})  # fmt: skip
    assert answer.status_code == 302, answer.text[:2000]
    return browser


def admin_post(browser: httpx.Client, path: str, data: dict[str, Any]) -> httpx.Response:
    page = browser.get(path)
    assert page.status_code == 200, page.text[:2000]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    return browser.post(path, data={**data, "csrfmiddlewaretoken": token.group(1), "_save": "Save"},
                        headers={"Referer": str(browser.base_url.join(path))})  # fmt: skip


def test_an_account_added_in_the_admin_syncs_at_once(slow_beat_proxy: ProxyProcess, dovecot: DovecotServer) -> None:
    carol = mailuser_make(dovecot, "carol")
    login_password = "carol-login-" + secrets.token_hex(6)
    browser = admin_login(slow_beat_proxy)
    try:
        pool = admin_post(browser, "/accounts/pool/add/", {
            "login": carol.login, "is_active": "on", "new_password": login_password,
        })  # fmt: skip
        assert pool.status_code == 302, pool.text[-3000:]
        form = browser.get("/accounts/account/add/").text
        option = re.search(r'<option value="(\d+)"[^>]*>' + re.escape(carol.login) + "</option>", form)
        assert option is not None, "the new login is offered as the account's pool"
        added = admin_post(browser, "/accounts/account/add/", {
            "accountid": carol.accountid, "pool": option.group(1), "email": carol.login, "name": "Carol",
            "kind": "imap", "username": carol.login, "new_password": carol.password, "auth_type": "basic",
            "imap_host": dovecot.host, "imap_port": str(dovecot.imap_port), "imap_ssl": "0",
            "smtp_host": "", "smtp_port": "587", "smtp_ssl": "2",
            "caldav_url": "", "carddav_url": "", "session_url": "",
        })  # fmt: skip
        assert added.status_code == 302, re.findall(r'class="errorlist[^"]*">(.*?)</ul>', added.text, re.S)
    finally:
        browser.close()
    assert first_mail_arrives(slow_beat_proxy, carol, login=carol.login, password=login_password) == [carol.subject]
