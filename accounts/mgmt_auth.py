"""Who may use the management API (and /metrics) of the management port.

Checked in this order, for every client:

1. The Host header must name this port: localhost (or ``*.localhost``), a
   loopback address, the bind address JMAP_MGMT_HOST, or a name listed in
   JMAP_MGMT_HOSTS; any port (a published Docker port may differ from
   the one inside). Otherwise 403. A web page in the operator's
   browser could otherwise reach the API through DNS rebinding (its own name
   resolving to 127.0.0.1, or to a Docker bridge address) and read what it
   returns, such as newly issued tokens; the browser always sends the page's
   own name as Host, which is not one of ours.
2. With a management token -- JMAP_MGMT_TOKEN, or the one generated into
   $JMAP_DATADIR/mgmt-token (jmapsite.mgmt_token) -- every client, local ones
   included, must send ``Authorization: Bearer <token>`` (RFC 6750 §2.1); a
   missing token is 401 with a WWW-Authenticate challenge, a wrong one 403. The
   comparison is constant-time.
3. Without one, only when the port listens on loopback: clients in
   JMAP_MGMT_ALLOW (default 127.0.0.0/8 and ::1/128) need no credentials --
   the README's curl examples send none. The TCP peer and, when a trusted
   reverse proxy forwarded the request (jmapsite.client_address), the client
   it names must both be in it: a reverse proxy on the same host must not turn
   the whole Internet into "local". A port bound beyond loopback without a
   token refuses everyone (403) rather than trusting addresses: any container
   on a Docker network, or any host on the LAN, could reach it.

Requests that change something (POST, PATCH, PUT, DELETE) must also say
``Content-Type: application/json`` (else 415): a cross-site page can send a
form or a body-less POST without a CORS preflight, never a JSON one.
"""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from ninja.security import HttpBearer

from jmapsite.client_address import client_address, in_networks, ip_parse, networks_parse, peer_address
from jmapsite.mgmt_token import mgmt_host_is_loopback

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ManagementAccessDenied(Exception):
    """The request may not use the management API.

    `status` is 401 or 403 (access), or 415 (not JSON); `code` is the API's
    error code for it.
    """

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = {401: "unauthorized", 415: "unsupportedMediaType"}.get(status, "forbidden")


def _in_allowed_network(address: str) -> bool:
    entries = tuple(str(entry) for entry in getattr(settings, "JMAP_MGMT_ALLOW", ("127.0.0.0/8", "::1/128")))
    return in_networks(ip_parse(address), networks_parse(entries))


def request_is_allowed_network(request: HttpRequest) -> bool:
    """True when both the TCP peer and the forwarded client are in JMAP_MGMT_ALLOW."""
    return _in_allowed_network(peer_address(request)) and _in_allowed_network(client_address(request))


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8080
        return host[1 : host.find("]")] if "]" in host else host
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name.rstrip(".")  # "localhost." is "localhost"


def _own_names() -> set[str]:
    names = {"localhost", str(settings.JMAP_MGMT_HOST).strip("[]").lower()}
    names.update(str(name).strip().strip("[]").lower() for name in getattr(settings, "JMAP_MGMT_HOSTS", ()))
    names.discard("")
    return names


def host_is_ours(request: HttpRequest) -> bool:
    """True when the Host header names this port (see the module doc, 1).

    A request without a Host header (HTTP/1.0, some scripts) passes: every
    browser sends one, and only a browser can be steered by DNS rebinding.
    """
    header = request.META.get("HTTP_HOST")
    if header is None:
        return True
    name = _host_name(str(header))
    if name in _own_names() or name.endswith(".localhost"):
        return True
    address = ip_parse(name)
    return address is not None and address.is_loopback


def _bearer(request: HttpRequest) -> str | None:
    header = str(request.META.get("HTTP_AUTHORIZATION") or "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def mgmt_access_check(request: HttpRequest) -> None:
    """Return if `request` may use the management API, else ManagementAccessDenied (401/403)."""
    if not host_is_ours(request):
        raise ManagementAccessDenied(
            403,
            "the Host header does not name this management port (DNS rebinding protection); "
            "add the name to JMAP_MGMT_HOSTS",
        )
    expected = str(getattr(settings, "JMAP_MGMT_TOKEN", "") or "")
    if expected:
        presented = _bearer(request)
        if presented is None:
            raise ManagementAccessDenied(
                401, "a bearer token (JMAP_MGMT_TOKEN or $JMAP_DATADIR/mgmt-token) is required"
            )
        if not constant_time_compare(presented, expected):
            raise ManagementAccessDenied(403, "wrong management token")
        return
    if not mgmt_host_is_loopback(str(settings.JMAP_MGMT_HOST)):
        raise ManagementAccessDenied(
            403, "the management port listens beyond loopback without a token; set JMAP_MGMT_TOKEN"
        )
    if not request_is_allowed_network(request):
        raise ManagementAccessDenied(
            403, "this address may not use the management API (JMAP_MGMT_ALLOW); set JMAP_MGMT_TOKEN to allow others"
        )


def mgmt_content_type_check(request: HttpRequest) -> None:
    """ManagementAccessDenied(415) for a changing request that is not declared JSON."""
    if request.method not in _SAFE_METHODS and request.content_type != "application/json":
        got = request.content_type or "none"
        raise ManagementAccessDenied(415, f"send Content-Type: application/json (got {got})")


class ManagementAuth(HttpBearer):
    """django-ninja auth hook (shown as a bearer scheme in the OpenAPI docs)."""

    def __call__(self, request: HttpRequest) -> bool:
        mgmt_access_check(request)
        mgmt_content_type_check(request)
        return True

    def authenticate(self, request: HttpRequest, token: str) -> bool:  # pragma: no cover - __call__ decides
        return False
