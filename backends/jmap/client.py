"""The one way the proxy talks to an upstream JMAP server (passthrough accounts).

UpstreamClient wraps one passthrough Account (kind "jmap"): its credentials
(Basic RFC 7617, Bearer RFC 6750, or an OAuth 2.0 access token that is
refreshed on 401, RFC 6749 §6), its stored upstream Session (RFC 8620 §2) and
a pooled HTTP client (httpx; method calls go over backends.jmap.api_transport's
kept-alive connections). Everything that forwards to the upstream -- method calls,
blobs, push -- goes through it or, for async streaming, through its
auth_headers() and session() URLs.

Contracts
---------
- Every failure is an UpstreamError (a BackendError of kind "jmap") whose
  message an operator can read and which never contains a credential. It
  carries the upstream's HTTP status (None for transport failures), whether it
  timed out, and the RFC 7807 problem document the upstream sent, if any.
- session() is the stored Session (Account.upstream_session), fetched once
  when none is stored yet; session_refresh() fetches it again and updates the
  Account and its UpstreamAccount rows (backends.jmap.session_store).
- The Session's apiUrl, downloadUrl, uploadUrl and eventSourceUrl are made
  absolute against the URL the Session was finally read from, after
  redirects: Cyrus answers /.well-known/jmap with a 301 to /jmap and gives
  relative URLs such as "/jmap/" (RFC 8620 §2 asks for URLs; RFC 3986 §5
  resolution makes the relative ones usable).
- api_post() POSTs a JMAP Request (RFC 8620 §3.3) and returns the Response
  object (§3.4). With OAuth, a 401 makes it refresh the access token once and
  retry once. A Response whose sessionState differs from the stored Session's
  state makes it refresh the Session (§3.4: the client should refetch it),
  after which the new upstream accounts and capabilities are known. A refresh
  that fails or does not reach that state pauses such refreshes for
  STATE_REFRESH_PAUSE (a flapping sessionState is no refresh storm).
- Answers larger than settings.JMAP_MAX_RESPONSE_SIZE are refused while being
  read (UpstreamError), so a hostile or broken upstream cannot exhaust memory;
  and a whole answer must arrive within the request's timeout (not only each
  piece of it), so a dripping upstream cannot hold a request for ever.
- Redirects are not followed for API calls (a redirected POST would resend
  the body and credentials somewhere the operator did not configure); the
  Session GET follows them, as RFC 8620 §2.2 expects for the well-known URL,
  and httpx drops the Authorization header when a redirect leaves the origin.
- Every request, each redirect hop included, and every URL of a fetched
  Session must pass backends.jmap.url_policy: another origin than the
  sessionUrl's only at a public address and without dropping https, so an
  upstream cannot aim the proxy (and the credentials) at internal services.
- Upstream cookies are never stored: authentication is by header only, and a
  cookie set for one set of credentials must not ride along with another's.
"""
from __future__ import annotations

import base64
import http.cookiejar
import importlib
import json
import logging
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import httpx
from django.conf import settings

from backends.base import BackendError
from backends.jmap.api_transport import connections_close, exchange, url_host_port
from backends.jmap.url_policy import UpstreamRequestRefused, UpstreamUrlRefused, upstream_url_check
from backends.tls import tls_client_context
from jmapcore.protocol.json_fast import json_dumps, json_loads

if TYPE_CHECKING:
    from accounts.models import Account

log = logging.getLogger("jmap.backends.jmap")

KIND = "jmap"
SESSION_TIMEOUT = 10.0
API_TIMEOUT = 30.0
# After a sessionState-triggered Session refresh that failed or did not reach the
# Response's state, no other such refresh for this long: an upstream whose
# sessionState flaps (or whose Session GET fails) would otherwise cost a Session
# GET, a database write and up to SESSION_TIMEOUT on every request. The periodic
# sync still refreshes in between.
STATE_REFRESH_PAUSE = 60.0
# A Session is stored on the Account row and read with it by every request of
# the pool: far smaller than an API answer may be (Cyrus's is a few KiB).
SESSION_MAX_SIZE = 4 * 1024 * 1024
URL_PROPERTIES: tuple[str, ...] = ("apiUrl", "downloadUrl", "uploadUrl", "eventSourceUrl")
_JSON_TYPES = ("application/json", "application/problem+json")
# RFC 7807 problem documents are small; keep what is shown to operators short.
_PROBLEM_TEXT_MAX = 200


class UpstreamError(BackendError):
    """A failure talking to the upstream JMAP server.

    `status` is the HTTP status of the upstream's answer (None when no answer
    came: refused connection, TLS failure, timeout); `problem` is the RFC 7807
    problem document the upstream sent with it (RFC 8620 §3.6.1), if any.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status: int | None = None,
        timed_out: bool = False,
        problem: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, permanent=permanent, kind=KIND)
        self.status = status
        self.timed_out = timed_out
        self.problem = problem


@dataclass(frozen=True)
class UpstreamSession:
    """The parts of a stored upstream Session (RFC 8620 §2) the forwarders use.

    The four URLs are absolute; `raw` is the whole stored Session object.
    """

    api_url: str
    download_url: str
    upload_url: str
    event_source_url: str
    capabilities: dict[str, Any]
    state: str
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> UpstreamSession:
        return cls(
            api_url=str(raw.get("apiUrl", "")),
            download_url=str(raw.get("downloadUrl", "")),
            upload_url=str(raw.get("uploadUrl", "")),
            event_source_url=str(raw.get("eventSourceUrl", "")),
            capabilities=dict(raw.get("capabilities") or {}),
            state=str(raw.get("state", "")),
            raw=raw,
        )


# ---------------------------------------------------------------- errors


def upstream_transport_error(exc: httpx.TransportError, *, url: str, what: str, timeout: float) -> UpstreamError:
    """An UpstreamError for a request to `url` that got no HTTP answer.

    `what` names the request for the operator ("sessionUrl", "apiUrl", ...).
    Certificate and name-resolution failures are permanent (they need the
    operator), refused connections and timeouts transient.
    """
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamError(f"timed out after {timeout:g}s fetching {what}", permanent=False, timed_out=True)
    if isinstance(exc, httpx.LocalProtocolError):
        # Never its text: h11 quotes the offending header whole ("Illegal header value
        # b'Bearer <token>\\n'"), and a stored token with a stray newline is one.
        return UpstreamError(f"could not send the request to {what}: it is not valid HTTP (a stored "
                             "credential with a line break or other control character?)", permanent=True)
    cause: BaseException | None = exc
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:  # httpx wraps the socket/ssl error a few levels deep
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLCertVerificationError):
            return UpstreamError(f"TLS handshake failed: certificate verify failed: {cause.verify_message}",
                                 permanent=True)
        if isinstance(cause, ssl.SSLError):
            reason = getattr(cause, "reason", None) or str(cause)
            return UpstreamError(f"TLS handshake failed: {str(reason).replace('_', ' ').lower()}", permanent=True)
        if isinstance(cause, ConnectionRefusedError):
            return UpstreamError(f"connection refused to {url_host_port(url)}", permanent=False)
        cause = cause.__cause__ or cause.__context__
    text = str(exc)
    if "certificate verify failed" in text:
        return UpstreamError(f"TLS handshake failed: {text}", permanent=True)
    if "Connection refused" in text or "Errno 111" in text:
        return UpstreamError(f"connection refused to {url_host_port(url)}", permanent=False)
    if "Name or service not known" in text or "nodename nor servname" in text:
        return UpstreamError(f"cannot resolve host {urlsplit(url).hostname!r}", permanent=True)
    return UpstreamError(f"cannot reach {what} at {url_host_port(url)}: {text or type(exc).__name__}", permanent=False)


def _problem_of(content_type: str, body: bytes) -> dict[str, Any] | None:
    if not any(kind in content_type for kind in _JSON_TYPES):
        return None
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if isinstance(document, dict) and isinstance(document.get("type"), str):
        return document
    return None


def _status_error(*, what: str, status: int, content_type: str, body: bytes) -> UpstreamError:
    problem = _problem_of(content_type, body)
    message = f"{what} returned HTTP {status}"
    if problem is not None:
        message += f" ({str(problem['type'])[:_PROBLEM_TEXT_MAX]})"
    # 4xx does not cure itself (credentials, URL, request), 5xx and 429 may.
    permanent = 400 <= status < 500 and status not in (408, 429)
    return UpstreamError(message, permanent=permanent, status=status, problem=problem)


# ---------------------------------------------------------------- session helpers


def session_urls_absolute(session: dict[str, Any], *, base_url: str) -> dict[str, Any]:
    """`session` with its four URL (templates) resolved against `base_url` (RFC 3986 §5).

    Resolution keeps `{...}` template expressions as they are.
    """
    resolved = dict(session)
    for name in URL_PROPERTIES:
        value = session.get(name)
        if isinstance(value, str) and value:
            resolved[name] = urljoin(base_url, value)
    return resolved


def _header_value_valid(value: str) -> bool:
    """RFC 9110 §5.5: visible ASCII, spaces and tabs, obs-text (Latin-1 octets 0x80-0xFF); no controls."""
    return all(char == "\t" or 0x20 <= ord(char) <= 0x7E or 0x80 <= ord(char) <= 0xFF for char in value)


def _no_cookies() -> http.cookiejar.CookieJar:
    return http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


def _max_response_size() -> int:
    return int(getattr(settings, "JMAP_MAX_RESPONSE_SIZE", 32 * 1024 * 1024))


# ---------------------------------------------------------------- the client


class UpstreamClient:
    """Talks to the upstream JMAP server of one passthrough Account (see module doc)."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self._http: httpx.Client | None = None
        self._lock = threading.Lock()
        # A sessionState that a fresh Session did not match (a server whose API
        # and Session states differ by design): not worth a refetch per call.
        self._unmatched_state: str | None = None
        self._state_refresh_after = 0.0  # time.monotonic() before which no sessionState refresh runs
        # The Authorization header last built, under the stored (sealed) credential it came from.
        self._auth_memo: tuple[tuple[str, str, str], dict[str, str]] | None = None

    def __repr__(self) -> str:
        return f"UpstreamClient({self.account.accountid!r})"

    # -- credentials

    def auth_headers(self) -> dict[str, str]:
        """The Authorization header for the account's auth type.

        basic: RFC 7617 with username (else email) and password; bearer: the
        stored password is the token (RFC 6750); oauth: the current access token.
        A credential no HTTP header can carry raises UpstreamError (permanent),
        whose message never quotes it.

        The credential is opened once per stored value, not per request (with
        OpenBao/Vault Transit, opening it is a round trip to the vault): the
        header is kept beside the sealed value it came from and built again
        when that value changes (a new password, a refreshed OAuth token).
        """
        from accounts.secret_fields import account_secret_get

        account = self.account
        auth_type = account.auth_type or "basic"
        field = "oauth_access_token" if auth_type == "oauth" else "password"
        key = (auth_type, account.username or account.email, str(getattr(account, field) or ""))
        memo = self._auth_memo
        if memo is not None and memo[0] == key:
            return dict(memo[1])
        if auth_type == "oauth":
            token = account_secret_get(account=account, field="oauth_access_token")
            headers = {"Authorization": f"Bearer {token}"}
        else:
            password = account_secret_get(account=account, field="password") if account.password else ""
            if auth_type == "bearer":
                headers = {"Authorization": f"Bearer {password}"}
            else:
                pair = base64.b64encode(f"{key[1]}:{password}".encode()).decode("ascii")
                headers = {"Authorization": f"Basic {pair}"}
        if not _header_value_valid(headers["Authorization"]):
            # Refused here, without quoting it: httpx would refuse it later with the header in its message.
            raise UpstreamError("the stored credential cannot be sent in an HTTP header (it holds a line "
                                "break, another control character or a character beyond Latin-1)", permanent=True)
        self._auth_memo = (key, headers)
        return dict(headers)

    def credentials_refresh(self) -> bool:
        """OAuth: exchange the refresh token for a new access token (RFC 6749 §6).

        Implemented by backends.jmap.oauth.access_token_refresh(account) when
        that module exists; False when the account does not use OAuth, the
        module is missing, or the refresh did not succeed.
        """
        if self.account.auth_type != "oauth":
            return False
        try:
            # Written by another part of the passthrough work; absent, OAuth cannot refresh.
            oauth = importlib.import_module("backends.jmap.oauth")
        except ModuleNotFoundError as exc:
            if exc.name != "backends.jmap.oauth":
                raise
            return False
        refresh = getattr(oauth, "access_token_refresh", None)
        if refresh is None:
            return False
        try:
            result = refresh(self.account)
        except BackendError as exc:
            log.warning("account %s: OAuth token refresh failed: %s", self.account.accountid, exc)
            return False
        return result is not False

    # -- transport

    def http(self) -> httpx.Client:
        """The account's pooled sync HTTP client (TLS via backends.tls, no redirects, no cookies)."""
        with self._lock:
            if self._http is None:
                self._http = httpx.Client(
                    verify=tls_client_context(),
                    follow_redirects=False,
                    timeout=API_TIMEOUT,
                    cookies=_no_cookies(),
                    limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
                    headers={"User-Agent": "jmap-proxy"},
                    # Every request, each redirect hop included, goes only where url_policy allows.
                    event_hooks={"request": [self._destination_check]},
                )
            return self._http

    def _http_adopt(self, previous: UpstreamClient) -> None:
        """Serve with `previous`'s pooled HTTP client (upstream_client: same account and sessionUrl).

        Its request hook checks destinations against the same sessionUrl. The
        previous client lets go of it (it stays the only owner's to close); a
        request it still has in flight finishes on it.
        """
        with previous._lock:
            adopted, previous._http = previous._http, None
        with self._lock:
            if self._http is None:
                self._http = adopted

    def _destination_check(self, request: httpx.Request) -> None:
        """Refuse (UpstreamRequestRefused) a request to where the account's credentials must not go (url_policy)."""
        reason = self._url_refused(str(request.url))
        if reason is not None:
            raise UpstreamRequestRefused(reason, request=request)

    def _url_refused(self, url: str) -> str | None:
        """Why url_policy keeps the account's credentials from `url` (logged, host and port only),
        or None when they may go there."""
        try:
            upstream_url_check(url, session_url=self.account.session_url,
                               what=f"the upstream URL at {url_host_port(url)}")  # fmt: skip
        except UpstreamUrlRefused as exc:
            log.warning("account %s: %s", self.account.accountid, exc)
            return str(exc)
        return None

    def close(self) -> None:
        with self._lock:
            if self._http is not None:
                self._http.close()
                self._http = None

    def _send(
        self,
        *,
        method: str,
        url: str,
        what: str,
        timeout: float,
        follow_redirects: bool = False,
        limit: int | None = None,
    ) -> tuple[httpx.Response, bytes]:
        """One bodiless request over httpx (the Session's GET; API calls go by _api_send) with the
        account's credentials; retries once after an OAuth refresh on 401.

        Returns the response (status 200-299) and its body, read up to
        JMAP_MAX_RESPONSE_SIZE; raises UpstreamError otherwise.
        """
        limit = _max_response_size() if limit is None else limit
        for attempt in (1, 2):
            # httpx's timeout bounds each read, not the whole answer: an upstream dripping a
            # byte now and then would hold the request (and a worker) for ever.
            deadline = time.monotonic() + timeout
            headers = {"Accept": "application/json", **self.auth_headers()}
            try:
                request = self.http().build_request(method, url, headers=headers, timeout=timeout)
                response = self.http().send(request, stream=True, follow_redirects=follow_redirects)
            except UnicodeEncodeError:
                # HTTP header values are Latin-1 at most; the error's text would quote the credential's characters.
                raise UpstreamError(f"could not send the request to {what}: a stored credential has characters "
                                    "an HTTP header cannot carry", permanent=True) from None
            except UpstreamRequestRefused as exc:
                raise UpstreamError(str(exc), permanent=True) from None
            except httpx.TooManyRedirects:
                raise UpstreamError(f"{what} redirects too many times", permanent=True) from None
            except httpx.TransportError as exc:
                raise upstream_transport_error(exc, url=url, what=what, timeout=timeout) from None
            except httpx.InvalidURL:
                raise UpstreamError(f"{what} is not a usable URL", permanent=True) from None
            try:
                body = self._read_bounded(response, what=what, limit=limit, timeout=timeout, url=url,
                                          deadline=deadline)
            finally:
                response.close()
            if response.status_code == 401 and attempt == 1 and self.credentials_refresh():
                continue
            if not 200 <= response.status_code < 300:
                raise _status_error(what=what, status=response.status_code,
                                    content_type=response.headers.get("content-type", ""), body=body)
            return response, body
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    @staticmethod
    def _read_bounded(
        response: httpx.Response, *, what: str, limit: int, timeout: float, url: str, deadline: float | None = None
    ) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise UpstreamError(f"{what} answer is too large ({int(declared)} bytes, limit {limit})",
                                permanent=False, status=response.status_code)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise UpstreamError(f"{what} answer is too large (over {limit} bytes)",
                                        permanent=False, status=response.status_code)
                chunks.append(chunk)
                if deadline is not None and time.monotonic() > deadline:
                    raise UpstreamError(f"timed out after {timeout:g}s reading the answer of {what}",
                                        permanent=False, timed_out=True)
        except httpx.TransportError as exc:
            raise upstream_transport_error(exc, url=url, what=what, timeout=timeout) from None
        return b"".join(chunks)

    def _api_send(self, *, url: str, content: bytes, timeout: float) -> tuple[int, bytes]:
        """POST `content` to the apiUrl with the account's credentials (api_transport); retries once
        after an OAuth refresh on 401. Returns the status (200-299) and body; raises UpstreamError."""
        what = "apiUrl"
        reason = self._url_refused(url)
        if reason is not None:
            raise UpstreamError(reason, permanent=True)
        for attempt in (1, 2):
            headers = {"Accept": "application/json", "Content-Type": "application/json", **self.auth_headers()}
            answer = exchange(owner=self.account.pk, session_url=self.account.session_url, method="POST", url=url,
                              headers=headers, body=content, timeout=timeout, limit=_max_response_size(),
                              what=what, error=UpstreamError)  # fmt: skip
            if answer.status == 401 and attempt == 1 and self.credentials_refresh():
                continue
            if not 200 <= answer.status < 300:
                raise _status_error(what=what, status=answer.status, content_type=answer.content_type,
                                    body=answer.body)  # fmt: skip
            return answer.status, answer.body
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    # -- session

    def session_fetch(self, *, timeout: float = SESSION_TIMEOUT) -> dict[str, Any]:
        """GET the upstream Session (following redirects), validated, its URLs absolute.

        Does not store it: session_refresh() does.
        """
        from backends.jmap.session_check import jmap_session_validate

        url = self.account.session_url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UpstreamError("sessionUrl is not an http(s) URL", permanent=True)
        response, body = self._send(method="GET", url=url, what="sessionUrl", timeout=timeout,
                                    follow_redirects=True, limit=SESSION_MAX_SIZE)
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise UpstreamError("sessionUrl did not return a JMAP Session (response is not JSON)",
                                permanent=True, status=response.status_code) from None
        try:
            session = jmap_session_validate(document)
        except BackendError as exc:
            raise UpstreamError(exc.message, permanent=True, status=response.status_code) from None
        resolved = session_urls_absolute(session, base_url=str(response.url))
        for name in URL_PROPERTIES:
            value = resolved.get(name)
            if isinstance(value, str) and value:
                try:
                    upstream_url_check(value, session_url=url, what=f"the upstream Session's {name}")
                except UpstreamUrlRefused as exc:
                    raise UpstreamError(str(exc), permanent=True, status=response.status_code) from None
        return resolved

    def session(self) -> UpstreamSession:
        """The stored upstream Session; fetched (and stored) first when there is none yet."""
        raw = self.account.upstream_session
        if not raw:
            return self.session_refresh()
        return UpstreamSession.from_raw(raw)

    def session_refresh(self) -> UpstreamSession:
        """Fetch the Session again; updates Account.upstream_session and the UpstreamAccount rows."""
        from backends.jmap.session_store import upstream_session_refresh

        upstream_session_refresh(account=self.account, client=self)
        return UpstreamSession.from_raw(self.account.upstream_session)

    # -- API

    def api_post(self, request: dict[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        """POST a JMAP Request to the upstream's apiUrl; the Response object (RFC 8620 §3.3, §3.4).

        Request-level errors (§3.6.1) come back as UpstreamError with the
        upstream's status and problem document. A Response with another
        sessionState than the stored Session's makes the Session refresh.

        Sent with backends.jmap.api_transport (kept-alive sockets, HTTP/1.1
        by backends.jmap.http11_wire) rather than httpx: the same contracts
        (url_policy, deadline, size bound, TLS, no redirects) at a fraction
        of the CPU.
        """
        session = self.session()
        wait = API_TIMEOUT if timeout is None else timeout
        content = json_dumps(request)
        status, body = self._api_send(url=session.api_url, content=content, timeout=wait)
        try:
            document = json_loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise UpstreamError("apiUrl did not return JSON", permanent=False, status=status) from None
        if not isinstance(document, dict) or not isinstance(document.get("methodResponses"), list):
            raise UpstreamError("apiUrl did not return a JMAP Response (no methodResponses)", permanent=False,
                                status=status)
        upstream_state = document.get("sessionState")
        if (isinstance(upstream_state, str) and upstream_state != session.state
                and upstream_state != self._unmatched_state and time.monotonic() >= self._state_refresh_after):
            try:
                fresh = self.session_refresh()
            except BackendError as exc:
                # The answer itself is good; a later call tries the refresh again, after a pause.
                log.warning("account %s: upstream Session refresh failed: %s", self.account.accountid, exc)
                self._state_refresh_after = time.monotonic() + STATE_REFRESH_PAUSE
            else:
                unmatched = fresh.state != upstream_state
                self._unmatched_state = upstream_state if unmatched else None
                self._state_refresh_after = time.monotonic() + STATE_REFRESH_PAUSE if unmatched else 0.0
        return document


# ---------------------------------------------------------------- the per-process cache

_clients: dict[int, UpstreamClient] = {}
_clients_lock = threading.Lock()


def upstream_client(account: Account) -> UpstreamClient:
    """The process's UpstreamClient for `account`, reused while the account row is unchanged.

    Keyed by (pk, updated_at): a changed sessionUrl or credential (which saves
    the row) gets a fresh client; a Session refresh done through a client
    keeps it (its own Account instance carries the new updated_at).

    A fresh client for the same sessionUrl takes over the replaced one's pooled
    HTTP client, so its kept-alive connections (and TLS sessions) go on
    serving: every Session refresh (the worker's periodic one too) saves the
    row, and a new connection per refresh would add a TCP and TLS handshake
    to the next request. Credentials are per request (headers, no cookies),
    so nothing of the old ones rides along.
    """
    if account.pk is None:
        return UpstreamClient(account)
    with _clients_lock:
        cached = _clients.get(account.pk)
        if cached is not None and cached.account.updated_at == account.updated_at:
            return cached
        client = UpstreamClient(account)
        if (cached is not None and cached.account.session_url == account.session_url
                and cached.account.accountid == account.accountid):
            client._http_adopt(cached)
        _clients[account.pk] = client
    # The replaced client may still be serving a request in another thread: a pooled
    # HTTP client it did not hand over closes when it is garbage-collected, not here.
    return client


def upstream_clients_clear() -> None:
    """Forget every cached client (tests; a process that changes TLS settings)."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()
    connections_close()
