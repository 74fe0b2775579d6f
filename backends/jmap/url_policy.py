"""Where the proxy may send a passthrough account's requests (and its credentials).

The operator names one URL, the account's sessionUrl. Everything else the
proxy connects to for the account comes from the upstream: redirects of the
Session GET, and the Session's apiUrl, downloadUrl, uploadUrl and
eventSourceUrl (RFC 8620 §2). RFC 8620 lets those live on another origin, but
an upstream that is hostile, compromised or simply mistaken must not turn the
proxy into a tool against the network it runs in (RFC 8620 §8.6 warns of the
same for push URLs): a Session naming http://127.0.0.1:<management port>/ or
http://169.254.169.254/ (cloud metadata) would otherwise have the proxy POST
method calls there, or GET a "blob" from there and hand the body to the
client, with the account's Authorization header attached.

The rule (upstream_url_check):
- the sessionUrl's own origin (scheme, host, port; RFC 6454) is always
  allowed: the operator chose it;
- any other origin must use http(s), must not be http when the sessionUrl is
  https (the credentials would cross the network in clear text), and its host
  must resolve only to public Internet addresses
  (jmapcore.pushsub.url_guard.address_is_public), unless the operator sets
  JMAP_UPSTREAM_ALLOW_PRIVATE (an upstream whose Session names another
  internal host on purpose).

The check runs on every URL of a freshly fetched Session before it is stored
and on every request the account's HTTP client sends, redirects included,
so a name that later resolves elsewhere is checked again when it is used (a
host found public is trusted for PUBLIC_HOST_TTL seconds, sparing a DNS query
per forwarded call).
"""
from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from jmapcore.pushsub.url_guard import PushUrlRefused, push_url_resolve

# A host found public is not resolved again for this long: the check runs on every
# request, and Python does not cache getaddrinfo (a DNS query per forwarded call).
PUBLIC_HOST_TTL = 60.0
_PUBLIC_HOSTS_MAX = 1024
_public_until: dict[tuple[str, str, int], float] = {}
_public_lock = threading.Lock()


class UpstreamUrlRefused(ValueError):
    """A URL the proxy will not send a passthrough account's requests to; the message says why."""


class UpstreamRequestRefused(httpx.ConnectError):
    """Raised by the account's HTTP client (an httpx request hook) instead of connecting.

    A transport error, so that every user of UpstreamClient.http() that
    handles "could not connect" handles this too; its message names the
    host and the rule, never the URL's path or query (which may hold a token).
    """


def url_origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, lower-case host, port) of an http(s) URL, the port filled in
    from the scheme; None for anything else. Both the policy's "same origin"
    and the API transport's connection pool key use it."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        return None
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port


def private_upstreams_allowed() -> bool:
    """settings.JMAP_UPSTREAM_ALLOW_PRIVATE: other origins at internal addresses are accepted."""
    value = getattr(settings, "JMAP_UPSTREAM_ALLOW_PRIVATE", False)
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no")
    return bool(value)


def upstream_url_check(url: str, *, session_url: str, what: str, resolve: bool = True) -> None:
    """Raise UpstreamUrlRefused unless the proxy may send the account's requests to `url` (module doc).

    `what` names the URL in the message ("apiUrl", "a redirect of the
    sessionUrl", ...). A URL template's `{...}` expressions may stand in its
    path or query, not in its origin. `resolve=False` skips the address check
    (a caller that only wants the syntax and scheme rules).
    """
    origin = url_origin(url)
    if origin is None:
        raise UpstreamUrlRefused(f"{what} is not an http(s) URL with a host")
    home = url_origin(session_url)
    if home is not None and origin == home:
        return
    scheme = origin[0]
    if home is not None and home[0] == "https" and scheme == "http":
        raise UpstreamUrlRefused(f"{what} would send the credentials unencrypted (http:// while the "
                                 "sessionUrl is https://)")
    if not resolve or private_upstreams_allowed():
        return
    now = time.monotonic()
    with _public_lock:
        if _public_until.get(origin, 0.0) > now:
            return
    try:
        push_url_resolve(url=url, allow_private=False, allow_http=True)
    except PushUrlRefused as exc:
        raise UpstreamUrlRefused(f"{what} is on another origin than the sessionUrl and {exc}; "
                                 "set JMAP_UPSTREAM_ALLOW_PRIVATE to allow it") from None
    with _public_lock:
        if len(_public_until) >= _PUBLIC_HOSTS_MAX:
            _public_until.clear()
        _public_until[origin] = now + PUBLIC_HOST_TTL
