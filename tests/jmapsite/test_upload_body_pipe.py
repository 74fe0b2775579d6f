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
- while the reader is slow, the pipe never holds much more than its limit:
  the server stopped reading the client;
- an upload refused before its body is read (401) is answered at once, also
  to a client that waits for `100 Continue` (which never comes), and the
  connection serves the next request once the rest of the body is in;
- a client that waits for `100 Continue` gets it when the reader first reads;
- once a piped body is read, `receive` gives nothing until the disconnect;
- a client gone in the middle of a body fails the reader's read at once and
  leaves the server serving.
The upload view's own path (Django, the proxy) is tested in
tests/jmapsite/test_asgi_pool.py and tests/jmapcore/blobs/test_upload_body_unreadable.py.
"""
from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from jmapsite.body_pipe import PIPE_LIMIT, PIPED_MIN, piped_body_wanted
from jmapsite.web_protocol import LARGE_READ
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


def _post_head(path: str, length: int, *, expect: bool = False) -> bytes:
    expectation = "Expect: 100-continue\r\n" if expect else ""
    return f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {length}\r\n{expectation}\r\n".encode()


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


def test_after_a_piped_body_receive_gives_nothing_until_the_disconnect(server: int) -> None:
    # ASGI: once the body is in, receive waits for the disconnect. The body went through the pipe, so
    # no last body message may come (a streamed answer's disconnect listener would fail on it).
    body = b"dave" * PIPED_MIN
    answer = httpx.post(f"http://127.0.0.1:{server}/upload/take?listen=1", content=body, timeout=READ_TIMEOUT).json()
    assert answer["sha256"] == hashlib.sha256(body).hexdigest()
    assert answer["after_body"] is None


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


def test_a_slow_reader_holds_the_pipe_near_its_limit(server: int) -> None:
    length = PIPE_LIMIT * 6
    body = hashlib.sha256(b"bob").digest() * (length // 32)
    with socket.create_connection(("127.0.0.1", server), timeout=READ_TIMEOUT) as connection:
        connection.sendall(_post_head("/upload/take?slow=1", length) + body)
        status, answer = _answer(connection, bytearray())
    assert status == 200 and isinstance(answer, dict)
    assert answer["sha256"] == hashlib.sha256(body).hexdigest()
    # Full, the server reads no more: what waits is the limit and the one read that filled it.
    assert 0 < answer["max_buffered"] <= PIPE_LIMIT + LARGE_READ


@pytest.mark.parametrize("expect", [False, True])
def test_an_upload_refused_unread_is_answered_at_once_and_the_connection_goes_on(server: int, expect: bool) -> None:
    length = PIPED_MIN * 3
    with socket.create_connection(("127.0.0.1", server), timeout=READ_TIMEOUT) as connection:
        buffered = bytearray()
        connection.sendall(_post_head("/upload/refuse", length, expect=expect) + (b"" if expect else b"m" * PIPED_MIN))
        status, answer = _answer(connection, buffered)
        assert (status, answer) == (401, {"piped": True})
        assert b"100 Continue" not in buffered  # a refused upload is never asked for
        # The client sends the body all the same (it may: RFC 9110 §10.1.1), then the next request.
        connection.sendall(b"m" * (length - (0 if expect else PIPED_MIN)) + b"GET /ping HTTP/1.1\r\nHost: test\r\n\r\n")
        assert _answer(connection, buffered) == (200, "pong")


def test_a_client_that_expects_100_continue_gets_it_when_the_reader_reads(server: int) -> None:
    length = PIPED_MIN * 2
    body = hashlib.sha256(b"carol").digest() * (length // 32)
    with socket.create_connection(("127.0.0.1", server), timeout=READ_TIMEOUT) as connection:
        connection.sendall(_post_head("/upload/take", length, expect=True))
        interim = b""
        while b"\r\n\r\n" not in interim:
            piece = connection.recv(1024)
            assert piece, "the server closed the connection"
            interim += piece
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), interim[:100]
        connection.sendall(body)
        status, answer = _answer(connection, bytearray(interim[len(b"HTTP/1.1 100 Continue\r\n\r\n") :]))
    assert status == 200 and isinstance(answer, dict)
    assert (answer["sha256"], answer["length"]) == (hashlib.sha256(body).hexdigest(), length)


def test_a_client_gone_mid_body_fails_the_read_and_leaves_the_server_serving(server: int) -> None:
    errors_before = len(httpx.get(f"http://127.0.0.1:{server}/errors", timeout=READ_TIMEOUT).json())
    for path in ("/upload/take", "/upload/first"):
        with socket.create_connection(("127.0.0.1", server), timeout=READ_TIMEOUT) as connection:
            connection.sendall(_post_head(path, PIPED_MIN * 4) + b"m" * PIPED_MIN)
        # mallory is gone; the next client is served.
        assert httpx.get(f"http://127.0.0.1:{server}/ping", timeout=READ_TIMEOUT).json() == "pong"
    # The reader of /take was told at once, not after the pipe's 60 s stall limit.
    errors: list[str] = []
    for _attempt in range(100):
        errors = httpx.get(f"http://127.0.0.1:{server}/errors", timeout=READ_TIMEOUT).json()[errors_before:]
        if errors:
            break
        threading.Event().wait(0.1)
    assert errors == ["the client went away before the whole request body arrived"]
