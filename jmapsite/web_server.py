"""The web process: uvicorn with httptools, serving one ASGI application on both ports.

Run as the web process is run (jmapsite/process_specs.py builds its command):
`python -m jmapsite.web_server --bind HOST:PORT [--bind HOST:PORT] [--access-log] [APP]`,
APP "module:attribute", jmapsite.asgi:application unless given.

Why uvicorn and not daphne (DESIGN.md names daphne): the server's own share
of every request. bench/web_server_cpu.py serves the same application under
both, the two taking turns; the web process's CPU per request, daphne against
this server, was 4.70 against 2.87 ms for Core/echo and 6.03 against 4.47 ms
for a forwarded list view (earlier runs: the same 1.4-1.8 ms apart). That is
Twisted's HTTP parsing and writing, daphne's bookkeeping and its extra
hand-offs between Twisted and asyncio, and it was most of what stood between
the passthrough list view and issue 12's 5 ms of added latency.

What daphne (with Twisted) gave and uvicorn does not, added here:
- a bounded request head: at most HEAD_LIMIT octets of request line and
  header fields and HEAD_FIELDS fields, else 431 and the connection closed
  (Twisted's limits were 16 KiB and 500; httptools keeps any head it is sent);
- a deadline for the head: a connection that has not sent a whole head
  HEAD_TIMEOUT after it was opened, or after the first octet of a later
  request, is closed (a slow-header client holds no connection for ever);
- access-log lines without the query string (a download's name, an
  EventSource's types: nothing a log needs), and a request that cannot be
  parsed logged at INFO, not WARNING (BadRequestsAtInfo).

A large upload (jmapsite/body_pipe.py: piped_body_wanted) is handed to the
view while the client still sends it: the scope's extensions offer its body
as a BodyPipe, and once the application takes it (jmapsite/asgi_pool.py, at
once) the body goes into the pipe as it is read, reading paused while the
pipe is full. An application that does not take it gets its body by
`receive` as from any ASGI server. Other bodies are read
from the socket only as the application asks for them (uvicorn pauses reading
past 64 KiB waiting), and a response body waits while the socket's buffer is
full (uvicorn's flow control), so neither a large upload nor a large download
sits in memory. WebSockets (RFC 8887) use the websockets
library, with messages up to WEBSOCKET_MAX_MESSAGE and no compression, as
under daphne (zlib state would cost every open connection tens of KiB).
"""
from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import socket
from functools import partial
from typing import Any, cast

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from jmapcore.limits import WEBSOCKET_MAX_MESSAGE
from jmapsite.body_pipe import BODY_PIPE_EXTENSION, BodyPipe, piped_body_wanted

HEAD_LIMIT = 16 * 1024
HEAD_FIELDS = 500
HEAD_TIMEOUT = 30.0
# An idle kept-alive connection is closed after this long (uvicorn's 5 s would make a client
# that asks every few seconds open a new connection each time).
KEEP_ALIVE_TIMEOUT = 60.0
# On SIGTERM: requests in flight get this long to finish; an EventSource never does (the
# supervisor kills a child after 10 s).
SHUTDOWN_GRACE = 5
LISTEN_BACKLOG = 2048
# A request body of at least LARGE_BODY octets is read from the socket LARGE_READ at a time
# (BoundedHeadProtocol._large_reads); asyncio reads _ASYNCIO_READ.
LARGE_BODY = 1024 * 1024
LARGE_READ = 1024 * 1024
_ASYNCIO_READ = 256 * 1024
DEFAULT_APPLICATION = "jmapsite.asgi:application"

_HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 32\r\nconnection: close\r\n\r\nRequest header fields too large."
)


class _HeadTooLarge(Exception):
    """Raised in a parser callback; httptools turns it into a parser error (send_400_response)."""


class BoundedHeadProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the request head bounded in size, fields and time (module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_octets = 0
        self._head_fields = 0
        self._head_refused = False
        self._head_timer: asyncio.TimerHandle | None = None
        # The body pipe of the request being read, when it is a large upload (jmapsite/body_pipe.py).
        self._pipe: BodyPipe | None = None
        self.head_timeout: float = getattr(self.config, "jmap_head_timeout", HEAD_TIMEOUT)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_deadline_arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_deadline_cancel()
        if self._pipe is not None and not self._pipe.complete:
            self._pipe.aborted()  # the client went away mid-body: its reader fails
        super().connection_lost(exc)

    def _head_deadline_arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_deadline_passed)

    def _head_deadline_cancel(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_deadline_passed(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def _head_count(self, octets: int, *, fields: int = 0) -> None:
        self._head_octets += octets
        self._head_fields += fields
        if self._head_octets > HEAD_LIMIT or self._head_fields > HEAD_FIELDS:
            self._head_refused = True
            raise _HeadTooLarge

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_octets = self._head_fields = 0
        self._pipe = None
        self._head_deadline_arm()

    def on_url(self, url: bytes) -> None:
        self._head_count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        # Each field as it stood on the wire: name, ": ", value, CRLF.
        self._head_count(len(name) + len(value) + 4, fields=1)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._head_deadline_cancel()
        super().on_headers_complete()
        cycle = self.cycle
        scope = cast("dict[str, Any]", self.scope)  # uvicorn's TypedDict knows no pipe
        if cycle is not None and cycle.scope is self.scope and piped_body_wanted(scope):
            # The application's task is made but has not run yet: it finds the offer in its scope.
            scope["extensions"] = {**(scope.get("extensions") or {}),
                                   BODY_PIPE_EXTENSION: partial(self._pipe_take, cycle)}  # fmt: skip
        self._large_reads(_declared_length(self.headers) >= LARGE_BODY)

    def _pipe_take(self, cycle: Any) -> BodyPipe | None:
        """The body of `cycle`'s request as a BodyPipe, for an application that has read none of it.

        Called on the event loop (jmapsite/asgi_pool.py). What has arrived
        moves into the pipe, and from now on every piece goes there as it is
        read (on_body). None when the request is over or already piped.
        """
        if cycle is not self.cycle or self._pipe is not None or cycle.response_complete or cycle.disconnected:
            return None

        def room_made() -> None:  # on the reader's thread
            self.loop.call_soon_threadsafe(self._pipe_read_on, cycle)

        pipe = BodyPipe(on_room=room_made)
        if cycle.body:
            pipe.put(bytes(cycle.body))
            cycle.body = bytearray()
        if not cycle.more_body:
            pipe.finished()
        self._pipe = pipe
        self.flow.resume_reading()  # uvicorn may have paused for its own queue, now empty
        return pipe

    def on_body(self, body: bytes) -> None:
        """A large upload's body goes into its pipe as it is read (jmapsite/body_pipe.py), reading paused
        while the pipe is full; any other body is uvicorn's (queued for the application's receive)."""
        pipe = self._pipe
        if pipe is None:
            super().on_body(body)
            return
        if self.cycle.response_complete:
            return  # answered already: the rest is dropped as it comes, as uvicorn does
        if pipe.put(body):
            self.flow.pause_reading()

    def _pipe_read_on(self, cycle: Any) -> None:
        """The pipe has room again (called on the event loop, asked from the reader's thread)."""
        pipe = self._pipe
        if pipe is not None and cycle is self.cycle and not pipe.complete and not self.transport.is_closing():
            self.flow.resume_reading()

    def on_message_complete(self) -> None:
        if self._pipe is not None:
            self._pipe.finished()
        super().on_message_complete()
        self._large_reads(False)

    def _large_reads(self, wanted: bool) -> None:
        """Read the socket LARGE_READ octets at a time while a large body arrives, else asyncio's 256 KiB.

        Each socket read of a body is a trip through the parser, a hand-off to
        the application and a pause and resume of reading (uvicorn pauses past
        64 KiB waiting): fewer, larger reads took the web process's CPU for a
        100 MiB upload from 0.26 to 0.18 s (tests/jmapsite/upload_body_app.py,
        hashing included). Not for every read: each allocates its whole size first.
        """
        if hasattr(self.transport, "max_size"):
            self.transport.max_size = LARGE_READ if wanted else _ASYNCIO_READ

    def shutdown(self) -> None:
        """The server stops (SIGTERM): a response already being sent is cut off at once.

        uvicorn lets every request in flight finish within SHUTDOWN_GRACE
        and then cancels it, logging an error. A streamed response (an
        EventSource, which never ends by itself; a download) is ended now
        instead: its client sees the connection close, as it would on any
        restart, and the view hears http.disconnect and cleans up. A request
        whose answer has not started yet still gets its grace.
        """
        cycle = self.cycle
        if cycle is not None and cycle.response_started and not cycle.response_complete:
            # abort, not close: close waits to flush what is buffered, which a client that
            # does not read never lets happen.
            self.transport.abort()
            return
        super().shutdown()

    def send_400_response(self, msg: str) -> None:
        if not self._head_refused:
            super().send_400_response(msg)
            return
        self.transport.write(_HEAD_TOO_LARGE)
        self.transport.close()


def _declared_length(headers: list[tuple[bytes, bytes]]) -> int:
    """The request's Content-Length, 0 when absent or not one decimal number (httptools refuses those)."""
    for name, value in headers:
        if name == b"content-length" and value.isdigit():
            return int(value)
    return 0


class NoQueryString(logging.Filter):
    """Access-log lines name the path only (module doc); uvicorn gives the path with its query."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


class BadRequestsAtInfo(logging.Filter):
    """uvicorn logs every request it cannot parse as a WARNING: on a public port, every scanner
    (a TLS handshake sent to plain HTTP) would write to the console. Such a line is logged at
    INFO instead, shown only where INFO is (JMAP_LOG_LEVEL); the client got its 400 or 431."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != "Invalid HTTP request received.":
            return True
        record.levelno, record.levelname = logging.INFO, "INFO"
        return logging.getLogger().isEnabledFor(logging.INFO)


def address_parse(text: str) -> tuple[str, int]:
    """"HOST:PORT" or "[V6]:PORT" as (host, port); ValueError when it is neither."""
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit() or not host:
        raise ValueError(f"not HOST:PORT: {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket (SO_REUSEADDR, as uvicorn's own).

    Made with proto IPPROTO_TCP, as asyncio's own listeners are: asyncio turns
    Nagle's algorithm off only on connections of such a socket
    (base_events._set_nodelay), and socket.create_server's proto 0 left it on.
    A response's head and body, written one after the other, then waited for
    the client's delayed ACK: 44 ms for every small request, measured.
    """
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:  # a name (localhost): whatever it resolves to first
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(LISTEN_BACKLOG)
    except OSError:
        listener.close()
        raise
    return listener


def server_config(application: Any, *, access_log: bool, head_timeout: float = HEAD_TIMEOUT) -> uvicorn.Config:
    config = uvicorn.Config(
        application,
        http=BoundedHeadProtocol,
        ws="websockets-sansio",
        ws_max_size=WEBSOCKET_MAX_MESSAGE,
        ws_per_message_deflate=False,
        lifespan="off",
        # Logging is Django's (jmapsite/settings.py LOGGING), set up when the application loads.
        log_config=None,
        access_log=access_log,
        # X-Forwarded-For is read by jmapsite/client_address.py, from trusted proxies only.
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=int(KEEP_ALIVE_TIMEOUT),
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
    )
    # Read by BoundedHeadProtocol (uvicorn hands each protocol its config).
    config.jmap_head_timeout = head_timeout  # type: ignore[attr-defined]
    return config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jmapsite.web_server", description=__doc__.splitlines()[0])
    parser.add_argument("--bind", action="append", required=True, help="HOST:PORT to listen on (repeatable)")
    parser.add_argument("--access-log", action="store_true", help="a line per request, at INFO")
    parser.add_argument("--head-timeout", type=float, default=HEAD_TIMEOUT,
                        help=f"seconds a request head may take to arrive (default {HEAD_TIMEOUT:g})")
    parser.add_argument("application", nargs="?", default=DEFAULT_APPLICATION)
    options = parser.parse_args(argv)
    try:
        addresses = [address_parse(text) for text in options.bind]
    except ValueError as exc:
        parser.error(str(exc))
    sockets = [listening_socket(host, port) for host, port in addresses]
    logging.getLogger("uvicorn.access").addFilter(NoQueryString())
    logging.getLogger("uvicorn.error").addFilter(BadRequestsAtInfo())
    config = server_config(options.application, access_log=options.access_log, head_timeout=options.head_timeout)
    uvicorn.Server(config).run(sockets=sockets)


if __name__ == "__main__":
    main()
