"""jmapsite.web_server with jmapsite.body_pipe: a large upload reaches its reader while the client still sends it.

So that a passthrough upload goes on to the upstream while the client still
sends it (issue 12, item 7), the server puts the body of a POST to an upload
endpoint declaring at least PIPED_MIN octets into a BodyPipe as it reads it;
nothing else (piped_body_wanted). The server runs as the web process runs it,
serving tests/jmapsite/upload_body_app.py, spoken to over raw sockets so the
test decides when each part of a body is sent:
- an answer can come while part of the body is still unsent, and the
  connection serves the next request once the rest is in;
- a body read through the pipe reads whole and in order, larger than the
  pipe, so the server stopped reading until the reader made room; its reader
  started before the body was in;
- a client gone in the middle of a body leaves the server serving.
The upload view's own path (Django, the proxy) is tested in
tests/jmapsite/test_asgi_pool.py and tests/jmapcore/blobs/test_upload_body_unreadable.py.
"""
from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from jmapsite.body_pipe import PIPE_LIMIT, PIPED_MIN, piped_body_wanted
from tests.jmapsite.web_process import web_server_run

# Liveness bound for each socket read: a server that waits for a body the client holds back never answers.
READ_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    with web_server_run(application="tests.jmapsite.upload_body_app:application", probe_path="/ping") as port:
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
    length = PIPED_MIN * 2
    body = bytes(range(256)) * (length // 256)
    with socket.create_connection(("127.0.0.1", server), timeout=READ_TIMEOUT) as connection:
        buffered = bytearray()
        connection.sendall(_post_head("/upload/first", length) + body[: PIPED_MIN // 2])
        status, answer = _answer(connection, buffered)
        assert status == 200
        assert isinstance(answer, dict) and answer["first"] > 0
        # The rest of the body, then the next request on the same connection.
        connection.sendall(body[PIPED_MIN // 2 :] + b"GET /ping HTTP/1.1\r\nHost: test\r\n\r\n")
        assert _answer(connection, buffered) == (200, "pong")


def test_a_body_larger_than_the_pipe_reads_whole_and_its_reader_starts_before_it_is_in(server: int) -> None:
    length = PIPE_LIMIT * 3 + 12345
    body = hashlib.sha256(b"alice").digest() * (length // 32) + b"x" * (length % 32)
    with socket.create_connection(("127.0.0.1", server), timeout=READ_TIMEOUT) as connection:
        connection.sendall(_post_head("/upload/take", length))
        for offset in range(0, length, 300_000):
            connection.sendall(body[offset : offset + 300_000])
        status, answer = _answer(connection, bytearray())
    assert status == 200
    assert isinstance(answer, dict)
    assert answer["piped"] is True
    assert (answer["sha256"], answer["length"]) == (hashlib.sha256(body).hexdigest(), length)
    # The reader started before the whole body was in (the pipe could not have held it).
    assert answer["arrived_at_start"] < length


def test_a_small_body_or_another_path_is_not_piped(server: int) -> None:
    small = httpx.post(f"http://127.0.0.1:{server}/upload/take", content=b"bob" * 1000, timeout=READ_TIMEOUT)
    assert small.json() == {"piped": False}
    elsewhere = httpx.post(f"http://127.0.0.1:{server}/jmap/take", content=b"a" * PIPED_MIN, timeout=READ_TIMEOUT)
    assert elsewhere.json() == {"piped": False}


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, object]:
    return {"type": "http", "method": method, "path": path, "headers": headers}


@pytest.mark.parametrize(
    ("method", "path", "headers", "wanted"),
    [
        ("POST", "/upload/alice/", [(b"content-length", str(PIPED_MIN).encode())], True),
        ("POST", "/upload/alice/", [(b"content-length", str(PIPED_MIN * 100).encode())], True),
        ("POST", "/upload/alice/", [(b"content-length", str(PIPED_MIN - 1).encode())], False),
        ("POST", "/upload/alice/", [(b"transfer-encoding", b"chunked")], False),  # length unknown
        ("POST", "/upload/alice/", [(b"content-length", b"1048576"), (b"content-length", b"1048576")], False),
        ("POST", "/upload/alice/", [(b"content-length", b"-1048576")], False),
        ("POST", "/upload/alice/", [(b"content-length", b"1e9")], False),
        ("PUT", "/upload/alice/", [(b"content-length", str(PIPED_MIN).encode())], False),
        ("POST", "/jmap/", [(b"content-length", str(PIPED_MIN).encode())], False),
        ("POST", "/uploads/alice/", [(b"content-length", str(PIPED_MIN).encode())], False),
        ("POST", "/x/upload/alice/", [(b"content-length", str(PIPED_MIN).encode())], False),
    ],
)
def test_only_large_uploads_are_piped(method: str, path: str, headers: list[tuple[bytes, bytes]],
                                      wanted: bool) -> None:  # fmt: skip
    assert piped_body_wanted(_scope(method, path, headers)) is wanted


def test_a_client_gone_mid_body_leaves_the_server_serving(server: int) -> None:
    for path in ("/upload/take", "/upload/first"):
        with socket.create_connection(("127.0.0.1", server), timeout=READ_TIMEOUT) as connection:
            connection.sendall(_post_head(path, PIPED_MIN * 4) + b"m" * PIPED_MIN)
        # mallory is gone; the next client is served.
        assert httpx.get(f"http://127.0.0.1:{server}/ping", timeout=READ_TIMEOUT).json() == "pong"
