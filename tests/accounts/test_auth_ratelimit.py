"""Failed logins are limited per login and per client address, across Basic and
the JSON login (accounts.ratelimit, accounts.auth): an address that fails too
often is blocked; a login under attack is closed only to the addresses that
failed for it, never to its owner logging in from a clean address; and
X-Forwarded-For is believed only from JMAP_TRUSTED_PROXIES."""
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
from accounts.ratelimit import _key, _wait, failure_record, failures_blocked
from jmapsite.client_address import client_address
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


def test_a_login_under_attack_is_closed_to_the_failing_address(alice: Persona, bob: Persona) -> None:
    statuses = [attempt(alice.login, f"guess{i}", "192.0.2.1") for i in range(PER_LOGIN)]
    assert statuses == [401] * PER_LOGIN
    # The address that failed is refused even with the right password...
    with pytest.raises(AuthenticationFailed) as caught:
        authenticate_request(basic(alice.login, alice.password, "192.0.2.1"))
    assert caught.value.status == 429
    assert caught.value.retry_after is not None and 1 <= caught.value.retry_after <= WINDOW
    # ...but alice, from an address without failures, still logs in.
    assert attempt(alice.login, alice.password, "192.0.2.2") == 200
    # Other logins from the failing address are unaffected (10 < 30).
    assert attempt(bob.login, bob.password, "192.0.2.1") == 200
    # Bearer tokens of the attacked login keep working from anywhere.
    request = RequestFactory().get("/session", HTTP_AUTHORIZATION=alice.bearer, REMOTE_ADDR="192.0.2.1")
    assert authenticate_request(request) == alice.pool


def test_mallory_from_ten_addresses_cannot_lock_alice_out(alice: Persona) -> None:
    """mallory spreads her guesses over ten addresses; alice's own address stays clean."""
    mallory_addresses = [f"203.0.113.{i}" for i in range(1, 11)]
    for round_ in range(3):
        for address in mallory_addresses:
            attempt(alice.login, f"guess-{round_}-{address}", address)
    # The login is under attack: each of mallory's addresses is refused now,
    # with the right password too, and so gets no further guess...
    for address in mallory_addresses:
        assert attempt(alice.login, "one-more-guess", address) == 429
        assert attempt(alice.login, alice.password, address) == 429
    # ...a fresh address of hers gets one guess, then joins the refused ones...
    assert attempt(alice.login, "fresh-guess", "203.0.113.99") == 401
    assert attempt(alice.login, "fresh-guess-2", "203.0.113.99") == 429
    # ...and alice, from her usual address, logs in at once.
    assert attempt(alice.login, alice.password, "198.51.100.200") == 200


def test_a_failing_address_without_an_attack_keeps_trying(alice: Persona) -> None:
    # Under the login's limit a typo from the owner's address is no lock-out.
    for i in range(PER_LOGIN - 1):
        assert attempt(alice.login, f"typo{i}", "192.0.2.40") == 401
    assert attempt(alice.login, alice.password, "192.0.2.40") == 200


def test_login_counter_ignores_case(alice: Persona) -> None:
    for i in range(PER_LOGIN):
        attempt(alice.login.upper() if i % 2 else alice.login, f"guess{i}", f"192.0.2.{i + 10}")
    assert attempt(alice.login, alice.password, "192.0.2.11") == 429  # failed as ALICE, refused as alice
    assert attempt(alice.login.upper(), alice.password, "192.0.2.10") == 429
    assert attempt(alice.login, alice.password, "192.0.2.99") == 200


def test_an_address_is_blocked_after_too_many_failures(alice: Persona, bob: Persona) -> None:
    for i in range(PER_ADDRESS):  # spread over many logins: no single login hits its limit
        assert attempt(f"user{i}@example.test", "guess", "198.51.100.9") == 401
    assert attempt(bob.login, bob.password, "198.51.100.9") == 429
    assert attempt(bob.login, bob.password, "198.51.100.10") == 200  # other addresses are unaffected


def test_an_ipv6_host_counts_as_its_whole_64(alice: Persona, bob: Persona) -> None:
    """mallory holds a /64: a fresh address of it for every guess is still the same client."""
    for i in range(PER_ADDRESS):
        assert attempt(f"user{i}@example.test", "guess", f"2001:db8:0:7::{i + 1:x}") == 401
    assert attempt(bob.login, bob.password, "2001:db8:0:7::ffff") == 429
    assert attempt(bob.login, bob.password, "::ffff:192.0.2.200") == 200  # IPv4-mapped: the IPv4 address
    assert attempt(bob.login, bob.password, "2001:db8:0:8::1") == 200  # the next /64 is someone else


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
    # Basic shares the counters: the failing address is refused there too,
    # a clean one is not.
    assert attempt(alice.login, alice.password, "192.0.2.50") == 429
    assert attempt(alice.login, alice.password, "192.0.2.51") == 200


def test_a_spoofed_forwarded_for_does_not_give_a_fresh_address(alice: Persona) -> None:
    """mallory, on the internet, cannot escape her address block by writing X-Forwarded-For."""
    client = Client(SERVER_PORT=str(settings.JMAP_PORT), REMOTE_ADDR="172.17.0.9")
    for i in range(PER_ADDRESS):
        body = json.dumps({"username": f"user{i}@example.test", "password": "guess"})
        response = client.post("/auth/login", body, content_type="application/json", HTTP_X_FORWARDED_FOR=f"10.9.0.{i}")
        assert response.status_code == 401
    good = json.dumps({"username": alice.login, "password": alice.password})
    fresh_claim = client.post("/auth/login", good, content_type="application/json", HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert fresh_claim.status_code == 429


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
        ("10.0.0.5", "spoofed, 192.0.2.8", "10.0.0.5"),  # nor a private one: not a trusted proxy
        ("172.17.0.1", "127.0.0.1", "172.17.0.1"),  # nor pretend to be local
        ("127.0.0.1", "192.0.2.9", "192.0.2.9"),  # our own reverse proxy is believed
        ("::1", "2001:db8::1", "2001:db8::1"),
        ("127.0.0.1", "198.51.100.1, 192.0.2.9", "192.0.2.9"),  # the hop our proxy appended
        ("127.0.0.1", "192.0.2.9, 127.0.0.2", "192.0.2.9"),  # trusted hops are skipped
        ("127.0.0.1", "not-an-ip, 127.0.0.2", "127.0.0.2"),  # garbage ends the walk
        ("::ffff:127.0.0.1", "192.0.2.9", "192.0.2.9"),
        ("", "192.0.2.9", ""),
        ("", "", ""),
    ],
)
def test_client_address(remote: str, forwarded: str, expected: str) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_trusted_proxies_come_from_settings(settings: Settings) -> None:
    settings.JMAP_TRUSTED_PROXIES = ("10.0.0.0/8", "not-a-network")
    behind_proxy = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="192.0.2.8")
    assert client_address(behind_proxy) == "192.0.2.8"
    from_loopback = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.8")
    assert client_address(from_loopback) == "127.0.0.1"  # loopback is no longer listed


def test_forwarded_for_is_honoured_from_a_trusted_proxy_only(alice: Persona) -> None:
    """Ten failures behind the local reverse proxy block the forwarded client, not the proxy."""
    proxy = Client(SERVER_PORT=str(settings.JMAP_PORT), REMOTE_ADDR="127.0.0.1")
    bad = json.dumps({"username": alice.login, "password": "wrong"})
    for _ in range(PER_LOGIN):
        proxy.post("/auth/login", bad, content_type="application/json", HTTP_X_FORWARDED_FOR="203.0.113.50")
    good = json.dumps({"username": alice.login, "password": alice.password})
    mallory = proxy.post("/auth/login", good, content_type="application/json", HTTP_X_FORWARDED_FOR="203.0.113.50")
    assert mallory.status_code == 429
    owner = proxy.post("/auth/login", good, content_type="application/json", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert owner.status_code == 200


def test_checking_the_counters_is_one_cache_read(alice: Persona) -> None:
    """Every password login reads the counters: address and login, this window and the last."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    failure_record(address="192.0.2.60", login=alice.login)
    with CaptureQueriesContext(connection) as queries:
        assert failures_blocked(address="192.0.2.60", login=alice.login) is None
    assert len(queries.captured_queries) == 1  # DatabaseCache.get_many: one SELECT
    assert failures_blocked(address="", login=None) is None
