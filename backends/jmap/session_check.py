"""Fetching and validating a JMAP passthrough backend's Session (RFC 8620 §2).

jmap_session_fetch() GETs a sessionUrl with credentials that are not stored
yet (Basic, RFC 7617, or Bearer, RFC 6750): the check run when an account is
created, and by the RFC 9698 JMAPACCESS switch on a URL an IMAP server
announced. It returns the Session object, its URLs made absolute, after
checking that it has every property RFC 8620 §2 requires. Failures raise
backends.base.BackendError (an UpstreamError) with an operator-readable
message, e.g. "sessionUrl returned HTTP 401" or "sessionUrl did not return a
JMAP Session (missing apiUrl)".

There is one way to fetch an upstream Session: this check runs the account
client's own (backends.jmap.client.UpstreamClient.session_fetch) with the
given credentials instead of stored ones. So the check gets the same
protections as every later request of the account:
- redirects are followed (a sessionUrl may be the /.well-known/jmap URL,
  RFC 8620 §2.2), but each hop must pass backends.jmap.url_policy: another
  origin only at a public address and never from https down to http, so a
  hostile sessionUrl cannot aim the check, with the credentials, at an
  internal service; httpx drops the Authorization header on a hop to another
  origin;
- the answer is read up to the client's Session size limit, and JSON nested
  deeper than the reader goes is "not JSON", not a RecursionError;
- an error never quotes a credential (httpx's LocalProtocolError holds the
  whole Authorization header when a token ends in a newline).
"""
from __future__ import annotations

import base64
from typing import Any

from backends.base import BackendError

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
# Names the unsaved account the check runs as, in the client's log lines.
CHECK_ACCOUNT_ID = "session-check"


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


def _authorization(*, username: str, password: str, auth_type: str) -> dict[str, str]:
    """The Authorization header for the given (not stored) credentials, as the client builds it."""
    if auth_type in ("bearer", "oauth"):
        return {"Authorization": f"Bearer {password}"}
    pair = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {pair}"}


def jmap_session_fetch(
    *,
    session_url: str,
    username: str,
    password: str,
    auth_type: str = "basic",
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """GET the Session at `session_url` and validate it (module doc); raises BackendError.

    `password` is the password (basic) or the access token (bearer, oauth).
    An OAuth token is not refreshed here: there is no stored refresh token yet.
    """
    from accounts.models import Account
    from backends.jmap.client import UpstreamClient

    if auth_type not in AUTH_TYPES:
        raise BackendError(f"unknown authType {auth_type!r} (use basic, bearer or oauth)", permanent=True, kind=KIND)
    headers = _authorization(username=username, password=password, auth_type=auth_type)

    class _CheckClient(UpstreamClient):
        """The account client with the credentials under check instead of stored ones."""

        def auth_headers(self) -> dict[str, str]:
            return dict(headers)

        def credentials_refresh(self) -> bool:
            return False

    # Never saved: it only carries the sessionUrl (the origin url_policy trusts) to the client.
    account = Account(kind="jmap", accountid=CHECK_ACCOUNT_ID, session_url=session_url, username=username,
                      auth_type=auth_type)
    client = _CheckClient(account)
    try:
        return client.session_fetch(timeout=timeout)
    finally:
        client.close()
