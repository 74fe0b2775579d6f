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

The protocol (jmapsite/web_protocol.py) adds what a public port needs and
Twisted had: bounded request heads, head and body deadlines, and large
uploads handed to the view as they arrive. Here:
- listeners made so that asyncio turns Nagle's algorithm off on their
  connections (listening_socket);
- access-log lines without the query string (a download's name, an
  EventSource's types: nothing a log needs), and a request uvicorn cannot
  take logged at INFO, not WARNING (BadRequestsAtInfo: every scanner of a
  public port would write to the console);
- WebSockets (RFC 8887) with the websockets library, messages up to
  WEBSOCKET_MAX_MESSAGE, no compression, as under daphne (zlib state would
  cost every open connection tens of KiB).
Other request bodies are read from the socket only as the application asks
for them (uvicorn pauses reading past 64 KiB waiting), and a response body
waits while the socket's buffer is full (uvicorn's flow control), so neither
a large upload nor a large download sits in memory.
"""
from __future__ import annotations

import argparse
import ipaddress
import logging
import socket
import sys
from typing import Any

import uvicorn

from jmapcore.limits import WEBSOCKET_MAX_MESSAGE
from jmapsite.web_protocol import BODY_TIMEOUT, HEAD_TIMEOUT, BoundedHeadProtocol

# An idle kept-alive connection is closed after this long (uvicorn's 5 s would make a client
# that asks every few seconds open a new connection each time).
KEEP_ALIVE_TIMEOUT = 60.0
# On SIGTERM: requests in flight get this long to finish (a stream is cut off at once,
# web_protocol.BoundedHeadProtocol.shutdown); the supervisor kills a child after 10 s.
SHUTDOWN_GRACE = 5
LISTEN_BACKLOG = 2048
DEFAULT_APPLICATION = "jmapsite.asgi:application"
# uvicorn's notices about requests it could not take (a client's fault, logged at WARNING):
# logged at INFO instead (BadRequestsAtInfo).
_CLIENT_FAULTS = ("Invalid HTTP request received.", "Unsupported upgrade request.")


class NoQueryString(logging.Filter):
    """Request lines name the path only (module doc); uvicorn gives the path with its query.

    The access log's line (uvicorn.access: client, method, path, version,
    status) and the WebSocket protocol's accepted/refused lines (uvicorn.error:
    client, path).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not isinstance(args, tuple):
            return True
        if record.name == "uvicorn.access":
            at = 2
        elif isinstance(record.msg, str) and '"WebSocket %s"' in record.msg:
            at = 1
        else:
            return True
        path = args[at] if len(args) > at else None
        if isinstance(path, str):
            record.args = (*args[:at], path.split("?", 1)[0], *args[at + 1 :])
        return True


class BadRequestsAtInfo(logging.Filter):
    """uvicorn logs every request it cannot take (_CLIENT_FAULTS) as a WARNING: on a public port,
    every scanner (a TLS handshake sent to plain HTTP, an h2c upgrade) would write to the console.
    Such a line is logged at INFO instead, shown only where INFO is (JMAP_LOG_LEVEL); the client
    got its 400 or 431."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg not in _CLIENT_FAULTS:
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
    except ValueError:  # a name (localhost): its IPv4 address if it has one, as Twisted bound it
        families = [found[0] for found in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
        family = socket.AF_INET if socket.AF_INET in families else families[0]
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(LISTEN_BACKLOG)
    except OSError:
        listener.close()
        raise
    return listener


def server_config(application: Any, *, access_log: bool, head_timeout: float = HEAD_TIMEOUT,
                  body_timeout: float = BODY_TIMEOUT) -> uvicorn.Config:  # fmt: skip
    config = uvicorn.Config(
        application,
        http=BoundedHeadProtocol,
        # asyncio's own loop, never uvloop: BoundedHeadProtocol sizes asyncio's socket reads.
        loop="asyncio",
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
    config.jmap_body_timeout = body_timeout  # type: ignore[attr-defined]
    return config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jmapsite.web_server", description=__doc__.splitlines()[0])
    parser.add_argument("--bind", action="append", required=True, help="HOST:PORT to listen on (repeatable)")
    parser.add_argument("--access-log", action="store_true", help="a line per request, at INFO")
    parser.add_argument("--head-timeout", type=float, default=HEAD_TIMEOUT,
                        help=f"seconds a request head may take to arrive (default {HEAD_TIMEOUT:g})")
    parser.add_argument("--body-timeout", type=float, default=BODY_TIMEOUT,
                        help=f"seconds a request body may stall while it is read (default {BODY_TIMEOUT:g})")
    parser.add_argument("application", nargs="?", default=DEFAULT_APPLICATION)
    options = parser.parse_args(argv)
    try:
        addresses = [address_parse(text) for text in options.bind]
    except ValueError as exc:
        parser.error(str(exc))
    sockets = []
    for host, port in addresses:
        try:
            sockets.append(listening_socket(host, port))
        except OSError as exc:  # in use, not an address of this machine: one line, no traceback
            sys.exit(f"jmapsite.web_server: cannot listen on {host}:{port}: {exc.strerror or exc}")
    logging.getLogger("uvicorn.access").addFilter(NoQueryString())
    logging.getLogger("uvicorn.error").addFilter(NoQueryString())
    logging.getLogger("uvicorn.error").addFilter(BadRequestsAtInfo())
    config = server_config(options.application, access_log=options.access_log, head_timeout=options.head_timeout,
                           body_timeout=options.body_timeout)  # fmt: skip
    uvicorn.Server(config).run(sockets=sockets)


if __name__ == "__main__":
    main()
