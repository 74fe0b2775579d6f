"""The EventSource endpoint (RFC 8620 §7.3) at /eventsource/ on the JMAP port.

GET eventSourceUrl?types=…&closeafter=state|no&ping=N, authenticated like the
API (Basic, Bearer, session cookie). The answer is 200 text/event-stream:

- ``event: state`` with a StateChange (RFC 8620 §7.1) whenever a type in
  `types` changes in any account of the caller's pool, followed by an
  ``id:`` that encodes every watched account's position (the pushState). A
  client that reconnects with ``Last-Event-ID`` hears at once what it missed
  (§7.3: "it SHOULD send these changes immediately on connection"); a fresh
  connection hears nothing until something changes, as §7.3 describes.
- ``event: ping`` with ``{"interval": n}`` when `ping` seconds passed since
  the last event (0 = never). A requested interval is clamped to
  [PING_MIN, PING_MAX]; §7.3 allows a minimum of at most 30 and a maximum of
  at least 300, and the data says which interval is used. No id on pings.
- with ``closeafter=state`` the response ends after the first state event.

Missing parameters default to types=*, closeafter=no, ping=0; malformed ones
answer 400 with a problem document. A comment line is sent as soon as the
subscription is in place, so a client (and any buffering proxy) sees the
stream open; every change committed after that is delivered.
jmap_sse_connections_active counts open streams, including ones the client
drops (Django cancels the stream and its ``finally`` runs).

The stream ends when its credential goes -- the bearer token it presented is
revoked, or its login or an account it watches is deleted
(jmapcore.push.revocation) -- and the client's reconnect then gets a 401.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, StreamingHttpResponse
from django.http.response import HttpResponseBase

from accounts.auth import AuthenticationFailed, authenticate_request, pool_accounts
from accounts.models import Pool
from jmapcore.api import PROBLEM_CONTENT_TYPE, authentication_failed_response
from jmapcore.push.changes import push_state_decode
from jmapcore.push.feed import SubscriptionClosed, feed_subscribe
from jmapcore.push.revocation import Credential, connection_credential, connection_guarded
from jmapsite.metrics import HTTP_REQUESTS, SSE_CONNECTIONS

PING_MIN = 5
PING_MAX = 3600
_TYPE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_PING = re.compile(r"^[0-9]{1,9}$")


class EventSourceParameterError(ValueError):
    pass


@dataclass(frozen=True)
class EventSourceParameters:
    """The query parameters of RFC 8620 §7.3; `types` None means "*"."""

    types: frozenset[str] | None
    close_after_state: bool
    ping: int


def eventsource_parameters_parse(*, query: dict[str, str]) -> EventSourceParameters:
    """Validate `types`, `closeafter` and `ping`, or raise EventSourceParameterError."""
    raw_types = query.get("types", "*")
    if raw_types == "*":
        types: frozenset[str] | None = None
    else:
        names = raw_types.split(",")
        if not all(_TYPE_NAME.fullmatch(name) for name in names):
            raise EventSourceParameterError("types must be * or a comma-separated list of type names")
        types = frozenset(names)
    close_after = query.get("closeafter", "no")
    if close_after not in ("state", "no"):
        raise EventSourceParameterError('closeafter must be "state" or "no"')
    raw_ping = query.get("ping", "0")
    if not _PING.fullmatch(raw_ping):
        raise EventSourceParameterError("ping must be a number of seconds (0 for no pings)")
    ping = int(raw_ping)
    if ping:
        ping = min(max(ping, PING_MIN), PING_MAX)
    return EventSourceParameters(types=types, close_after_state=close_after == "state", ping=ping)


def sse_event(*, event: str, data: object, event_id: str | None = None) -> bytes:
    """One server-sent event (HTML "Server-sent events" §9.2.6); the data is one line of JSON."""
    text = f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n"
    if event_id is not None:
        text += f"id: {event_id}\n"
    return (text + "\n").encode("utf-8")


def _bad_request(detail: str) -> HttpResponse:
    body = {"type": "about:blank", "status": 400, "detail": detail}
    return HttpResponse(json.dumps(body), status=400, content_type=PROBLEM_CONTENT_TYPE)


async def eventsource_stream(
    *,
    accounts: dict[int, str],
    params: EventSourceParameters,
    last_event_id: str | None,
    credential: Credential | None = None,
) -> AsyncIterator[bytes]:
    """The body of one EventSource response (see the module docstring).

    With ``credential``, the stream ends when that credential is revoked.
    """
    SSE_CONNECTIONS.inc()
    try:
        async with feed_subscribe(accounts=accounts) as subscription:
            with contextlib.ExitStack() as guard:
                if credential is not None:
                    guard.enter_context(connection_guarded(credential=credential, on_revoked=subscription.close))
                yield b": jmap event stream\n\n"
                last_sent = time.monotonic()
                missed_since = push_state_decode(last_event_id, account_ids=accounts.values())
                if missed_since:
                    missed = (await subscription.changes_since(missed_since)).filtered(params.types)
                    if missed:
                        yield sse_event(event="state", data=missed.to_json(), event_id=subscription.push_state)
                        if params.close_after_state:
                            return
                        last_sent = time.monotonic()
                while True:
                    timeout = None if not params.ping else max(0.0, last_sent + params.ping - time.monotonic())
                    try:
                        change = await asyncio.wait_for(subscription.next(), timeout)
                    except TimeoutError:
                        yield sse_event(event="ping", data={"interval": params.ping})
                        last_sent = time.monotonic()
                        continue
                    visible = change.filtered(params.types)
                    if not visible:
                        continue
                    yield sse_event(event="state", data=visible.to_json(), event_id=subscription.push_state)
                    last_sent = time.monotonic()
                    if params.close_after_state:
                        return
    except SubscriptionClosed:
        return  # the credential was revoked: the response ends here
    finally:
        SSE_CONNECTIONS.dec()


def _authenticate(request: HttpRequest) -> tuple[Pool, dict[int, str], Credential]:
    pool = authenticate_request(request)
    accounts = {account.pk: account_id for account_id, account in pool_accounts(pool).items()}
    credential = connection_credential(
        pool=pool, authorization=request.headers.get("Authorization"), account_pks=accounts
    )
    return pool, accounts, credential


async def eventsource_view(request: HttpRequest) -> HttpResponseBase:
    """GET eventSourceUrl (RFC 8620 §7.3)."""
    HTTP_REQUESTS.labels(endpoint="eventsource").inc()
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    try:
        _pool, accounts, credential = await sync_to_async(_authenticate)(request)
    except AuthenticationFailed as exc:
        return authentication_failed_response(exc)
    try:
        params = eventsource_parameters_parse(query={key: request.GET[key] for key in request.GET})
    except EventSourceParameterError as exc:
        return _bad_request(str(exc))
    stream = eventsource_stream(
        accounts=accounts, params=params, last_event_id=request.headers.get("Last-Event-ID"), credential=credential
    )
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response

