"""Plain HTTP/1.1 exchanges with a passthrough account's upstream, for blob bodies (issue 12, item 7).

The account's pooled httpx client (backends/jmap/client.py) reads a body 64
KiB per socket read and passes every piece through h11 and httpx's chunker;
it sends a streamed upload the same way, one generator step per piece. For
a 100 MB blob that per-piece Python work, not the copying, was most of the
proxy's CPU, and the proxy shares the machine with the upstream and the
client: blobs went at 60-70 % of the upstream's direct speed. Here a blob
goes over a plain connection of its own (http.client, from the standard
library): a download is read with one socket read per piece of up to
CHUNK_SIZE (whatever has arrived, so a slow upstream's octets are not held
back), an upload that lies in a file is sent with socket.sendfile (the
kernel copies it, zero-copy on plain TCP) or else in CHUNK_SIZE sendall calls.

The contracts of the account's client hold here too:
- Where to connect: upstream_url_check (backends/jmap/url_policy.py) for the
  scheme rules, then the host is resolved once here and, unless the URL has
  the sessionUrl's own origin or the operator allows private upstreams, every
  address must be public; the connection goes to one of *those* addresses,
  so a name cannot resolve to a public address for the check and an internal
  one for the connect (the per-request hook of the httpx client resolves twice).
- TLS with backends.tls.tls_client_context (verifying, TLS 1.2+, SNI).
- Redirects are never followed (a 3xx is handed back like any status).
- Timeouts: each connect, send and receive is bounded (`timeout`), each
  read of the answer's status line and headers by `answer_timeout` (an
  upstream stores an upload before it answers), as with httpx before.
- No message carries the URL's path or query or any header value (they may
  hold a token): errors name the host and the kind of failure only.
"""
from __future__ import annotations

import http.client
import ipaddress
import os
import socket
import ssl
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlsplit

from backends.jmap.quick_ack import ack_at_once
from backends.jmap.url_policy import UpstreamUrlRefused, private_upstreams_allowed, upstream_url_check
from backends.tls import tls_client_context
from jmapcore.pushsub.url_guard import address_is_public

# The largest piece read from the upstream at once, and the piece an upload that is no file is sent in.
CHUNK_SIZE = 1024 * 1024
# An upload sent with sendfile goes in blocks of this size, so that `progress` is called between them
# (the upload view renews its concurrency slot there).
SENDFILE_BLOCK = 16 * 1024 * 1024
USER_AGENT = "jmap-proxy"


class RawHttpError(Exception):
    """A transport failure talking to the upstream; `timed_out` when it was a timeout.

    The message is operator-readable and names at most the host.
    """

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class RawHttpRefused(RawHttpError):
    """url_policy does not let the account's requests go to this URL (the message says why)."""


class RawBodyUnreadable(RawHttpError):
    """The body to send could not be read: the proxy's own client stopped sending it or went away
    (an upload is read as it arrives, jmapsite/body_pipe.py), not an upstream failure."""


@dataclass(frozen=True)
class RawTarget:
    """Where one request goes: the URL's parts and the checked addresses to connect to."""

    scheme: str
    host: str
    port: int
    target: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]


def raw_target(url: str, *, session_url: str, what: str) -> RawTarget:
    """The checked destination of `url` for an account whose sessionUrl is `session_url` (module doc).

    Raises RawHttpRefused when url_policy refuses it or the host does not
    resolve to an allowed address.
    """
    try:
        upstream_url_check(url, session_url=session_url, what=what, resolve=False)
    except UpstreamUrlRefused as error:
        raise RawHttpRefused(str(error)) from None
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise RawHttpRefused(f"{what} has no valid port") from None
    home = urlsplit(session_url)
    try:
        home_origin = (home.scheme.lower(), (home.hostname or "").lower(),
                       home.port or (443 if home.scheme.lower() == "https" else 80))  # fmt: skip
    except ValueError:
        home_origin = ("", "", 0)
    must_be_public = (scheme, host, port) != home_origin and not private_upstreams_allowed()
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise RawHttpError(f"the upstream host {host} does not resolve") from None
    addresses: list[str] = []
    for info in infos:
        text = str(info[4][0])
        if must_be_public and not address_is_public(ipaddress.ip_address(text.split("%", 1)[0])):
            # One internal answer among public ones is refused too (a rebinding name gives that).
            raise RawHttpRefused(f"{what} is on another origin than the sessionUrl and host {host} is not a "
                                 "public Internet address; set JMAP_UPSTREAM_ALLOW_PRIVATE to allow it")  # fmt: skip
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise RawHttpError(f"the upstream host {host} does not resolve")
    request_target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return RawTarget(scheme=scheme, host=host, port=port, target=request_target, addresses=tuple(addresses))


class _Connection(http.client.HTTPConnection):
    """An HTTP/1.1 connection to one RawTarget: connects only to its checked addresses, TLS for https."""

    def __init__(self, destination: RawTarget, *, timeout: float) -> None:
        super().__init__(destination.host, destination.port, timeout=timeout, blocksize=CHUNK_SIZE)
        self._destination = destination
        if destination.scheme == "https":
            self.default_port = 443  # so the Host header omits the default port, as for http

    def connect(self) -> None:
        failure: OSError | None = None
        for address in self._destination.addresses:
            try:
                sock = socket.create_connection((address, self._destination.port), self.timeout)
            except OSError as error:
                failure = error
                continue
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if self._destination.scheme == "https":
                    sock = tls_client_context().wrap_socket(sock, server_hostname=self._destination.host)
            except BaseException:
                sock.close()
                raise
            self.sock = sock
            return
        raise failure or OSError("no address to connect to")


def _transport_error(error: BaseException, *, host: str) -> RawHttpError:
    if isinstance(error, TimeoutError | socket.timeout):
        return RawHttpError(f"the upstream host {host} did not answer in time", timed_out=True)
    if isinstance(error, ssl.SSLError):
        return RawHttpError(f"TLS with the upstream host {host} failed ({type(error).__name__})")
    # The class name only: messages of http.client may quote a header line.
    return RawHttpError(f"the connection to the upstream host {host} failed ({type(error).__name__})")


class RawResponse:
    """An upstream answer whose status and headers are read and whose body is not.

    `headers` is case-insensitive (http.client.HTTPMessage). `close()` must
    be called whether or not the body was read; it closes the connection.
    """

    def __init__(self, connection: _Connection, response: http.client.HTTPResponse, host: str) -> None:
        self._connection = connection
        self._response = response
        self._host = host
        self.status_code: int = response.status
        self.headers: http.client.HTTPMessage = response.headers
        self.num_bytes_downloaded = 0

    def iter_raw(self, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The body as it arrives, at most `chunk_size` octets a piece (one socket read each,
        de-chunked when the upstream sends chunked); RawHttpError when the connection breaks."""
        while True:
            try:
                piece = self._response.read1(chunk_size)
            except (OSError, http.client.HTTPException, ValueError) as error:
                raise _transport_error(error, host=self._host) from None
            if not piece:
                return
            self.num_bytes_downloaded += len(piece)
            yield piece

    def read_limited(self, limit: int) -> bytes | None:
        """The whole body if it has at most `limit` octets, else None (read no further than that)."""
        body = bytearray()
        for piece in self.iter_raw(CHUNK_SIZE):
            body += piece
            if len(body) > limit:
                return None
        return bytes(body)

    def close(self) -> None:
        self._response.close()
        self._connection.close()


def _request_start(connection: _Connection, *, method: str, destination: RawTarget,
                   headers: Mapping[str, str]) -> None:  # fmt: skip
    connection.putrequest(method, destination.target, skip_accept_encoding=True)
    names = {name.lower() for name in headers}
    if "user-agent" not in names:
        connection.putheader("User-Agent", USER_AGENT)
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders()


def _body_send(connection: _Connection, body: IO[bytes] | Any, *, size: int | None,
               progress: Callable[[], None] | None) -> None:  # fmt: skip
    """Send the request body: with sendfile when `body` is a file at its start, else read and sendall."""
    sock = connection.sock
    offset = _file_position(body) if size is not None and not isinstance(sock, ssl.SSLSocket) else None
    if offset is not None and size is not None:
        sent = 0
        while sent < size:
            count = min(SENDFILE_BLOCK, size - sent)
            # os.sendfile underneath: the kernel copies from the page cache (TLS sockets read instead).
            done = sock.sendfile(body, offset + sent, count)
            if done == 0:
                raise OSError("the upload's file ended before its Content-Length")
            sent += done
            if progress is not None:
                progress()
        return
    sent = 0
    while size is None or sent < size:
        try:
            piece = body.read(CHUNK_SIZE if size is None else min(CHUNK_SIZE, size - sent))
        except OSError as error:
            raise RawBodyUnreadable(f"the request body could not be read ({type(error).__name__})") from None
        if not piece:
            break
        # Without a length the body goes in chunked transfer coding (RFC 9112 §7.1).
        sock.sendall(piece if size is not None else b"%x\r\n%b\r\n" % (len(piece), piece))
        sent += len(piece)
        if progress is not None:
            progress()
    if size is None:
        sock.sendall(b"0\r\n\r\n")
    elif sent != size:
        raise OSError("the upload's body ended before its Content-Length")


def _file_position(body: Any) -> int | None:
    """Where a body that is a regular file stands (sendfile can send it), else None."""
    try:
        descriptor = body.fileno()
        if not isinstance(descriptor, int) or not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        position = body.tell()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return None
    return position if isinstance(position, int) else None


def raw_exchange(
    *,
    method: str,
    url: str,
    session_url: str,
    what: str,
    headers: Mapping[str, str],
    timeout: float,
    answer_timeout: float,
    body: Any = None,
    size: int | None = None,
    progress: Callable[[], None] | None = None,
) -> RawResponse:
    """Send one request to `url` on a connection of its own; the answer with its body unread.

    `body` (with `size` octets; Content-Length is set from it) is a file or
    anything with read(size); a body of unknown size that is no file goes
    in chunked transfer coding. `timeout` bounds the connect and each send and
    receive; `answer_timeout` the wait from the last octet sent to the end of
    the answer's headers. `progress` is called as the body goes out.
    Raises RawHttpRefused (url_policy) or RawHttpError (transport, timeout).
    """
    destination = raw_target(url, session_url=session_url, what=what)
    sent_headers = dict(headers)
    if body is not None and size is None:
        position = _file_position(body)
        if position is not None:
            size = os.fstat(body.fileno()).st_size - position
    if body is not None:
        if size is not None:
            sent_headers["Content-Length"] = str(size)
        else:
            sent_headers["Transfer-Encoding"] = "chunked"
    connection = _Connection(destination, timeout=timeout)
    try:
        _request_start(connection, method=method, destination=destination, headers=sent_headers)
        if body is not None:
            _body_send(connection, body, size=size, progress=progress)
        sock = connection.sock
        sock.settimeout(answer_timeout)
        ack_at_once(sock)  # the answer's head: not held by the upstream's Nagle behind our delayed ACK
        response = connection.getresponse()
        sock.settimeout(timeout)
    except RawHttpError:
        connection.close()
        raise
    except (OSError, http.client.HTTPException, ValueError) as error:
        connection.close()
        raise _transport_error(error, host=destination.host) from None
    except BaseException:
        connection.close()
        raise
    return RawResponse(connection, response, destination.host)
