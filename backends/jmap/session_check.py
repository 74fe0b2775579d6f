"""Fetching and validating a JMAP passthrough backend's Session (RFC 8620 §2).

jmap_session_fetch() GETs the account's sessionUrl with its credentials
(Basic, RFC 7617, or Bearer, RFC 6750), follows redirects (a sessionUrl may be
the /.well-known/jmap URL, RFC 8620 §2.2) and returns the Session object after
checking that it has every property RFC 8620 §2 requires. Failures raise
backends.base.BackendError with an operator-readable message, e.g.
"sessionUrl returned HTTP 401" or "sessionUrl did not return a JMAP Session
(missing apiUrl)".
"""
from __future__ import annotations

import json
import ssl
from typing import Any
from urllib.parse import urlsplit

import httpx

from backends.base import BackendError
from backends.tls import tls_client_context

KIND = "jmap"
DEFAULT_TIMEOUT = 10.0
CORE_CAPABILITY = "urn:ietf:params:jmap:core"
# RFC 8620 §2: the properties every Session object has, in the order the RFC lists them.
SESSION_PROPERTIES: tuple[str, ...] = (
    "capabilities",
    "accounts",
    "primaryAccounts",
    "username",
    "apiUrl",
    "downloadUrl",
    "uploadUrl",
    "eventSourceUrl",
    "state",
)
# "oauth" sends its access token as a Bearer token (RFC 6750), as "bearer" does.
AUTH_TYPES = frozenset({"basic", "bearer", "oauth"})


def _not_a_session(why: str) -> BackendError:
    return BackendError(f"sessionUrl did not return a JMAP Session ({why})", permanent=True, kind=KIND)


def jmap_session_validate(session: object) -> dict[str, Any]:
    """`session` if it is a JMAP Session object (RFC 8620 §2), else BackendError."""
    if not isinstance(session, dict):
        raise _not_a_session("not a JSON object")
    missing = [name for name in SESSION_PROPERTIES if name not in session]
    if missing:
        raise _not_a_session("missing " + ", ".join(missing))
    capabilities = session["capabilities"]
    if not isinstance(capabilities, dict) or CORE_CAPABILITY not in capabilities:
        raise _not_a_session(f"no {CORE_CAPABILITY} capability")
    if not isinstance(session["accounts"], dict):
        raise _not_a_session("accounts is not an object")
    for name in ("apiUrl", "downloadUrl", "uploadUrl", "eventSourceUrl", "username", "state"):
        if not isinstance(session[name], str):
            raise _not_a_session(f"{name} is not a string")
    return session


def _auth_headers(*, username: str, password: str, auth_type: str) -> tuple[httpx.Auth | None, dict[str, str]]:
    if auth_type in ("bearer", "oauth"):
        return None, {"Authorization": f"Bearer {password}"}
    return httpx.BasicAuth(username, password), {}


def _where(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


def _transport_error(exc: httpx.TransportError, *, url: str, timeout: float) -> BackendError:
    if isinstance(exc, httpx.TimeoutException):
        return BackendError(f"timed out after {timeout:g}s fetching sessionUrl", permanent=False, kind=KIND)
    cause: BaseException | None = exc
    while cause is not None:  # httpx wraps the socket/ssl error a few levels deep
        if isinstance(cause, ssl.SSLCertVerificationError):
            return BackendError(
                f"TLS handshake failed: certificate verify failed: {cause.verify_message}", permanent=True, kind=KIND
            )
        if isinstance(cause, ssl.SSLError):
            reason = getattr(cause, "reason", None) or str(cause)
            text = str(reason).replace("_", " ").lower()
            return BackendError(f"TLS handshake failed: {text}", permanent=True, kind=KIND)
        if isinstance(cause, ConnectionRefusedError):
            return BackendError(f"connection refused to {_where(url)}", permanent=False, kind=KIND)
        cause = cause.__cause__ or cause.__context__
    text = str(exc)
    if "certificate verify failed" in text:
        return BackendError(f"TLS handshake failed: {text}", permanent=True, kind=KIND)
    if "Connection refused" in text or "Errno 111" in text:
        return BackendError(f"connection refused to {_where(url)}", permanent=False, kind=KIND)
    if "Name or service not known" in text or "nodename nor servname" in text:
        return BackendError(f"cannot resolve host {urlsplit(url).hostname!r}", permanent=True, kind=KIND)
    return BackendError(f"cannot fetch sessionUrl: {text or type(exc).__name__}", permanent=False, kind=KIND)


def jmap_session_fetch(
    *,
    session_url: str,
    username: str,
    password: str,
    auth_type: str = "basic",
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """GET the Session at `session_url` and validate it; raises BackendError."""
    parts = urlsplit(session_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BackendError(f"sessionUrl is not an http(s) URL: {session_url!r}", permanent=True, kind=KIND)
    if auth_type not in AUTH_TYPES:
        raise BackendError(f"unknown authType {auth_type!r} (use basic, bearer or oauth)", permanent=True, kind=KIND)
    auth, headers = _auth_headers(username=username, password=password, auth_type=auth_type)
    headers["Accept"] = "application/json"
    try:
        with httpx.Client(verify=tls_client_context(), timeout=timeout, follow_redirects=True) as client:
            response = client.get(session_url, auth=auth, headers=headers)
    except httpx.TooManyRedirects:
        raise BackendError("sessionUrl redirects too many times", permanent=True, kind=KIND) from None
    except httpx.TransportError as exc:
        raise _transport_error(exc, url=session_url, timeout=timeout) from None
    if response.status_code != 200:
        # 4xx will not cure itself (bad credentials, wrong URL); 5xx may.
        raise BackendError(
            f"sessionUrl returned HTTP {response.status_code}",
            permanent=400 <= response.status_code < 500,
            kind=KIND,
        )
    try:
        session = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _not_a_session("response is not JSON") from None
    return jmap_session_validate(session)
