"""The transport of forwarded API calls (backends.jmap.api_transport), against the suite's Cyrus.

- alice's calls reuse one kept-alive connection, also after a Session refresh
  stored by another process replaced her cached client.
- An upstream behind https (a TLS front to Cyrus with a throwaway CA) is
  verified with JMAP_TLS_CA_FILE: trusted, the call goes through; without
  that CA, the call is a permanent certificate error and nothing is sent.
- mallory's upstream drips the status line and headers of its answer: the
  request's timeout bounds the whole exchange, not each read.
- An idle connection the upstream closed meanwhile is replaced, not used.
- mallory's canned answers: a gzip answer is decoded, one that inflates past
  JMAP_MAX_RESPONSE_SIZE is refused while it inflates, an encoding that was not
  asked for is refused, a 3xx is an error and its Location is never visited,
  and an answer that says "Connection: close" leaves nothing in the pool.
- A connection to another origin than the sessionUrl's goes only to an address
  checked public when it is opened (a loopback one is refused there, even
  when the caller skipped url_policy).
- Host carries the port only when it is not the scheme's default (as httpx).
- Connections idle past IDLE_SECONDS are swept out of the pool and closed.
- Review of the transport: a gzip answer that does not inflate or is cut short,
  a Content-Length of thousands of digits, an apiUrl that cannot be a request
  target, another origin that does not resolve, and answers json_fast cannot
  take are each the UpstreamError that says so (never another exception); an
  account not saved yet shares no pooled connection.
"""
from __future__ import annotations

import gzip
import json
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_django.fixtures import Settings

from accounts.models import Account
from backends.jmap import api_transport
from backends.jmap.api_transport import idle_connections
from backends.jmap.client import UpstreamError, upstream_client, upstream_clients_clear
from backends.jmap.http11_wire import host_header
from backends.jmap.session_store import upstream_session_refresh
from tests.backends.jmap.passthrough import passthrough_account_make
from tests.backends.jmap.review_servers import CyrusFront
from tests.servers.cyrus import CyrusServer, CyrusUser
from tests.servers.dovecot import certificates_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_upstream_clients")]

CORE = "urn:ietf:params:jmap:core"
ECHO = {"using": [CORE], "methodCalls": [["Core/echo", {"hello": "alice"}, "0"]]}


@pytest.fixture
def alice_cyrus(cyrus: CyrusServer) -> CyrusUser:
    return cyrus.user(f"alice-l2-transport-{secrets.token_hex(3)}", "alice-l2-transport-pw")


def _pooled(owner: object) -> list[object]:
    """The idle connections the pool holds for `owner` (identity matters to these tests)."""
    with api_transport._idle_lock:
        return [connection for key, idle in api_transport._idle.items() if key[0] == owner for connection in idle]


def _echo(account: Account) -> str:
    answer = upstream_client(account).api_post(ECHO)
    name: str = answer["methodResponses"][0][0]
    return name


def test_calls_reuse_one_kept_alive_connection(alice_cyrus: CyrusUser) -> None:
    alice = passthrough_account_make(accountid=f"alice{secrets.token_hex(3)}", user=alice_cyrus)
    assert _echo(alice) == "Core/echo"
    [connection] = _pooled(alice.pk)
    for _ in range(3):
        assert _echo(alice) == "Core/echo"
        assert _pooled(alice.pk) == [connection]
    # The worker's periodic Session refresh saves the row: a new cached client, the same connection.
    upstream_session_refresh(account=Account.objects.get(pk=alice.pk))
    current = Account.objects.get(pk=alice.pk)
    assert current.updated_at != alice.updated_at
    assert _echo(current) == "Core/echo"
    assert _pooled(alice.pk) == [connection]


def test_every_read_of_an_answer_asks_for_quick_acks(alice_cyrus: CyrusUser, monkeypatch: pytest.MonkeyPatch) -> None:
    # Cyrus writes its answers in pieces with Nagle on: each read asks for quick ACKs
    # (backends/jmap/quick_ack.py) so that the pieces after the first are not held ~40 ms.
    asked: list[socket.socket] = []
    reads: list[int] = []
    real_ack, real_receive = api_transport.ack_at_once, api_transport._Connection._receive

    def ack(sock: socket.socket) -> None:
        asked.append(sock)
        real_ack(sock)

    def receive(self: api_transport._Connection, most: int) -> bytes:
        reads.append(len(asked))
        return real_receive(self, most)

    monkeypatch.setattr(api_transport, "ack_at_once", ack)
    monkeypatch.setattr(api_transport._Connection, "_receive", receive)
    alice = passthrough_account_make(accountid=f"alice{secrets.token_hex(3)}", user=alice_cyrus)
    assert _echo(alice) == "Core/echo"
    [connection] = _pooled(alice.pk)
    assert reads and len(asked) == len(reads)  # one ask per read, each before its read
    assert all(before == index for index, before in enumerate(reads))
    assert all(sock is connection.sock for sock in asked)  # type: ignore[attr-defined]


def test_an_idle_connection_the_upstream_closed_is_replaced(alice_cyrus: CyrusUser) -> None:
    alice = passthrough_account_make(accountid=f"alice{secrets.token_hex(3)}", user=alice_cyrus)
    assert _echo(alice) == "Core/echo"
    [connection] = _pooled(alice.pk)
    # What an upstream's keep-alive timeout does: the other end goes away while the connection idles.
    raw = connection.sock  # type: ignore[attr-defined]
    raw.shutdown(socket.SHUT_RD)
    assert _echo(alice) == "Core/echo"
    assert _pooled(alice.pk) != [connection]
    assert idle_connections(alice.pk) == 1


@pytest.fixture
def tls_front(cyrus: CyrusServer, tmp_path: Path) -> Iterator[tuple[CyrusFront, Path]]:
    """Cyrus behind https on 127.0.0.1: a CyrusFront whose listening socket speaks TLS with a
    certificate from a throwaway CA (returned beside it)."""
    certificates = certificates_create(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates.cert_file, certificates.key_file)
    front = CyrusFront(cyrus_base=cyrus.base_url)
    front.httpd.socket = context.wrap_socket(front.httpd.socket, server_side=True)
    front.base_url = f"https://127.0.0.1:{front.port}"
    yield front, certificates.ca_file
    front.stop()


def test_an_https_upstream_is_verified_with_the_configured_ca(
    alice_cyrus: CyrusUser, tls_front: tuple[CyrusFront, Path], settings: Settings
) -> None:
    front, ca_file = tls_front
    settings.JMAP_TLS_CA_FILE = str(ca_file)
    alice = passthrough_account_make(accountid=f"alice{secrets.token_hex(3)}", user=alice_cyrus,
                                     session_url=front.session_url)
    upstream_client(alice).session_refresh()
    assert upstream_client(alice).session().api_url.startswith("https://127.0.0.1:")
    assert _echo(alice) == "Core/echo"
    assert front.api_calls == 1
    # The same upstream, its CA no longer trusted: refused at the handshake, nothing sent.
    settings.JMAP_TLS_CA_FILE = ""
    upstream_clients_clear()
    with pytest.raises(UpstreamError) as refused:
        upstream_client(alice).api_post(ECHO)
    assert refused.value.permanent
    assert "certificate verify failed" in refused.value.message
    assert front.api_calls == 1


class _LoopbackUpstream:
    """mallory's upstream on 127.0.0.1: one connection at a time, each given to `_handle` (until stop)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                peer, _ = self.listener.accept()
            except TimeoutError:
                continue
            with peer:
                try:
                    self._handle(peer)
                except OSError:
                    pass  # the proxy closed its side (a timeout, a refused answer): the next one

    def _handle(self, peer: socket.socket) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(5)
        self.listener.close()


class HeaderDrip(_LoopbackUpstream):
    """Reads a request, then sends the status line and one header a few bytes at a time, `pause`
    seconds apart, for far longer than any timeout."""

    def __init__(self, pause: float) -> None:
        self.pause = pause
        super().__init__()

    def _handle(self, peer: socket.socket) -> None:
        peer.recv(65536)
        answer = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 200 + b"\r\n\r\n"
        for start in range(0, len(answer), 4):
            if self.stopped.is_set():
                break
            peer.sendall(answer[start:start + 4])
            time.sleep(self.pause)


@pytest.fixture
def header_drip() -> Iterator[HeaderDrip]:
    server = HeaderDrip(pause=0.1)
    yield server
    server.stop()


def test_an_upstream_dripping_its_headers_times_out_as_a_whole(
    alice_cyrus: CyrusUser, header_drip: HeaderDrip
) -> None:
    base = f"http://127.0.0.1:{header_drip.port}"
    mallory = passthrough_account_make(accountid=f"mallory{secrets.token_hex(3)}", user=alice_cyrus,
                                       session_url=f"{base}/jmap")
    # Its Session as if fetched: only apiUrl matters here (the sessionUrl's own origin).
    Account.objects.filter(pk=mallory.pk).update(upstream_session={
        "apiUrl": f"{base}/jmap/", "downloadUrl": "", "uploadUrl": "", "eventSourceUrl": "",
        "capabilities": {CORE: {}}, "accounts": {}, "primaryAccounts": {}, "state": "s1",
    })
    mallory.refresh_from_db()
    # Each piece comes well within the read timeout; the whole headers would take ~5 s.
    with pytest.raises(UpstreamError) as caught:
        upstream_client(mallory).api_post(ECHO, timeout=1.0)
    assert caught.value.timed_out
    assert not caught.value.permanent
    assert idle_connections(mallory.pk) == 0


class CannedUpstream(_LoopbackUpstream):
    """Answers every request with the same canned octets and records each request's head
    (request line and headers)."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.heads: list[bytes] = []
        super().__init__()

    def _handle(self, peer: socket.socket) -> None:
        peer.settimeout(5)
        self._answer_all(peer)

    def _answer_all(self, peer: socket.socket) -> None:
        pending = b""
        while not self.stopped.is_set():
            while b"\r\n\r\n" not in pending:
                data = peer.recv(65536)
                if not data:
                    return
                pending += data
            head, pending = pending.split(b"\r\n\r\n", 1)
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            while len(pending) < length:
                data = peer.recv(65536)
                if not data:
                    return
                pending += data
            pending = pending[length:]
            self.heads.append(head)
            peer.sendall(self.answer)
            if b"connection: close" in self.answer.lower():
                return


def _answer(status: str, body: bytes, **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


ECHO_ANSWER = json.dumps({"methodResponses": [["Core/echo", {"hello": "alice"}, "0"]],
                          "sessionState": "s1"}).encode()


@pytest.fixture
def canned() -> Iterator[list[CannedUpstream]]:
    servers: list[CannedUpstream] = []
    yield servers
    for server in servers:
        server.stop()


def _mallory_at(server: CannedUpstream, user: CyrusUser) -> Account:
    """A passthrough account whose sessionUrl and stored Session point at `server`."""
    account = passthrough_account_make(accountid=f"mallory{secrets.token_hex(3)}", user=user,
                                       session_url=f"{server.base}/jmap")
    Account.objects.filter(pk=account.pk).update(upstream_session={
        "apiUrl": f"{server.base}/jmap/", "downloadUrl": "", "uploadUrl": "", "eventSourceUrl": "",
        "capabilities": {CORE: {}}, "accounts": {}, "primaryAccounts": {}, "state": "s1",
    })
    account.refresh_from_db()
    return account


def test_a_gzip_answer_is_decoded(alice_cyrus: CyrusUser, canned: list[CannedUpstream]) -> None:
    server = CannedUpstream(_answer("200 OK", gzip.compress(ECHO_ANSWER), Content_Encoding="gzip"))
    canned.append(server)
    mallory = _mallory_at(server, alice_cyrus)
    assert _echo(mallory) == "Core/echo"
    assert b"accept-encoding: gzip" in server.heads[0].lower()


def test_a_gzip_bomb_is_refused_while_it_inflates(
    alice_cyrus: CyrusUser, canned: list[CannedUpstream], settings: Settings
) -> None:
    settings.JMAP_MAX_RESPONSE_SIZE = 64 * 1024
    # 16 MiB of spaces after the JSON: about 16 KiB on the wire, far past the limit inflated.
    bomb = gzip.compress(ECHO_ANSWER + b" " * (16 * 1024 * 1024))
    assert len(bomb) < settings.JMAP_MAX_RESPONSE_SIZE
    server = CannedUpstream(_answer("200 OK", bomb, Content_Encoding="gzip"))
    canned.append(server)
    mallory = _mallory_at(server, alice_cyrus)
    with pytest.raises(UpstreamError) as refused:
        upstream_client(mallory).api_post(ECHO)
    assert "too large" in refused.value.message
    assert idle_connections(mallory.pk) == 0


def test_an_encoding_not_asked_for_is_refused(alice_cyrus: CyrusUser, canned: list[CannedUpstream]) -> None:
    server = CannedUpstream(_answer("200 OK", b"\x8b\x00\x80" + ECHO_ANSWER, Content_Encoding="br"))
    canned.append(server)
    mallory = _mallory_at(server, alice_cyrus)
    with pytest.raises(UpstreamError) as refused:
        upstream_client(mallory).api_post(ECHO)
    assert "encoding that was not asked for" in refused.value.message


def test_a_redirect_is_an_error_and_is_not_followed(alice_cyrus: CyrusUser, canned: list[CannedUpstream]) -> None:
    elsewhere = CannedUpstream(_answer("200 OK", ECHO_ANSWER))
    server = CannedUpstream(_answer("307 Temporary Redirect", b"", Location=f"{elsewhere.base}/jmap/"))
    canned.extend([elsewhere, server])
    mallory = _mallory_at(server, alice_cyrus)
    with pytest.raises(UpstreamError) as refused:
        upstream_client(mallory).api_post(ECHO)
    assert refused.value.status == 307
    assert len(server.heads) == 1
    assert elsewhere.heads == []


def test_an_answer_closing_the_connection_leaves_none_idle(
    alice_cyrus: CyrusUser, canned: list[CannedUpstream]
) -> None:
    server = CannedUpstream(_answer("200 OK", ECHO_ANSWER, Connection="close"))
    canned.append(server)
    mallory = _mallory_at(server, alice_cyrus)
    assert _echo(mallory) == "Core/echo"
    assert idle_connections(mallory.pk) == 0
    assert _echo(mallory) == "Core/echo"  # a new connection, not the closed one
    assert len(server.heads) == 2


def test_another_origin_is_checked_when_its_connection_is_opened(
    alice_cyrus: CyrusUser, canned: list[CannedUpstream]
) -> None:
    """The caller skipped url_policy (as a stale "public" verdict would): the connection to
    another origin than the sessionUrl's still refuses a loopback address, and sends nothing."""
    server = CannedUpstream(_answer("200 OK", ECHO_ANSWER))
    canned.append(server)
    with pytest.raises(UpstreamError) as refused:
        api_transport.exchange(
            owner="mallory", session_url="http://mallory.example/jmap", method="POST", url=f"{server.base}/jmap/",
            headers={"Authorization": "Basic bWFsbG9yeTpwdw=="}, body=b"{}", timeout=5.0, limit=1 << 20,
            what="apiUrl", error=UpstreamError,
        )
    assert refused.value.permanent
    assert "another origin than the sessionUrl" in refused.value.message
    assert server.heads == []
    # The sessionUrl's own origin is the operator's choice: connected by name, answered.
    answer = api_transport.exchange(
        owner="alice", session_url=f"{server.base}/jmap", method="POST", url=f"{server.base}/jmap/",
        headers={}, body=b"{}", timeout=5.0, limit=1 << 20, what="apiUrl", error=UpstreamError,
    )
    assert answer.status == 200
    assert json.loads(answer.body)["sessionState"] == "s1"


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        (("https", "alice.example", 443), "alice.example"),
        (("http", "alice.example", 80), "alice.example"),
        (("https", "alice.example", 8443), "alice.example:8443"),
        (("http", "alice.example", 443), "alice.example:443"),
        (("http", "::1", 8080), "[::1]:8080"),
        (("https", "bücher.example", 443), "xn--bcher-kva.example"),
    ],
)
def test_host_names_the_port_only_when_it_is_not_the_schemes_default(origin: tuple[str, str, int], host: str) -> None:
    assert host_header(*origin) == host


def _exchange_at(server: CannedUpstream, *, url: str | None = None) -> api_transport.Answer:
    return api_transport.exchange(
        owner="mallory", session_url=f"{server.base}/jmap", method="POST", url=url or f"{server.base}/jmap/",
        headers={}, body=b"{}", timeout=5.0, limit=1 << 20, what="apiUrl", error=UpstreamError,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        # A gzip body that does not inflate: zlib.error went past the transport's error mapping.
        (_answer("200 OK", b"not gzip at all", Content_Encoding="gzip"), "not valid HTTP/1.1 (HTTPException)"),
        # Cut short inside the gzip stream although the framing says it is whole.
        (_answer("200 OK", gzip.compress(ECHO_ANSWER)[:-12], Content_Encoding="gzip"), "closed before the whole"),
    ],
)
def test_a_gzip_answer_that_does_not_inflate_is_an_upstream_error(
    alice_cyrus: CyrusUser, canned: list[CannedUpstream], answer: bytes, message: str
) -> None:
    server = CannedUpstream(answer)
    canned.append(server)
    mallory = _mallory_at(server, alice_cyrus)
    with pytest.raises(UpstreamError) as refused:
        upstream_client(mallory).api_post(ECHO)
    assert message in refused.value.message
    assert not refused.value.permanent
    assert idle_connections(mallory.pk) == 0


def test_a_content_length_of_thousands_of_digits_is_too_large(
    alice_cyrus: CyrusUser, canned: list[CannedUpstream]
) -> None:
    """It was int()'s ValueError, reported as a stored credential that is not valid HTTP (permanent)."""
    server = CannedUpstream(b"HTTP/1.1 200 OK\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n")
    canned.append(server)
    mallory = _mallory_at(server, alice_cyrus)
    with pytest.raises(UpstreamError) as refused:
        upstream_client(mallory).api_post(ECHO)
    assert "too large" in refused.value.message
    assert "credential" not in refused.value.message
    assert not refused.value.permanent


def test_an_api_url_that_cannot_be_a_request_target_is_a_permanent_url_error(canned: list[CannedUpstream]) -> None:
    """mallory's Session names an apiUrl with a control character in its path or host: nothing is
    sent, and the error says the URL is unusable (it said the answer was not valid HTTP/1.1)."""
    server = CannedUpstream(_answer("200 OK", ECHO_ANSWER))
    canned.append(server)
    for url in (f"{server.base}/jm\x7fap/", f"{server.base}/jmap/\x00"):
        with pytest.raises(UpstreamError) as refused:
            _exchange_at(server, url=url)
        assert refused.value.message == "apiUrl is not a usable URL"
        assert refused.value.permanent
    assert server.heads == []



def test_another_origin_that_does_not_resolve_is_a_resolution_error(canned: list[CannedUpstream]) -> None:
    """Its error said the host was refused as not public and advised JMAP_UPSTREAM_ALLOW_PRIVATE;
    it is a name that does not resolve (RFC 6761 .invalid), worded as on the sessionUrl's origin."""
    server = CannedUpstream(_answer("200 OK", ECHO_ANSWER))
    canned.append(server)
    with pytest.raises(UpstreamError) as refused:
        _exchange_at(server, url="http://mallory-api.invalid/jmap/")
    assert refused.value.message == "cannot resolve host 'mallory-api.invalid'"
    assert "JMAP_UPSTREAM_ALLOW_PRIVATE" not in refused.value.message
    assert server.heads == []


@pytest.mark.parametrize(
    "body",
    [b"[" * 5000 + b"]" * 5000, b'{"methodResponses": [["Core/echo", {}, "0"]], "a": [\xff]}', b"NaN"],
    ids=["nested-past-every-parser", "not-utf8", "not-an-object"],
)
def test_an_answer_json_cannot_take_is_an_upstream_error(
    alice_cyrus: CyrusUser, canned: list[CannedUpstream], body: bytes
) -> None:
    """json_fast's errors on an upstream's answer (RecursionError, UnicodeDecodeError, a non-object)
    reach the forwarder as UpstreamError, which it maps to a JMAP error, never a 500."""
    server = CannedUpstream(_answer("200 OK", body))
    canned.append(server)
    mallory = _mallory_at(server, alice_cyrus)
    with pytest.raises(UpstreamError) as refused:
        upstream_client(mallory).api_post(ECHO)
    assert "did not return" in refused.value.message


def test_exchanges_of_accounts_not_saved_yet_share_no_connection(canned: list[CannedUpstream]) -> None:
    """Two unsaved accounts (no pk) would both key the pool as None: alice's kept-alive connection
    would carry mallory's next request. Without an owner nothing is pooled."""
    server = CannedUpstream(_answer("200 OK", ECHO_ANSWER))
    canned.append(server)
    for _ in range(2):
        answer = api_transport.exchange(
            owner=None, session_url=f"{server.base}/jmap", method="POST", url=f"{server.base}/jmap/",
            headers={}, body=b"{}", timeout=5.0, limit=1 << 20, what="apiUrl", error=UpstreamError,
        )  # fmt: skip
        assert answer.status == 200
        assert idle_connections(None) == 0
    assert len(server.heads) == 2
