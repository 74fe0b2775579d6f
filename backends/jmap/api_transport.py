"""The HTTP/1.1 transport of JMAP API calls to an upstream (UpstreamClient.api_post).

Every forwarded request (RFC 8620 §3.3) pays for its HTTP client twice: once
in the proxy's CPU and once in added latency. httpx spent ~1.6 ms of CPU per
call on models, hooks, header normalisation and its connection-pool machinery;
the standard library's http.client did the same exchange for about half of
that, and a plain socket with backends.jmap.http11_wire (the request written
in one piece, the answer's head split without the email package) for a
fraction of what is left. This module keeps the contracts the httpx path had
(backends.jmap.client's module doc) on that cheaper client:

- Connections are kept alive and reused: a process-wide pool of idle
  connections per (account, sessionUrl origin, target origin); a request takes
  one (or opens one), and gives it back only after its answer was read to the
  end and the upstream did not ask to close it. An idle connection the
  upstream has closed meanwhile is noticed before reuse (a zero-wait poll) and
  replaced. At most IDLE_PER_ORIGIN idle ones are kept per key, each at most
  IDLE_SECONDS: a give-back sweeps the whole pool of expired ones at most
  every SWEEP_SECONDS, so the accounts nobody uses any more hold no sockets.
- Where it connects (backends.jmap.url_policy): the URL passes
  upstream_url_check first; for an origin other than the sessionUrl's, unless
  the operator allows private upstreams, a new connection goes to one of the
  very addresses that were resolved and found public (push_url_resolve), never
  to a second resolution of the name (DNS rebinding between check and connect).
- TLS: verified with backends.tls.tls_client_context() (system store plus
  JMAP_TLS_CA_FILE, TLS 1.2+), host name checked against the URL's host (SNI).
- Redirects are never followed: a 3xx is an answer like any other status.
- Deadline: the whole exchange -- connect, send, status line, headers, body --
  must finish within `timeout` seconds: every socket operation waits at most
  the time left, so an upstream dripping its answer (headers included) a byte
  at a time cannot hold the request longer.
- Size: an answer over `limit` octets, received or after gzip decoding, is
  refused while it is read, and at once when its Content-Length already says so.
- No cookies are kept or sent; headers are exactly the caller's plus
  Host, Content-Length, User-Agent and Accept-Encoding (gzip, as httpx asked).

Failures are UpstreamError with the same messages as the httpx path
(timeouts `timed_out`, certificate and name-resolution failures permanent,
refused connections transient), never quoting a header value.
"""
from __future__ import annotations

import http.client
import ipaddress
import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from backends.jmap.http11_wire import Wire, body_read, head_read, host_header, request_bytes
from backends.jmap.quick_ack import ack_at_once
from backends.jmap.url_policy import private_upstreams_allowed, url_origin
from backends.tls import tls_ca_file, tls_client_context
from jmapcore.pushsub.url_guard import PushUrlRefused, PushUrlUnresolved, push_url_resolve

if TYPE_CHECKING:
    from backends.jmap.client import UpstreamError

log = logging.getLogger(__name__)

# Idle connections kept per (account, sessionUrl origin, target origin), and for how long.
IDLE_PER_ORIGIN = 8
IDLE_SECONDS = 60.0
SWEEP_SECONDS = 15.0
USER_AGENT = "jmap-proxy"

Origin = tuple[str, str, int]


@dataclass(frozen=True)
class Answer:
    """An upstream's HTTP answer: status, Content-Type and body (decoded from gzip)."""

    status: int
    content_type: str
    body: bytes


class _Deadline:
    """The time left for one exchange; every socket operation is bounded by it."""

    def __init__(self, seconds: float) -> None:
        self.until = time.monotonic() + seconds

    def left(self) -> float:
        remaining = self.until - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the exchange's deadline passed")
        return remaining


class _Connection:
    """A kept-alive HTTP(S) connection to one upstream origin (see the module).

    `addresses`: where to connect (checked public addresses); None connects by
    host name (the sessionUrl's own origin, or private upstreams allowed).
    Every send and receive waits at most the time left of `deadline`, the
    current exchange's (a socket timeout alone would bound each read, not the
    whole answer).
    """

    def __init__(self, *, origin: Origin, addresses: tuple[str, ...] | None, context: ssl.SSLContext | None,
                 deadline: _Deadline) -> None:  # fmt: skip
        self.origin = origin
        self.addresses = addresses
        self.context = context
        self.deadline = deadline
        self.idle_since = 0.0
        self.sock: socket.socket | None = None
        self.wire = Wire(self._receive)

    def connect(self) -> None:
        _, host, port = self.origin
        timeout = self.deadline.left()
        if self.addresses is None:
            sock = socket.create_connection((host, port), timeout)
        else:
            sock = _connect_any(self.addresses, port, timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.context is not None:
                sock.settimeout(self.deadline.left())
                sock = self.context.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise
        self.sock = sock

    def send(self, data: bytes) -> None:
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        self.sock.settimeout(self.deadline.left())  # since Python 3.5 the bound of the whole sendall
        self.sock.sendall(data)

    def _receive(self, most: int) -> bytes:
        if self.sock is None:
            return b""
        self.sock.settimeout(self.deadline.left())
        ack_at_once(self.sock)
        return self.sock.recv(most)

    def usable(self) -> bool:
        """Whether an idle connection may carry another request: open, and nothing to read
        (a readable idle socket means the upstream closed it, or sent something unasked)."""
        sock = self.sock
        if sock is None or self.wire.pending():
            return False
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()


def _connect_any(addresses: tuple[str, ...], port: int, timeout: float) -> socket.socket:
    """A TCP connection to the first of `addresses` that accepts (as socket.create_connection tries names)."""
    failure: OSError | None = None
    until = time.monotonic() + timeout
    for address in addresses:
        family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(max(0.001, until - time.monotonic()))
            sock.connect((address, port))
            return sock
        except OSError as exc:
            sock.close()
            failure = exc
    raise failure if failure is not None else OSError("no address to connect to")


# ---------------------------------------------------------------- the pool

_PoolKey = tuple[Any, Origin | None, Origin]
_idle: dict[_PoolKey, list[_Connection]] = {}
_idle_lock = threading.Lock()
_next_sweep = 0.0
_contexts: dict[str, ssl.SSLContext] = {}


def _context() -> ssl.SSLContext:
    """One verifying client context per CA setting (building one reads the system store: ~ms)."""
    extra = tls_ca_file()
    context = _contexts.get(extra)
    if context is None:
        context = _contexts[extra] = tls_client_context()
    return context


def _checkout(key: _PoolKey) -> _Connection | None:
    now = time.monotonic()
    while True:
        with _idle_lock:
            idle = _idle.get(key)
            connection = idle.pop() if idle else None
        if connection is None:
            return None
        if now - connection.idle_since < IDLE_SECONDS and connection.usable():
            return connection
        connection.close()


def _checkin(key: _PoolKey, connection: _Connection) -> None:
    global _next_sweep
    now = connection.idle_since = time.monotonic()
    expired: list[_Connection] = []
    with _idle_lock:
        if now >= _next_sweep:
            _next_sweep = now + SWEEP_SECONDS
            expired = _expired_take(now)
        idle = _idle.setdefault(key, [])
        pooled = len(idle) < IDLE_PER_ORIGIN
        if pooled:
            idle.append(connection)
    for old in expired:
        old.close()
    if not pooled:
        connection.close()


def _expired_take(now: float) -> list[_Connection]:
    """Take every connection idle for IDLE_SECONDS or more out of the pool (caller holds _idle_lock)."""
    expired: list[_Connection] = []
    for key in list(_idle):
        kept = [connection for connection in _idle[key] if now - connection.idle_since < IDLE_SECONDS]
        expired.extend(connection for connection in _idle[key] if now - connection.idle_since >= IDLE_SECONDS)
        if kept:
            _idle[key] = kept
        else:
            del _idle[key]
    return expired


def connections_close() -> None:
    """Close every idle connection (tests; a process that changes TLS settings)."""
    with _idle_lock:
        idle = [connection for connections in _idle.values() for connection in connections]
        _idle.clear()
        _contexts.clear()
    for connection in idle:
        connection.close()


def idle_connections(owner: Any) -> int:
    """How many idle connections `owner` (an account's pk) has in the pool (tests, diagnostics)."""
    with _idle_lock:
        return sum(len(connections) for key, connections in _idle.items() if key[0] == owner)


# ---------------------------------------------------------------- one exchange


def _new_connection(*, url: str, origin: Origin, home: Origin | None, deadline: _Deadline) -> _Connection:
    addresses: tuple[str, ...] | None = None
    if origin != home and not private_upstreams_allowed():
        # url_policy found this host public; connect to exactly what was resolved and checked now.
        target = push_url_resolve(url=url, allow_private=False, allow_http=True)
        addresses = tuple(str(address) for address in target.addresses)
    context = _context() if origin[0] == "https" else None
    return _Connection(origin=origin, addresses=addresses, context=context, deadline=deadline)


def _target(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def exchange(
    *,
    owner: Any,
    session_url: str,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    timeout: float,
    limit: int,
    what: str,
    error: Callable[..., UpstreamError],
) -> Answer:
    """One HTTP request to `url` and its whole answer, within `timeout` seconds (module doc).

    `owner` keys the connection pool (the account's pk; None: not pooled); `session_url` is the
    account's, whose origin needs no address check; `error` builds the
    UpstreamError (backends.jmap.client's, passed in to keep imports one-way).
    The caller has checked `url` against url_policy already.
    """
    origin = url_origin(url)
    if origin is None:
        raise error(f"{what} is not a usable URL", permanent=True)
    home = url_origin(session_url)
    key: _PoolKey = (owner, home, origin)
    # An account not saved yet has no pk: None would be one pool key for all of them, shared between
    # accounts (and credentials); such an exchange gets a connection of its own, closed after it.
    pooled = owner is not None
    # One deadline from here: a new connection's address check and connect count toward it too.
    deadline = _Deadline(timeout)
    connection = _checkout(key) if pooled else None
    try:
        if connection is None:
            connection = _new_connection(url=url, origin=origin, home=home, deadline=deadline)
        connection.deadline = deadline
        fields = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip", **headers}
        connection.send(request_bytes(method=method, target=_target(url), host=host_header(*origin), fields=fields,
                                      body=body))  # fmt: skip
        head = head_read(connection.wire)
        status = head.status
        content, reusable = body_read(
            connection.wire, head, limit=limit,
            too_large=lambda: error(f"{what} answer is too large (over {limit} bytes)", permanent=False,
                                    status=status),
            unasked=lambda coding: error(f"{what} answered in an encoding that was not asked for ({coding})",
                                         permanent=False, status=status),
        )  # fmt: skip
    except BaseException as exc:
        if connection is not None:
            connection.close()
        raise _transport_error(exc, url=url, what=what, timeout=timeout, error=error) from None
    if reusable and pooled:
        _checkin(key, connection)
    else:
        connection.close()
    return Answer(status=status, content_type=head.fields.get("content-type", ""), body=content)


def url_host_port(url: str) -> str:
    """`host:port` of a URL for messages (the scheme's default port when none is given; 0 when the
    port is not a number): never its path or query, which may hold a token."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 0
    return f"{parts.hostname}:{port}"


def _transport_error(
    exc: BaseException, *, url: str, what: str, timeout: float, error: Callable[..., UpstreamError]
) -> BaseException:
    """The UpstreamError for an exchange that failed (the same wording as the httpx path)."""
    from backends.jmap.client import UpstreamError

    if isinstance(exc, UpstreamError):
        return exc
    if not isinstance(exc, Exception):
        return exc  # KeyboardInterrupt and the like go on as they are
    if isinstance(exc, TimeoutError | socket.timeout):
        return error(f"timed out after {timeout:g}s fetching {what}", permanent=False, timed_out=True)
    if isinstance(exc, http.client.InvalidURL):
        # request_bytes/host_header refused the URL's target or host (a space or control character):
        # nothing was sent, and retrying will not help. (InvalidURL is an HTTPException: test it first.)
        return error(f"{what} is not a usable URL", permanent=True)
    if isinstance(exc, PushUrlUnresolved):
        # Not a refusal of the address: the name does not resolve (now), as a gaierror on the
        # sessionUrl's own origin says -- advising JMAP_UPSTREAM_ALLOW_PRIVATE would mislead.
        return error(f"cannot resolve host {urlsplit(url).hostname!r}", permanent=True)
    if isinstance(exc, PushUrlRefused):
        return error(f"{what} is on another origin than the sessionUrl and {exc}; "
                     "set JMAP_UPSTREAM_ALLOW_PRIVATE to allow it", permanent=True)  # fmt: skip
    if isinstance(exc, UnicodeEncodeError):
        # Header values are Latin-1 at most; the error's text would quote the credential's characters.
        return error(f"could not send the request to {what}: a stored credential has characters "
                     "an HTTP header cannot carry", permanent=True)  # fmt: skip
    if isinstance(exc, ValueError) and not isinstance(exc, ssl.SSLError):
        # http11_wire.request_bytes refused a value with CR, LF or NUL: never quote the value.
        return error(f"could not send the request to {what}: it is not valid HTTP (a stored "
                     "credential with a line break or other control character?)", permanent=True)  # fmt: skip
    if isinstance(exc, ssl.SSLCertVerificationError):
        return error(f"TLS handshake failed: certificate verify failed: {exc.verify_message}", permanent=True)
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", None) or str(exc)
        return error(f"TLS handshake failed: {str(reason).replace('_', ' ').lower()}", permanent=True)
    if isinstance(exc, ConnectionRefusedError):
        return error(f"connection refused to {url_host_port(url)}", permanent=False)
    if isinstance(exc, socket.gaierror):
        return error(f"cannot resolve host {urlsplit(url).hostname!r}", permanent=True)
    if isinstance(exc, http.client.RemoteDisconnected | http.client.IncompleteRead | ConnectionError):
        return error(f"cannot reach {what} at {url_host_port(url)}: the connection was closed before the whole "
                     "answer arrived", permanent=False)  # fmt: skip
    if isinstance(exc, http.client.HTTPException):
        return error(f"cannot reach {what} at {url_host_port(url)}: the answer is not valid HTTP/1.1 "
                     f"({type(exc).__name__})", permanent=False)  # fmt: skip
    if isinstance(exc, OSError):
        return error(f"cannot reach {what} at {url_host_port(url)}: {exc.strerror or type(exc).__name__}",
                     permanent=False)  # fmt: skip
    # Anything else is a failure nobody foresaw (zlib.error from a corrupt gzip body was one, now an
    # HTTPException in http11_wire): still the caller's UpstreamError, never an exception the JMAP
    # layer turns into a 500. Only its type is named: its text might quote what was sent.
    log.error("%s exchange at %s failed with an unforeseen %s", what, url_host_port(url), type(exc).__name__)
    return error(f"cannot reach {what} at {url_host_port(url)}: the exchange failed ({type(exc).__name__})",
                 permanent=False)  # fmt: skip
