"""PooledThreadASGIHandler (jmapsite/asgi_pool.py), driven as daphne drives it:
each request's synchronous code runs on a thread taken from a pool and given
back (so the next request reuses it), a request in flight keeps its thread (a
slow one never blocks another), and an async view's streamed body still
arrives whole."""
from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from django.test import override_settings

from jmapsite.asgi_pool import IDLE_THREADS, PooledThreadASGIHandler
from tests.jmapsite import asgi_pool_urls

pytestmark = pytest.mark.usefixtures("db")


async def _get(handler: PooledThreadASGIHandler, path: str) -> tuple[int, bytes]:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 40000), "server": ("testserver", 80),
    }  # fmt: skip
    requested = False
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    status = 0
    body = b""

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, body
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")
            if not message.get("more_body"):
                done.set()

    await asyncio.wait_for(handler(scope, receive, send), timeout=30)
    return status, body


@override_settings(ROOT_URLCONF="tests.jmapsite.asgi_pool_urls")
def test_sequential_requests_reuse_one_request_thread() -> None:
    handler = PooledThreadASGIHandler()

    async def run() -> list[bytes]:
        answers = [await _get(handler, "/thread/") for _ in range(3)]
        assert [status for status, _ in answers] == [200, 200, 200]
        return [body for _, body in answers]

    first, second, third = asyncio.run(run())
    assert first == second == third
    assert int(first) != threading.get_ident()  # not on the event loop's thread


@override_settings(ROOT_URLCONF="tests.jmapsite.asgi_pool_urls")
def test_a_request_in_flight_keeps_its_thread_and_does_not_block_another() -> None:
    handler = PooledThreadASGIHandler()
    asgi_pool_urls.RELEASE.clear()

    async def run() -> tuple[bytes, bytes]:
        slow = asyncio.ensure_future(_get(handler, "/wait/"))
        await asyncio.sleep(0.2)  # the slow request holds its thread now
        status, quick = await _get(handler, "/thread/")
        assert status == 200
        assert not slow.done()
        asgi_pool_urls.RELEASE.set()
        _, slow_body = await slow
        return slow_body, quick

    slow_body, quick = asyncio.run(run())
    slow_thread, outcome = slow_body.split()
    assert outcome == b"released"  # answered after the quick one, not by the 10 s timeout
    assert slow_thread != quick


@override_settings(ROOT_URLCONF="tests.jmapsite.asgi_pool_urls")
def test_an_async_view_streams_its_body() -> None:
    handler = PooledThreadASGIHandler()
    status, body = asyncio.run(_get(handler, "/stream/"))
    assert (status, body) == (200, b"one two three")


@override_settings(ROOT_URLCONF="tests.jmapsite.asgi_pool_urls")
def test_idle_threads_are_bounded() -> None:
    handler = PooledThreadASGIHandler()
    asgi_pool_urls.RELEASE.clear()

    async def run() -> None:
        waiting = [asyncio.ensure_future(_get(handler, "/wait/")) for _ in range(IDLE_THREADS + 3)]
        await asyncio.sleep(0.5)
        asgi_pool_urls.RELEASE.set()
        answers = await asyncio.gather(*waiting)
        threads = {body.split()[0] for _, body in answers}
        assert len(threads) == IDLE_THREADS + 3  # one thread per request in flight

    asyncio.run(run())
    assert len(handler._idle) == IDLE_THREADS
