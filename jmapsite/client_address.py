"""The address of the client that sent a request -- the one place that reads
REMOTE_ADDR and X-Forwarded-For.

The proxy is meant to sit behind a TLS reverse proxy. X-Forwarded-For is
believed only when the direct TCP peer is one of JMAP_TRUSTED_PROXIES (a list
of networks; default the loopback networks 127.0.0.0/8 and ::1/128). Anyone
can write any X-Forwarded-For header; only the hops our own proxies appended
are true. So the chain ``XFF entries + [peer]`` is read from the right: trusted
proxies are skipped, and the first address that is not a trusted proxy is the
client (the right-most untrusted address). A hop that is not an IP address
ends the walk at the proxy that passed it on: what lies further left was
written by someone we do not trust.

Every user of a client address goes through this module: the login rate limits
(accounts.ratelimit, for Basic, the login page, EventSource and WebSocket
upgrades alike), token last-use records and the management allow-list.
"""
from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_TRUSTED_PROXIES = ("127.0.0.0/8", "::1/128")


def ip_parse(value: str) -> IPAddress | None:
    """`value` as an IP address (brackets and an IPv4-mapped IPv6 form undone), or None."""
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=16)
def networks_parse(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """The valid networks among `entries` (CIDRs or single addresses).

    An entry that does not parse is dropped: a typo must never widen trust.
    """
    networks: list[IPNetwork] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            continue
    return tuple(networks)


def _setting_networks(name: str, default: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    raw = getattr(settings, name, default)
    if isinstance(raw, str):
        raw = tuple(part for part in raw.split(",") if part.strip())
    return networks_parse(tuple(str(entry) for entry in raw))


def in_networks(address: IPAddress | None, networks: tuple[IPNetwork, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def trusted_proxies() -> tuple[IPNetwork, ...]:
    """JMAP_TRUSTED_PROXIES, parsed."""
    return _setting_networks("JMAP_TRUSTED_PROXIES", DEFAULT_TRUSTED_PROXIES)


def peer_address(request: HttpRequest) -> str:
    """The direct TCP peer as given by the server (may be "" or not an IP)."""
    return str(request.META.get("REMOTE_ADDR") or "")


def client_address(request: HttpRequest) -> str:
    """The client's IP address, normalised, or "" when the peer is not an IP.

    The right-most address of ``X-Forwarded-For, peer`` that is not a trusted
    proxy (see the module doc); the peer itself when it is not trusted.
    """
    peer = ip_parse(peer_address(request))
    if peer is None:
        return ""
    trusted = trusted_proxies()
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    if not forwarded or not in_networks(peer, trusted):
        return str(peer)
    client = peer
    for hop in reversed(forwarded.split(",")):
        address = ip_parse(hop)
        if address is None:
            break  # garbage from an untrusted writer: keep the last trusted hop's word
        client = address
        if not in_networks(address, trusted):
            break
    return str(client)
