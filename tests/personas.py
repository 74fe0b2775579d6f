"""Named people for tests: alice and bob each have a login (pool) with one
account; mallory has a login of her own and tries to reach theirs."""
from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass

import pytest
from django.contrib.auth.hashers import make_password

from accounts.models import Account, ApiToken, Pool


@dataclass
class Persona:
    pool: Pool
    account: Account
    password: str
    token: str

    @property
    def login(self) -> str:
        return self.pool.login

    @property
    def account_id(self) -> str:
        return self.account.accountid

    @property
    def basic(self) -> str:
        raw = f"{self.pool.login}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    @property
    def bearer(self) -> str:
        return "Bearer " + self.token


def make_persona(name: str, *, accountid: str | None = None) -> Persona:
    """A pool with one IMAP account (no backend behind it) and a bearer token."""
    password = f"{name}-password-{secrets.token_hex(4)}"
    pool = Pool.objects.create(login=f"{name}@example.test", password_hash=make_password(password))
    account = Account.objects.create(
        accountid=accountid or name,
        pool=pool,
        email=f"{name}@example.test",
        name=name.title(),
        username=f"{name}@example.test",
        password=password,
        imap_host="127.0.0.1",
    )
    token = "jmap_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(
        pool=pool, name="test", token_hash=hashlib.sha256(token.encode()).hexdigest(), prefix=token[:12]
    )
    return Persona(pool=pool, account=account, password=password, token=token)


@pytest.fixture
def alice(db: None) -> Persona:
    return make_persona("alice")


@pytest.fixture
def bob(db: None) -> Persona:
    return make_persona("bob")


@pytest.fixture
def mallory(db: None) -> Persona:
    return make_persona("mallory")
