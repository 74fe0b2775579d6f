"""Test clients bound to one of the proxy's two ports.

Django's RequestFactory resets SERVER_PORT to "80" on every request, so the
port is set again in generic(): requests arrive as if on the JMAP or the
management port, and PortRoutingMiddleware routes them accordingly.
"""
from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client


class PortClient(Client):
    """A test client whose every request arrives on `port`."""

    def __init__(self, port: int, **defaults: Any) -> None:
        super().__init__(**defaults)
        self.port = str(port)

    def generic(  # type: ignore[override]
        self,
        method: str,
        path: str,
        data: Any = "",
        content_type: str | None = "application/octet-stream",
        secure: bool = False,
        *,
        headers: Any = None,
        query_params: Any = None,
        **extra: Any,
    ) -> Any:
        extra.setdefault("SERVER_PORT", self.port)
        return super().generic(
            method, path, data, content_type, secure, headers=headers, query_params=query_params, **extra
        )


@pytest.fixture
def jmap_client() -> Client:
    return PortClient(settings.JMAP_PORT)


@pytest.fixture
def mgmt_client() -> Client:
    return PortClient(settings.JMAP_MGMT_PORT, REMOTE_ADDR="127.0.0.1")
