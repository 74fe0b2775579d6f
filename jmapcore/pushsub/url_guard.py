"""Which push URLs the proxy will connect to (RFC 8620 §7.2, §8.6; SSRF guard).

A PushSubscription makes the proxy POST to a URL a client chose. RFC 8620
§8.6 warns that this reaches servers the client could not reach itself, so
a URL is refused when its host resolves to an address that is not on the
public Internet: loopback, RFC 1918 private, link-local, CGNAT (RFC 6598),
multicast, unspecified, IPv6 unique-local (RFC 4193), and the other special
ranges (documentation, benchmarking, reserved), including IPv4 addresses
hidden in IPv4-mapped, NAT64 and 6to4 IPv6 addresses.

The check runs when the subscription is created and again before every
delivery, and the delivery connects to an address that was just checked
(push_url_resolve returns them), so a DNS answer that changes in between
(DNS rebinding) cannot move the request inside. Operators who run their push
service on a private network set JMAP_PUSH_ALLOW_PRIVATE; http:// URLs
(RFC 8620 §7.2 requires https) only with JMAP_PUSH_ALLOW_HTTP.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
# Spelled out although ipaddress knows most of them: the guard must not depend
# on which special ranges a given Python version marks non-global.
_REFUSED_NETWORKS = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "0.0.0.0/8",  # "this network", unspecified
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # CGNAT, RFC 6598
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local
        "172.16.0.0/12",  # RFC 1918
        "192.0.0.0/24",  # IETF protocol assignments
        "192.168.0.0/16",  # RFC 1918
        "198.18.0.0/15",  # benchmarking
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
        "::/128",  # unspecified
        "::1/128",  # loopback
        "fc00::/7",  # unique local, RFC 4193
        "fe80::/10",  # link-local
        "fec0::/10",  # deprecated site-local
        "ff00::/8",  # multicast
    )
)


class PushUrlRefused(ValueError):
    """A push URL the proxy will not connect to; the message says why (safe to show the client)."""


class PushUrlUnresolved(PushUrlRefused):
    """The host does not resolve (now): at delivery time a transient failure."""


@dataclass(frozen=True)
class PushTarget:
    """A checked URL: its parts and the addresses a request may connect to."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def address_is_public(address: IPAddress) -> bool:
    """True only for a globally routable unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded: IPAddress | None = address.ipv4_mapped or address.sixtofour
        if embedded is None and (address in _NAT64 or address in _NAT64_LOCAL):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return address_is_public(embedded)
    if any(address in network for network in _REFUSED_NETWORKS if network.version == address.version):
        return False
    return address.is_global and not address.is_multicast


def push_url_parse(*, url: str, allow_http: bool) -> SplitResult:
    """Syntax of a push URL: absolute https (or http when allowed), a host, no credentials."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise PushUrlRefused(f"must be an absolute URL of at most {MAX_URL_LENGTH} characters")
    if any(char.isspace() or ord(char) < 0x20 for char in url):
        raise PushUrlRefused("must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise PushUrlRefused("is not a valid URL") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme.lower() not in schemes:
        raise PushUrlRefused("must begin with https://")
    if not parts.hostname:
        raise PushUrlRefused("must name a host")
    if parts.username is not None or parts.password is not None:
        raise PushUrlRefused("must not contain credentials")
    return parts


def push_url_resolve(*, url: str, allow_private: bool, allow_http: bool) -> PushTarget:
    """Parse `url`, resolve its host and check every address it resolves to.

    Raises PushUrlRefused when the URL is malformed, does not resolve, or
    (unless `allow_private`) any of its addresses is not public: one private
    answer among public ones is refused too, as a rebinding host would give.
    """
    parts = push_url_parse(url=url, allow_http=allow_http)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    port = parts.port or (443 if scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise PushUrlUnresolved(f"host {host} does not resolve") from None
    addresses: list[IPAddress] = []
    for info in infos:
        # Drop an IPv6 zone ("fe80::1%eth0"): the address itself decides.
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise PushUrlUnresolved(f"host {host} does not resolve")
    if not allow_private:
        for address in addresses:
            if not address_is_public(address):
                raise PushUrlRefused(f"host {host} is not a public Internet address")
    return PushTarget(url=url, scheme=scheme, host=host, port=port, addresses=tuple(addresses))
