"""A small ASGI application for tests/jmapsite/test_upload_body_pipe.py, served by jmapsite.web_server.

POST .../first: answers as soon as the first body octets are in (read with
`receive`, the pipe not taken), with how many it had (`first`), without
reading the rest. POST .../take: when the server offers the body as a pipe
(jmapsite/body_pipe.py), takes it, reads it on a thread, as the upload view
does, and answers its SHA-256 and length, how much of the body had arrived
when the reader started (`arrived_at_start`) and the most octets the pipe
ever held at a read (`max_buffered`); with ?slow=1 it reads slowly; with
?listen=1 it then asks `receive` for a message and says which came
(`after_body`, None when none did before the answer); else
`piped: false`. A read that fails is answered `error` and kept for GET
/errors. POST .../refuse: takes the pipe and answers 401 at once, reading
none of it (as the upload view refuses a caller). All answer under any path
prefix: the server pipes only /upload/... GET /ping: "pong".
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import time
from typing import Any

from jmapsite.body_pipe import BODY_PIPE_EXTENSION, BodyPipe, pipe_reader


async def _answer(send: Any, status: int, value: object) -> None:
    body = json.dumps(value).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# The errors of failed reads, in order (GET /errors).
ERRORS: list[str] = []
SLOW_READ_PAUSE = 0.02
# How long /take?listen=1 waits for a message after the body (one queued would come at once).
LISTEN_WAIT = 0.5


def _digest(pipe: BodyPipe, *, slow: bool) -> dict[str, object]:
    arrived = pipe.received
    reader = pipe_reader(pipe)
    digest, length, max_buffered = hashlib.sha256(), 0, 0
    try:
        while True:
            max_buffered = max(max_buffered, pipe.buffered)
            piece = reader.read(256 * 1024)
            if not piece:
                break
            digest.update(piece)
            length += len(piece)
            if slow:
                time.sleep(SLOW_READ_PAUSE)
    except OSError as error:
        ERRORS.append(str(error))
        return {"piped": True, "error": str(error)}
    finally:
        reader.close()
    return {"piped": True, "sha256": digest.hexdigest(), "length": length, "arrived_at_start": arrived,
            "max_buffered": max_buffered}  # fmt: skip


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"].endswith("/first"):
        first = 0
        while first == 0:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            first += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
        await _answer(send, 200, {"first": first})
        return
    if scope["path"].endswith("/take"):
        take = (scope.get("extensions") or {}).get(BODY_PIPE_EXTENSION)
        pipe = take() if callable(take) else None
        if not isinstance(pipe, BodyPipe):
            await _answer(send, 200, {"piped": False})
            return
        query = scope.get("query_string", b"")
        answer = await asyncio.to_thread(_digest, pipe, slow=b"slow=1" in query)
        if b"listen=1" in query:
            # What `receive` gives once the body is read (a disconnect listener's first call).
            try:
                message = await asyncio.wait_for(receive(), timeout=LISTEN_WAIT)
                answer["after_body"] = message.get("type")
            except TimeoutError:
                answer["after_body"] = None
        await _answer(send, 200, answer)
        return
    if scope["path"].endswith("/refuse"):
        take = (scope.get("extensions") or {}).get(BODY_PIPE_EXTENSION)
        pipe = take() if callable(take) else None
        await _answer(send, 401, {"piped": isinstance(pipe, BodyPipe)})
        if isinstance(pipe, BodyPipe):
            pipe_reader(pipe).close()  # the rest is dropped as it comes
        return
    if scope["path"] == "/errors":
        await _answer(send, 200, ERRORS)
        return
    if scope["path"] == "/ping":
        await _answer(send, 200, "pong")
        return
    await _answer(send, 404, "no such path")
