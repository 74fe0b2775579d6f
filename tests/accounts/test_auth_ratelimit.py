"""Failed logins are limited per login and per client address, across Basic and
the JSON login (accounts.ratelimit, accounts.auth)."""
from __future__ import annotations

import base64
import json
import time

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.http import HttpRequest
from django.test import Client, RequestFactory
from pytest_django.fixtures import Settings

from accounts.auth import AuthenticationFailed, authenticate_request
from accounts.ratelimit import _key, _wait, client_address, failure_record, failures_blocked
from tests.personas import Persona

PER_LOGIN = 10
PER_ADDRESS = 30
WINDOW = 300


def basic(login: str, password: str, address: str) -> HttpRequest:
    value = base64.b64encode(f"{login}:{password}".encode()).decode()
    return RequestFactory().get("/session", HTTP_AUTHORIZATION=f"Basic {value}", REMOTE_ADDR=address)


def attempt(login: str, password: str, address: str) -> int:
    """The HTTP status authenticate_request would answer (200 when it succeeds)."""
    try:
        authenticate_request(basic(login, password, address))
    except AuthenticationFailed as exc:
        return exc.status
    return 200


@pytest.fixture(autouse=True)
def default_limits(settings: Settings, clean_cache: None) -> None:
    settings.JMAP_AUTH_WINDOW = WINDOW
    settings.JMAP_AUTH_MAX_FAILURES_PER_LOGIN = PER_LOGIN
    settings.JMAP_AUTH_MAX_FAILURES_PER_ADDRESS = PER_ADDRESS


def test_a_login_is_blocked_after_too_many_failures(alice: Persona, bob: Persona) -> None:
    statuses = [attempt(alice.login, f"guess{i}", "192.0.2.1") for i in range(PER_LOGIN)]
    assert statuses == [401] * PER_LOGIN
    # Now even the right password is refused, from any address...
    with pytest.raises(AuthenticationFailed) as caught:
        authenticate_request(basic(alice.login, alice.password, "192.0.2.1"))
    assert caught.value.status == 429
    assert caught.value.retry_after is not None and 1 <= caught.value.retry_after <= WINDOW
    assert attempt(alice.login, alice.password, "192.0.2.2") == 429
    # ...and other logins from the same address are unaffected (10 < 30).
    assert attempt(bob.login, bob.password, "192.0.2.1") == 200
    # Bearer tokens of the blocked login keep working.
    request = RequestFactory().get("/session", HTTP_AUTHORIZATION=alice.bearer, REMOTE_ADDR="192.0.2.1")
    assert authenticate_request(request) == alice.pool


def test_login_counter_ignores_case(alice: Persona) -> None:
    for i in range(PER_LOGIN):
        attempt(alice.login.upper() if i % 2 else alice.login, f"guess{i}", f"192.0.2.{i + 10}")
    assert attempt(alice.login, alice.password, "192.0.2.99") == 429


def test_an_address_is_blocked_after_too_many_failures(alice: Persona, bob: Persona) -> None:
    for i in range(PER_ADDRESS):  # spread over many logins: no single login hits its limit
        assert attempt(f"user{i}@example.test", "guess", "198.51.100.9") == 401
    assert attempt(bob.login, bob.password, "198.51.100.9") == 429
    assert attempt(bob.login, bob.password, "198.51.100.10") == 200  # other addresses are unaffected


def test_success_does_not_reset_the_address_counter(alice: Persona, bob: Persona) -> None:
    for i in range(PER_ADDRESS - 1):
        attempt(f"user{i}@example.test", "guess", "198.51.100.20")
    assert attempt(alice.login, alice.password, "198.51.100.20") == 200
    assert attempt("someone@example.test", "guess", "198.51.100.20") == 401
    assert attempt(bob.login, bob.password, "198.51.100.20") == 429


def test_json_login_is_limited_the_same_way(alice: Persona) -> None:
    client = Client(SERVER_PORT=str(settings.JMAP_PORT), REMOTE_ADDR="192.0.2.50")
    body = json.dumps({"username": alice.login, "password": "wrong"})
    for _ in range(PER_LOGIN):
        assert client.post("/auth/login", body, content_type="application/json").status_code == 401
    good = json.dumps({"username": alice.login, "password": alice.password})
    blocked = client.post("/auth/login", good, content_type="application/json")
    assert blocked.status_code == 429
    assert 1 <= int(blocked["Retry-After"]) <= WINDOW
    assert blocked.json()["status"] == 429
    # Basic shares the counter.
    assert attempt(alice.login, alice.password, "192.0.2.51") == 429


def test_previous_window_still_counts() -> None:
    # A quarter into a window, 20 failures in the previous one weigh 15 (>= 10):
    # still blocked, until that share fades below the limit half-way through.
    number = int(time.time() // WINDOW)
    now = number * WINDOW + WINDOW / 4
    cache.set(_key("login", "eve@example.test", number - 1), 2 * PER_LOGIN, timeout=WINDOW * 2)
    assert _wait("login", "eve@example.test", PER_LOGIN, WINDOW, now) == WINDOW / 4
    assert _wait("login", "eve@example.test", PER_LOGIN, WINDOW, now + WINDOW / 4 + 1) is None
    # Failures in the current window itself block until it ends.
    cache.set(_key("login", "eve@example.test", number), PER_LOGIN, timeout=WINDOW * 2)
    assert _wait("login", "eve@example.test", PER_LOGIN, WINDOW, now) == WINDOW * 3 / 4


def test_counters_are_shared_through_the_cache(alice: Persona) -> None:
    # What one process records, another sees: the counter lives in the Django cache.
    for _ in range(PER_LOGIN):
        failure_record(address="192.0.2.77", login=alice.login)
    assert caches["default"].get(_key("login", alice.login.lower(), int(time.time() // WINDOW))) >= PER_LOGIN - 1
    assert failures_blocked(address="", login=alice.login) is not None


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("93.184.216.34", "", "93.184.216.34"),
        ("93.184.216.34", "192.0.2.9", "93.184.216.34"),  # a public peer cannot choose its address
        ("127.0.0.1", "192.0.2.9", "192.0.2.9"),
        ("10.0.0.5", "spoofed, 192.0.2.8", "192.0.2.8"),
        ("::1", "2001:db8::1", "2001:db8::1"),
        ("", "", ""),
    ],
)
def test_client_address(remote: str, forwarded: str, expected: str) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_checking_the_counters_is_one_cache_read(alice: Persona) -> None:
    """Every password login reads the counters: address and login, this window and the last."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    failure_record(address="192.0.2.60", login=alice.login)
    with CaptureQueriesContext(connection) as queries:
        assert failures_blocked(address="192.0.2.60", login=alice.login) is None
    assert len(queries.captured_queries) == 1  # DatabaseCache.get_many: one SELECT
    assert failures_blocked(address="", login=None) is None
