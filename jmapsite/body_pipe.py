"""A large upload's body, handed from the web server's event loop to the view's thread as it arrives.

Django's ASGI handler reads a whole request body (into a spooled file)
before the view starts, so a passthrough upload was received whole before a
byte of it went on to the upstream: the two transfers took turns (issue 12,
item 7: uploads at 60-77 % of direct). For a request `piped_body_wanted`
accepts, the web server (jmapsite/web_protocol.py) offers in the scope's
extensions, under BODY_PIPE_EXTENSION, a `take()` that gives the body as a
`BodyPipe`, into which the server puts each piece as it reads it from the
socket; jmapsite/asgi_pool.py takes it before reading anything and starts
the view at once with a `pipe_reader()` as its body. A read waits for the
next piece, the end of the body, or fails (OSError) when the client has gone
away or stalled. The pipe is bounded: the server stops reading the client
while it is full, so memory stays bounded whatever the two sides' speeds,
and nothing is written to disk.

Only a POST to an upload endpoint (PIPED_PATHS) declaring a Content-Length
of at least PIPED_MIN: the upload view reads its body only after
authentication and under the login's maxConcurrentUpload slot
(jmapcore/blob_views.py), so a slow sender holds at most that many request
threads. Other bodies are read whole first, costing no thread while they
arrive; a body of unknown length (chunked) too. Nothing here imports the
server or Django.
"""
from __future__ import annotations

import io
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

# The scope["extensions"] key of the web server's offer: a callable taking no argument that gives
# the request's body as a BodyPipe, or None (call it before reading any of the body).
BODY_PIPE_EXTENSION = "jmap.body_pipe"
PIPED_MIN = 1024 * 1024
PIPED_PATHS = ("/upload/",)
READ_BUFFER = 1024 * 1024
# A read of a body still arriving gives up when no octet has arrived for this long (the client
# stalled). Below jmapcore.concurrency.SLOT_TTL (180 s), so a stalled upload fails before its slot lapses.
STALL_TIMEOUT = 60.0
# The octets of a body still arriving that wait in memory for their reader (BodyPipe).
PIPE_LIMIT = 4 * 1024 * 1024


def piped_body_wanted(scope: dict[str, Any]) -> bool:
    """Whether this HTTP request's body goes to the view through a pipe (module doc)."""
    if scope.get("method") != "POST" or not str(scope.get("path", "")).startswith(PIPED_PATHS):
        return False
    lengths = [value for name, value in scope.get("headers", ()) if name.lower() == b"content-length"]
    if len(lengths) != 1 or not lengths[0].isdigit():
        return False
    return int(lengths[0]) >= PIPED_MIN


class BodyPipe:
    """A request body still arriving, handed from the server's event loop to its reader in memory.

    The server `put`s each piece as it reads it from the client's socket and
    stops reading while `put` says the pipe is full (PIPE_LIMIT octets
    waiting); once the reader has taken it below half, `on_room` (called on
    the reader's thread) lets the server read on. So at most about
    PIPE_LIMIT octets, plus one socket read, wait here whatever the two
    sides' speeds (issue 12, item 3: blobs never held whole).

    Not a file: a 100 MB upload written to a temporary file cost 100 MB of
    fresh page cache per upload, and its first touch was most of the web
    process's CPU for uploads (perf: copy_folio_from_iter_atomic, half the
    samples, 0.1-0.4 s per 100 MiB); pieces handed over in memory are the
    very bytes read from the socket, passed on uncopied.

    When nobody will read the rest (the reader is closed, or the server
    answered before the body was in) `discard` drops what waits and what
    still comes, so the client can finish sending and the connection goes on.
    """

    def __init__(self, *, limit: int = PIPE_LIMIT, on_room: Callable[[], None] | None = None,
                 on_first_read: Callable[[], None] | None = None) -> None:  # fmt: skip
        self._changed = threading.Condition()
        # Called (on the reader's thread) when the reader first asks for the body: the server may
        # then tell a client that waits for it to send (Expect: 100-continue).
        self._on_first_read = on_first_read
        self._pieces: deque[bytes] = deque()
        # Octets of the first piece already taken (take): it is left whole until all of it is.
        self._head_taken = 0
        self._limit = limit
        self._full = False
        self._discarding = False
        self.on_room = on_room
        self.buffered = 0
        self.received = 0
        self.complete = False
        self.gone = False

    def put(self, data: bytes) -> bool:
        """Add the next piece; True when the pipe is full (read no more until `on_room`)."""
        with self._changed:
            self.received += len(data)
            if self._discarding or not data:
                return False
            self._pieces.append(data)
            self.buffered += len(data)
            self._full = self.buffered >= self._limit
            self._changed.notify_all()
            return self._full

    def finished(self) -> None:
        """The whole body has arrived."""
        with self._changed:
            self.complete = True
            self._changed.notify_all()

    def aborted(self) -> None:
        """The client went away before the whole body arrived: readers fail (OSError)."""
        with self._changed:
            self.gone = True
            self._pieces.clear()
            self._head_taken = 0
            self.buffered = 0
            self._changed.notify_all()

    def discard(self) -> None:
        """Nobody reads the rest: drop what waits and what comes, and let the server read on."""
        with self._changed:
            self._discarding = True
            self._pieces.clear()
            self._head_taken = 0
            self.buffered = 0
            wake, self._full = self._full, False
            self._changed.notify_all()
        if wake and self.on_room is not None:
            self.on_room()

    def take(self, size: int, *, wait: bool = True, timeout: float | None = None) -> bytes | None:
        """Up to `size` octets (at most one piece as it arrived), b"" at the end of a complete body.

        With `wait` false, None when nothing is there yet. Raises OSError
        when the client went away, or sent nothing for `timeout` seconds
        (STALL_TIMEOUT), or the pipe was discarded.
        """
        limit = STALL_TIMEOUT if timeout is None else timeout
        deadline = time.monotonic() + limit
        first_read, self._on_first_read = self._on_first_read, None
        if first_read is not None:
            first_read()
        with self._changed:
            while not self._pieces:
                if self.gone:
                    raise OSError("the client went away before the whole request body arrived")
                if self._discarding:
                    raise OSError("the request body was discarded")
                if self.complete:
                    return b""
                if not wait:
                    return None
                left = deadline - time.monotonic()
                if left <= 0:
                    raise OSError(f"the client sent no part of the request body for {limit:g} s")
                self._changed.wait(left)
            head, start = self._pieces[0], self._head_taken
            if len(head) - start <= size:
                self._pieces.popleft()
                self._head_taken = 0
                piece = head[start:] if start else head
            else:
                # Asked for less than what is left of a piece (the local blob store reads 64 KiB at a
                # time from 1 MiB pieces): only the part taken is copied, the rest stays where it is,
                # so the copying is linear in the body, whatever the sizes.
                piece = head[start : start + size]
                self._head_taken = start + size
            self.buffered -= len(piece)
            wake = self._full and self.buffered <= self._limit // 2
            if wake:
                self._full = False
        if wake and self.on_room is not None:
            self.on_room()
        return piece


class PipeReader(io.RawIOBase):
    """The reading end of a BodyPipe as an unbuffered binary file (read, readinto, readall, close).

    A read gives what has arrived, at most one piece, so a caller that does
    something between reads (the upload view renews its concurrency slot)
    does it while a slow client sends. Not seekable and no fileno: the
    octets are gone once read. Closing it discards the rest of the body.
    """

    def __init__(self, pipe: BodyPipe) -> None:
        super().__init__()
        self._pipe = pipe

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if size is None or size < 0:
            return self.readall()
        if size == 0:
            return b""
        return self._pipe.take(size) or b""

    def readall(self) -> bytes:
        pieces = []
        while piece := self.read(READ_BUFFER):
            pieces.append(piece)
        return b"".join(pieces)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._pipe.discard()
        super().close()


def pipe_reader(pipe: BodyPipe) -> PipeReader:
    """The reader of a body still arriving through `pipe` (web_protocol.BoundedHeadProtocol)."""
    return PipeReader(pipe)
