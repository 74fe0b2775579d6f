"""Who may use the management API.

- Without JMAP_MGMT_TOKEN: clients in JMAP_MGMT_ALLOW (default: the loopback
  networks 127.0.0.0/8 and ::1/128), with no credentials -- the management port
  binds to 127.0.0.1 by default and the product README's curl examples send
  none. Anyone else gets 403.
- With JMAP_MGMT_TOKEN: every client, local ones included, must send
  ``Authorization: Bearer <JMAP_MGMT_TOKEN>`` (RFC 6750 §2.1); a missing token
  is 401 with a WWW-Authenticate challenge, a wrong one 403. The comparison is
  constant-time.

A client counts as allowed only when the TCP peer is in an allowed network and,
if a local reverse proxy forwarded the request, the X-Forwarded-For client is
too: a reverse proxy on the same host must not turn the whole Internet into
"local".

Credential-less access from a loopback peer also requires a local Host header
(localhost, a loopback address or JMAP_MGMT_HOST). Without that check a web
page in the operator's browser could reach the API through DNS rebinding (its
own name resolving to 127.0.0.1) and read what it returns, such as newly
issued tokens.
"""
from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from ninja.security import HttpBearer

from jmapsite.client_address import client_address, peer_address


class ManagementAccessDenied(Exception):
    """The request may not use the management API; `status` is 401 or 403."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for entry in getattr(settings, "JMAP_MGMT_ALLOW", ("127.0.0.0/8", "::1/128")):
        try:
            networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            continue  # a typo must not open anything up
    return networks


def _in_allowed_network(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in _allowed_networks())


def request_is_allowed_network(request: HttpRequest) -> bool:
    """True when both the TCP peer and the forwarded client are in JMAP_MGMT_ALLOW."""
    return _in_allowed_network(peer_address(request)) and _in_allowed_network(client_address(request))


def _host_name(request: HttpRequest) -> str:
    host = str(request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME") or "").lower()
    if host.startswith("["):  # [::1]:8080
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def host_is_local(request: HttpRequest) -> bool:
    """True when the Host header names this machine's loopback interface."""
    name = _host_name(request)
    if name in ("localhost", str(settings.JMAP_MGMT_HOST).lower()) or name.endswith(".localhost"):
        return True
    return _loopback(name)


def _bearer(request: HttpRequest) -> str | None:
    header = str(request.META.get("HTTP_AUTHORIZATION") or "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def mgmt_access_check(request: HttpRequest) -> None:
    """Return if `request` may use the management API, else ManagementAccessDenied."""
    expected = str(getattr(settings, "JMAP_MGMT_TOKEN", "") or "")
    if expected:
        presented = _bearer(request)
        if presented is None:
            raise ManagementAccessDenied(401, "a bearer token (JMAP_MGMT_TOKEN) is required")
        if not constant_time_compare(presented, expected):
            raise ManagementAccessDenied(403, "wrong management token")
        return
    if not request_is_allowed_network(request):
        raise ManagementAccessDenied(
            403, "this address may not use the management API (JMAP_MGMT_ALLOW); set JMAP_MGMT_TOKEN to allow others"
        )
    if _loopback(peer_address(request)) and not host_is_local(request):
        raise ManagementAccessDenied(403, "Host header must name localhost (DNS rebinding protection)")


class ManagementAuth(HttpBearer):
    """django-ninja auth hook (shown as a bearer scheme in the OpenAPI docs)."""

    def __call__(self, request: HttpRequest) -> bool:
        mgmt_access_check(request)
        return True

    def authenticate(self, request: HttpRequest, token: str) -> bool:  # pragma: no cover - __call__ decides
        return False
