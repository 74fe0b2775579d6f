"""jmapsite.web_server: the web process's HTTP server (uvicorn with httptools), as it is run.

The server runs as the web process runs it (`python -m jmapsite.web_server`),
serving tests/jmapsite/echo_app.py. Bodies of every size arrive whole and in
order (empty, one piece, many pieces with a short last one); a form POST
reaches the application as sent; streamed responses arrive whole, twice on
one kept-alive connection, and to a client that reads slowly; a client that
goes away in the middle of either leaves the server serving. Its
connections turn Nagle's algorithm off. A stop does not wait for a stream
that never ends. Its log: request lines without query strings, a request
that cannot be parsed not on a WARNING console. (The protocol's limits:
tests/jmapsite/test_web_protocol.py.)
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import IO

import httpx
import pytest

from jmapsite.process_specs import web_argv
from jmapsite.web_server import (
    BadRequestsAtInfo,
    NoQueryString,
    address_parse,
    listening_socket,
)
from tests.jmapsite.echo_app import stream_piece
from tests.jmapsite.web_process import web_server_run
from tests.servers.dovecot import free_port
from tests.servers.proxy import ROOT


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with web_server_run(application="tests.jmapsite.echo_app:application", probe_path="/nothing") as port:
        yield f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("size", [0, 1, 65_535, 65_537, 8192 * 3, 20 * 1024 * 1024 + 17])
def test_a_request_body_arrives_whole_and_in_order(server: str, size: int) -> None:
    body = (hashlib.sha256(str(size).encode()).digest() * (size // 32 + 1))[:size]
    answer = httpx.post(server + "/echo", content=body, timeout=120).json()
    assert answer["length"] == size
    assert answer["sha256"] == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize("content_type", [
    "multipart/form-data", "multipart/form-data; boundary=never-closed", "application/x-www-form-urlencoded",
    "application/json"])
def test_a_form_post_reaches_the_application_as_sent(server: str, content_type: str) -> None:
    body = b"--never-closed\r\nContent-Disposition: form-data; name=x\r\n\r\n" + b"a=1&b=%zz" * 1000
    answer = httpx.post(server + "/echo", content=body, headers={"Content-Type": content_type}, timeout=30)
    assert answer.status_code == 200, answer.text[:200]
    assert answer.json()["sha256"] == hashlib.sha256(body).hexdigest()


def test_streamed_responses_arrive_whole_on_one_connection(server: str) -> None:
    expected = b"".join(stream_piece(index) for index in range(16 * 1024 * 1024 // len(stream_piece(0))))
    with httpx.Client(timeout=120) as client:
        for _round in range(2):
            got = client.get(server + "/stream?mib=16")
            assert got.status_code == 200
            assert hashlib.sha256(got.content).digest() == hashlib.sha256(expected).digest()


def test_a_stream_read_in_small_bites_arrives_whole_and_in_order(server: str) -> None:
    # bob reads 7 KiB at a time: the server's pieces wait and go out partly sent, one after the other.
    expected = b"".join(stream_piece(index) for index in range(4 * 1024 * 1024 // len(stream_piece(0))))
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        connection.sendall(b"GET /stream?mib=4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = bytearray()
        while chunk := connection.recv(7 * 1024):
            received += chunk
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    if b"transfer-encoding: chunked" in head.lower():
        body = _dechunk(body)
    assert len(body) == len(expected)
    assert hashlib.sha256(body).digest() == hashlib.sha256(expected).digest()


def _dechunk(body: bytes) -> bytes:
    """The payload of a chunked body (RFC 9112 §7.1), for the test's own reading."""
    out, position = bytearray(), 0
    while True:
        line_end = body.index(b"\r\n", position)
        size = int(body[position:line_end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += body[line_end + 2 : line_end + 2 + size]
        position = line_end + 2 + size + 2


def _abandon(server: str, request: bytes, *, read: int) -> None:
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request)
        received = 0
        while received < read:
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += len(chunk)


def test_clients_that_go_away_leave_the_server_serving(server: str) -> None:
    # Half a body, then gone.
    _abandon(server, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n" + b"x" * 100_000, read=0)
    # A big streamed response, read for a little, then gone.
    _abandon(server, b"GET /stream?mib=64 HTTP/1.1\r\nHost: x\r\n\r\n", read=1024 * 1024)
    answer = httpx.post(server + "/echo", content=b"still here", timeout=30).json()
    assert answer["sha256"] == hashlib.sha256(b"still here").hexdigest()
    assert httpx.get(server + "/stream?mib=1", timeout=30).content[:8] == stream_piece(0)[:8]


def test_connections_of_the_listening_socket_turn_nagle_off() -> None:
    # asyncio turns Nagle off only on a socket made with proto IPPROTO_TCP (web_server.listening_socket).
    listener = listening_socket("127.0.0.1", 0)
    port = listener.getsockname()[1]
    seen: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def serve_one() -> None:
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            await reader.read()
            writer.close()

    asyncio.run(asyncio.wait_for(serve_one(), timeout=30))
    assert seen and seen[0] != 0


ANY_ADDRESS = "0.0.0.0"  # noqa: S104 (parsed, never bound)


@pytest.mark.parametrize(("text", "parsed"), [
    ("127.0.0.1:9000", ("127.0.0.1", 9000)), ("[::1]:8080", ("::1", 8080)), ("localhost:1", ("localhost", 1)),
    (f"{ANY_ADDRESS}:0", (ANY_ADDRESS, 0))])
def test_bind_addresses_are_read(text: str, parsed: tuple[str, int]) -> None:
    assert address_parse(text) == parsed


@pytest.mark.parametrize("text", ["9000", ":9000", "host:", "host:port", "[::1]"])
def test_a_bad_bind_address_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        address_parse(text)


@contextlib.contextmanager
def _own_server(log: IO[bytes]) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A web_server of this test's own (it is stopped or its log read), serving the echo application."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "jmapsite.web_server", "--bind", f"127.0.0.1:{port}",
         "tests.jmapsite.echo_app:application"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    try:
        for _attempt in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=30).close()
                break
            except OSError:
                time.sleep(0.1)
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def test_a_stream_in_flight_does_not_hold_up_a_stop() -> None:
    # bob reads a long stream slowly (an EventSource's shape: it never ends by itself) when the
    # supervisor stops the web process: it is cut off at once, not cancelled after the grace.
    with tempfile.TemporaryFile() as log:
        with _own_server(log) as (process, port), socket.create_connection(("127.0.0.1", port), timeout=30) as bob:
            bob.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
            bob.sendall(b"GET /stream?mib=64 HTTP/1.1\r\nHost: x\r\n\r\n")
            assert bob.recv(1024).startswith(b"HTTP/1.1 200")
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        log.seek(0)
        assert b"timeout graceful shutdown exceeded" not in log.read()


def test_requests_that_cannot_be_parsed_stay_off_a_warning_console() -> None:
    # mallory's scanner: a TLS handshake and an h2c upgrade on the plain-HTTP port. The server runs
    # with no logging set up (Python's last-resort handler prints WARNING and up): nothing is printed.
    with tempfile.TemporaryFile() as log:
        with _own_server(log) as (_process, port):
            for probe in (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 64,
                          b"GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                          b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n"):  # fmt: skip
                with socket.create_connection(("127.0.0.1", port), timeout=30) as scanner:
                    scanner.sendall(probe)
                    assert scanner.recv(1024)  # answered (400, or 404 for the h2c request)
        log.seek(0)
        printed = log.read()
    assert b"Invalid HTTP request" not in printed
    assert b"Unsupported upgrade" not in printed


def test_access_lines_name_the_path_without_its_query() -> None:
    # As uvicorn logs a request (httptools_impl: client, method, path with query, version, status).
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:40000", "GET", "/download/a1/b2/c.pdf?accept=application/pdf", "1.1",
                                200), None)  # fmt: skip
    assert NoQueryString().filter(record) is True
    assert record.getMessage() == '127.0.0.1:40000 - "GET /download/a1/b2/c.pdf HTTP/1.1" 200'
    # The WebSocket protocol's lines (uvicorn.error: client, path).
    accepted = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" [accepted]',
                                 ("127.0.0.1:40000", "/jmap/ws/?token=x"), None)  # fmt: skip
    assert NoQueryString().filter(accepted) is True
    assert accepted.getMessage() == '127.0.0.1:40000 - "WebSocket /jmap/ws/" [accepted]'


@pytest.mark.parametrize(("level", "logged"), [("DEBUG", True), ("INFO", True), ("WARNING", False), ("ERROR", False)])
def test_the_web_process_logs_requests_only_at_info_and_below(level: str, logged: bool) -> None:
    argv = web_argv(jmap_host="::", jmap_port=9000, mgmt_host="127.0.0.1", mgmt_port=8080, log_level=level)
    assert ("--access-log" in argv) is logged
    assert argv[argv.index("-m") + 1] == "jmapsite.web_server"
    binds = [argv[index + 1] for index, word in enumerate(argv) if word == "--bind"]
    assert binds == ["[::]:9000", "127.0.0.1:8080"]


@pytest.mark.parametrize(("root_level", "shown"), [(logging.WARNING, False), (logging.INFO, True)])
def test_a_request_that_cannot_be_parsed_is_logged_at_info(root_level: int, shown: bool) -> None:
    root = logging.getLogger()
    before = root.level
    root.setLevel(root_level)
    try:
        record = logging.LogRecord("uvicorn.error", logging.WARNING, __file__, 1, "Invalid HTTP request received.",
                                   None, None)  # fmt: skip
        assert BadRequestsAtInfo().filter(record) is shown
        assert record.levelno == logging.INFO
        other = logging.LogRecord("uvicorn.error", logging.WARNING, __file__, 1, "Something else.", None, None)
        assert BadRequestsAtInfo().filter(other) is True
        assert other.levelno == logging.WARNING
    finally:
        root.setLevel(before)
