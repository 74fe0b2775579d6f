"""Real clients for the push tests: an EventSource reader over httpx, JMAP
calls over HTTP, people added through the management API, and a write
committed by a separate Python process (as the Celery worker does)."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import queue
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx

from tests.servers.proxy import ROOT, ProxyProcess

CORE = "urn:ietf:params:jmap:core"
SUBMISSION = "urn:ietf:params:jmap:submission"
# Every wait in these tests is bounded by one of these (seconds).
CHANGE_WAIT = 2.0
QUIET_WAIT = 1.5
OPEN_WAIT = 10.0


@dataclass
class PushPerson:
    """A login on the running proxy with one or more accounts (no backend needed)."""

    name: str
    login: str
    password: str
    account_ids: list[str]
    proxy: ProxyProcess

    @property
    def account_id(self) -> str:
        return self.account_ids[0]

    @property
    def basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.login}:{self.password}".encode()).decode()

    def call(self, *calls: list[Any], using: tuple[str, ...] = (CORE, SUBMISSION)) -> list[list[Any]]:
        body = {"using": list(using), "methodCalls": list(calls)}
        response = httpx.post(
            self.proxy.jmap_url + "/jmap/", json=body, headers={"Authorization": self.basic}, timeout=15
        )
        assert response.status_code == 200, response.text
        return list(response.json()["methodResponses"])

    def identity_create(self, account_id: str | None = None) -> str:
        """Identity/set create (RFC 8621 §6.3): a write that needs no IMAP; returns the new Identity state."""
        account = account_id or self.account_id
        ident = {"name": f"{self.name} {secrets.token_hex(2)}", "email": self.login}
        (name, args, _), = self.call(["Identity/set", {"accountId": account, "create": {"i1": ident}}, "c1"])
        assert name == "Identity/set" and "i1" in args["created"], args
        return str(args["newState"])


def person_add(proxy: ProxyProcess, name: str, *, extra_accounts: int = 0) -> PushPerson:
    """POST /api/accounts (check: false), plus `extra_accounts` more accounts in the same pool."""
    login = f"{name}-{secrets.token_hex(3)}@example.test"
    password = f"{name}-pw-{secrets.token_hex(6)}"
    account_ids: list[str] = []
    for index in range(1 + extra_accounts):
        accountid = f"{name}-{index}-{secrets.token_hex(3)}"
        body: dict[str, Any] = {
            "accountid": accountid,
            "email": login,
            "type": "imap",
            "username": login,
            "password": password,
            "imapHost": "127.0.0.1",
            "imapPort": 9,
            "imapSSL": 0,
            "check": False,
        }
        if index:
            body["pool"] = login
        response = httpx.post(proxy.mgmt_url + "/api/accounts", json=body, timeout=30)
        assert response.status_code == 201, response.text
        account_ids.append(accountid)
    return PushPerson(name=name, login=login, password=password, account_ids=account_ids, proxy=proxy)


_WRITER = """
import sys, time, django
django.setup()
from accounts.models import Account
from jmapcore.state import state_change_atomic
account = Account.objects.get(accountid=sys.argv[1])
for _ in range(int(sys.argv[2])):
    with state_change_atomic(account=account, type_names=sys.argv[3].split(",")):
        pass
print(time.time())
"""


def foreign_process_write(
    proxy: ProxyProcess, account_id: str, types: str, *, times: int = 1, extra_env: dict[str, str] | None = None
) -> float:
    """Commit `times` state changes of `types` (comma list) from another Python
    process on the proxy's database, as the Celery worker's syncs do.
    Returns the wall-clock time of the last commit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JMAP_", "DJANGO_"))}
    env.update(
        JMAP_DATADIR=str(proxy.datadir),
        JMAP_PORT=str(proxy.jmap_port),
        JMAP_MGMT_PORT=str(proxy.mgmt_port),
        BASEURL=proxy.jmap_url,
        DJANGO_SETTINGS_MODULE="jmapsite.settings",
        **(extra_env or {}),
    )
    done = subprocess.run(
        [sys.executable, "-c", _WRITER, account_id, str(times), types],
        cwd=ROOT, env=env, check=True, timeout=60, capture_output=True,
    )  # fmt: skip
    return float(done.stdout.decode().split()[-1])


@dataclass
class SseEvent:
    event: str  # "message" when the server gave none; "comment" for a ":" line
    data: str = ""
    id: str | None = None
    received: float = field(default_factory=time.time)  # wall clock

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class EventStream:
    """An EventSource client (HTML "Server-sent events" parsing) reading in a thread.

    The thread runs its own event loop, so closing really closes the TCP
    connection (a blocked socket read in a thread would keep it open).
    Entering waits until the server's opening comment arrives, i.e. until the
    subscription is in place.
    """

    url: str
    headers: dict[str, str]
    status: int = 0
    body: bytes = b""
    response_headers: dict[str, str] = field(default_factory=dict)
    ended: threading.Event = field(default_factory=threading.Event)
    _opened: threading.Event = field(default_factory=threading.Event)
    _events: queue.Queue[SseEvent] = field(default_factory=queue.Queue)

    def __enter__(self) -> EventStream:
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._opened.wait(OPEN_WAIT), "the EventSource response did not start"
        if self.status == 200:
            opening = self.next(timeout=OPEN_WAIT, include_comments=True)
            assert opening is not None and opening.event == "comment", opening
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        def cancel() -> None:
            if self._task is not None:
                self._task.cancel()

        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(cancel)
        self._thread.join(timeout=10)
        assert not self._thread.is_alive(), "the EventSource reader did not stop"

    def _run(self) -> None:
        try:
            self._task = self._loop.create_task(self._read())
            self._loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        finally:
            self._loop.close()
            self._opened.set()
            self.ended.set()

    async def _read(self) -> None:
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None)) as client,
            client.stream("GET", self.url, headers=self.headers) as response,
        ):
            self.status = response.status_code
            self.response_headers = dict(response.headers)
            if self.status != 200:
                self.body = await response.aread()
                self._opened.set()
                return
            self._opened.set()
            event: dict[str, str] = {}
            data: list[str] = []
            try:
                async for line in response.aiter_lines():
                    if line == "":
                        if data or event:
                            kind = event.get("event", "message")
                            self._events.put(SseEvent(kind, "\n".join(data), event.get("id")))
                        event, data = {}, []
                    elif line.startswith(":"):
                        self._events.put(SseEvent("comment", line[1:].strip()))
                    else:
                        name, _, value = line.partition(":")
                        value = value[1:] if value.startswith(" ") else value
                        if name == "data":
                            data.append(value)
                        elif name in ("event", "id"):
                            event[name] = value
            except httpx.HTTPError:
                pass

    def next(self, *, timeout: float, include_comments: bool = False) -> SseEvent | None:
        """The next event within `timeout` seconds, or None."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                item = self._events.get(timeout=remaining)
            except queue.Empty:
                return None
            if include_comments or item.event != "comment":
                return item

    def next_state(self, *, timeout: float = CHANGE_WAIT) -> dict[str, Any] | None:
        """The data of the next "state" event (pings skipped), or None."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            item = self.next(timeout=remaining)
            if item is None:
                return None
            if item.event == "state":
                return dict(item.json())
        return None


def eventsource(
    person: PushPerson, *, types: str = "*", closeafter: str = "no", ping: str = "0",
    headers: dict[str, str] | None = None, auth: bool = True,
) -> EventStream:  # fmt: skip
    """An EventStream on the person's eventSourceUrl with these parameters."""
    url = f"{person.proxy.jmap_url}/eventsource/?types={types}&closeafter={closeafter}&ping={ping}"
    sent = dict(headers or {})
    if auth:
        sent.setdefault("Authorization", person.basic)
    return EventStream(url=url, headers=sent)

