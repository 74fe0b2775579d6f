"""The whole proxy (`manage.py runproxy`) against a real Dovecot for the IDLE
listener tests, and what the tests observe of it: Dovecot's own process list
(verbose_proctitle names each session's user and shows "IDLE" while a
session idles), the listener's status file and the registry table."""
from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.jmapcore.push.clients import PushPerson
from tests.servers.dovecot import DovecotFactory, DovecotOptions, DovecotServer
from tests.servers.proxy import ProxyProcess, proxy_running, proxy_start

PROCTITLE = DovecotOptions(extra_config="verbose_proctitle = yes")


@pytest.fixture(scope="package")
def idle_dovecot(dovecot_factory: DovecotFactory) -> DovecotServer:
    return dovecot_factory(PROCTITLE)


@pytest.fixture(scope="package")
def embedded_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    """The README's run command alone: every default (JMAP_IDLE_TIMEOUT 300, TTL 60)."""
    with proxy_running(tmp_path_factory.mktemp("idle-embedded")) as proxy:
        yield proxy


@pytest.fixture(scope="package")
def impatient_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    """JMAP_IDLE_TIMEOUT=2 and a 6 s PushWatch TTL."""
    proxy = proxy_start(
        tmp_path_factory.mktemp("idle-impatient"),
        extra_env={"JMAP_IDLE_TIMEOUT": "2", "DJANGO_SETTINGS_MODULE": "tests.backends.imap_idle.proxy_settings"},
    )
    try:
        proxy.wait_ready()
        yield proxy
    finally:
        proxy.stop()


def dovecot_person(proxy: ProxyProcess, dovecot: DovecotServer, name: str) -> PushPerson:
    """A Dovecot user and its IMAP account on the proxy (plain IMAP on loopback)."""
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


def account_synced(proxy: ProxyProcess, account_id: str, *, timeout: float) -> dict[str, Any] | None:
    """The account as the management API shows it once a sync of it has been
    recorded (lastSyncAt set, or lastSyncErrorAt after a failure), or None
    after `timeout` seconds.

    This, not a first StateChange on an EventSource, is how a test knows that
    the first sync ran: a fresh EventSource hears only changes committed after
    it subscribed (RFC 8620 §7.3), and the first sync, queued when the account
    is created, may commit before the client's stream is in place.
    """

    def recorded() -> dict[str, Any] | None:
        answer = httpx.get(f"{proxy.mgmt_url}/api/accounts/{account_id}", timeout=10)
        assert answer.status_code == 200, answer.text
        shown = dict(answer.json())
        return shown if shown.get("lastSyncAt") or shown.get("lastSyncErrorAt") else None

    return wait_until(recorded, timeout=timeout, interval=0.1)


def imap_sessions(login: str) -> list[str]:
    """Dovecot's imap processes of `login` right now (their process titles)."""
    titles = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if title.startswith("dovecot/imap [") and f"[{login} " in title:
            titles.append(title)
    return titles


def idle_sessions(login: str) -> int:
    """How many of `login`'s sessions are in IDLE (RFC 2177) right now."""
    return sum(1 for title in imap_sessions(login) if title.endswith(" IDLE]"))


def listener_status(proxy: ProxyProcess) -> dict[str, Any]:
    """The live listener's status file: {"pid", "node", "watchers": {pk: {...}}}."""
    for path in sorted((proxy.datadir / "run").glob("imap-listener-*.json")):
        try:
            status = json.loads(path.read_text())
            os.kill(int(status["pid"]), 0)
        except (OSError, ValueError, KeyError):
            continue
        return dict(status)
    return {"watchers": {}}


def watcher_of(proxy: ProxyProcess, account_id: str) -> dict[str, Any] | None:
    for watcher in listener_status(proxy)["watchers"].values():
        if watcher.get("accountid") == account_id:
            return dict(watcher)
    return None


def registry_rows(proxy: ProxyProcess, account_id: str) -> list[tuple[str, str]]:
    """(holder, expires_at) of the account's PushWatch rows, read from the proxy's SQLite."""
    with sqlite3.connect(f"file:{proxy.datadir / 'accounts.sqlite3'}?mode=ro", uri=True, timeout=10) as db:
        rows = db.execute(
            "SELECT w.holder, w.expires_at FROM jmapcore_pushwatch w "
            "JOIN accounts_account a ON a.id = w.account_id WHERE a.accountid = ?",
            (account_id,),
        ).fetchall()
    return [(str(holder), str(expires)) for holder, expires in rows]


def supervisor_children(proxy: ProxyProcess) -> dict[str, int]:
    state = json.loads((proxy.datadir / "run" / "supervisor.json").read_text())
    return {str(name): int(pid) for name, pid in state["children"].items()}


def wait_until(check: Callable[[], Any], *, timeout: float, interval: float = 0.05) -> Any:
    """Poll `check` until it returns something truthy (returned) or `timeout` passes (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)
