"""Django's ASGI handler, with the thread of each request taken from a pool.

Django runs each HTTP request's synchronous code (middleware, views, the ORM)
in a thread of its own: ASGIHandler enters a fresh ThreadSensitiveContext per
request, and asgiref starts a new one-thread executor for it and joins it at
the end. A new thread means a new database connection too (Django's are per
thread), so every request paid a thread start, a connection (for SQLite: open
the file and run the WAL pragmas) and a join: about a tenth of the CPU time of
the JMAP list view (issue 9, item 5: profile of the whole request).

Django's ASGI handler also builds its middleware chain in async mode: with
every middleware synchronous, a request went event loop -> thread (the
middleware) -> event loop (the end of the chain) -> thread (the view) and
back. Here the chain is built synchronous and runs in one hand-off.

`PooledThreadASGIHandler` keeps the behaviour — one thread per request in
flight, so a slow request (an IMAP fetch, an EventSource stream) never blocks
another — but hands each request a one-thread executor from a pool of idle
ones (asgiref's ThreadSensitiveContext(executor=...), which leaves the
executor to its owner). Threads, and with CONN_MAX_AGE their database
connections, outlive the request; Django's request_started/request_finished
handlers still close a connection that is too old or unusable. At most
IDLE_THREADS idle threads are kept; more requests at once than that get new
threads, which are shut down after their request, as before.

Two things for large bodies (issue 12, item 7: passthrough blobs):
- A request body of at least SPOOLED_BODY_MIN octets that the server already
  holds in a file (jmapsite/daphne_server.py offers it, jmapsite/spooled_body.py)
  is given to Django as that file, not copied into a spool file of Django's.
- Streamed response bodies go to the server in pieces of up to CHUNK_SIZE
  (Django cuts them at 64 KiB: four ASGI messages for every 256 KiB of a
  passthrough download), and file responses are read in pieces that size.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import IO, Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import FileResponse, HttpRequest, HttpResponseBase

from jmapsite.spooled_body import SPOOLED_BODY_EXTENSION, SPOOLED_BODY_MIN

# Idle request threads kept for the next requests; more concurrent requests
# than this still run, each on a thread of its own.
IDLE_THREADS = 8
# The largest ASGI message of a response body (module doc).
CHUNK_SIZE = 1024 * 1024

# The server's offer of the request body as its spool file, for the request this task serves.
_body_take: ContextVar[Callable[[int], IO[bytes] | None] | None] = ContextVar("jmap_body_take", default=None)


class PooledThreadASGIHandler(ASGIHandler):
    """ASGIHandler whose per-request thread comes from a pool (module doc)."""

    chunk_size = CHUNK_SIZE

    def __init__(self) -> None:
        self._idle: list[ThreadPoolExecutor] = []
        self._lock = threading.Lock()
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        # Every middleware here is synchronous: the chain, URL resolution and
        # the view run as one call on the request's thread (run_get_response).
        # In async mode Django hands the request from that thread back to the
        # event loop after the last middleware and again to the thread for the
        # view: two more thread hand-offs per request for nothing. An async
        # view (EventSource) still works: Django runs it with async_to_sync,
        # and its streaming body is sent from the event loop as before.
        super().load_middleware(is_async=False)

    async def run_get_response(self, request: HttpRequest) -> HttpResponseBase:
        """The response of the synchronous middleware chain, in one thread hand-off."""
        response = await sync_to_async(self.get_response, thread_sensitive=True)(request)
        response._handler_class = self.__class__  # type: ignore[attr-defined]  # as ASGIHandler does
        if isinstance(response, FileResponse):
            # As ASGIHandler: the ASGI server chunks, so read the file in larger blocks.
            response.block_size = self.chunk_size
        return response

    async def read_body(self, receive: Any) -> Any:
        """The request body: the server's own spool file when it offers it for a large body, else
        Django's copy (module doc)."""
        take = _body_take.get()
        if take is not None:
            body = take(SPOOLED_BODY_MIN)
            if body is not None:
                return body
        return await super().read_body(receive)

    def _executor_take(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="jmap-request")

    def _executor_give_back(self, executor: ThreadPoolExecutor) -> None:
        with self._lock:
            if len(self._idle) < IDLE_THREADS:
                self._idle.append(executor)
                return
        # Never block the event loop on a join: the thread ends by itself.
        executor.shutdown(wait=False)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        offer = (scope.get("extensions") or {}).get(SPOOLED_BODY_EXTENSION) or {}
        take = offer.get("take") if isinstance(offer, dict) else None
        # Each request is its own asyncio task, so the variable is this request's alone.
        _body_take.set(take if callable(take) else None)
        executor = self._executor_take()
        try:
            # A context with an executor can be entered only once: a new one per request.
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self._executor_give_back(executor)
