"""OAuth 2.0 access-token refresh for passthrough accounts (authType "oauth").

`access_token_refresh(account)` is what UpstreamClient.credentials_refresh()
runs when the upstream answers 401 (backends.jmap.client). Contract:

- Returns True when `account` (the instance passed in, updated in place)
  now holds an access token newer than the one it held when called: fetched
  by this call, or by a concurrent refresh in this or another process.
- Returns False when no refresh is possible: the account is not an OAuth
  account, holds no refresh token, or the authorization server refused the
  grant for good (RFC 6749 §5.2: invalid_grant, invalid_client, ...). Such a
  refusal is recorded (backends.models.UpstreamOAuthState, and the account's
  last_sync_error so the dashboard and the management API show it) and the
  same refresh token is not presented again: later calls return False at
  once until the operator stores another refresh token, token URL or client
  id, or configures the client's secret.
- Raises BackendError(permanent=False) for a transient failure (timeout,
  refused connection, HTTP 5xx/429, a server_error or temporarily_unavailable
  answer, a token endpoint that does not answer JSON); it is recorded too,
  and the next call tries again.

The grant (RFC 6749 §6): POST to `oauth_token_url`, form-encoded,
grant_type=refresh_token and the refresh token. A public client (Fastmail's
PKCE apps have no secret) names itself with client_id in the body (§2.3,
§3.2.1); a confidential client whose secret is configured
(settings.JMAP_OAUTH_CLIENT_SECRETS, by client id: GOOGLE_CLIENT_SECRET for
GOOGLE_CLIENT_ID) authenticates with HTTP Basic (§2.3.1). The answer (§5.1)
must be a bearer token (RFC 6750); its access_token replaces the stored one
and a refresh_token in it replaces the stored one too (rotation, RFC 9700
§2.2.2). Both are written sealed to the account's secret columns.

Concurrency: one refresh per account at a time across processes, by a
lease in the shared cache (as the sync lock, accounts.sync). A caller that
waited re-reads the row and, finding a newer access token, returns True
without a grant of its own: two requests that hit the same expired token
cause one grant. The tokens are written by compare-and-swap on the access
token column, so an older refresh never overwrites a newer one.

Discovery: an account without `oauth_token_url` learns it once from the
authorization server metadata (RFC 8414 §3) at the origin of its sessionUrl,
/.well-known/oauth-authorization-server; the `issuer` must be that origin
(§3.3) and the token endpoint https (http only when the sessionUrl is http
itself), on the sessionUrl's origin or at a public address
(backends.jmap.url_policy). The URL found is stored on the account.

Nothing here logs or puts a token into an error message.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from django.conf import settings
from django.core.cache import cache
from django.db.models import F
from django.utils import timezone

from accounts.models import Account
from accounts.secret_column import StoredSecret
from accounts.secret_fields import account_secret_get, secret_binding
from accounts.secrets import CryptoError, seal
from backends.base import BackendError
from backends.jmap.url_policy import UpstreamUrlRefused, upstream_url_check
from backends.tls import tls_client_context

log = logging.getLogger("jmap.backends.jmap.oauth")

KIND = "jmap"
TOKEN_TIMEOUT = 15.0
# The lease outlives one token request (TOKEN_TIMEOUT) with room to store the result.
LEASE_SECONDS = 60
# How long a caller waits for another process's refresh before giving up (transiently).
WAIT_SECONDS = TOKEN_TIMEOUT + 10.0
WAIT_STEP = 0.05
METADATA_PATH = "/.well-known/oauth-authorization-server"
# RFC 6749 §5.2 codes that only the operator can cure: the grant or the client is refused.
PERMANENT_ERRORS = frozenset(
    {"invalid_grant", "invalid_client", "unauthorized_client", "unsupported_grant_type", "invalid_scope",
     "invalid_request"}
)
# Codes some servers send from the token endpoint for a passing trouble (RFC 6749 §4.1.2.1's names).
TRANSIENT_ERRORS = frozenset({"server_error", "temporarily_unavailable"})
ERROR_PREFIX = "OAuth refresh"
_ERROR_MAX = 300


class OAuthRefused(BackendError):
    """The authorization server refused for good (see the module doc); recorded, never retried as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True, kind=KIND)


def _transient(message: str) -> BackendError:
    return BackendError(message, permanent=False, kind=KIND)


@dataclass(frozen=True)
class TokenAnswer:
    """A successful token response (RFC 6749 §5.1), what the proxy keeps of it."""

    access_token: str
    refresh_token: str  # "" when the server did not rotate it


# ---------------------------------------------------------------- the lease


class _RefreshLease:
    """One refresh of an account at a time, across processes sharing the cache."""

    def __init__(self, account_pk: int) -> None:
        self.key = f"jmap:oauth-refresh:{account_pk}"
        self.token = secrets.token_hex(16)
        self.held = False

    def acquire(self) -> bool:
        self.held = bool(cache.add(self.key, self.token, timeout=LEASE_SECONDS))
        return self.held

    def release(self) -> None:
        try:
            if self.held and cache.get(self.key) == self.token:
                cache.delete(self.key)
        except Exception as exc:
            # The refresh itself is done; an unreleased lease only expires (LEASE_SECONDS) instead.
            log.warning("%s: could not release the refresh lease: %s", self.key, type(exc).__name__)
        self.held = False


# ---------------------------------------------------------------- helpers


def _plain(account: Account, field: str) -> str:
    return account_secret_get(account=account, field=field) if getattr(account, field) else ""


def _grant_digest(*, token_url: str, client_id: str, refresh_token: str) -> str:
    """What identifies a grant as presented: another token, URL, client or secret is another try."""
    material = "\n".join((token_url, client_id, oauth_client_secret(client_id), refresh_token)).encode("utf-8")
    return hashlib.sha256(material).hexdigest()


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _ERROR_MAX else text[: _ERROR_MAX - 1] + "…"


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _adopt(account: Account, row: Account) -> None:
    """Give the caller's instance the row's current OAuth columns (and updated_at)."""
    for name in ("oauth_access_token", "oauth_refresh_token", "oauth_token_url", "updated_at"):
        setattr(account, name, getattr(row, name))


def _state_record(account: Account, **values: Any) -> None:
    from backends.models import UpstreamOAuthState

    UpstreamOAuthState.objects.update_or_create(account_id=account.pk, defaults=values)


def _failure_record(account: Account, *, message: str, rejected_digest: str = "") -> None:
    """Record a failed refresh: on the OAuth state and as the account's last error."""
    now = timezone.now()
    values: dict[str, Any] = {"error": message, "error_at": now}
    if rejected_digest:
        values["rejected_digest"] = rejected_digest
    _state_record(account, **values)
    Account.objects.filter(pk=account.pk).update(last_sync_error=message, last_sync_error_at=now)
    account.last_sync_error, account.last_sync_error_at = message, now


def oauth_client_secret(client_id: str) -> str:
    """The configured secret of a confidential client ("" for a public client)."""
    configured = getattr(settings, "JMAP_OAUTH_CLIENT_SECRETS", {}) or {}
    return str(configured.get(client_id, "")) if client_id else ""


def _http() -> httpx.Client:
    # No redirects: the refresh token goes only where the operator (or the metadata) said.
    return httpx.Client(verify=tls_client_context(), timeout=TOKEN_TIMEOUT, follow_redirects=False,
                        headers={"User-Agent": "jmap-proxy", "Accept": "application/json"})


def _transport_failure(exc: httpx.HTTPError, *, what: str, url: str) -> BackendError:
    if isinstance(exc, httpx.TimeoutException):
        return _transient(f"{ERROR_PREFIX}: timed out after {TOKEN_TIMEOUT:g}s at {what} {_host(url)}")
    return _transient(f"{ERROR_PREFIX}: cannot reach {what} {_host(url)} ({type(exc).__name__})")


# ---------------------------------------------------------------- discovery (RFC 8414)


def token_url_discover(*, account: Account) -> str:
    """The token endpoint from the metadata at the sessionUrl's origin, stored on the account.

    Raises OAuthRefused when the metadata is missing or unusable, BackendError
    (transient) when it cannot be fetched now.
    """
    session_url = account.session_url
    parts = urlsplit(session_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OAuthRefused(f"{ERROR_PREFIX}: no token URL, and no http(s) sessionUrl to discover it from")
    origin = _origin(session_url)
    url = origin + METADATA_PATH
    try:
        with _http() as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        raise _transport_failure(exc, what="authorization server metadata at", url=url) from None
    if response.status_code >= 500 or response.status_code == 429:
        raise _transient(f"{ERROR_PREFIX}: {url} answered HTTP {response.status_code}")
    if response.status_code != 200:
        raise OAuthRefused(f"{ERROR_PREFIX}: no token URL configured and {url} answered HTTP {response.status_code}")
    try:
        metadata = response.json()
    except (ValueError, UnicodeDecodeError):
        raise OAuthRefused(f"{ERROR_PREFIX}: {url} is not JSON authorization server metadata") from None
    if not isinstance(metadata, dict):
        raise OAuthRefused(f"{ERROR_PREFIX}: {url} is not JSON authorization server metadata")
    issuer = metadata.get("issuer")
    # RFC 8414 §3.3: the issuer in the metadata must be the one its URL was built from.
    if not isinstance(issuer, str) or issuer.rstrip("/") != origin:
        raise OAuthRefused(f"{ERROR_PREFIX}: the metadata at {url} names another issuer")
    endpoint = metadata.get("token_endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise OAuthRefused(f"{ERROR_PREFIX}: the metadata at {url} has no token_endpoint")
    found = urlsplit(endpoint)
    allowed = ("https",) if parts.scheme == "https" else ("https", "http")
    if found.scheme not in allowed or not found.hostname or found.fragment:
        raise OAuthRefused(f"{ERROR_PREFIX}: the token_endpoint in {url} is not a usable {allowed[0]} URL")
    try:
        # The refresh token goes there: another origin only at a public address, as for the
        # Session's own URLs (backends.jmap.url_policy; JMAP_UPSTREAM_ALLOW_PRIVATE).
        upstream_url_check(endpoint, session_url=session_url, what="the discovered token_endpoint")
    except UpstreamUrlRefused as exc:
        raise OAuthRefused(f"{ERROR_PREFIX}: {exc}") from None
    # Once: only an account still without a token URL gets the discovered one.
    Account.objects.filter(pk=account.pk, oauth_token_url="").update(oauth_token_url=endpoint)
    account.oauth_token_url = endpoint
    log.info("account %s: OAuth token endpoint discovered at %s", account.accountid, _host(endpoint))
    return endpoint


# ---------------------------------------------------------------- the grant (RFC 6749 §6)


def _error_code(response: httpx.Response) -> tuple[str, str]:
    """The §5.2 `error` and a short, token-free `error_description` of an answer."""
    try:
        document = response.json()
    except (ValueError, UnicodeDecodeError):
        return "", ""
    if not isinstance(document, dict):
        return "", ""
    code = document.get("error")
    description = document.get("error_description")
    return (code if isinstance(code, str) else "",
            _short(description) if isinstance(description, str) else "")  # fmt: skip


def refresh_token_grant(*, token_url: str, refresh_token: str, client_id: str, client_secret: str = "") -> TokenAnswer:
    """One refresh_token grant; raises OAuthRefused or a transient BackendError (module doc)."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    headers: dict[str, str] = {}
    if client_secret:
        # §2.3.1: client id and secret form-urlencoded, then HTTP Basic.
        pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    elif client_id:
        form["client_id"] = client_id
    where = _host(token_url)
    try:
        with _http() as client:
            response = client.post(token_url, data=form, headers=headers)
    except httpx.HTTPError as exc:
        raise _transport_failure(exc, what="token endpoint", url=token_url) from None
    status = response.status_code
    if status == 200:
        try:
            document = response.json()
        except (ValueError, UnicodeDecodeError):
            raise _transient(f"{ERROR_PREFIX}: the token endpoint {where} did not answer JSON") from None
        if not isinstance(document, dict):
            raise _transient(f"{ERROR_PREFIX}: the token endpoint {where} did not answer a JSON object")
        access = document.get("access_token")
        kind = document.get("token_type")
        if not isinstance(access, str) or not access:
            raise _transient(f"{ERROR_PREFIX}: the token endpoint {where} answered without an access_token")
        # §7.1: the type says how to use the token; the proxy speaks Bearer (RFC 6750) only.
        if not isinstance(kind, str) or kind.lower() != "bearer":
            raise OAuthRefused(f"{ERROR_PREFIX}: the token endpoint {where} issued a token of type "
                               f"{_short(str(kind))!r}, not Bearer")  # fmt: skip
        rotated = document.get("refresh_token")
        return TokenAnswer(access_token=access, refresh_token=rotated if isinstance(rotated, str) else "")
    code, description = _error_code(response)
    detail = f"{code}: {description}" if description else code or f"HTTP {status}"
    if code in TRANSIENT_ERRORS or status >= 500 or status in (408, 429):
        raise _transient(f"{ERROR_PREFIX}: the token endpoint {where} failed ({detail})")
    if code and code not in PERMANENT_ERRORS:
        # An extension error code (§8.5): nothing says it will pass; treat it as a refusal.
        log.info("token endpoint %s answered the unregistered error code %r", where, code)
    raise OAuthRefused(f"{ERROR_PREFIX}: the token endpoint {where} refused ({detail}); store new OAuth tokens")


def _tokens_store(*, account: Account, row: Account, answer: TokenAnswer) -> bool:
    """Write the new tokens if the row still holds what was read under the lease; True if written."""
    now = timezone.now()
    access_binding = secret_binding(account=row, field="oauth_access_token")
    values: dict[str, Any] = {
        "oauth_access_token": seal(answer.access_token, binding=access_binding),
        "updated_at": now,
    }
    if answer.refresh_token:
        refresh_binding = secret_binding(account=row, field="oauth_refresh_token")
        values["oauth_refresh_token"] = seal(answer.refresh_token, binding=refresh_binding)
    written = Account.objects.filter(pk=row.pk, oauth_access_token=str(row.oauth_access_token or "")).update(**values)
    if not written:
        return False
    account.oauth_access_token = StoredSecret(values["oauth_access_token"], binding=access_binding)
    if answer.refresh_token:
        account.oauth_refresh_token = StoredSecret(values["oauth_refresh_token"], binding=refresh_binding)
    account.oauth_token_url = row.oauth_token_url
    account.updated_at = now
    return True


def _grant_under_lease(*, account: Account, row: Account) -> bool:
    from backends.models import UpstreamOAuthState

    refresh_token = _plain(row, "oauth_refresh_token")
    if not refresh_token:
        return False
    state = UpstreamOAuthState.objects.filter(account_id=row.pk).first()
    token_url = row.oauth_token_url
    client_id = row.oauth_client_id
    if state is not None and state.rejected_digest and state.rejected_digest == _grant_digest(
        token_url=token_url, client_id=client_id, refresh_token=refresh_token
    ):
        return False  # refused before; nothing changed since
    digest = ""
    try:
        if not token_url:
            token_url = token_url_discover(account=row)
        digest = _grant_digest(token_url=token_url, client_id=client_id, refresh_token=refresh_token)
        answer = refresh_token_grant(token_url=token_url, refresh_token=refresh_token, client_id=client_id,
                                     client_secret=oauth_client_secret(client_id))  # fmt: skip
    except OAuthRefused as exc:
        log.warning("account %s: %s", account.accountid, exc.message)
        # Discovery refused before any token URL: remember the grant as it stood (URL "").
        rejected = digest or _grant_digest(token_url=row.oauth_token_url, client_id=client_id,
                                           refresh_token=refresh_token)  # fmt: skip
        _failure_record(account, message=exc.message, rejected_digest=rejected)
        account.oauth_token_url = row.oauth_token_url
        return False
    except BackendError as exc:
        log.warning("account %s: %s", account.accountid, exc.message)
        _failure_record(account, message=exc.message)
        account.oauth_token_url = row.oauth_token_url
        raise
    if not _tokens_store(account=account, row=row, answer=answer):
        # Another process wrote newer tokens meanwhile (its lease outlived ours): use them.
        fresh = Account.objects.filter(pk=row.pk).first()
        if fresh is None:
            return False
        _adopt(account, fresh)
        log.info("account %s: OAuth tokens changed during the refresh; using the newer ones", account.accountid)
        return True
    UpstreamOAuthState.objects.update_or_create(account_id=row.pk, defaults={
        "refreshed_at": timezone.now(), "error": "", "error_at": None, "rejected_digest": "",
    })  # fmt: skip
    UpstreamOAuthState.objects.filter(account_id=row.pk).update(grants=F("grants") + 1)
    # The account's error was this refresh's (a dead token): it is cured now.
    Account.objects.filter(pk=row.pk, last_sync_error__startswith=ERROR_PREFIX).update(
        last_sync_error="", last_sync_error_at=None
    )
    log.info("account %s: OAuth access token refreshed at %s", account.accountid, _host(token_url))
    return True


def access_token_refresh(account: Account) -> bool:
    """Refresh the OAuth access token of `account`; see the module doc for the contract."""
    if account.auth_type != Account.AuthType.OAUTH or account.pk is None:
        return False
    stale = _plain(account, "oauth_access_token")
    lease = _RefreshLease(account.pk)
    deadline = time.monotonic() + WAIT_SECONDS
    while not lease.acquire():
        if time.monotonic() >= deadline:
            raise _transient(f"{ERROR_PREFIX}: another refresh of this account did not finish in {WAIT_SECONDS:g}s")
        time.sleep(WAIT_STEP)
    try:
        row = Account.objects.filter(pk=account.pk).first()
        if row is None or row.auth_type != Account.AuthType.OAUTH:
            return False
        if _plain(row, "oauth_access_token") != stale:
            # Refreshed by someone else while this caller held the old token.
            _adopt(account, row)
            return True
        return _grant_under_lease(account=account, row=row)
    finally:
        lease.release()


def oauth_state_describe(*, account: Account) -> dict[str, Any]:
    """The OAuth refresh record as the management API may show it (no token, no digest)."""
    from backends.models import UpstreamOAuthState

    state = UpstreamOAuthState.objects.filter(account_id=account.pk).first()
    if state is None:
        return {}
    refused = bool(state.rejected_digest)
    if refused:
        # Refused for good only while the account still holds the grant that was refused.
        try:
            current = _grant_digest(token_url=account.oauth_token_url, client_id=account.oauth_client_id,
                                    refresh_token=_plain(account, "oauth_refresh_token"))  # fmt: skip
        except CryptoError:
            current = state.rejected_digest
        refused = current == state.rejected_digest
    return {
        "refreshedAt": state.refreshed_at.isoformat() if state.refreshed_at else None,
        "error": state.error,
        "errorAt": state.error_at.isoformat() if state.error_at else None,
        "refusedForGood": refused,
    }


__all__ = [
    "OAuthRefused",
    "TokenAnswer",
    "access_token_refresh",
    "oauth_client_secret",
    "oauth_state_describe",
    "refresh_token_grant",
    "token_url_discover",
]
