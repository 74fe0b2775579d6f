"""PooledThreadASGIHandler (jmapsite/asgi_pool.py), driven as the ASGI server drives it:
each request's synchronous code runs on a thread taken from a pool and given
back (so the next request reuses it), a request in flight keeps its thread (a
slow one never blocks another), and an async view's streamed body still
arrives whole. A complete response takes one hand-off to the thread, which
sends request_started and request_finished around the view; a streamed one is
closed (request_finished) after its body, or when its client goes away. A
large upload's view reads its body while it arrives, and fails its read when
the client goes away mid-body."""
from __future__ import annotations

import asyncio
import hashlib
import threading
from typing import Any

import pytest
from django.core import signals
from django.test import override_settings

from jmapsite.asgi_pool import IDLE_THREADS, PooledThreadASGIHandler
from jmapsite.body_pipe import BODY_PIPE_EXTENSION, PIPED_MIN, BodyPipe
from tests.jmapsite import asgi_pool_urls

pytestmark = pytest.mark.usefixtures("db")


async def _get(handler: PooledThreadASGIHandler, path: str, *, events: list[str] | None = None,
               leave_after: int | None = None) -> tuple[int, bytes]:  # fmt: skip
    """GET `path` as the ASGI server would; `events` gets "body" for each body message sent, and the client
    goes away (http.disconnect) after `leave_after` body messages."""
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
    sent = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, body, sent
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")
            sent += 1
            if events is not None:
                events.append("body")
            if not message.get("more_body") or (leave_after is not None and sent >= leave_after):
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


class _Signals:
    """Records request_started and request_finished with the thread each was sent on."""

    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.threads: set[int] = set()

    def started(self, **_kwargs: Any) -> None:
        self.events.append("started")
        self.threads.add(threading.get_ident())

    def finished(self, **_kwargs: Any) -> None:
        self.events.append("finished")
        self.threads.add(threading.get_ident())

    def __enter__(self) -> _Signals:
        signals.request_started.connect(self.started)
        signals.request_finished.connect(self.finished)
        return self

    def __exit__(self, *exc: object) -> None:
        signals.request_started.disconnect(self.started)
        signals.request_finished.disconnect(self.finished)


def _hand_offs_counted(handler: PooledThreadASGIHandler) -> list[int]:
    """Count the calls run on the pooled request threads (each a hand-off from the event loop)."""
    count = [0]
    take = handler._executor_take

    def counting_take() -> Any:
        executor = take()
        submit = executor.submit
        if not getattr(submit, "_counted", False):
            def counted(*args: Any, **kwargs: Any) -> Any:
                count[0] += 1
                return submit(*args, **kwargs)

            counted._counted = True  # type: ignore[attr-defined]
            executor.submit = counted  # type: ignore[method-assign]
        return executor

    handler._executor_take = counting_take  # type: ignore[method-assign]
    return count


@override_settings(ROOT_URLCONF="tests.jmapsite.asgi_pool_urls")
def test_a_complete_response_takes_one_hand_off_with_its_signals_on_the_request_thread() -> None:
    handler = PooledThreadASGIHandler()
    hand_offs = _hand_offs_counted(handler)
    events: list[str] = []
    with _Signals(events) as recorded:
        status, body = asyncio.run(_get(handler, "/thread/", events=events))
    assert status == 200
    assert hand_offs[0] == 1  # Django's own handler: three (request_started, the view, the close)
    assert events == ["started", "finished", "body"]
    assert recorded.threads == {int(body)}  # the view's thread sent both signals


@override_settings(ROOT_URLCONF="tests.jmapsite.asgi_pool_urls")
def test_a_streamed_response_is_closed_after_its_body() -> None:
    handler = PooledThreadASGIHandler()
    events: list[str] = []
    with _Signals(events):
        status, body = asyncio.run(_get(handler, "/stream/", events=events))
    assert (status, body) == (200, b"one two three")
    assert events[0] == "started" and events[-1] == "finished"
    assert events.count("finished") == 1 and "body" in events
    assert events.index("finished") > max(index for index, event in enumerate(events) if event == "body")


@override_settings(ROOT_URLCONF="tests.jmapsite.asgi_pool_urls")
def test_a_client_gone_from_an_endless_stream_ends_it_and_closes_it() -> None:
    handler = PooledThreadASGIHandler()
    events: list[str] = []
    with _Signals(events):
        status, body = asyncio.run(_get(handler, "/endless/", events=events, leave_after=3))
    assert status == 200
    assert body.startswith(b"tick tick")
    assert events[-1] == "finished"  # closed, and the handler returned (_get waits at most 30 s)


@override_settings(ROOT_URLCONF="tests.jmapsite.asgi_pool_urls")
def test_a_failing_request_finished_receiver_does_not_lose_a_complete_response(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(**_kwargs: Any) -> None:
        raise RuntimeError("closing failed")

    signals.request_finished.connect(broken)
    try:
        status, body = asyncio.run(_get(PooledThreadASGIHandler(), "/thread/"))
    finally:
        signals.request_finished.disconnect(broken)
    assert status == 200 and body.isdigit()  # the view's answer, not a 500
    assert "closing a complete response failed" in caplog.text


@override_settings(ROOT_URLCONF="tests.jmapsite.asgi_pool_urls")
def test_a_streamed_response_whose_body_breaks_is_still_closed() -> None:
    handler = PooledThreadASGIHandler()
    events: list[str] = []
    with _Signals(events), pytest.raises(RuntimeError, match="the upstream broke"):
        asyncio.run(_get(handler, "/broken/", events=events))
    assert events[0] == "started" and "body" in events
    assert events[-1] == "finished"  # request_finished, and the response's resources released


async def _upload(handler: PooledThreadASGIHandler, body: bytes, *, leave_at: int | None = None,
                  path: str = "/upload/digest/") -> tuple[int, bytes]:  # fmt: skip
    """POST `body` to /upload/digest/ as the web server does a large upload: its body offered as a
    BodyPipe (jmapsite/body_pipe.py), put in 256 KiB pieces; after the first, the next waits until
    the view has started reading (it could not, were the body read whole first). With `leave_at`,
    the client goes away once that many octets are sent."""
    pipe = BodyPipe()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 40000), "server": ("testserver", 80),
        "extensions": {BODY_PIPE_EXTENSION: lambda: pipe},
    }  # fmt: skip
    answered = asyncio.Event()

    async def client() -> None:
        for offset in range(0, len(body), 256 * 1024):
            if leave_at is not None and offset >= leave_at:
                pipe.aborted()
                return
            if pipe.put(body[offset : offset + 256 * 1024]):
                while pipe.buffered > 0 and not answered.is_set():  # full: the server reads no more
                    await asyncio.sleep(0.01)
            if offset == 0:
                await asyncio.wait_for(asyncio.to_thread(asgi_pool_urls.READING.wait), timeout=10)
        pipe.finished()

    async def receive() -> dict[str, Any]:
        # As jmapsite.web_protocol for a piped request: nothing until the disconnect after the answer.
        await answered.wait()
        return {"type": "http.disconnect"}

    answer: dict[str, Any] = {"status": 0, "body": b""}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")
            if not message.get("more_body"):
                answered.set()

    sending = asyncio.create_task(client())
    await asyncio.wait_for(handler(scope, receive, send), timeout=30)
    await asyncio.wait_for(sending, timeout=30)
    return answer["status"], answer["body"]


@override_settings(ROOT_URLCONF="tests.jmapsite.asgi_pool_urls")
def test_a_large_upload_is_read_by_its_view_while_it_arrives() -> None:
    asgi_pool_urls.READING.clear()
    body = hashlib.sha256(b"alice").digest() * (PIPED_MIN // 4)  # 8 MiB: more than the pipe holds
    status, answer = asyncio.run(_upload(PooledThreadASGIHandler(), body))
    assert (status, answer) == (200, hashlib.sha256(body).hexdigest().encode())


@override_settings(ROOT_URLCONF="tests.jmapsite.asgi_pool_urls")
def test_a_large_upload_whose_client_leaves_fails_its_read_and_ends() -> None:
    asgi_pool_urls.READING.clear()
    body = b"m" * (PIPED_MIN * 2)
    status, answer = asyncio.run(_upload(PooledThreadASGIHandler(), body, leave_at=PIPED_MIN))
    assert status == 400
    assert answer.startswith(b"failed: the client went away")


@override_settings(ROOT_URLCONF="tests.jmapsite.asgi_pool_urls")
def test_a_large_upload_answered_with_a_stream_is_answered_whole() -> None:
    # A streamed answer listens for the disconnect while it is sent; the body came through the pipe.
    asgi_pool_urls.READING.clear()
    body = b"alice" * PIPED_MIN
    status, answer = asyncio.run(_upload(PooledThreadASGIHandler(), body, path="/upload/stream/"))
    assert (status, answer) == (200, hashlib.sha256(body).hexdigest().encode())
