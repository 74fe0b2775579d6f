"""Passwords, tokens and backend credentials never reach the logs, whatever
happens (accounts.auth, accounts.secrets, accounts.crypto)."""
from __future__ import annotations

import base64
import io
import json
import logging
import time

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, RequestFactory

from accounts.auth import AuthenticationFailed, authenticate_request
from accounts.crypto import CryptoError
from accounts.models import Account
from accounts.secret_fields import account_secret_get, account_secret_set
from tests.accounts.conftest import HEX_KEY, SetEnv
from tests.personas import Persona
from tests.servers.openbao import OpenBaoServer

BACKEND_SECRET = "backend-Secret-value-4711"


def test_auth_paths_log_no_secret(alice: Persona, clean_cache: None, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-Password-0815"
    client = Client(SERVER_PORT=str(settings.JMAP_PORT))
    for password in (wrong, alice.password):
        body = json.dumps({"username": alice.login, "password": password})
        client.post("/auth/login", body, content_type="application/json")
    client.post("/auth/login", {"username": alice.login, "password": wrong})
    for header in (alice.basic, alice.bearer, "Bearer " + alice.token + "x",
                   "Basic " + base64.b64encode(f"{alice.login}:{wrong}".encode()).decode()):
        try:
            authenticate_request(RequestFactory().get("/session", HTTP_AUTHORIZATION=header))
        except AuthenticationFailed as exc:
            assert wrong not in repr(exc) and alice.token not in repr(exc)
    assert caplog.records, "the failed logins should have been logged"
    for secret in (alice.password, wrong, alice.token, alice.basic.split()[1]):
        assert secret not in caplog.text


def test_crypto_paths_log_no_secret(
    openbao: OpenBaoServer, set_env: SetEnv, alice: Persona, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    set_env(secret_key=HEX_KEY, openbao_addr="")
    account_secret_set(account=alice.account, field="password", value=BACKEND_SECRET)
    short = openbao.token(ttl=f"{openbao.short_ttl}s")
    set_env(openbao_addr=openbao.addr, openbao_token=short)
    call_command("reencrypt", stdout=io.StringIO())
    stored = Account.objects.get(pk=alice.account.pk)
    assert account_secret_get(account=stored, field="password") == BACKEND_SECRET
    time.sleep(openbao.short_ttl + 1.5)
    with pytest.raises(CryptoError) as caught:
        account_secret_get(account=stored, field="password")
    for text in (caplog.text, str(caught.value), repr(caught.value)):
        assert BACKEND_SECRET not in text and short not in text and HEX_KEY not in text
