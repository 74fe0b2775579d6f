"""JMAP over WebSocket (RFC 8887), served by Channels at the capability's url.

- The handshake needs an authenticated upgrade request (jmapcore.push.ws_auth)
  and the "jmap" subprotocol (§4.1); otherwise it is refused (HTTP 403).
- A ``Request`` (§4.3.3) runs through the same engine, limits and errors as
  the HTTP API: it answers ``{"@type": "Response", "requestId": …}`` with the
  usual Response members; a request-level problem answers a
  ``{"@type": "RequestError", "requestId": …}`` carrying the RFC 7807 members
  (§4.3.4). Messages over maxSizeRequest octets, binary frames and invalid
  JSON are RequestErrors too (limit / notJSON); anything that is not a known
  message is notRequest. Requests of one socket run in order, each holding a
  maxConcurrentRequests slot of the pool like an HTTP request.
- ``WebSocketPushEnable`` (§4.3.5.2) starts StateChange pushes with a
  ``pushState`` for the given dataTypes (null: all); with a pushState from
  earlier, what changed since is pushed at once. Enabling again replaces the
  previous settings; ``WebSocketPushDisable`` (§4.3.5.3) stops them. Only the
  accounts of the caller's pool are ever watched.
- When the credential the upgrade request presented goes (its bearer token is
  revoked, its login or one of its accounts is deleted: jmapcore.push.revocation),
  the server closes the socket with code 3000 ("Unauthorized" in IANA's
  WebSocket close code registry) and answers nothing more on it.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from accounts.auth import pool_accounts
from accounts.models import Pool
from jmapcore.concurrency import request_slot
from jmapcore.debuglog import debug_log_body
from jmapcore.engine import request_process
from jmapcore.limits import LIMITS, WEBSOCKET_ENVELOPE_ROOM, WEBSOCKET_MAX_MESSAGE
from jmapcore.protocol.envelope import json_decode, request_from_json
from jmapcore.protocol.errors import RequestError
from jmapcore.push.changes import push_state_decode
from jmapcore.push.feed import ChangeSubscription, feed_subscribe
from jmapcore.push.revocation import guard_get
from jmapcore.push.ws_auth import CREDENTIAL_KEY, POOL_KEY
from jmapsite.metrics import HTTP_REQUESTS

logger = logging.getLogger("jmap.websocket")

SUBPROTOCOL = "jmap"
# IANA "WebSocket Close Code Number Registry": 3000 Unauthorized. (1008, policy
# violation, would fit as well, but Autobahn lets a server send only 1000 or 3000-4999.)
CLOSE_REVOKED = 3000
_TYPE_NAME_MAX = 256


def websocket_request_run(*, pool: Pool, value: dict[str, Any]) -> dict[str, Any]:
    """Run one decoded Request message; raises RequestError like the HTTP API."""
    with request_slot(pool_id=pool.pk):
        # No client need accept a message over WEBSOCKET_MAX_MESSAGE (the
        # largest the proxy accepts): bound the response below it, so that a
        # large one ends in requestTooLarge, not a message the client drops.
        # The Response message also echoes the request's id (RFC 8887 §4.3.3);
        # createdIds are charged by the engine itself.
        echoed = len(json.dumps(value.get("id"), ensure_ascii=False).encode())
        return request_process(pool=pool, body=request_from_json(value),
                               max_size=WEBSOCKET_MAX_MESSAGE - WEBSOCKET_ENVELOPE_ROOM - echoed)


def _pool_account_map(pool: Pool) -> dict[int, str]:
    return {account.pk: account_id for account_id, account in pool_accounts(pool).items()}


def request_error_message(error: RequestError, *, request_id: str | None) -> dict[str, Any]:
    """RFC 8887 §4.3.4: a RequestError with the problem details' members."""
    body: dict[str, Any] = {"@type": "RequestError"}
    if request_id is not None:
        body["requestId"] = request_id
    body.update(error.to_problem())
    return body


def _data_types(value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(t, str) and 0 < len(t) <= _TYPE_NAME_MAX for t in value):
        raise RequestError("notRequest", "dataTypes must be null or a list of type names")
    return frozenset(value)


class JmapWebSocketConsumer(AsyncWebsocketConsumer):
    """One JMAP WebSocket connection."""

    pool: Pool | None = None
    revoked = False
    _push_task: asyncio.Task[None] | None = None
    _push_stack: contextlib.AsyncExitStack | None = None
    _guard_key: int | None = None

    async def connect(self) -> None:
        HTTP_REQUESTS.labels(endpoint="websocket").inc()
        pool = self.scope.get(POOL_KEY)
        if pool is None or SUBPROTOCOL not in self.scope.get("subprotocols", []):
            await self.close()
            return
        self.pool = pool
        await self.accept(subprotocol=SUBPROTOCOL)
        credential = self.scope.get(CREDENTIAL_KEY)
        if credential is not None:
            self._guard_key = guard_get().register(credential=credential, on_revoked=self._on_revoked)

    def _on_revoked(self) -> None:
        """Called on the event loop by the guard: refuse further messages, close."""
        self.revoked = True
        self._guard_key = None  # the guard already forgot us
        asyncio.get_running_loop().create_task(self._close_revoked())

    async def _close_revoked(self) -> None:
        await self._push_stop()
        await self.close(code=CLOSE_REVOKED, reason="credential revoked")

    async def disconnect(self, code: int) -> None:
        key, self._guard_key = self._guard_key, None
        if key is not None:
            guard_get().unregister(key)
        await self._push_stop()

    async def _send_json(self, body: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(body, ensure_ascii=False, separators=(",", ":")))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.revoked:
            return  # closing: the credential no longer grants anything
        request_id: str | None = None
        try:
            value = self._decode(text_data, bytes_data)
            request_id = value.get("id") if isinstance(value.get("id"), str) else None
            await self._dispatch(value)
        except RequestError as exc:
            await self._send_json(request_error_message(exc, request_id=request_id))
        except Exception:
            logger.exception("unexpected error answering a WebSocket message")
            error = RequestError("serverFail", "internal server error", status=500)
            await self._send_json(request_error_message(error, request_id=request_id))

    def _decode(self, text_data: str | None, bytes_data: bytes | None) -> dict[str, Any]:
        if text_data is None:
            raise RequestError("notJSON", "JMAP messages are sent as text frames (RFC 8887 §4.2)")
        if len(text_data) > LIMITS.maxSizeRequest // 4 and len(text_data.encode("utf-8")) > LIMITS.maxSizeRequest:
            raise RequestError(
                "limit", f"the message is larger than {LIMITS.maxSizeRequest} octets", limit="maxSizeRequest"
            )
        value = json_decode(text_data)
        if not isinstance(value, dict):
            raise RequestError("notRequest", "a JMAP WebSocket message is a JSON object with @type")
        if "id" in value and not isinstance(value["id"], str):
            raise RequestError("notRequest", "id must be a string")
        return value

    async def _dispatch(self, value: dict[str, Any]) -> None:
        assert self.pool is not None
        kind = value.get("@type")
        if kind == "Request":
            await self._request(value)
        elif kind == "WebSocketPushEnable":
            await self._push_start(types=_data_types(value.get("dataTypes")), push_state=value.get("pushState"))
        elif kind == "WebSocketPushDisable":
            await self._push_stop()
        else:
            raise RequestError("notRequest", "@type must be Request, WebSocketPushEnable or WebSocketPushDisable")

    async def _request(self, value: dict[str, Any]) -> None:
        assert self.pool is not None
        pool = self.pool
        debug_log_body(direction="request", login=pool.login, endpoint="websocket", body=value)
        response = await database_sync_to_async(websocket_request_run)(pool=pool, value=value)
        body: dict[str, Any] = {"@type": "Response"}
        if isinstance(value.get("id"), str):
            body["requestId"] = value["id"]
        body.update(response)
        debug_log_body(direction="response", login=pool.login, endpoint="websocket", body=body)
        await self._send_json(body)

    async def _push_start(self, *, types: frozenset[str] | None, push_state: object) -> None:
        """Subscribe before returning, so a change committed after the next message is heard."""
        assert self.pool is not None
        await self._push_stop()
        accounts = await database_sync_to_async(_pool_account_map)(self.pool)
        stack = contextlib.AsyncExitStack()
        subscription = await stack.enter_async_context(feed_subscribe(accounts=accounts))
        self._push_stack = stack
        since = push_state_decode(push_state, account_ids=accounts.values())
        self._push_task = asyncio.get_running_loop().create_task(self._push_loop(subscription, types, since))

    async def _push_loop(
        self, subscription: ChangeSubscription, types: frozenset[str] | None, since: dict[str, int] | None
    ) -> None:
        if since:
            missed = (await subscription.changes_since(since)).filtered(types)
            if missed:
                await self._send_json(missed.to_json(push_state=subscription.push_state))
        while True:
            visible = (await subscription.next()).filtered(types)
            if visible:
                await self._send_json(visible.to_json(push_state=subscription.push_state))

    async def _push_stop(self) -> None:
        task, self._push_task = self._push_task, None
        stack, self._push_stack = self._push_stack, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if stack is not None:
            await stack.aclose()
