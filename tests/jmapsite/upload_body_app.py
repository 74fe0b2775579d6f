"""A small ASGI application for tests/jmapsite/test_upload_body_pipe.py, served by jmapsite.web_server.

POST .../first: answers as soon as the first body octets are in (read with
`receive`, the pipe not taken), with how many it had (`first`), without
reading the rest. POST .../take: when the
server offers the body as a pipe (jmapsite/body_pipe.py), takes it, reads it on a
thread, as the upload view does, and answers its SHA-256 and length and how
much of the body had arrived when the reader started (`arrived_at_start`);
else `piped: false`. Both answer under any path prefix: the server pipes
only /upload/... GET /ping: "pong".
"""
from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from jmapsite.body_pipe import BODY_PIPE_EXTENSION, BodyPipe, pipe_reader


async def _answer(send: Any, status: int, value: object) -> None:
    body = json.dumps(value).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _digest(pipe: BodyPipe) -> dict[str, object]:
    arrived = pipe.received
    reader = pipe_reader(pipe)
    digest, length = hashlib.sha256(), 0
    try:
        while piece := reader.read(256 * 1024):
            digest.update(piece)
            length += len(piece)
    except OSError as error:
        return {"piped": True, "error": str(error)}
    finally:
        reader.close()
    return {"piped": True, "sha256": digest.hexdigest(), "length": length, "arrived_at_start": arrived}


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
        await _answer(send, 200, await asyncio.to_thread(_digest, pipe))
        return
    if scope["path"] == "/ping":
        await _answer(send, 200, "pong")
        return
    await _answer(send, 404, "no such path")
