"""jmapsite.daphne_server: daphne with request bodies read back from its spool file and
response bodies held while the client's socket is full.

The server runs as the web process runs it (`python -m jmapsite.daphne_server`),
serving tests/jmapsite/daphne_echo_app.py. Bodies of every size arrive whole
and in order (empty, under Twisted's 100 kB in-memory limit, many pieces with
a short last one); streamed responses arrive whole, twice on one kept-alive
connection (the producer of the first is gone before the second), and a
client that goes away in the middle of either leaves the server serving.
A form POST reaches the application as sent: Twisted does not parse it (one
with a multipart Content-Type and no boundary was answered 400 by Twisted
itself, never reaching the application).
"""
from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest

from jmapsite.daphne_server import EarlyStartHTTPFactory
from tests.jmapsite.daphne_echo_app import stream_piece
from tests.jmapsite.daphne_process import daphne_server_run


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with daphne_server_run(application="tests.jmapsite.daphne_echo_app:application", probe_path="/nothing") as port:
        yield f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("size", [0, 1, 99_999, 100_001, 8192 * 3, 20 * 1024 * 1024 + 17])
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


class _Formatter:
    """Twisted's access-log formatter, counted."""

    def __init__(self) -> None:
        self.lines = 0

    def __call__(self, timestamp: str, request: object) -> str:
        self.lines += 1
        return "a combined-log line"


@pytest.mark.parametrize(("verbosity", "lines"), [(0, 0), (1, 0), (2, 1)])
def test_twisted_makes_its_access_line_only_where_daphne_shows_twisted_logs(verbosity: int, lines: int) -> None:
    factory = EarlyStartHTTPFactory(SimpleNamespace(verbosity=verbosity))
    formatter = _Formatter()
    written: list[str] = []
    factory._logFormatter = formatter
    factory._logFile = SimpleNamespace(write=written.append)
    factory._logDateTime = "now"
    factory.log(SimpleNamespace())
    assert formatter.lines == lines
    assert len(written) == lines
