"""A large upload's body handed to the view while the client is still sending it.

Django's ASGI handler reads a whole request body (into a spooled file)
before the view starts, so a passthrough upload was received whole before a
byte of it went on to the upstream: the two transfers took turns (issue 12,
item 7: uploads at 60-77 % of direct). For a request `piped_body_wanted`
accepts, jmapsite/asgi_pool.py starts the view at once instead, with a
reader of a BodyPipe (jmapsite/body_pipe.py) as its body, and `BodyFeed`
moves the ASGI body messages into that pipe as they arrive. The feed asks
the server for the next message only while the pipe has room, and the
server (uvicorn) reads the client's socket only when asked, so memory stays
bounded whatever the two sides' speeds, and nothing is written to disk.

Only a POST to an upload endpoint (PIPED_PATHS) declaring a Content-Length
of at least PIPED_MIN: the upload view reads its body only after
authentication and under the login's maxConcurrentUpload slot
(jmapcore/blob_views.py), so a slow sender holds at most that many request
threads. Other bodies are read whole first, costing no thread while they
arrive. A body of unknown length (chunked) takes that path too.
"""
from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from jmapsite.body_pipe import BodyPipe, PipeReader, pipe_reader

PIPED_MIN = 1024 * 1024
PIPED_PATHS = ("/upload/",)


def piped_body_wanted(scope: dict[str, Any]) -> bool:
    """Whether this HTTP request's body goes to the view through a pipe (module doc)."""
    if scope.get("method") != "POST" or not str(scope.get("path", "")).startswith(PIPED_PATHS):
        return False
    lengths = [value for name, value in scope.get("headers", ()) if name.lower() == b"content-length"]
    if len(lengths) != 1 or not lengths[0].isdigit():
        return False
    return int(lengths[0]) >= PIPED_MIN


class BodyFeed:
    """Moves a request's body messages from the server into a BodyPipe, as the pipe has room.

    Runs as a task on the event loop beside the view, which reads `reader`
    on its thread. The client going away (http.disconnect before the end)
    fails the reader; the reader closed early (the view answered without
    reading it all) discards what still comes. `stop` ends the task.
    """

    def __init__(self, receive: Any) -> None:
        self._loop = asyncio.get_running_loop()
        self._room = asyncio.Event()
        self.pipe = BodyPipe(on_room=self._room_made)
        self.reader: PipeReader = pipe_reader(self.pipe)
        self._task = asyncio.create_task(self._feed(receive))

    def _room_made(self) -> None:
        # Called on the reader's thread.
        self._loop.call_soon_threadsafe(self._room.set)

    async def _feed(self, receive: Any) -> None:
        while True:
            message = await receive()
            if message.get("type") != "http.request":
                self.pipe.aborted()  # http.disconnect: the client went away mid-body
                return
            self._room.clear()
            if self.pipe.put(message.get("body", b"")):
                # Full: ask for no more until the reader has taken it below half. A wake-up
                # from an earlier room call only lets one more piece in.
                await self._room.wait()
            if not message.get("more_body", False):
                self.pipe.finished()
                return

    async def stop(self) -> None:
        """End the feed (the view is done with the body); a body still arriving is dropped."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
