"""A small, standards-conforming OAuth 2.0 authorization server for the suite,
in front of a real jmap-proxy used as the upstream JMAP server.

It speaks the real protocols over real HTTP on 127.0.0.1:

- POST /token: the RFC 6749 §6 refresh_token grant. Clients are identified
  by client_id in the body (a public client, §2.3 and §3.2.1), or, when the
  server is made with a client_secret, must authenticate with HTTP Basic
  (§2.3.1). Each grant mints a new API token of the upstream proxy through its
  management API (POST /api/accounts/{id}/tokens) — the upstream accepts its
  API tokens as Bearer, so the access token is real — revokes the previous
  access token (DELETE /api/tokens/{id}) and rotates the refresh token.
  Errors are §5.2 JSON documents (invalid_grant, invalid_client,
  unsupported_grant_type, invalid_request); answers carry Cache-Control:
  no-store (§5.1).
- GET /.well-known/oauth-authorization-server: RFC 8414 metadata naming
  this server as issuer and /token as token endpoint.
- GET /.well-known/jmap: the upstream's Session (RFC 8620 §2.2), relayed
  with the client's Authorization, so that this server's origin is the
  sessionUrl's origin, where a client discovers the authorization server (as
  when a provider's JMAP and OAuth servers share a host name).

`grants` counts successful grants; `grant_delay` holds each grant open that
many seconds (so that two refreshes overlap); `fail_next` makes the next
grants answer HTTP 503 (a passing failure).
"""
from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx

from tests.servers.proxy import ProxyProcess


@dataclass
class IssuedTokens:
    access_token: str
    refresh_token: str


class OAuthTokenServer:
    """See the module docstring."""

    def __init__(self, *, upstream: ProxyProcess, accountid: str, client_id: str, client_secret: str = "") -> None:
        self.upstream = upstream
        self.accountid = accountid
        self.client_id = client_id
        self.client_secret = client_secret
        self.grants = 0
        self.grant_delay = 0.0
        self.fail_next = 0
        self.requests = 0
        # What the RFC 8414 metadata names as token endpoint ("" : this server's /token).
        self.metadata_token_endpoint = ""
        self._lock = threading.Lock()
        # refresh token -> the upstream token id of the access token issued with it
        self._refresh: dict[str, int] = {}
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="oauth-token-server", daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    @property
    def session_url(self) -> str:
        return self.base_url + "/.well-known/jmap"

    # -- the upstream's management API

    def _mint(self) -> tuple[int, str]:
        answer = httpx.post(f"{self.upstream.mgmt_url}/api/accounts/{self.accountid}/tokens",
                            json={"name": "oauth"}, timeout=30)  # fmt: skip
        answer.raise_for_status()
        body = answer.json()
        return int(body["id"]), str(body["token"])

    def _revoke(self, token_id: int) -> None:
        answer = httpx.request("DELETE", f"{self.upstream.mgmt_url}/api/tokens/{token_id}",
                               headers={"Content-Type": "application/json"}, timeout=30)  # fmt: skip
        if answer.status_code not in (204, 404):
            answer.raise_for_status()

    # -- what a test does

    def tokens_issue(self) -> IssuedTokens:
        """A first access and refresh token, as the authorization code flow would have given them."""
        token_id, access = self._mint()
        refresh = "rt-" + secrets.token_urlsafe(24)
        with self._lock:
            self._refresh[refresh] = token_id
        return IssuedTokens(access_token=access, refresh_token=refresh)

    def access_revoke_all(self) -> None:
        """Revoke every access token issued so far (as an expiry would end them)."""
        with self._lock:
            ids = list(self._refresh.values())
        for token_id in ids:
            self._revoke(token_id)

    def refresh_revoke_all(self) -> None:
        """Forget every refresh token: the next grant is invalid_grant."""
        with self._lock:
            self._refresh.clear()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # -- the protocol

    def _grant(self, form: dict[str, str], authorization: str) -> tuple[int, dict[str, Any]]:
        if self.client_secret:
            expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            if authorization != expected:
                return 401, {"error": "invalid_client", "error_description": "client authentication failed"}
        elif form.get("client_id") != self.client_id:
            return 401, {"error": "invalid_client", "error_description": "unknown client"}
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}
        presented = form.get("refresh_token", "")
        if not presented:
            return 400, {"error": "invalid_request", "error_description": "refresh_token missing"}
        if self.grant_delay:
            time.sleep(self.grant_delay)
        with self._lock:
            if self.fail_next:
                self.fail_next -= 1
                return 503, {"error": "temporarily_unavailable"}
            old_id = self._refresh.pop(presented, None)
        if old_id is None:
            return 400, {"error": "invalid_grant", "error_description": "refresh token unknown or used"}
        token_id, access = self._mint()
        self._revoke(old_id)
        rotated = "rt-" + secrets.token_urlsafe(24)
        with self._lock:
            self._refresh[rotated] = token_id
            self.grants += 1
        return 200, {"access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": rotated}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _json(self, status: int, document: dict[str, Any]) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(body)))
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="token"')
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/.well-known/oauth-authorization-server":
                    self._json(200, {
                        "issuer": server.base_url,
                        "token_endpoint": server.metadata_token_endpoint or server.token_url,
                        "grant_types_supported": ["authorization_code", "refresh_token"],
                        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic"],
                        "response_types_supported": ["code"],
                    })  # fmt: skip
                    return
                if self.path == "/.well-known/jmap":
                    # A reverse proxy for the Session resource only: its URLs name the
                    # upstream's origin, where the client sends everything else.
                    headers = {"Accept": "application/json"}
                    if self.headers.get("Authorization"):
                        headers["Authorization"] = self.headers["Authorization"]
                    answer = httpx.get(server.upstream.jmap_url + "/session", headers=headers, timeout=30)
                    self.send_response(answer.status_code)
                    self.send_header("Content-Type", answer.headers.get("content-type", "application/json"))
                    self.send_header("Content-Length", str(len(answer.content)))
                    self.end_headers()
                    self.wfile.write(answer.content)
                    return
                self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8", "replace")
                if self.path != "/token":
                    self._json(404, {"error": "not found"})
                    return
                with server._lock:
                    server.requests += 1
                if not self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                    self._json(400, {"error": "invalid_request", "error_description": "form encoding required"})
                    return
                parsed = parse_qs(raw, keep_blank_values=True)
                if any(len(values) > 1 for values in parsed.values()):
                    # §3.2: request parameters must not be included more than once.
                    self._json(400, {"error": "invalid_request", "error_description": "repeated parameter"})
                    return
                form = {name: values[0] for name, values in parsed.items()}
                authorization = self.headers.get("Authorization", "")
                if authorization.startswith("Basic "):
                    # §2.3.1: the pair is form-urlencoded before Basic encoding.
                    pair = base64.b64decode(authorization[6:]).decode()
                    user, _, password = pair.partition(":")
                    authorization = "Basic " + base64.b64encode(
                        f"{unquote(user)}:{unquote(password)}".encode()).decode()
                status, document = server._grant(form, authorization)
                self._json(status, document)

        return Handler


def oauth_token_server_running(**kwargs: Any) -> Iterator[OAuthTokenServer]:
    """For fixtures: an OAuthTokenServer, stopped afterwards."""
    server = OAuthTokenServer(**kwargs)
    try:
        yield server
    finally:
        server.stop()
