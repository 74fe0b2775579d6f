"""Test clients bound to one of the proxy's two ports.

The Django test client reports SERVER_PORT 80 unless told otherwise; these
fixtures send requests as if they arrived on the JMAP or the management port.
"""
from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client


@pytest.fixture
def jmap_client() -> Client:
    return Client(SERVER_PORT=str(settings.JMAP_PORT))


@pytest.fixture
def mgmt_client() -> Client:
    return Client(SERVER_PORT=str(settings.JMAP_MGMT_PORT), REMOTE_ADDR="127.0.0.1")
