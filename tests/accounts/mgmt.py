"""Test clients for the management API.

Django's test client sets SERVER_PORT on every request (80, or 443 when
secure), which overrides a SERVER_PORT given as a client default; PortClient
puts the port on each request instead, so the port-routing middleware sees the
management (or JMAP) port.
"""
from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import Client


class PortClient(Client):
    def __init__(self, *, port: int, **defaults: Any) -> None:
        super().__init__(**defaults)
        self.server_port = str(port)

    def generic(self, method: str, path: str, *args: Any, **extra: Any) -> HttpResponse:  # type: ignore[override]
        extra.setdefault("SERVER_PORT", self.server_port)
        return super().generic(method, path, *args, **extra)  # type: ignore[return-value]

    def post_json(self, path: str, body: object, **extra: Any) -> HttpResponse:
        return self.post(path, data=json.dumps(body), content_type="application/json", **extra)  # type: ignore[return-value]

    def patch_json(self, path: str, body: object, **extra: Any) -> HttpResponse:
        return self.patch(path, data=json.dumps(body), content_type="application/json", **extra)  # type: ignore[return-value]


def management_client(**defaults: Any) -> PortClient:
    """A client on the management port, from loopback, naming localhost."""
    values: dict[str, Any] = {"REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": f"localhost:{settings.JMAP_MGMT_PORT}"}
    values.update(defaults)
    return PortClient(port=settings.JMAP_MGMT_PORT, **values)


@pytest.fixture
def mgmt_api(db: None) -> PortClient:
    return management_client()


@pytest.fixture
def jmap_port_client(db: None) -> PortClient:
    return PortClient(port=settings.JMAP_PORT, REMOTE_ADDR="127.0.0.1", HTTP_HOST="localhost")
