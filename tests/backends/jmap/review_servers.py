"""Small real HTTP servers on 127.0.0.1 for the review tests (test_review_*.py).

- `RecordingServer`: an "internal service" (a management port, a metadata
  endpoint) that records every request that reaches it, so a test can show
  that the proxy never connected to it.
- `CyrusFront`: a JMAP upstream that serves the suite's real Cyrus through
  itself and changes what Cyrus says the way a hostile or broken upstream
  would (`session_edit` rewrites the Session object; `api_edit` the API answer
  bytes; `redirect` answers the Session GET with a 301 elsewhere; `api_drip`
  sends API answers slowly; `session_raw` replaces the Session bytes). It counts API calls and Session GETs and records
  the methods called; `download_headers` are added to download answers. Everything
  it does not change is Cyrus's own answer.
"""
from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


@dataclass
class Seen:
    method: str
    path: str
    authorization: str | None


class _Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Recorder(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return

    def _answer(self) -> None:
        owner: RecordingServer = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        owner.seen.append(Seen(self.command, self.path, self.headers.get("Authorization")))
        body = b'{"internal": "secret of the internal service"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer


def session_state_flapping(data: bytes) -> bytes:
    """A CyrusFront.api_edit: the API answer with a new random sessionState each time, as a
    flapping upstream sends (RFC 8620 §3.4 says a client refetches the Session when it changes)."""
    answer = json.loads(data)
    answer["sessionState"] = secrets.token_hex(4)
    return json.dumps(answer).encode()


class RecordingServer(_Server):
    """See the module docstring."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        super().__init__(_Recorder)


class _Front(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _relay(self) -> None:
        owner: CyrusFront = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.command == "GET" and self.path in ("/.well-known/jmap", "/jmap") and owner.redirect:
            self.send_response(301)
            self.send_header("Location", owner.redirect)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        headers = {name: value for name, value in self.headers.items()
                   if name.lower() in ("authorization", "content-type", "accept")}
        answer = httpx.request(self.command, owner.cyrus_base + self.path, content=body, headers=headers,
                               follow_redirects=True, timeout=30)
        data = answer.content
        if self.command == "GET" and self.path in ("/.well-known/jmap", "/jmap") and answer.status_code == 200:
            owner.session_gets += 1
        if self.command == "GET" and self.path in ("/.well-known/jmap", "/jmap") and answer.status_code == 200:
            session = json.loads(data)
            # Cyrus's relative URLs, made absolute against this front, as a Session would name them.
            for name in ("apiUrl", "downloadUrl", "uploadUrl", "eventSourceUrl"):
                if isinstance(session.get(name), str) and session[name].startswith("/"):
                    session[name] = owner.base_url + session[name]
            edited = json.dumps(owner.session_edit(session)).encode()
            data = owner.session_raw if owner.session_raw is not None else edited
        elif self.command == "POST" and self.path == "/jmap/" and answer.status_code == 200:
            owner.api_calls += 1
            owner.api_methods.extend(call[0] for call in json.loads(body).get("methodCalls", []))
            data = owner.api_edit(data)
        self.send_response(answer.status_code)
        self.send_header("Content-Type", answer.headers.get("content-type", "application/json"))
        if self.command == "GET" and self.path.startswith("/jmap/download/"):
            for name, value in owner.download_headers.items():
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command == "POST" and owner.api_drip:
            # A slow upstream: the answer in 20 pieces, `api_drip` seconds apart.
            step = max(1, len(data) // 20)
            for start in range(0, len(data), step):
                self.wfile.write(data[start:start + step])
                self.wfile.flush()
                time.sleep(owner.api_drip)
            return
        self.wfile.write(data)

    do_GET = _relay
    do_POST = _relay


@dataclass
class _FrontState:
    cyrus_base: str
    session_edit: Callable[[dict[str, Any]], dict[str, Any]] = field(default=lambda session: session)
    api_edit: Callable[[bytes], bytes] = field(default=lambda data: data)
    redirect: str | None = None
    api_drip: float = 0.0
    session_raw: bytes | None = None
    api_methods: list[str] = field(default_factory=list)
    download_headers: dict[str, str] = field(default_factory=dict)
    api_calls: int = 0
    session_gets: int = 0


class CyrusFront(_Server, _FrontState):
    """See the module docstring."""

    def __init__(self, *, cyrus_base: str) -> None:
        _FrontState.__init__(self, cyrus_base=cyrus_base)
        _Server.__init__(self, _Front)

    @property
    def session_url(self) -> str:
        return f"{self.base_url}/jmap"
