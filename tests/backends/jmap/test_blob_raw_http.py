"""backends.jmap.raw_http: the plain connection passthrough blobs travel on, against a real Cyrus.

Every octet of a download comes through in order, in pieces no larger than
asked; an upload lies on Cyrus whole whether it is sent from a file (sendfile),
from a reader of known size, or from one of unknown size (chunked transfer
coding, RFC 9112 §7.1). The connection keeps the account client's rules
(backends/jmap/url_policy.py): the sessionUrl's own origin may be loopback,
another origin must resolve to public addresses only, and a redirect is
handed back, never followed (RFC 8620 §2.2 allows following only for the
Session). Errors never quote the URL's path or query.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import secrets
import tempfile
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from backends.jmap import blob_stream, raw_http
from backends.jmap.raw_http import (
    CHUNK_SIZE,
    RawBodyUnreadable,
    RawHttpError,
    RawHttpRefused,
    raw_exchange,
    raw_target,
)
from backends.jmap.url_templates import url_template_fill
from tests.servers.cyrus import CyrusServer, CyrusUser
from tests.servers.dovecot import free_port

BLOB_SIZE = 3 * CHUNK_SIZE + 4321


@pytest.fixture(scope="module")
def alice(cyrus: CyrusServer) -> CyrusUser:
    return cyrus.user(f"alice-t2-raw-{secrets.token_hex(2)}", f"pw-{secrets.token_hex(6)}")


@pytest.fixture(scope="module")
def urls(alice: CyrusUser) -> dict[str, str]:
    """alice's absolute upload URL and download URL template (Cyrus's are relative)."""
    answer = httpx.get(alice.session_url, auth=(alice.login, alice.password), follow_redirects=True, timeout=30)
    session, base = answer.json(), str(answer.url)
    # urljoin keeps the templates' braces (httpx would percent-encode them).
    upload = url_template_fill(urljoin(base, session["uploadUrl"]), accountId=alice.login)
    return {"upload": upload, "download": urljoin(base, session["downloadUrl"]), "base": base}


def _auth(alice: CyrusUser) -> dict[str, str]:
    token = base64.b64encode(f"{alice.login}:{alice.password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _upload(alice: CyrusUser, urls: dict[str, str], body: Any, size: int | None) -> dict[str, Any]:
    response = raw_exchange(
        method="POST", url=urls["upload"], session_url=alice.session_url, what="the uploadUrl",
        headers={**_auth(alice), "Content-Type": "application/octet-stream"}, timeout=30, answer_timeout=60,
        body=body, size=size,
    )  # fmt: skip
    try:
        assert response.status_code in (200, 201), response.read_limited(4096)
        answer = json.loads(response.read_limited(65536) or b"null")
    finally:
        response.close()
    assert isinstance(answer, dict)
    return answer


def _download(alice: CyrusUser, urls: dict[str, str], blob_id: str, *, chunk: int = CHUNK_SIZE) -> Iterator[bytes]:
    url = url_template_fill(urls["download"], accountId=alice.login, blobId=blob_id, name="x.bin",
                            type="application/octet-stream")  # fmt: skip
    response = raw_exchange(
        method="GET", url=url, session_url=alice.session_url, what="the downloadUrl",
        headers={**_auth(alice), "Accept-Encoding": "identity"}, timeout=30, answer_timeout=30,
    )  # fmt: skip
    try:
        assert response.status_code == 200
        yield from response.iter_raw(chunk)
    finally:
        response.close()


def _cyrus_digest(alice: CyrusUser, urls: dict[str, str], blob_id: str) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    for piece in _download(alice, urls, blob_id):
        digest.update(piece)
        size += len(piece)
    return size, digest.hexdigest()


def test_a_download_comes_whole_in_pieces_no_larger_than_asked(alice: CyrusUser, urls: dict[str, str]) -> None:
    octets = secrets.token_bytes(BLOB_SIZE)
    blob_id = _upload(alice, urls, io.BytesIO(octets), len(octets))["blobId"]
    pieces = list(_download(alice, urls, blob_id, chunk=64 * 1024))
    assert all(0 < len(piece) <= 64 * 1024 for piece in pieces)
    assert b"".join(pieces) == octets


def test_the_answer_is_read_asking_for_quick_acks(alice: CyrusUser, urls: dict[str, str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    # Cyrus writes its answer's head and body in pieces with Nagle on (backends/jmap/quick_ack.py).
    asked: list[object] = []
    monkeypatch.setattr(raw_http, "ack_at_once", asked.append)
    octets = secrets.token_bytes(1000)
    blob_id = _upload(alice, urls, io.BytesIO(octets), len(octets))["blobId"]
    assert len(asked) == 1
    assert b"".join(_download(alice, urls, blob_id)) == octets
    assert len(asked) == 2  # once per exchange, before its answer's head


def test_an_upload_from_a_file_is_sent_whole(alice: CyrusUser, urls: dict[str, str]) -> None:
    octets = secrets.token_bytes(BLOB_SIZE)
    with tempfile.TemporaryFile() as spool:
        spool.write(octets)
        spool.seek(0)
        answer = _upload(alice, urls, spool, len(octets))
    assert answer["size"] == len(octets)
    assert _cyrus_digest(alice, urls, answer["blobId"]) == (len(octets), hashlib.sha256(octets).hexdigest())


def test_an_upload_of_unknown_size_goes_chunked(alice: CyrusUser, urls: dict[str, str]) -> None:
    octets = secrets.token_bytes(CHUNK_SIZE + 777)

    class Reader:
        """A body with read() only: no file, no length."""

        def __init__(self) -> None:
            self._stream = io.BytesIO(octets)

        def read(self, size: int = -1) -> bytes:
            return self._stream.read(size)

    answer = _upload(alice, urls, Reader(), None)
    assert answer["size"] == len(octets)
    assert _cyrus_digest(alice, urls, answer["blobId"]) == (len(octets), hashlib.sha256(octets).hexdigest())


def test_a_redirect_is_handed_back_not_followed(alice: CyrusUser) -> None:
    # Cyrus answers its well-known Session URL with a redirect to /jmap.
    response = raw_exchange(
        method="GET", url=alice.session_url, session_url=alice.session_url, what="the sessionUrl",
        headers=_auth(alice), timeout=30, answer_timeout=30,
    )  # fmt: skip
    try:
        assert 300 <= response.status_code < 400
        assert response.headers.get("Location")
    finally:
        response.close()


def test_the_session_origin_may_be_loopback_another_origin_may_not(alice: CyrusUser, urls: dict[str, str]) -> None:
    same = raw_target(urljoin(urls["base"], "/jmap/download/x?token=secret"), session_url=alice.session_url, what="x")
    assert same.addresses == ("127.0.0.1",)
    assert same.target == "/jmap/download/x?token=secret"
    with pytest.raises(RawHttpRefused) as caught:
        raw_target("http://127.0.0.1:9/download/x?token=secret", session_url=alice.session_url, what="the downloadUrl")
    assert "public" in str(caught.value)
    assert "secret" not in str(caught.value)


def test_https_to_http_is_refused() -> None:
    with pytest.raises(RawHttpRefused):
        raw_target("http://upstream.example/download", session_url="https://upstream.example/jmap", what="x")


def test_an_unreachable_upstream_is_an_error_without_the_url(alice: CyrusUser) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RawHttpError) as caught:
        raw_exchange(method="GET", url=closed + "/d?token=secret", session_url=closed + "/s", what="x",
                     headers={}, timeout=5, answer_timeout=5)  # fmt: skip
    assert not caught.value.timed_out
    assert "secret" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)


def test_a_body_that_stops_arriving_is_the_clients_failure(alice: CyrusUser, urls: dict[str, str]) -> None:
    # The proxy's own client left (or stalled) mid-upload: the read fails, and that is not told
    # as an upstream failure (backends.jmap.blob_stream answers 400, not 502).
    class Leaving:
        """A body that gives one piece and then fails, as a reader of a client gone mid-body does."""

        def __init__(self) -> None:
            self.calls = 0

        def read(self, size: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 1:
                raise OSError("the client went away before the whole request body arrived")
            return b"m" * min(size, 1000)

    with pytest.raises(RawBodyUnreadable) as caught:
        raw_exchange(
            method="POST", url=urls["upload"], session_url=alice.session_url, what="the uploadUrl",
            headers={**_auth(alice), "Content-Type": "application/octet-stream"}, timeout=30, answer_timeout=30,
            body=Leaving(), size=CHUNK_SIZE,
        )  # fmt: skip
    assert "could not be read" in str(caught.value)
    # The upload endpoint tells the client it is its body, not the upstream, that failed.
    problem = blob_stream._problem_from_transport(caught.value)
    assert (problem.status, problem.detail) == (400, "the upload's body stopped arriving before its Content-Length")
