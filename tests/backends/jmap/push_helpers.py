"""Shared by the push relay tests (tests/backends/jmap/test_push_*.py): a
passthrough login on a running proxy, added through the management API as an
operator would, and what the tests observe of the relay (its status file)."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from backends.jmap.push_relay import AccountRelay, PushRelay
from tests.jmapcore.push.clients import PushPerson
from tests.servers.dovecot import free_port
from tests.servers.proxy import ROOT, ProxyProcess
from tests.servers.tcp_relay import TcpRelay

# Every wait in these tests is bounded by one of these (seconds).
RELAY_START_WAIT = 30.0
RELAY_STOP_WAIT = 15.0
# How long an in-process relay may take to record its first error (200 looks, 50 ms apart).
RELAY_ERROR_LOOKS = 200
RELAY_ERROR_LOOK_EVERY = 0.05
# The bound: a change on the upstream reaches the proxy's listener within 5 s.
CHANGE_WAIT = 5.0


def passthrough_person(proxy: ProxyProcess, name: str, *, session_url: str, username: str,
                       password: str) -> PushPerson:  # fmt: skip
    """POST /api/accounts with a sessionUrl: a login whose only account is a passthrough account."""
    accountid = f"{name}-{secrets.token_hex(3)}"
    email = f"{accountid}@example.test"
    body = {
        "accountid": accountid, "email": email, "type": "jmap", "sessionUrl": session_url,
        "username": username, "password": password, "check": False,
    }  # fmt: skip
    response = httpx.post(proxy.mgmt_url + "/api/accounts", json=body, timeout=60)
    assert response.status_code == 201, response.text
    return PushPerson(name=name, login=email, password=password, account_ids=[accountid], proxy=proxy)


def relay_status(proxy: ProxyProcess) -> dict[str, Any]:
    """The live push relay's status file: {"pid", "connects", "polls", "relays": {pk: {...}}}."""
    for path in sorted((proxy.datadir / "run").glob("jmap-relay-*.json")):
        try:
            status = json.loads(path.read_text())
            os.kill(int(status["pid"]), 0)
        except (OSError, ValueError, KeyError):
            continue
        return dict(status)
    return {"relays": {}, "connects": 0, "polls": 0}


def relay_of(proxy: ProxyProcess, account_id: str) -> dict[str, Any] | None:
    """The relay of one passthrough account (by its Account's accountid), if it runs."""
    for relay in relay_status(proxy)["relays"].values():
        if relay.get("accountid") == account_id:
            return dict(relay)
    return None


def relay_error_first(*, account_pk: int) -> str:
    """Run one account's push relay in this process (not a runproxy's) until it records an
    error or RELAY_ERROR_LOOKS looks have passed, stop it, and return its error ("" if none)."""

    async def one_round() -> str:
        relay = PushRelay()
        account_relay = AccountRelay(account_pk=account_pk, relay=relay)
        account_relay.start()
        try:
            for _ in range(RELAY_ERROR_LOOKS):
                if account_relay.error:
                    break
                await asyncio.sleep(RELAY_ERROR_LOOK_EVERY)
            return account_relay.error
        finally:
            await account_relay.stop()
            await relay.close()

    return asyncio.run(one_round())


class DroppableRelay(TcpRelay):
    """A TcpRelay that can drop every connection it carries and refuse new ones for a while."""

    def drop_all(self) -> None:
        """Cut every open connection (both sides), as an upstream that goes away does."""
        with self._lock:
            sockets, self._sockets = list(self._sockets), []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


def proxy_start_behind(datadir: Path, *, public_port: int) -> ProxyProcess:
    """`manage.py runproxy` as tests.servers.proxy.proxy_start starts it, but with its public
    URL (BASEURL, hence every URL of its Session) on `public_port`: a relay in front of it."""
    jmap_port, mgmt_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JMAP_", "DJANGO_"))}
    env.update(JMAP_DATADIR=str(datadir), JMAP_PORT=str(jmap_port), JMAP_MGMT_PORT=str(mgmt_port),
               BASEURL=f"http://127.0.0.1:{public_port}")  # fmt: skip
    log = datadir / "proxy.log"
    datadir.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "manage.py", "runproxy"], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)  # fmt: skip
    return ProxyProcess(process=process, jmap_port=jmap_port, mgmt_port=mgmt_port, datadir=datadir, log=log)
