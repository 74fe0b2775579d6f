"""The SSRF guard on push URLs (RFC 8620 §8.6): which hosts the proxy will
POST to, by address class, and the operator's switches."""
from __future__ import annotations

import ipaddress

import pytest

from jmapcore.pushsub.url_guard import PushUrlRefused, PushUrlUnresolved, address_is_public, push_url_resolve

REFUSED = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # CGNAT
    "100.127.255.254",
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "0.0.0.0",  # noqa: S104 - an address under test, nothing binds to it
    "255.255.255.255",
    "::",
    "::1",
    "fc00::1",  # unique local
    "fd12:3456::1",
    "fe80::1",  # link-local
    "ff02::1",  # multicast
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:10.0.0.1",
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_not_public(address: str) -> None:
    assert not address_is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_public(address: str) -> None:
    assert address_is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.7", "[::1]", "localhost", "192.168.0.10"])
def test_urls_to_private_hosts_are_refused(host: str) -> None:
    with pytest.raises(PushUrlRefused, match="not a public"):
        push_url_resolve(url=f"https://{host}/push", allow_private=False, allow_http=False)


def test_the_operator_may_allow_private_hosts() -> None:
    target = push_url_resolve(url="https://127.0.0.1:8443/p?x=1", allow_private=True, allow_http=False)
    assert target.host == "127.0.0.1" and target.port == 8443
    assert target.addresses == (ipaddress.ip_address("127.0.0.1"),)
    assert target.host_header == "127.0.0.1:8443"


def test_a_public_literal_passes_and_keeps_its_address() -> None:
    target = push_url_resolve(url="https://8.8.8.8/push", allow_private=False, allow_http=False)
    assert target.addresses == (ipaddress.ip_address("8.8.8.8"),)
    assert target.host_header == "8.8.8.8"


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://8.8.8.8/push", "https://"),
        ("ftp://8.8.8.8/push", "https://"),
        ("/relative", "https://"),
        ("https:///nohost", "host"),
        ("https://user:pw@8.8.8.8/push", "credentials"),
        ("https://8.8.8.8:99999/push", "valid URL"),
        ("https://8.8.8.8/pu sh", "spaces"),
        ("https://8.8.8.8/" + "a" * 3000, "2048"),
    ],
)
def test_malformed_urls_are_refused(url: str, complaint: str) -> None:
    with pytest.raises(PushUrlRefused, match=complaint):
        push_url_resolve(url=url, allow_private=True, allow_http=False)


def test_http_only_when_allowed() -> None:
    target = push_url_resolve(url="http://127.0.0.1/push", allow_private=True, allow_http=True)
    assert target.scheme == "http" and target.port == 80


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(PushUrlUnresolved):
        push_url_resolve(url="https://no-such-host.invalid/push", allow_private=False, allow_http=False)
