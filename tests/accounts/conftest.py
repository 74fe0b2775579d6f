"""Helpers for the accounts tests: switch encryption settings per test; every
test starts with no cached OpenBao client, and ``clean_cache`` empties the
rate-limit counters; ``mgmt_api`` and ``jmap_port_client`` are test clients on
the management and the JMAP port."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django.core.cache import cache
from pytest_django.fixtures import Settings

from accounts.crypto.vault import vault_forget_clients
from accounts.ratelimit import clear_memo_forget
from tests.accounts.mgmt import PortClient, management_client

HEX_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

SetEnv = Callable[..., None]


@pytest.fixture(autouse=True)
def _no_cached_vault_clients() -> Iterator[None]:
    vault_forget_clients()
    yield
    vault_forget_clients()


@pytest.fixture
def clean_cache(db: None) -> Iterator[None]:
    # The counters, and this process's memo of counters found far from every limit (ratelimit's doc).
    cache.clear()
    clear_memo_forget()
    yield
    cache.clear()
    clear_memo_forget()


@pytest.fixture
def set_env(settings: Settings) -> SetEnv:
    """``set_env(secret_key=..., openbao_addr=...)``: replace fields of settings.ENV
    for this test (pytest-django restores settings afterwards)."""

    def apply(**changes: str) -> None:
        settings.ENV = dataclasses.replace(settings.ENV, **changes)

    return apply


@pytest.fixture
def no_encryption(set_env: SetEnv) -> None:
    set_env(secret_key="", openbao_addr="", openbao_token="", openbao_role_id="", openbao_secret_id="")


@pytest.fixture
def aes_only(set_env: SetEnv) -> str:
    set_env(secret_key=HEX_KEY, openbao_addr="", openbao_token="", openbao_role_id="", openbao_secret_id="")
    return HEX_KEY


@pytest.fixture
def mgmt_api(db: None) -> PortClient:
    return management_client()


@pytest.fixture
def jmap_port_client(db: None) -> PortClient:
    return PortClient(port=settings.JMAP_PORT, REMOTE_ADDR="127.0.0.1", HTTP_HOST="localhost")
