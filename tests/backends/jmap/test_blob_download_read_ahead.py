"""A passthrough download's body is read ahead by a thread of its own (backends.jmap.blob_stream._UpstreamBody).

The reader overlaps upstream reads with client writes (issue 12, item 7:
throughput); these check what it must keep: every octet in order, at most
READ_AHEAD chunks waiting, and a consumer that stops early (a client gone,
a range served) ends the reader instead of leaving it blocked for ever.
The body is a real download from the suite's Cyrus (RFC 8620 §6.2).
"""
from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from backends.jmap.blob_stream import CHUNK_SIZE, READ_AHEAD, _UpstreamBody
from tests.servers.cyrus import CyrusServer, CyrusUser

BLOB_SIZE = 12 * CHUNK_SIZE + 12345
READER_NAME = "jmap-blob-download"


def _readers() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == READER_NAME]


def _readers_gone(*, within: float) -> bool:
    """True once no reader thread is left, waiting at most `within` seconds (a liveness bound, not a speed check)."""
    deadline = time.monotonic() + within
    while _readers():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture(scope="module")
def alice(cyrus: CyrusServer) -> CyrusUser:
    return cyrus.user(f"alice-d-readahead-{secrets.token_hex(2)}", f"pw-{secrets.token_hex(6)}")


@pytest.fixture(scope="module")
def stored(alice: CyrusUser) -> Iterator[tuple[httpx.Client, str, bytes]]:
    """alice's http client, the download URL of a blob of BLOB_SIZE random octets, and the octets."""
    octets = secrets.token_bytes(BLOB_SIZE)
    with httpx.Client(auth=(alice.login, alice.password), follow_redirects=True, timeout=30) as http:
        answer = http.get(alice.session_url)  # Cyrus: a redirect to /jmap, relative URLs
        session, base = answer.json(), str(answer.url)
        account = alice.login  # Cyrus's accountId is the login
        upload = httpx.URL(base).join(session["uploadUrl"].replace("{accountId}", account))
        posted = http.post(upload, content=octets, headers={"Content-Type": "application/octet-stream"})
        blob_id = posted.json()["blobId"]
        template = session["downloadUrl"]
        for key, value in {"accountId": account, "blobId": blob_id, "name": "x.bin",
                           "type": "application/octet-stream"}.items():  # fmt: skip
            template = template.replace("{" + key + "}", value)
        yield http, str(httpx.URL(base).join(template)), octets


def _open(http: httpx.Client, url: str) -> httpx.Response:
    response = http.send(http.build_request("GET", url, headers={"Accept-Encoding": "identity"}), stream=True)
    assert response.status_code == 200, response.read()
    return response


def test_every_octet_comes_through_in_order(stored: tuple[httpx.Client, str, bytes]) -> None:
    http, url, octets = stored
    response = _open(http, url)

    async def read_all() -> bytes:
        received = bytearray()
        async for chunk in _UpstreamBody(response).__aiter__():
            assert len(chunk) <= CHUNK_SIZE
            received += chunk
        return bytes(received)

    try:
        assert asyncio.run(read_all()) == octets
    finally:
        response.close()
    assert _readers_gone(within=10)


def test_the_reader_waits_for_a_slow_consumer(stored: tuple[httpx.Client, str, bytes]) -> None:
    """With the consumer not taking anything, the reader stops READ_AHEAD chunks ahead (memory bound)."""
    http, url, _ = stored
    response = _open(http, url)

    async def hold() -> int:
        body = _UpstreamBody(response).__aiter__()
        first = await body.__anext__()
        # Let the reader run as far as it may; it must stop at READ_AHEAD chunks queued.
        await asyncio.sleep(0.5)
        queued = response.num_bytes_downloaded - len(first)
        await body.aclose()
        return queued

    try:
        queued = asyncio.run(hold())
    finally:
        response.close()
    # READ_AHEAD queued, the chunk the reader holds while waiting for room, and less than a
    # chunk httpx has received but not yet made a whole chunk of.
    assert queued <= (READ_AHEAD + 2) * CHUNK_SIZE
    assert queued < BLOB_SIZE - CHUNK_SIZE
    assert _readers_gone(within=10)


def test_a_consumer_that_stops_early_ends_the_reader(stored: tuple[httpx.Client, str, bytes]) -> None:
    http, url, octets = stored
    response = _open(http, url)

    async def first_only() -> bytes:
        body = _UpstreamBody(response).__aiter__()
        chunk = await body.__anext__()
        await body.aclose()  # what Django's aclosing() does when the client goes away
        return chunk

    try:
        assert octets.startswith(asyncio.run(first_only()))
    finally:
        response.close()
    assert _readers_gone(within=10)
