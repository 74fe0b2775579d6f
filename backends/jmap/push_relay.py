"""Push for passthrough accounts (RFC 8620 §7, issue 12 item 4): the upstream's
changes relayed into the proxy's EventSource, WebSocket and PushSubscription.

`PushRelay` runs in the listener process, next to the IMAP IDLE listener
(`manage.py imap_listener`, or a thread of the embedded worker). Every
REGISTRY_POLL_SECONDS it reads the registry of watched accounts
(jmapcore.push.watch: live EventSource/WebSocket listeners in any web
process, enabled verified PushSubscriptions) and keeps one `AccountRelay`
task per watched passthrough Account, on one event loop in one thread. A
task stops as soon as its account is no longer watched: nothing connects to
or polls an upstream while nobody listens.

An AccountRelay:

- GETs the upstream's eventSourceUrl (types=*, closeafter=no, ping=RELAY_PING)
  with the account's credentials and reads the stream incrementally
  (backends.jmap.event_stream: linear time, bounded lines). Each `state`
  event's StateChange has its upstream accountIds rewritten to proxy ids
  (backends.jmap.account_ids; upstream accounts the pool does not have are
  dropped) and is published with the upstream's state strings as they are
  (jmapcore.push.relayed).
- Where the upstream offers no usable push -- no eventSourceUrl, or an answer
  of 204 (Cyrus 3.6), 404, 405 or 501, or something that is not
  text/event-stream -- it polls the states instead (backends.jmap.push_poll):
  one upstream request every POLL_SECONDS, publishing what moved.
- A dropped stream or a failed poll is retried with exponential backoff
  (BACKOFF_FIRST_SECONDS doubling up to BACKOFF_MAX_SECONDS, each wait drawn
  from its upper half at random so that many relays do not retry in step). An
  OAuth 401 refreshes the access token once before backing off.
- The states are read once when it starts (the baseline) and again after each
  reconnect, so a change made while the stream was down is still published.

Several listeners share the accounts through a claim in the Django cache, as
the IDLE listener does; at most MAX_RELAYS accounts per listener. Each
listener writes what it does to a status file (`run/jmap-relay-<pid>.json`)
with per-account state and the totals of upstream connections and polls.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import http.cookiejar
import json
import logging
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from django.core.cache import cache
from django.db import connections
from django.utils import timezone

from accounts.models import Account
from backends.base import BackendError
from backends.jmap.account_ids import state_change_from_upstream
from backends.jmap.client import UpstreamClient, UpstreamError, upstream_client, upstream_transport_error
from backends.jmap.event_stream import EventStreamParser, EventStreamTooLarge, ServerSentEvent
from backends.jmap.push_poll import upstream_states_poll
from backends.jmap.targets import UpstreamTarget, upstream_targets
from backends.jmap.url_policy import UpstreamUrlRefused, upstream_url_check
from backends.jmap.url_templates import url_template_fill
from backends.status_file import status_file_replace
from backends.tls import tls_client_context
from jmapcore.push.relayed import relayed_changed_clean, relayed_changed_since, relayed_publish
from jmapcore.push.watch import watched_account_pks

log = logging.getLogger("jmap.backends.jmap.push")

T = TypeVar("T")

REGISTRY_POLL_SECONDS = 0.5
# Asked of the upstream (RFC 8620 §7.3 `ping`); a stream silent for READ_TIMEOUT is dead.
RELAY_PING_SECONDS = 20
READ_TIMEOUT_SECONDS = 2 * RELAY_PING_SECONDS + 10
CONNECT_TIMEOUT_SECONDS = 10.0
POLL_SECONDS = 2.0
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 120.0
# New upstream accounts named in a StateChange make the Session be read again, at most this often.
SESSION_REFRESH_SECONDS = 60.0
CLAIM_SECONDS = 15
CLAIM_REFRESH_SECONDS = 5.0
MAX_RELAYS = 1000
NO_PUSH_STATUSES = frozenset({204, 404, 405, 501})
EVENT_STREAM = "text/event-stream"


class NoUsablePush(Exception):
    """The upstream offers no event stream the relay can use: poll instead."""


class StreamEnded(Exception):
    """The upstream closed the event stream."""


def backoff_next(current: float) -> float:
    """The next backoff step: doubled, at most BACKOFF_MAX_SECONDS."""
    return min(BACKOFF_MAX_SECONDS, current * 2)


def backoff_wait(current: float) -> float:
    """How long to wait for a backoff step: its upper half, at random (jitter)."""
    return random.uniform(current / 2, current)  # jitter, not a secret


@dataclass(frozen=True)
class RelayView:
    """What one connection to an upstream needs, read from the database in a thread."""

    account_pk: int
    accountid: str
    pool_id: int
    client: UpstreamClient
    event_source_url: str
    auth_type: str
    headers: dict[str, str]
    targets: list[UpstreamTarget]

    @property
    def upstream_to_proxy(self) -> dict[str, str]:
        return {target.upstream_id: target.proxy_id for target in self.targets}


def relay_view_load(*, account_pk: int) -> RelayView | None:
    """The account's upstream as the relay sees it now; None when it is gone or no longer passthrough.

    Reads the stored Session (fetching it once if there is none yet; UpstreamError then).
    """
    account = Account.objects.filter(pk=account_pk, kind=Account.Kind.JMAP, pool__is_active=True).first()
    if account is None:
        return None
    client = upstream_client(account)
    session = client.session()
    current = client.account
    return RelayView(
        account_pk=current.pk,
        accountid=current.accountid,
        pool_id=current.pool_id,
        client=client,
        event_source_url=session.event_source_url,
        auth_type=current.auth_type or "basic",
        headers=client.auth_headers(),
        targets=list(upstream_targets([current]).values()),
    )


def relay_session_refresh(*, client: UpstreamClient) -> None:
    """Read the upstream Session again (new upstream accounts get their rows and proxy ids)."""
    client.session_refresh()


def relay_destination_check(*, url: str, session_url: str) -> None:
    """UpstreamError (permanent) unless the credentials may go to `url` (backends.jmap.url_policy).

    The stored Session's eventSourceUrl passed the policy when it was
    fetched; checked again at each connection, because its host may resolve
    elsewhere now, or the operator may have withdrawn JMAP_UPSTREAM_ALLOW_PRIVATE.
    """
    try:
        upstream_url_check(url, session_url=session_url, what="eventSourceUrl")
    except UpstreamUrlRefused as exc:
        raise UpstreamError(str(exc), permanent=True) from None


def relay_error_describe(exc: BaseException) -> str:
    """What the relay records (status file) and logs about a failed connection or poll.

    Never the text of an httpx error: h11's LocalProtocolError quotes the
    offending header whole, and a stored token with a trailing newline makes
    the Authorization header one (the credential would land in the log and in
    run/jmap-relay-<pid>.json). Transport errors are described by the
    client's helper (backends.jmap.client.upstream_transport_error), as every
    other upstream request is; an UpstreamError's message is already safe.
    """
    if isinstance(exc, UnicodeEncodeError):
        # Its text quotes the characters of the header value it could not encode.
        return "a stored credential has characters an HTTP header cannot carry"
    if isinstance(exc, httpx.TransportError):
        try:
            url = str(exc.request.url)
        except RuntimeError:  # raised outside a request: no URL to name
            url = ""
        return upstream_transport_error(exc, url=url, what="eventSourceUrl", timeout=READ_TIMEOUT_SECONDS).message
    if isinstance(exc, httpx.HTTPError):
        return f"eventSourceUrl failed ({type(exc).__name__})"
    return str(exc) or type(exc).__name__


def _no_cookies() -> http.cookiejar.CookieJar:
    # Authentication is by header only; a cookie one account's upstream sets must not reach another's.
    return http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


class AccountRelay:
    """One passthrough Account's relay: a task on the PushRelay's loop (see the module doc)."""

    def __init__(self, *, account_pk: int, relay: PushRelay) -> None:
        self.account_pk = account_pk
        self.relay = relay
        self.accountid = ""
        self.state = "starting"  # starting | streaming | polling | backoff | closed
        self.mode = ""  # eventsource | poll
        self.connects = 0
        self.polls = 0
        self.events = 0
        self.published = 0
        self.error = ""
        # proxy accountId -> {type: upstream state}: what listeners were last told (or the baseline).
        self.known: dict[str, dict[str, str]] | None = None
        self._refused: set[tuple[str, str]] = set()
        self._no_push = False
        self._backoff = BACKOFF_FIRST_SECONDS
        self._session_refreshed_at = 0.0
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"jmap-relay-{self.account_pk}")

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.state = "closed"

    @property
    def alive(self) -> bool:
        return self.task is not None and not self.task.done()

    def status(self) -> dict[str, Any]:
        return {
            "accountid": self.accountid, "state": self.state, "mode": self.mode, "connects": self.connects,
            "polls": self.polls, "events": self.events, "published": self.published, "error": self.error,
        }  # fmt: skip

    # -- the task -------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            try:
                view = await self.relay.upstream(relay_view_load, account_pk=self.account_pk)
                if view is None:
                    self.state = "closed"
                    return  # deleted, deactivated or no longer passthrough: the registry says the rest
                self.accountid = view.accountid
                if self._no_push or not view.event_source_url:
                    self.mode = "poll"
                    await self._poll_loop(view)
                else:
                    self.mode = "eventsource"
                    await self._stream(view)
            except NoUsablePush as exc:
                log.info("account #%s: the upstream offers no usable push (%s); polling its states",
                         self.account_pk, exc)  # fmt: skip
                self._no_push = True
            except asyncio.CancelledError:
                raise
            except (BackendError, httpx.HTTPError, EventStreamTooLarge, StreamEnded, OSError,
                    UnicodeEncodeError) as exc:
                self.error = relay_error_describe(exc)
                await self._back_off()
            except Exception:
                log.exception("account #%s: the upstream push relay failed", self.account_pk)
                self.error = "internal error"
                await self._back_off()

    async def _back_off(self) -> None:
        wait = backoff_wait(self._backoff)
        log.warning("account #%s: upstream push failed (%s); retrying in %.1fs", self.account_pk, self.error, wait)
        self.state = "backoff"
        self._backoff = backoff_next(self._backoff)
        await asyncio.sleep(wait)

    async def _states_read(self, view: RelayView) -> dict[str, dict[str, str]]:
        """One poll request: proxy accountId -> {type: state} (upstream accounts the pool lacks dropped)."""
        states, refused = await self.relay.upstream(
            upstream_states_poll, client=view.client, targets=view.targets, refused=set(self._refused)
        )
        self.polls += 1
        self.relay.polls += 1
        self._refused |= refused
        return relayed_changed_clean(state_change_from_upstream(states, view.upstream_to_proxy))

    async def _publish(self, view: RelayView, changed: Mapping[str, Mapping[str, str]]) -> None:
        if not changed:
            return
        known = self.known if self.known is not None else {}
        for account_id, types in changed.items():
            known.setdefault(account_id, {}).update(types)
        self.known = known
        self.published += 1
        await self.relay.db(relayed_publish, account_pk=view.account_pk, pool_id=view.pool_id, changed=changed)

    async def _catch_up(self, view: RelayView) -> None:
        """Read the states; publish what moved since `known` (nothing the first time: the baseline)."""
        states = await self._states_read(view)
        if self.known is None:
            self.known = states
            return
        await self._publish(view, relayed_changed_since(seen=self.known, now=states))

    async def _poll_loop(self, view: RelayView) -> None:
        self.state = "polling"
        while True:
            await self._catch_up(view)
            self.state = "polling"
            self.error = ""
            self._backoff = BACKOFF_FIRST_SECONDS
            await asyncio.sleep(POLL_SECONDS)
            # A poll whose answer moved the upstream's sessionState refreshed the rows
            # (UpstreamClient.api_post): new upstream accounts are polled from the next round.
            fresh = await self.relay.upstream(relay_view_load, account_pk=self.account_pk)
            if fresh is None:
                self.state = "closed"
                return
            view = fresh

    async def _stream(self, view: RelayView) -> None:
        """One connection to the upstream's event stream; returns never, raises when it ends."""
        url = url_template_fill(view.event_source_url, types="*", closeafter="no", ping=str(RELAY_PING_SECONDS))
        # The shared async client has no per-account hook: check this connection here (it resolves
        # the host, so in a thread), as the account's own client checks each of its requests.
        await self.relay.upstream(relay_destination_check, url=url, session_url=view.client.account.session_url)
        headers = {**view.headers, "Accept": EVENT_STREAM, "Cache-Control": "no-cache"}
        timeout = httpx.Timeout(CONNECT_TIMEOUT_SECONDS, read=READ_TIMEOUT_SECONDS)
        async with self.relay.http().stream("GET", url, headers=headers, timeout=timeout) as response:
            status = response.status_code
            if status in NO_PUSH_STATUSES:
                raise NoUsablePush(f"eventSourceUrl answered HTTP {status}")
            if status == 401 and view.auth_type == "oauth":
                refreshed = await self.relay.upstream(view.client.credentials_refresh)
                raise UpstreamError("eventSourceUrl answered HTTP 401" + (" (access token refreshed)" if refreshed
                                    else ""), permanent=not refreshed, status=status)  # fmt: skip
            if status != 200:
                raise UpstreamError(f"eventSourceUrl answered HTTP {status}", permanent=False, status=status)
            content_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
            if content_type != EVENT_STREAM:
                raise NoUsablePush(f"eventSourceUrl answered {content_type or 'no content type'}")
            self.connects += 1
            self.relay.connects += 1
            self.state = "streaming"
            self.error = ""
            self._backoff = BACKOFF_FIRST_SECONDS
            # The baseline, or what changed while the stream was down (RFC 8620 §7.3 gives no replay).
            with contextlib.suppress(BackendError):
                await self._catch_up(view)
            parser = EventStreamParser()
            async for chunk in response.aiter_bytes():
                for event in parser.feed(chunk):
                    await self._event(view, event)
        raise StreamEnded("the upstream closed the event stream")

    async def _event(self, view: RelayView, event: ServerSentEvent) -> None:
        if event.event not in ("state", "message"):
            return  # "ping" and whatever else a server adds
        try:
            body = json.loads(event.data)
        except ValueError:
            log.info("account #%s: ignoring an upstream event that is not JSON", self.account_pk)
            return
        if not isinstance(body, dict) or body.get("@type") != "StateChange":
            return
        self.events += 1
        raw = body.get("changed")
        changed = relayed_changed_clean(state_change_from_upstream(raw, view.upstream_to_proxy))
        if isinstance(raw, dict) and set(raw) - view.upstream_to_proxy.keys():
            await self._accounts_maybe_new(view)
        await self._publish(view, changed)

    async def _accounts_maybe_new(self, view: RelayView) -> None:
        """An upstream account the rows lack: refresh the Session (rate-limited); the next
        connection uses the new rows. Until then its changes are not relayed."""
        now = time.monotonic()
        if now - self._session_refreshed_at < SESSION_REFRESH_SECONDS:
            return
        self._session_refreshed_at = now
        try:
            await self.relay.upstream(relay_session_refresh, client=view.client)
        except BackendError as exc:
            log.info("account #%s: refreshing the upstream Session failed: %s", self.account_pk, exc)
            return
        raise StreamEnded("the upstream has new accounts; reconnecting with them")


def _claim_key(account_pk: int) -> str:
    return f"jmap:jmap-relay-claim:{account_pk}"


class PushRelay:
    """Keeps one AccountRelay per watched passthrough Account this listener has claimed."""

    def __init__(self, *, status_file: Path | None = None) -> None:
        self.node = f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"
        self.status_file = status_file
        self.relays: dict[int, AccountRelay] = {}
        self.connects = 0
        self.polls = 0
        self._last_claim_refresh = 0.0
        self._last_status = ""
        self._warned_full = False
        self._http: httpx.AsyncClient | None = None
        # The database (and cache) from one thread: one connection, reused.
        self._db_executor = _executor(1, "jmap-relay-db")
        # Blocking upstream requests (polls, token and Session refreshes).
        self._upstream_executor = _executor(8, "jmap-relay-upstream")

    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                verify=tls_client_context(),
                follow_redirects=False,
                cookies=_no_cookies(),
                limits=httpx.Limits(max_connections=MAX_RELAYS + 16, max_keepalive_connections=16),
                headers={"User-Agent": "jmap-proxy"},
            )
        return self._http

    async def db(self, fn: Callable[..., T], **kwargs: Any) -> T:
        """Run a synchronous ORM/cache function on the relay's database thread."""
        return await _in_thread(self._db_executor, fn, kwargs)

    async def upstream(self, fn: Callable[..., T], **kwargs: Any) -> T:
        """Run a blocking upstream request in a thread."""
        return await _in_thread(self._upstream_executor, fn, kwargs)

    async def tick(self) -> None:
        """One round: read the registry, start relays for newly watched accounts, stop the others."""
        try:
            watched = await self.db(watched_account_pks, now=timezone.now(), kind=Account.Kind.JMAP)
        except Exception:
            log.exception("reading the registry of watched accounts failed")
            return
        for pk, relay in list(self.relays.items()):
            if pk not in watched or not relay.alive:
                del self.relays[pk]
                await relay.stop()
                await self._unclaim(pk)
        for pk in sorted(watched - self.relays.keys()):
            if len(self.relays) >= MAX_RELAYS:
                if not self._warned_full:
                    log.warning("push relay full (%d accounts); others hear of changes on their next request",
                                MAX_RELAYS)  # fmt: skip
                    self._warned_full = True
                break
            if not await self.db(cache.add, key=_claim_key(pk), value=self.node, timeout=CLAIM_SECONDS):
                continue  # another listener relays it
            relay = AccountRelay(account_pk=pk, relay=self)
            self.relays[pk] = relay
            relay.start()
        now = time.monotonic()
        if now - self._last_claim_refresh >= CLAIM_REFRESH_SECONDS:
            self._last_claim_refresh = now
            await self.db(self._claims_refresh)
        self._status_write()

    def _claims_refresh(self) -> None:
        for pk in list(self.relays):
            if cache.get(_claim_key(pk)) == self.node:
                cache.touch(_claim_key(pk), timeout=CLAIM_SECONDS)
            else:  # our claim expired (we stalled): the next tick lets the relay go
                log.warning("account #%s: lost the push relay claim", pk)
                relay = self.relays[pk]
                if relay.task is not None:
                    relay.task.get_loop().call_soon_threadsafe(relay.task.cancel)

    async def _unclaim(self, pk: int) -> None:
        def release() -> None:
            if cache.get(_claim_key(pk)) == self.node:
                cache.delete(_claim_key(pk))

        try:
            await self.db(release)
        except Exception:
            log.exception("account #%s: releasing the push relay claim failed", pk)

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "node": self.node,
            "connects": self.connects,
            "polls": self.polls,
            "relays": {str(pk): relay.status() for pk, relay in sorted(self.relays.items())},
        }

    def _status_write(self) -> None:
        if self.status_file is None:
            return
        text = json.dumps(self.status(), sort_keys=True)
        if text == self._last_status:
            return
        self._last_status = text
        status_file_replace(self.status_file, text)

    async def run(self, *, stop: threading.Event) -> None:
        """Tick until `stop` is set, then stop every relay and release the claims."""
        try:
            while not stop.is_set():
                await self.tick()
                await asyncio.sleep(REGISTRY_POLL_SECONDS)
        finally:
            await self.close()

    async def close(self) -> None:
        for pk, relay in list(self.relays.items()):
            await relay.stop()
            await self._unclaim(pk)
        self.relays.clear()
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        with contextlib.suppress(Exception):
            await self.db(connections.close_all)
        if self.status_file is not None:
            self.status_file.unlink(missing_ok=True)
        self._db_executor.shutdown(wait=False)
        self._upstream_executor.shutdown(wait=False)


def _executor(workers: int, prefix: str) -> Any:
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix=prefix)


async def _in_thread(executor: Any, fn: Callable[..., T], kwargs: dict[str, Any]) -> T:
    def call() -> T:
        try:
            return fn(**kwargs)
        except Exception:
            # A broken connection must not stay around for the next call.
            connections.close_all()
            raise

    return await asyncio.get_running_loop().run_in_executor(executor, functools.partial(call))


def relay_status_file(*, datadir: Path, pid: int) -> Path:
    """Where a listener's push relay describes itself (JSON; one file per listener process)."""
    return datadir / "run" / f"jmap-relay-{pid}.json"


def push_relay_run(*, stop: threading.Event, status_file: Path | None = None) -> None:
    """Run the relay until `stop` is set (see the module doc); blocks, call it in a thread."""
    relay = PushRelay(status_file=status_file)
    log.info("push relay for passthrough accounts started (%s)", relay.node)
    try:
        asyncio.run(relay.run(stop=stop))
    finally:
        connections.close_all()
        log.info("push relay stopped")
