"""WebDAV failures (CardDAV, CalDAV) as backends.base.BackendError.

- DavRefused: the server answered and said no (4xx/5xx other than the
  transient ones). `status` is the HTTP status, `precondition` the local name of
  the DAV precondition element of the error body (RFC 4918 §16, RFC 6352 §6.3.2.1:
  "no-uid-conflict", "valid-address-data", "supported-address-data", ...) or None,
  `reason` a short human text for SetError descriptions and logs.
- DavConflict: 412 Precondition Failed (RFC 7232 §4.2): the ETag sent with
  If-Match no longer matches, or If-None-Match: * found a resource. The caller
  resyncs the book (carddav_book_sync) and reports a per-object SetError.
- Transient failures (timeouts, refused or dropped connections, 502/503/504,
  429) are BackendError(permanent=False).

Messages never hold credentials: they name the method, the URL path and the
server's status line.
"""
from __future__ import annotations

from backends.base import BackendError

KIND = "dav"


class DavRefused(BackendError):
    """The DAV server refused a request (see the module docstring)."""

    def __init__(self, message: str, *, status: int, precondition: str | None = None, reason: str = "",
                 permanent: bool = True) -> None:
        super().__init__(message, permanent=permanent, kind=KIND)
        self.status = status
        self.precondition = precondition
        self.reason = reason or message


class DavConflict(DavRefused):
    """412 Precondition Failed: the resource changed (or exists) on the server."""


class DavTooLarge(BackendError):
    """An answer larger than the client's cap (backends.dav.client.DAV_MAX_RESPONSE_BYTES)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True, kind=KIND)


# Statuses after which the same request may succeed later.
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def dav_transient(message: str) -> BackendError:
    return BackendError(message, permanent=False, kind=KIND)


def dav_permanent(message: str) -> BackendError:
    return BackendError(message, permanent=True, kind=KIND)
