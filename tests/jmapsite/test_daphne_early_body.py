"""jmapsite.daphne_server: a large POST reaches the application before its body has arrived.

So that a passthrough upload goes on to the upstream while the client still
sends it (issue 12, item 7), a POST to an upload endpoint declaring at least
EARLY_START_MIN octets starts at once (EarlyStartRequest); nothing else does
(early_start_wanted). The server runs as the web process runs it, serving
tests/jmapsite/early_body_app.py, spoken to over raw sockets so the test
decides when each part of a body is sent:
- the application's answer comes while part of the body is still unsent
  (the client waits for it before sending the rest: it would wait for ever
  if the request started only after its body), and the connection serves
  the next request once the rest is in (Twisted finishes the answered
  request only then);
- a body taken as the server's spool file while it grows reads whole;
- a client gone in the middle of a body leaves the server serving;
- a large body elsewhere than an upload endpoint is whole before the
  application sees it; a request framed two ways (Content-Length and
  Transfer-Encoding, the request-smuggling shape) is refused before it starts.
"""
from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from jmapsite.daphne_server import EARLY_START_MIN, early_start_wanted
from tests.jmapsite.daphne_process import daphne_server_run

# Liveness bound for each socket read: a server that waits for a body the client holds back never answers.
READ_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    with daphne_server_run(application="tests.jmapsite.early_body_app:application", probe_path="/ping") as port:
        yield port


def _answer(connection: socket.socket, buffered: bytearray) -> tuple[int, object]:
    """Read one HTTP/1.1 answer with a Content-Length from `connection`; (status, JSON body)."""
    while b"\r\n\r\n" not in buffered:
        piece = connection.recv(65536)
        assert piece, "the server closed the connection"
        buffered += piece
    head, _, rest = bytes(buffered).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(int(line.split(":", 1)[1]) for line in lines[1:] if line.lower().startswith("content-length:"))
    body = bytearray(rest)
    while len(body) < length:
        piece = connection.recv(65536)
        assert piece, "the server closed the connection"
        body += piece
    buffered[:] = body[length:]
    return status, json.loads(bytes(body[:length]))


def _post_head(path: str, length: int) -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {length}\r\n\r\n".encode()


def test_the_answer_comes_before_the_body_and_the_connection_goes_on(server: int) -> None:
    length = EARLY_START_MIN * 2
    body = bytes(range(256)) * (length // 256)
    with socket.create_connection(("127.0.0.1", server), timeout=READ_TIMEOUT) as connection:
        buffered = bytearray()
        connection.sendall(_post_head("/upload/first", length) + body[: EARLY_START_MIN // 2])
        status, answer = _answer(connection, buffered)
        assert status == 200
        assert isinstance(answer, dict) and answer["first"] > 0
        # The rest of the body, then the next request on the same connection.
        connection.sendall(body[EARLY_START_MIN // 2 :] + b"GET /ping HTTP/1.1\r\nHost: test\r\n\r\n")
        assert _answer(connection, buffered) == (200, "pong")


def test_a_growing_body_taken_as_a_file_reads_whole(server: int) -> None:
    length = EARLY_START_MIN * 3 + 12345
    body = hashlib.sha256(b"alice").digest() * (length // 32) + b"x" * (length % 32)
    with socket.create_connection(("127.0.0.1", server), timeout=READ_TIMEOUT) as connection:
        connection.sendall(_post_head("/upload/take", length))
        for offset in range(0, length, 300_000):
            connection.sendall(body[offset : offset + 300_000])
        status, answer = _answer(connection, bytearray())
    assert status == 200
    assert isinstance(answer, dict)
    assert answer["taken"] is True
    assert (answer["sha256"], answer["length"]) == (hashlib.sha256(body).hexdigest(), length)


def test_a_small_body_is_not_started_early(server: int) -> None:
    # Under Twisted's 100 kB in-memory limit the body is no file: the application reads messages.
    answer = httpx.post(f"http://127.0.0.1:{server}/upload/take", content=b"bob" * 1000, timeout=READ_TIMEOUT)
    assert answer.json() == {"taken": False}


def test_a_large_body_elsewhere_is_whole_before_the_application_starts(server: int) -> None:
    body = b"alice's form" * (EARLY_START_MIN // 4)
    answer = httpx.post(f"http://127.0.0.1:{server}/jmap/take", content=body, timeout=READ_TIMEOUT).json()
    assert answer == {"taken": True, "sha256": hashlib.sha256(body).hexdigest(), "length": len(body),
                      "complete_when_taken": True}  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "length", "upgrade", "wanted"),
    [
        (b"POST", b"/upload/alice/", EARLY_START_MIN, False, True),
        (b"POST", b"/upload/alice/?x=1", EARLY_START_MIN * 100, False, True),
        (b"POST", b"/upload/alice/", EARLY_START_MIN - 1, False, False),
        (b"POST", b"/upload/alice/", None, False, False),  # chunked: length unknown
        (b"PUT", b"/upload/alice/", EARLY_START_MIN, False, False),
        (b"post", b"/upload/alice/", EARLY_START_MIN, False, False),
        (b"POST", b"/jmap/", EARLY_START_MIN, False, False),
        (b"POST", b"/uploads/alice/", EARLY_START_MIN, False, False),
        (b"POST", b"/x/upload/alice/", EARLY_START_MIN, False, False),
        (b"POST", b"/upload/alice/", EARLY_START_MIN, True, False),
        (b"POST", None, EARLY_START_MIN, False, False),
    ],
)
def test_only_large_uploads_start_early(method: bytes, path: bytes | None, length: int | None, upgrade: bool,
                                        wanted: bool) -> None:  # fmt: skip
    assert early_start_wanted(method=method, path=path, length=length, upgrade=upgrade) is wanted


def test_a_body_framed_two_ways_is_refused_and_the_server_serves_on(server: int) -> None:
    # mallory: a Content-Length and chunked coding at once, the request-smuggling shape (RFC 9112 §6.3).
    head = (f"POST /upload/first HTTP/1.1\r\nHost: test\r\nContent-Length: {EARLY_START_MIN}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()  # fmt: skip
    with socket.create_connection(("127.0.0.1", server), timeout=READ_TIMEOUT) as connection:
        connection.sendall(head + b"5\r\nhello\r\n0\r\n\r\nGET /ping HTTP/1.1\r\nHost: test\r\n\r\n")
        received = bytearray()
        while piece := connection.recv(65536):
            received += piece
    assert received.startswith(b"HTTP/1.1 400 ")
    assert b"pong" not in received  # the connection was closed, nothing after the refused request was served
    assert httpx.get(f"http://127.0.0.1:{server}/ping", timeout=READ_TIMEOUT).json() == "pong"


def test_a_client_gone_mid_body_leaves_the_server_serving(server: int) -> None:
    for path in ("/upload/take", "/upload/first"):
        with socket.create_connection(("127.0.0.1", server), timeout=READ_TIMEOUT) as connection:
            connection.sendall(_post_head(path, EARLY_START_MIN * 4) + b"m" * EARLY_START_MIN)
        # mallory is gone; the next client is served.
        assert httpx.get(f"http://127.0.0.1:{server}/ping", timeout=READ_TIMEOUT).json() == "pong"
