"""jmapsite.web_protocol: what a public port needs, on the web process as it is run.

The server runs as the web process runs it (`python -m jmapsite.web_server`,
with short deadlines so the tests are quick), serving
tests/jmapsite/echo_app.py, spoken to over raw sockets by mallory:
- a head too large (one field, too many fields, a huge target) is refused
  with 431; one near the limits is served;
- a field, or a chunked trailer, that never ends is refused too (httptools
  would keep all of it);
- a head that does not arrive within the deadline, on a new connection or
  on a kept-alive one, and a body that stalls, close the connection;
- a body framed two ways (request smuggling's shape) is refused and the
  connection closed;
- a connection's write buffer holds a whole streamed piece before it waits
  (this one in-process, to read the transport's marks).
Every test also checks that the server then serves the next client.
"""
from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import httpx
import pytest

from jmapsite.web_protocol import HEAD_FIELDS, HEAD_LIMIT
from tests.jmapsite.echo_app import stream_piece
from tests.jmapsite.web_process import web_server_run

# The deadlines the fixture's server runs with (--head-timeout, --body-timeout).
HEAD_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
# Liveness bound of each socket read: a server that never closes fails the test in this time.
READ_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    options = ("--head-timeout", str(HEAD_TIMEOUT), "--body-timeout", str(BODY_TIMEOUT))
    with web_server_run(application="tests.jmapsite.echo_app:application", probe_path="/nothing",
                        options=options) as port:  # fmt: skip
        yield f"http://127.0.0.1:{port}"


def _connect(server: str) -> socket.socket:
    host, port = server.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=READ_TIMEOUT)


def _until_closed(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as closed)."""
    received = bytearray()
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return bytes(received)


def _exchange(server: str, request: bytes) -> bytes:
    """Send `request` on a fresh connection and read until the server closes it."""
    with _connect(server) as connection:
        connection.sendall(request)
        return _until_closed(connection)


def _serves_on(server: str) -> None:
    assert httpx.get(server + "/nothing", timeout=READ_TIMEOUT).status_code == 404


@pytest.mark.parametrize("shape", ["one huge field", "too many fields", "huge target"])
def test_a_head_too_large_is_refused_with_431_and_the_server_serves_on(server: str, shape: str) -> None:
    if shape == "one huge field":
        head = b"GET /nothing HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * HEAD_LIMIT + b"\r\n\r\n"
    elif shape == "too many fields":
        head = b"GET /nothing HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * (HEAD_FIELDS + 1) + b"\r\n"
    else:
        head = b"GET /" + b"a" * HEAD_LIMIT + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    answer = _exchange(server, head)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:100]
    _serves_on(server)


def test_a_head_within_the_limits_is_served(server: str) -> None:
    # Near both limits (httpx adds five fields of its own): each field counts as sent (name, ": ", value, CRLF).
    fields = [(f"X-{index:03}", "v" * 10) for index in range(HEAD_FIELDS - 10)]
    fields.append(("X-Big", "b" * (HEAD_LIMIT - 19 * len(fields) - 500)))
    answer = httpx.get(server + "/nothing", headers=fields, timeout=READ_TIMEOUT)
    assert answer.status_code == 404


@pytest.mark.parametrize("where", ["a header field", "a header name", "a chunked trailer"])
def test_a_field_that_never_ends_is_refused_before_it_is_large(server: str, where: str) -> None:
    # httptools reports a field only at its end and keeps what came until then: mallory never ends it.
    start = {
        "a header field": b"GET /nothing HTTP/1.1\r\nHost: x\r\nX-Endless: ",
        "a header name": b"GET /nothing HTTP/1.1\r\nHost: x\r\nX-Endless",
        "a chunked trailer": b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"5\r\nhello\r\n0\r\nX-Trailer: ",
    }[where]  # fmt: skip
    with _connect(server) as connection:
        connection.sendall(start)
        sent = 0
        try:
            while sent < 64 * HEAD_LIMIT:  # 1 MiB unbounded; a bounded server cuts it off far sooner
                connection.sendall(b"a" * 4096)
                sent += 4096
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = _until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 431 ") or answer == b"", answer[:100]
    assert sent < 64 * HEAD_LIMIT or answer.startswith(b"HTTP/1.1 431 ")
    _serves_on(server)


def test_a_head_sent_too_slowly_is_cut_off(server: str) -> None:
    with _connect(server) as connection:
        connection.sendall(b"GET /nothing HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n")
        assert _until_closed(connection) == b""  # closed after HEAD_TIMEOUT; no answer
    with _connect(server) as silent:  # a connection that sends nothing at all
        assert _until_closed(silent) == b""
    _serves_on(server)


def test_a_second_head_on_a_kept_alive_connection_has_its_deadline_too(server: str) -> None:
    with _connect(server) as connection:
        connection.sendall(b"GET /stream?mib=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        received = bytearray()
        while len(received) < 1024 * 1024:
            chunk = connection.recv(65536)
            assert chunk
            received += chunk
        connection.sendall(b"GET /nothing HTTP/1.1\r\nHost: x\r\n")  # ... and never the rest
        rest = _until_closed(connection)
    head, _, body = (bytes(received) + rest).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert len(body) == 1024 * 1024 and body[:8] == stream_piece(0)[:8]  # the first answer whole, then closed


def test_a_body_that_stalls_is_cut_off(server: str) -> None:
    with _connect(server) as connection:
        connection.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"m" * 10)
        assert _until_closed(connection) == b""  # closed after BODY_TIMEOUT; the echo was never answered
    _serves_on(server)


def test_a_body_framed_two_ways_is_refused_and_the_connection_closed(server: str) -> None:
    # mallory: a Content-Length and chunked coding at once, the request-smuggling shape (RFC 9112 §6.3).
    answer = _exchange(server, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                               b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                               b"GET /stream?mib=1 HTTP/1.1\r\nHost: x\r\n\r\n")  # fmt: skip
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert stream_piece(0)[:8] not in answer  # nothing after the refused request was served
    _serves_on(server)


def test_a_connection_queues_a_whole_streamed_piece_before_it_waits() -> None:
    """The write buffer's high-water mark is WRITE_BUFFER_HIGH, not asyncio's 64 KiB (module doc): the next
    piece of a streamed response is taken while the socket still has a quarter of one to send."""
    from uvicorn.server import ServerState

    from jmapsite.web_protocol import WRITE_BUFFER_HIGH, BoundedHeadProtocol
    from jmapsite.web_server import listening_socket, server_config
    from tests.jmapsite.echo_app import application

    config = server_config(application, access_log=False)
    state = ServerState()
    listener = listening_socket("127.0.0.1", 0)
    port = listener.getsockname()[1]
    limits: list[tuple[int, int]] = []

    async def serve_one() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: BoundedHeadProtocol(config=config, server_state=state, app_state={}), sock=listener
        )
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /stream?mib=64 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            await reader.readexactly(1)  # the server has the connection and is answering
            limits.extend(protocol.transport.get_write_buffer_limits() for protocol in state.connections)
            writer.close()

    asyncio.run(asyncio.wait_for(serve_one(), timeout=30))
    assert limits == [(WRITE_BUFFER_HIGH // 4, WRITE_BUFFER_HIGH)]
