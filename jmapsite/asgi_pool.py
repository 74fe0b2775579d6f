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

Django's handler also hands each request to a thread twice more, to send
the request_started signal and to close the response (request_finished), and
runs the response in a task beside one that listens for a disconnect. A
response that is not streamed is complete once the view returns: here the
signal, the view and its close run in the one hand-off, and the response is
sent straight after (`handle`). A streamed response (a download, an
EventSource) is sent as Django sends it, a disconnect cancelling it, and
closed after (issue 12, item 7: added latency). bench/passthrough_cpu.py,
before and after, one run each on a quiet machine: 3.79 -> 3.42 ms of CPU per
proxied list view, 2.64 -> 2.30 ms per Core/echo (a second pair, at a
noisier moment, could not tell them apart).

Two things for large bodies (issue 12, item 7: passthrough blobs):
- A large upload whose body the server offers as a pipe (jmapsite/body_pipe.py)
  is not read whole first: the pipe is taken, the view starts at once and
  reads the body from it while the client sends it.
- Streamed response bodies go to the server in pieces of up to CHUNK_SIZE
  (Django cuts them at 64 KiB: four ASGI messages for every 256 KiB of a
  passthrough download), and file responses are read in pieces that size.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

from jmapsite.body_pipe import BODY_PIPE_EXTENSION, BodyPipe, pipe_reader

log = logging.getLogger(__name__)

# Idle request threads kept for the next requests; more concurrent requests
# than this still run, each on a thread of its own.
IDLE_THREADS = 8
# The largest ASGI message of a response body (module doc).
CHUNK_SIZE = 1024 * 1024


class PooledThreadASGIHandler(ASGIHandler):
    """ASGIHandler whose per-request thread comes from a pool (module doc)."""

    chunk_size = CHUNK_SIZE

    def __init__(self) -> None:
        self._idle: list[ThreadPoolExecutor] = []
        self._lock = threading.Lock()
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        # Every middleware here is synchronous: the chain, URL resolution and
        # the view run as one call on the request's thread (_respond).
        # In async mode Django hands the request from that thread back to the
        # event loop after the last middleware and again to the thread for the
        # view: two more thread hand-offs per request for nothing. An async
        # view (EventSource) still works: Django runs it with async_to_sync,
        # and its streaming body is sent from the event loop as before.
        super().load_middleware(is_async=False)

    def _respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """On the request's thread: request_started, the request, its response; a response that is
        not streamed is closed here too (request_finished), as it is complete (module doc)."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__  # type: ignore[attr-defined]  # as ASGIHandler does
            if isinstance(response, FileResponse):
                # As ASGIHandler: the ASGI server chunks, so read the file in larger blocks.
                response.block_size = self.chunk_size
        assert response is not None  # create_request gives a request or an error response
        if not response.streaming:
            try:
                response.close()
            except Exception:
                # A request_finished receiver failed (closing the database connection, a cache).
                # The view's work is done: its answer still goes out, as Django sends before it
                # closes; only the exception is logged.
                log.exception("closing a complete response failed; it is sent all the same")
        return response

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """ASGIHandler.handle with one thread hand-off for a response that is not streamed (module doc);
        a large upload's body is read by the view as it arrives (module doc)."""
        take = (scope.get("extensions") or {}).get(BODY_PIPE_EXTENSION)
        pipe = take() if callable(take) else None
        body_file: Any
        if isinstance(pipe, BodyPipe):
            body_file = pipe_reader(pipe)
        else:
            try:
                body_file = await self.read_body(receive)
            except RequestAborted:
                return
        try:
            set_script_prefix(get_script_prefix(scope))
            response = await sync_to_async(self._respond, thread_sensitive=True)(scope, body_file)
            if response.streaming:
                await self._streamed_send(response, receive, send)
            else:
                await self.send_response(response, send)
        finally:
            # For a pipe: the rest of the body, if any, is dropped as it comes.
            body_file.close()

    async def _streamed_send(self, response: HttpResponseBase, receive: Any, send: Any) -> None:
        """Send a streamed response as ASGIHandler.handle does: a disconnect cancels it; then close it."""

        async def respond() -> None:
            try:
                await self.send_response(response, send)
            except asyncio.CancelledError:
                pass  # the client went away while the response was sent

        tasks = [asyncio.create_task(self.listen_for_disconnect(receive)), asyncio.create_task(respond())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                if task.done():
                    try:
                        task.result()
                    except RequestAborted:
                        pass  # the client disconnected
                else:
                    task.cancel()
                    try:
                        await task
                    except asyncio.CancelledError:
                        pass
        finally:
            # Also when the body failed half-way (a broken upstream download): its resources (the
            # upstream connection, a file) are released and request_finished is sent.
            await sync_to_async(response.close, thread_sensitive=True)()

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
        executor = self._executor_take()
        try:
            # A context with an executor can be entered only once: a new one per request.
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self._executor_give_back(executor)
