"""A real HTTP push receiver on 127.0.0.1, Celery tasks run in-process, and a
JMAP client per persona for PushSubscription tests.

The receiver is a push service as far as the proxy can tell: it records
every POST (path, headers, body) and answers with the statuses a test lines
up (200 by default). Because it lives on loopback, the tests that talk to it
turn on JMAP_PUSH_ALLOW_PRIVATE and JMAP_PUSH_ALLOW_HTTP, as an operator
would for a push service on a private network.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from jmapcore.limits import CORE_CAPABILITY
from jmapcore.mail.submission_capability import SUBMISSION_CAPABILITY
from jmapsite.celery import app as celery_app
from tests.jmapcore.apiclient import api_post, jmap_request, method_responses
from tests.personas import Persona


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class PushReceiver:
    """What the receiver saw, and what it will answer next."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    # Statuses for the next requests, in order; then `default_status`.
    statuses: list[int] = field(default_factory=list)
    default_status: int = 201
    extra_headers: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/push/device-1") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else self.default_status

    def wait_for(self, count: int, *, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.received)


@pytest.fixture
def push_receiver() -> Iterator[PushReceiver]:
    receiver = PushReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status = receiver.next_status()
            receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(status)
            for name, value in receiver.extra_headers.items():
                self.send_header(name, value)
            if status in (301, 302, 307, 308):
                self.send_header("Location", f"http://127.0.0.1:{receiver.port}/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def celery_eager() -> Iterator[None]:
    """Tasks (and their retries) run in the calling process, as the worker would run them."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def private_push_allowed(settings: Settings) -> None:
    """The operator allows push URLs on loopback over http (the receiver above)."""
    settings.JMAP_PUSH_ALLOW_PRIVATE = True
    settings.JMAP_PUSH_ALLOW_HTTP = True


USING = [CORE_CAPABILITY]
IDENTITY_USING = [CORE_CAPABILITY, SUBMISSION_CAPABILITY]


class PushClient:
    """One persona talking JMAP about its push subscriptions."""

    def __init__(self, client: Client, persona: Persona) -> None:
        self.client = client
        self.persona = persona

    def call(self, name: str, using: list[str] | None = None, **arguments: Any) -> tuple[str, dict[str, Any]]:
        body = jmap_request([name, arguments, "c0"], using=using or USING)
        [(response_name, result, _)] = method_responses(api_post(self.client, self.persona.basic, body))
        return response_name, result

    def ok(self, name: str, **arguments: Any) -> dict[str, Any]:
        response_name, result = self.call(name, **arguments)
        assert response_name == name, result
        return result

    def error(self, name: str, **arguments: Any) -> dict[str, Any]:
        response_name, result = self.call(name, **arguments)
        assert response_name == "error", result
        return result

    def create(self, **properties: Any) -> dict[str, Any]:
        """Create one subscription; returns the `created` entry (or fails the test)."""
        properties.setdefault("deviceClientId", "device-1")
        result = self.ok("PushSubscription/set", create={"k1": properties})
        assert result["notCreated"] is None, result["notCreated"]
        return dict(result["created"]["k1"])

    def not_created(self, **properties: Any) -> dict[str, Any]:
        properties.setdefault("deviceClientId", "device-1")
        result = self.ok("PushSubscription/set", create={"k1": properties})
        assert result["created"] is None, result["created"]
        return dict(result["notCreated"]["k1"])

    def update(self, sub_id: str, **patch: Any) -> dict[str, Any]:
        return self.ok("PushSubscription/set", update={sub_id: patch})

    def get(self, **arguments: Any) -> dict[str, Any]:
        arguments.setdefault("ids", None)
        return self.ok("PushSubscription/get", **arguments)

    def identities_prime(self) -> None:
        """Make the account's default identity exist (its first access is a write of its own)."""
        self.ok_using("Identity/get", IDENTITY_USING, accountId=self.persona.account_id, ids=None)

    def identity_create(self, name: str = "Work") -> dict[str, Any]:
        """A JMAP write that needs no backend: a second identity for the account's address."""
        args = {
            "accountId": self.persona.account_id,
            "create": {"i1": {"name": name, "email": self.persona.account.email}},
        }
        result = self.ok_using("Identity/set", IDENTITY_USING, **args)
        assert result["notCreated"] is None, result
        return result

    def ok_using(self, name: str, using: list[str], **arguments: Any) -> dict[str, Any]:
        response_name, result = self.call(name, using=using, **arguments)
        assert response_name == name, result
        return result


@pytest.fixture
def alice_push(jmap_client: Client, alice: Persona) -> PushClient:
    return PushClient(jmap_client, alice)


@pytest.fixture
def mallory_push(jmap_client: Client, mallory: Persona) -> PushClient:
    return PushClient(jmap_client, mallory)
