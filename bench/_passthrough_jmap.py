"""A JMAP client for bench/passthrough.py that treats Cyrus and the proxy alike.

One `JmapEndpoint` per server: a keep-alive httpx client with Basic auth, the
Session fetched once (redirects followed, relative URLs resolved against the URL
the Session finally came from, RFC 8620 §2), the primary mail account, and the
three measured operations: the list-view request, a blob upload and a blob
download. The same code runs against both servers, so a difference in the
figures is the server's, not the client's.

With `quick_ack`, the client asks the kernel for quick ACKs before each read
(backends/jmap/quick_ack.py): Cyrus 3.6 writes an answer in pieces with
Nagle's algorithm on, so a client that acknowledges the first piece only when
its delayed-ACK timer fires waits ~40 ms for the rest. The proxy's own
upstream connections ask for quick ACKs; a direct client that does not would
measure that stall, not Cyrus, and the proxy would look faster than direct.
"""
from __future__ import annotations

import ssl
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin

import httpcore
import httpx

from backends.jmap.quick_ack import ack_at_once

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
USING = [CORE, MAIL]
PAGE = 50
# What a list view shows of each message (the id comes with every Email/get).
LIST_PROPERTIES = ["threadId", "mailboxIds", "keywords", "from", "subject", "receivedAt", "size", "preview"]
CHUNK = 1 << 20


def url_template_fill(template: str, **values: str) -> str:
    """RFC 6570 level 1 expansion of the Session's URL templates (RFC 8620 §2):
    each `{name}` becomes its value percent-encoded; unknown names are left out."""
    out: list[str] = []
    rest = template
    while "{" in rest and "}" in rest.split("{", 1)[1]:
        before, after = rest.split("{", 1)
        name, rest = after.split("}", 1)
        out.append(before)
        out.append(quote(values.get(name, ""), safe=""))
    out.append(rest)
    return "".join(out)


class _QuickAckStream(httpcore.NetworkStream):
    """httpcore's socket stream, asking for quick ACKs before each read (module doc)."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        sock = self._inner.get_extra_info("socket")
        if sock is not None:
            ack_at_once(sock)
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:  # fmt: skip
        return _QuickAckStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _QuickAckBackend(httpcore.NetworkBackend):
    """httpcore's TCP connections, whose streams ask for quick ACKs."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:  # fmt: skip
        return _QuickAckStream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _quick_ack_transport() -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport()
    # httpx has no argument for httpcore's network backend; its pool is replaced by one with the
    # settings httpx gives its own (httpx.Limits() and the keep-alive expiry of httpx 0.28) and that backend.
    limits = httpx.Limits()
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(), max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
        network_backend=_QuickAckBackend(),
    )  # fmt: skip
    return transport


class JmapFailure(RuntimeError):
    """The server answered something a benchmark cannot measure (an error, a wrong shape)."""


@dataclass
class Transfer:
    seconds: float
    octets: int
    blob_id: str
    encoding: str = "identity"  # the download's Content-Encoding


class JmapEndpoint:
    """One JMAP server as a client sees it, reached with Basic auth over one keep-alive connection."""

    def __init__(self, label: str, session_url: str, login: str, password: str, *, quick_ack: bool = False) -> None:
        self.label = label
        self.session_url = session_url
        self.http = httpx.Client(auth=(login, password), timeout=httpx.Timeout(120.0, connect=10.0),
                                 transport=_quick_ack_transport() if quick_ack else None)  # fmt: skip
        self.session: dict[str, Any] = {}
        self.api_url = self.upload_url = self.download_url = self.event_source_url = ""
        self.account_id = ""
        self.inbox_id = ""

    def close(self) -> None:
        self.http.close()

    def session_load(self) -> dict[str, Any]:
        """GET the Session (following the well-known redirect) and resolve its URLs."""
        answer = self.http.get(self.session_url, follow_redirects=True)
        if answer.status_code != 200:
            raise JmapFailure(f"{self.label}: Session answered {answer.status_code}: {answer.text[:300]}")
        base = str(answer.url)
        self.session = answer.json()
        self.api_url = urljoin(base, self.session["apiUrl"])
        self.upload_url = urljoin(base, self.session["uploadUrl"])
        self.download_url = urljoin(base, self.session["downloadUrl"])
        self.event_source_url = urljoin(base, self.session.get("eventSourceUrl", ""))
        self.account_id = str(self.session.get("primaryAccounts", {}).get(MAIL, ""))
        return self.session

    def call(self, calls: list[list[Any]], *, using: list[str] | None = None) -> list[list[Any]]:
        answer = self.http.post(self.api_url, json={"using": using or USING, "methodCalls": calls})
        if answer.status_code != 200:
            raise JmapFailure(f"{self.label}: API answered {answer.status_code}: {answer.text[:300]}")
        return list(answer.json()["methodResponses"])

    def inbox_find(self) -> str:
        (name, args, _tag), = self.call([["Mailbox/query", {"accountId": self.account_id,
                                                             "filter": {"role": "inbox"}}, "m"]])  # fmt: skip
        if name != "Mailbox/query" or not args.get("ids"):
            raise JmapFailure(f"{self.label}: Mailbox/query for the inbox answered {name} {args}")
        self.inbox_id = str(args["ids"][0])
        return self.inbox_id

    def list_view_request(self) -> dict[str, Any]:
        """Email/query of the inbox (newest first, one per thread, PAGE) and Email/get of the
        list properties by result reference (RFC 8620 §3.7): what a mail client sends to
        draw its message list, in one HTTP request."""
        return {
            "using": USING,
            "methodCalls": [
                ["Email/query", {"accountId": self.account_id, "filter": {"inMailbox": self.inbox_id},
                                 "sort": [{"property": "receivedAt", "isAscending": False}],
                                 "collapseThreads": True, "limit": PAGE}, "q"],
                ["Email/get", {"accountId": self.account_id,
                               "#ids": {"resultOf": "q", "name": "Email/query", "path": "/ids"},
                               "properties": LIST_PROPERTIES}, "g"],
            ],
        }  # fmt: skip

    def list_view(self, body: dict[str, Any]) -> tuple[float, list[dict[str, Any]]]:
        """Seconds for one list-view request (send to parsed answer) and the Emails it listed."""
        start = time.perf_counter()
        answer = self.http.post(self.api_url, json=body)
        parsed = answer.json()
        seconds = time.perf_counter() - start
        if answer.status_code != 200:
            raise JmapFailure(f"{self.label}: list view answered {answer.status_code}: {answer.text[:300]}")
        responses = parsed["methodResponses"]
        if len(responses) != 2 or responses[1][0] != "Email/get":
            raise JmapFailure(f"{self.label}: list view answered {responses}"[:500])
        return seconds, list(responses[1][1]["list"])

    def upload(self, payload: bytes) -> Transfer:
        """POST `payload` to the uploadUrl (RFC 8620 §6.1), timed from the first octet sent
        to the parsed answer; the body goes out in CHUNK pieces from the caller's buffer."""
        url = url_template_fill(self.upload_url, accountId=self.account_id)

        def pieces() -> Iterator[bytes]:
            view = memoryview(payload)
            for offset in range(0, len(view), CHUNK):
                yield bytes(view[offset : offset + CHUNK])

        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(payload))}
        start = time.perf_counter()
        answer = self.http.post(url, content=pieces(), headers=headers)
        seconds = time.perf_counter() - start
        if answer.status_code not in (200, 201):
            raise JmapFailure(f"{self.label}: upload answered {answer.status_code}: {answer.text[:300]}")
        described = answer.json()
        if int(described.get("size", -1)) != len(payload):
            raise JmapFailure(f"{self.label}: upload stored {described.get('size')} of {len(payload)} octets")
        return Transfer(seconds=seconds, octets=len(payload), blob_id=str(described["blobId"]))

    def download(self, blob_id: str, *, expected: int) -> Transfer:
        """GET the blob through the downloadUrl template (RFC 8620 §6.2), read to the end in
        CHUNK pieces and counted, never kept; timed from the request to the last octet."""
        url = url_template_fill(self.download_url, accountId=self.account_id, blobId=blob_id,
                                name="bench.bin", type="application/octet-stream")  # fmt: skip
        octets = 0
        start = time.perf_counter()
        # identity: the octets on the wire are the blob's. Cyrus gzips a download when asked,
        # which for random (incompressible) data costs its CPU and gains nothing.
        with self.http.stream("GET", url, headers={"Accept-Encoding": "identity"}) as answer:
            if answer.status_code != 200:
                answer.read()
                raise JmapFailure(f"{self.label}: download answered {answer.status_code}: {answer.text[:300]}")
            encoding = answer.headers.get("Content-Encoding", "identity")
            for piece in answer.iter_bytes(CHUNK):
                octets += len(piece)
        seconds = time.perf_counter() - start
        if octets != expected:
            raise JmapFailure(f"{self.label}: download gave {octets} of {expected} octets")
        return Transfer(seconds=seconds, octets=octets, blob_id=blob_id, encoding=encoding)
