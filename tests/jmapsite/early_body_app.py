"""A small ASGI application for tests/jmapsite/test_daphne_early_body.py, served by jmapsite.daphne_server.

POST .../first: answers as soon as the first body octets are in, with how
many it had (`first`), without reading the rest. POST .../take: takes the
body as the server's spool file (jmapsite.spooled_body, the offer in the
scope's extensions), reads it on a thread and answers its SHA-256 and
length and whether it was complete when taken (a reader of a body still
arriving has no fileno), or `taken: false` when the server did not offer
it. Both answer under any path prefix: the server starts only /upload/...
early. GET /ping: "pong".
"""
from __future__ import annotations

import asyncio
import hashlib
import json
from typing import IO, Any

from jmapsite.spooled_body import SPOOLED_BODY_EXTENSION


async def _answer(send: Any, status: int, value: object) -> None:
    body = json.dumps(value).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _complete(reader: IO[bytes]) -> bool:
    try:
        reader.fileno()
    except OSError:
        return False
    return True


def _digest(reader: IO[bytes], complete: bool) -> dict[str, object]:
    digest, length = hashlib.sha256(), 0
    try:
        while piece := reader.read(256 * 1024):
            digest.update(piece)
            length += len(piece)
    except OSError as error:
        return {"taken": True, "error": str(error)}
    finally:
        reader.close()
    return {"taken": True, "sha256": digest.hexdigest(), "length": length, "complete_when_taken": complete}


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
        take = ((scope.get("extensions") or {}).get(SPOOLED_BODY_EXTENSION) or {}).get("take")
        reader = take(1) if callable(take) else None
        if reader is None:
            await _answer(send, 200, {"taken": False})
            return
        await _answer(send, 200, await asyncio.to_thread(_digest, reader, _complete(reader)))
        return
    if scope["path"] == "/ping":
        await _answer(send, 200, "pong")
        return
    await _answer(send, 404, "no such path")
