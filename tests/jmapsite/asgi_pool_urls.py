"""Views for tests/jmapsite/test_asgi_pool.py only: which thread answered."""
from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import AsyncIterator

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

# The first request to /wait/ blocks here until the test sets it (or 10 s pass).
RELEASE = threading.Event()


def thread_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(threading.get_ident()))


def wait_view(request: HttpRequest) -> HttpResponse:
    released = RELEASE.wait(timeout=10)
    return HttpResponse(f"{threading.get_ident()} {'released' if released else 'timed out'}")


async def stream_view(request: HttpRequest) -> StreamingHttpResponse:
    async def parts() -> AsyncIterator[bytes]:
        for part in (b"one ", b"two ", b"three"):
            yield part

    return StreamingHttpResponse(parts(), content_type="text/plain")


def endless_view(request: HttpRequest) -> StreamingHttpResponse:
    """A stream that ends only when its client goes away (an EventSource's shape)."""

    async def parts() -> AsyncIterator[bytes]:
        while True:
            yield b"tick "
            await asyncio.sleep(0.01)

    return StreamingHttpResponse(parts(), content_type="text/plain")


def broken_view(request: HttpRequest) -> StreamingHttpResponse:
    """A stream whose source breaks after its first piece (an upstream download cut off)."""

    async def parts() -> AsyncIterator[bytes]:
        yield b"one "
        raise RuntimeError("the upstream broke")

    return StreamingHttpResponse(parts(), content_type="text/plain")


# Set by the upload view once it has started reading its body.
READING = threading.Event()


@csrf_exempt
def upload_view(request: HttpRequest) -> HttpResponse:
    """Reads its body piece by piece as an upload view does; answers its SHA-256, or the read's error."""
    READING.set()
    digest = hashlib.sha256()
    try:
        while piece := request.read(256 * 1024):
            digest.update(piece)
    except OSError as error:
        return HttpResponse(f"failed: {error}", status=400)
    return HttpResponse(digest.hexdigest())


@csrf_exempt
def upload_stream_view(request: HttpRequest) -> StreamingHttpResponse:
    """Reads its body, then answers its SHA-256 as a stream."""
    READING.set()
    digest = hashlib.sha256(request.read())

    async def parts() -> AsyncIterator[bytes]:
        yield digest.hexdigest().encode()

    return StreamingHttpResponse(parts(), content_type="text/plain")


urlpatterns = [
    path("upload/digest/", upload_view),
    path("upload/stream/", upload_stream_view),
    path("thread/", thread_view),
    path("wait/", wait_view),
    path("stream/", stream_view),
    path("endless/", endless_view),
    path("broken/", broken_view),
]
