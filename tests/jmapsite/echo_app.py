"""A small ASGI application for tests/jmapsite/test_web_server.py, served by jmapsite.web_server.

POST /echo: answers the SHA-256 and length of the body it received, read
message by message. GET /stream?mib=N: N MiB of counted octets in 64 KiB
pieces (each piece starts with its index), the body the client checks.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import parse_qs

PIECE = 64 * 1024


def stream_piece(index: int) -> bytes:
    """The `index`-th piece of /stream's body."""
    return index.to_bytes(8, "big") * (PIECE // 8)


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/echo":
        digest, length, messages = hashlib.sha256(), 0, 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            digest.update(body)
            length += len(body)
            messages += 1
            if not message.get("more_body", False):
                break
        answer = json.dumps({"sha256": digest.hexdigest(), "length": length, "messages": messages}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": answer})
        return
    if scope["path"] == "/stream":
        mib = int(parse_qs(scope["query_string"].decode()).get("mib", ["1"])[0])
        count = mib * 1024 * 1024 // PIECE
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(count * PIECE).encode())]})  # fmt: skip
        for index in range(count):
            await send({"type": "http.response.body", "body": stream_piece(index), "more_body": index < count - 1})
        return
    await send({"type": "http.response.start", "status": 404, "headers": []})
    await send({"type": "http.response.body", "body": b""})
