"""A small ASGI application for tests/jmapsite/test_upload_body_feed.py, served by jmapsite.web_server.

POST .../first: answers as soon as the first body octets are in, with how
many it had (`first`), without reading the rest. POST .../take: when
upload_body_feed.piped_body_wanted accepts the request, reads its body
through a BodyFeed on a thread, as the upload view does, and answers its
SHA-256 and length and how much of the body had arrived when the reader
started (`arrived_at_start`); else `piped: false`. GET /ping: "pong".
"""
from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from jmapsite.upload_body_feed import BodyFeed, piped_body_wanted


async def _answer(send: Any, status: int, value: object) -> None:
    body = json.dumps(value).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _digest(feed: BodyFeed) -> dict[str, object]:
    arrived = feed.pipe.received
    digest, length = hashlib.sha256(), 0
    try:
        while piece := feed.reader.read(256 * 1024):
            digest.update(piece)
            length += len(piece)
    except OSError as error:
        return {"piped": True, "error": str(error)}
    finally:
        feed.reader.close()
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
        if not piped_body_wanted(scope):
            await _answer(send, 200, {"piped": False})
            return
        feed = BodyFeed(receive)
        try:
            answer = await asyncio.to_thread(_digest, feed)
        finally:
            await feed.stop()
        await _answer(send, 200, answer)
        return
    if scope["path"] == "/ping":
        await _answer(send, 200, "pong")
        return
    await _answer(send, 404, "no such path")
