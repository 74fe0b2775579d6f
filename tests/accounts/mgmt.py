"""Test clients for the management API (the ``mgmt_api`` and ``jmap_port_client``
fixtures are in conftest.py).

Django's test client sets SERVER_PORT on every request (80, or 443 when
secure), which overrides a SERVER_PORT given as a client default; PortClient
puts the port on each request instead, so the port-routing middleware sees the
management (or JMAP) port.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.test import Client

if TYPE_CHECKING:
    # What the test client really returns (an HttpResponse with .json(), .client, ...);
    # the name exists only in django-stubs.
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse
    from django_stubs_ext import StrOrPromise


class PortClient(Client):
    def __init__(self, *, port: int, **defaults: Any) -> None:
        super().__init__(**defaults)
        self.server_port = str(port)

    def generic(self, method: str, path: StrOrPromise, *args: Any, **extra: Any) -> TestResponse:
        extra.setdefault("SERVER_PORT", self.server_port)
        return super().generic(method, path, *args, **extra)

    def post_json(self, path: str, body: object, **extra: Any) -> TestResponse:
        return self.post(path, data=json.dumps(body), content_type="application/json", **extra)

    def patch_json(self, path: str, body: object, **extra: Any) -> TestResponse:
        return self.patch(path, data=json.dumps(body), content_type="application/json", **extra)

    def post_empty(self, path: str, **extra: Any) -> TestResponse:
        """A POST without a body, declared JSON as the management API requires."""
        # Django's client drops the content type of an empty body; set it by hand.
        return self.post(path, data="", content_type="application/json", CONTENT_TYPE="application/json", **extra)

    def delete_json(self, path: str, **extra: Any) -> TestResponse:
        """A DELETE declared JSON, as the management API requires of every change."""
        return self.delete(path, CONTENT_TYPE="application/json", **extra)


def management_client(**defaults: Any) -> PortClient:
    """A client on the management port, from loopback, naming localhost."""
    values: dict[str, Any] = {"REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": f"localhost:{settings.JMAP_MGMT_PORT}"}
    values.update(defaults)
    return PortClient(port=settings.JMAP_MGMT_PORT, **values)

