"""A small WebDAV client on httpx for one account's CardDAV or CalDAV server.

- Authentication: HTTP Basic with the account's username (else its email) and
  password, read through accounts.secrets like the IMAP backend does
  (backends.imap.pool); an account holding only an OAuth access token sends it
  as a Bearer token. Credentials are never logged nor put in error messages.
- TLS: https URLs are verified with backends.tls.tls_client_context (system CAs
  plus JMAP_TLS_CA_FILE, TLS 1.2+).
- Timeouts: DAV_TIMEOUT seconds per connect/read/write; a whole request is
  bounded by the server's pace, never waits forever.
- Size: an answer body larger than DAV_MAX_RESPONSE_BYTES is refused (read in
  chunks, so it never sits in memory whole), protecting the worker from a
  runaway server.
- Redirects are not followed here (discovery follows the /.well-known one
  itself, to the same host only), so credentials never go to another host.
- Failures become BackendError (errors.py): transient for timeouts, refused
  and dropped connections and 408/429/5xx-gateway answers; DavRefused/DavConflict
  for other refusals (answer.refused()).

Every request is reported to the callables in DAV_REQUEST_OBSERVERS (method,
URL) before it is sent: tests count requests with it (a sync that finds
nothing new costs one request per home set).
"""
from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from accounts.models import Account
from backends.dav.davxml import Multistatus, error_precondition, multistatus_parse, propfind_body
from backends.dav.errors import (
    TRANSIENT_STATUSES,
    DavConflict,
    DavRefused,
    DavTooLarge,
    dav_permanent,
    dav_transient,
)
from backends.tls import tls_client_context

log = logging.getLogger("jmap.sync.dav")

DAV_TIMEOUT = 20.0
DAV_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
USER_AGENT = "jmap-proxy DAV"

DAV_REQUEST_OBSERVERS: list[Callable[[str, str], None]] = []


@dataclass
class DavAnswer:
    method: str
    url: str
    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def etag(self) -> str:
        return etag_normalise(self.headers.get("etag", ""))

    def refused(self, what: str) -> DavRefused:
        """The exception for a non-success answer to `what` (e.g. "PUT /a/b.vcf")."""
        precondition = error_precondition(self.body)
        reason = f"{what}: {self.status} {httpx.codes.get_reason_phrase(self.status)}".rstrip()
        if precondition:
            reason += f" ({precondition})"
        if self.status == 412:
            return DavConflict(reason, status=412, precondition=precondition, reason=reason)
        if self.status == 401:
            return DavRefused(f"{what}: DAV login rejected (401)", status=401, reason="login rejected")
        return DavRefused(reason, status=self.status, precondition=precondition, reason=reason,
                          permanent=self.status not in TRANSIENT_STATUSES)


def etag_normalise(value: str) -> str:
    """An ETag as sent back in If-Match: quoted (RFC 7232 §2.3). Some servers
    send it bare in PROPFIND getetag; weak ETags (W/"...") are kept as they are."""
    value = value.strip()
    if not value or not value.isprintable():
        # Control characters (CR/LF) cannot go into an If-Match header: such an
        # ETag is treated as none, so the next write reads a fresh one.
        return ""
    if value.startswith('"') or value.startswith("W/"):
        return value
    return f'"{value}"'


def _path_of(url: str) -> str:
    return httpx.URL(url).path


class DavClient:
    """One account's connection pool to its CardDAV server (use as a context manager)."""

    def __init__(self, *, username: str, password: str = "", bearer: str = "", timeout: float = DAV_TIMEOUT,
                 max_bytes: int | None = None) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes or DAV_MAX_RESPONSE_BYTES
        auth: httpx.Auth | None = None
        headers = {"User-Agent": USER_AGENT}
        if password or not bearer:
            auth = httpx.BasicAuth(username, password)
        else:
            headers["Authorization"] = f"Bearer {bearer}"
        self._http = httpx.Client(auth=auth, headers=headers, timeout=httpx.Timeout(timeout),
                                  verify=tls_client_context(), follow_redirects=False, trust_env=False)

    @classmethod
    def for_account(cls, account: Account, **kwargs: Any) -> DavClient:
        from accounts.secrets import unseal

        return cls(
            username=account.username or account.email,
            password=unseal(account.password) if account.password else "",
            bearer=unseal(account.oauth_access_token) if account.oauth_access_token else "",
            **kwargs,
        )

    def __enter__(self) -> DavClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- requests -----------------------------------------------------------
    def request(self, method: str, url: str, *, body: bytes | str | None = None,
                headers: dict[str, str] | None = None) -> DavAnswer:
        """Send one request; any HTTP status is returned, transport failures raise."""
        what = f"{method} {_path_of(url)}"
        for observer in list(DAV_REQUEST_OBSERVERS):
            observer(method, url)
        content = body.encode() if isinstance(body, str) else body
        try:
            with self._http.stream(method, url, content=content, headers=headers or {}) as response:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise DavTooLarge(f"{what}: the answer exceeds {self.max_bytes} bytes")
                    chunks.append(chunk)
                return DavAnswer(method=method, url=url, status=response.status_code,
                                 headers=response.headers, body=b"".join(chunks))
        except httpx.TimeoutException:
            raise dav_transient(f"{what}: timed out after {self.timeout:g}s") from None
        except httpx.ConnectError as exc:
            text = str(exc)
            if isinstance(exc.__context__, ssl.SSLError) or "CERTIFICATE" in text or "SSL" in text:
                raise dav_permanent(f"{what}: TLS handshake failed: {text[:200]}") from None
            raise dav_transient(f"{what}: cannot connect: {text[:200]}") from None
        except httpx.LocalProtocolError as exc:
            # A request this side cannot send (a header the server's data made invalid): retrying cannot help.
            raise dav_permanent(f"{what}: the request could not be sent ({str(exc)[:200]})") from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise dav_transient(f"{what}: connection dropped by the server ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise dav_transient(f"{what}: {type(exc).__name__}: {str(exc)[:200]}") from None
        except httpx.InvalidURL as exc:
            raise dav_permanent(f"invalid DAV URL: {exc}") from None

    def checked(self, method: str, url: str, *, ok: tuple[int, ...], body: bytes | str | None = None,
                headers: dict[str, str] | None = None) -> DavAnswer:
        """request(), raising answer.refused() unless the status is in `ok`."""
        answer = self.request(method, url, body=body, headers=headers)
        if answer.status not in ok:
            raise answer.refused(f"{method} {_path_of(url)}")
        return answer

    def propfind(self, url: str, *, depth: str, props: list[tuple[str, str]]) -> Multistatus:
        answer = self.checked("PROPFIND", url, ok=(207,), body=propfind_body(props),
                              headers={"Depth": depth, "Content-Type": "application/xml; charset=utf-8"})
        return multistatus_parse(answer.body, base=url, what=f"PROPFIND {_path_of(url)}")

    def report(self, url: str, *, body: bytes, depth: str = "1") -> Multistatus:
        answer = self.checked("REPORT", url, ok=(207,), body=body,
                              headers={"Depth": depth, "Content-Type": "application/xml; charset=utf-8"})
        return multistatus_parse(answer.body, base=url, what=f"REPORT {_path_of(url)}")
