"""The web process's HTTP/1.1 protocol: uvicorn's httptools protocol with the limits a public port needs.

jmapsite/web_server.py runs uvicorn with this protocol. What it adds (daphne,
with Twisted, did the same before it, jmapsite/web_server.py says why it went):

- A bounded request head: at most HEAD_LIMIT octets of request line and
  header fields and HEAD_FIELDS fields, else 431 and the connection closed.
  httptools reports a field only once its line has ended and buffers it until
  then, so octets the parser takes without reporting anything (a field, a
  chunked trailer or a chunk extension that never ends) are counted too.
- Deadlines: a head must arrive within HEAD_TIMEOUT of the connection's
  opening, or of its first octet (slowloris), counted only while this server
  reads; a body must not stall for BODY_TIMEOUT while the server wants it
  (reading is not paused). Either closes the connection.
- A large upload's body (jmapsite/body_pipe.py: piped_body_wanted) is offered
  in the scope's extensions as a BodyPipe (`take()`); once taken, each piece
  goes into the pipe as it is read, reading paused while the pipe is full,
  the socket read LARGE_READ at a time; `receive` then gives only the
  disconnect after the answer. `Expect: 100-continue` is answered
  when the view first reads the body (so a refused upload is never sent).
  An application that does not take it gets the body by `receive`.
- A write buffer of WRITE_BUFFER_HIGH: a streamed response (a passthrough
  download) comes in pieces of up to 1 MiB (jmapsite/asgi_pool.py), and
  with asyncio's 64 KiB mark each piece waited until the last one had
  drained to 16 KiB, so the socket ran dry between pieces. With the mark at
  a piece's size, the next piece is taken while a quarter of one is still
  queued. A small gain, smaller than one run's noise: over 15 pairs of runs
  without and with it, alternating (bench/passthrough.py (b)), downloads
  through the proxy went from a median 84 % to 89 % of Cyrus's own speed. A client
  that does not read holds at most the mark and one piece (one piece before).
- On SIGTERM, a response being sent (an EventSource, a download) or a body
  still arriving is cut off at once instead of being cancelled after
  uvicorn's grace with an error on the console.
"""
from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from jmapsite.body_pipe import BODY_PIPE_EXTENSION, BodyPipe, piped_body_wanted

HEAD_LIMIT = 16 * 1024
HEAD_FIELDS = 500
HEAD_TIMEOUT = 30.0
BODY_TIMEOUT = 60.0
# The transport's high-water mark (module doc); asyncio resumes writing below a quarter of it.
WRITE_BUFFER_HIGH = 1024 * 1024
# A request body of at least LARGE_BODY octets is read from the socket LARGE_READ at a time
# (_large_reads); asyncio reads _ASYNCIO_READ.
LARGE_BODY = 1024 * 1024
LARGE_READ = 1024 * 1024
_ASYNCIO_READ = 256 * 1024

_HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 32\r\nconnection: close\r\n\r\nRequest header fields too large."
)
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class _HeadTooLarge(Exception):
    """Raised in a parser callback; httptools turns it into a parser error (send_400_response)."""


def declared_length(headers: list[tuple[bytes, bytes]]) -> int:
    """The request's Content-Length, 0 when absent or not one decimal number (httptools refuses those)."""
    for name, value in headers:
        if name == b"content-length" and value.isdigit():
            return int(value)
    return 0


class BoundedHeadProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with bounded heads, deadlines and piped uploads (module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout: float = getattr(self.config, "jmap_head_timeout", HEAD_TIMEOUT)
        self.body_timeout: float = getattr(self.config, "jmap_body_timeout", BODY_TIMEOUT)
        self._head_octets = 0
        self._head_fields = 0
        self._head_open = False
        self._head_refused = False
        self._head_timer: asyncio.TimerHandle | None = None
        # Octets fed to the parser since it last reported anything (module doc).
        self._quiet_octets = 0
        self._parser_spoke = False
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_seen_at = 0.0
        # The body pipe of the request being read, when it is a large upload (jmapsite/body_pipe.py).
        self._pipe: BodyPipe | None = None

    # The connection.

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        transport.set_write_buffer_limits(high=WRITE_BUFFER_HIGH)
        self._head_deadline_arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_deadline_cancel()
        self._body_deadline_cancel()
        if self._pipe is not None and not self._pipe.complete:
            self._pipe.aborted()  # the client went away mid-body: its reader fails
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        self._parser_spoke = False
        super().data_received(data)
        if self._parser_spoke:
            self._quiet_octets = 0
            return
        self._quiet_octets += len(data)
        if self._quiet_octets > HEAD_LIMIT and not self.transport.is_closing():
            # A field (or trailer, or chunk extension) that never ends: httptools would keep it all.
            self._head_refuse()

    def _head_refuse(self) -> None:
        """Answer 431 and close; a response already being sent is cut off instead (it would be corrupted)."""
        self._head_refused = True
        cycle = self.cycle
        if cycle is not None and cycle.response_started and not cycle.response_complete:
            self.transport.abort()
            return
        self.transport.write(_HEAD_TOO_LARGE)
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        if self._head_refused:
            self._head_refuse()
            return
        cycle = self.cycle
        if cycle is not None and cycle.response_started and not cycle.response_complete:
            self.transport.abort()  # a pipelined request that cannot be parsed, behind a response being sent
            return
        super().send_400_response(msg)

    def shutdown(self) -> None:
        """The server stops (SIGTERM): a response being sent, or a body still arriving, is cut off at once.

        uvicorn lets every request in flight finish within its grace and then
        cancels it, logging an error. A streamed response (an EventSource,
        which never ends by itself; a download) and an upload still arriving
        end now instead: the client sees the connection close, as on any
        restart, and the view hears http.disconnect (or its body read fails)
        and cleans up. A request whose body is in still gets its grace.
        """
        cycle = self.cycle
        streaming = cycle is not None and cycle.response_started and not cycle.response_complete
        if streaming or (self._pipe is not None and not self._pipe.complete):
            # abort, not close: close waits to flush what is buffered, which a client that does not
            # read never lets happen.
            self.transport.abort()
            return
        super().shutdown()

    # The head.

    def _head_deadline_arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_deadline_passed)

    def _head_deadline_cancel(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_deadline_passed(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self.flow.read_paused:
            # This server is not reading (a pipelined head behind a full pipe): not the client's delay.
            self._head_deadline_arm()
            return
        self.transport.close()

    def _head_count(self, octets: int, *, fields: int = 0) -> None:
        self._head_octets += octets
        self._head_fields += fields
        if self._head_octets > HEAD_LIMIT or self._head_fields > HEAD_FIELDS:
            self._head_refused = True
            raise _HeadTooLarge

    def on_message_begin(self) -> None:
        self._parser_spoke = True
        super().on_message_begin()
        self._head_octets = self._head_fields = 0
        self._head_open = True
        self._pipe = None
        # A pipelined head behind a request still being answered waits for that answer
        # (on_response_complete), as this server reads no further meanwhile.
        if self.cycle is None or self.cycle.response_complete:
            self._head_deadline_arm()

    def on_url(self, url: bytes) -> None:
        self._parser_spoke = True
        self._head_count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._parser_spoke = True
        # Each field as it stood on the wire: name, ": ", value, CRLF.
        self._head_count(len(name) + len(value) + 4, fields=1)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._parser_spoke = True
        self._head_open = False
        self._head_deadline_cancel()
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is None or cycle.scope is not self.scope:
            return  # a WebSocket upgrade: the WebSocket protocol takes the connection over
        scope = cast("dict[str, Any]", self.scope)  # uvicorn's TypedDict knows no pipe
        if piped_body_wanted(scope):
            # The application's task is made but has not run yet: it finds the offer in its scope.
            scope["extensions"] = {**(scope.get("extensions") or {}),
                                   BODY_PIPE_EXTENSION: partial(self._pipe_take, cycle)}  # fmt: skip
        self._large_reads(declared_length(self.headers) >= LARGE_BODY)
        self._body_deadline_arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._head_open and not self.transport.is_closing():
            self._head_deadline_arm()

    # The body.

    def _body_deadline_arm(self) -> None:
        self._body_seen_at = time.monotonic()
        if self._body_timer is None:
            self._body_timer = self.loop.call_later(self.body_timeout, self._body_deadline_check)

    def _body_deadline_cancel(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _body_deadline_check(self) -> None:
        """BODY_TIMEOUT after the body's last octet: close, unless this server stopped reading."""
        self._body_timer = None
        if self.transport.is_closing():
            return
        now = time.monotonic()
        if self.flow.read_paused:
            self._body_seen_at = now  # the application (or a full pipe) holds the body back, not the client
        left = self._body_seen_at + self.body_timeout - now
        if left > 0:
            self._body_timer = self.loop.call_later(left, self._body_deadline_check)
            return
        self.transport.close()

    def on_body(self, body: bytes) -> None:
        """A taken pipe gets each piece (reading paused while it is full); else uvicorn queues it for receive."""
        self._parser_spoke = True
        self._body_seen_at = time.monotonic()
        pipe = self._pipe
        if pipe is None:
            super().on_body(body)
            return
        if self.cycle.response_complete:
            return  # answered already: the rest is dropped as it comes, as uvicorn does
        if pipe.put(body):
            self.flow.pause_reading()

    def on_message_complete(self) -> None:
        self._parser_spoke = True
        self._body_deadline_cancel()
        if self._pipe is None:
            super().on_message_complete()
        else:
            # The body went through the pipe: `receive` has nothing more to give than the
            # disconnect that follows the answer (uvicorn would announce an empty last body message,
            # which a disconnect listener takes for a message after the body).
            self._pipe.finished()
            self.cycle.more_body = False
        self._large_reads(False)

    def _large_reads(self, wanted: bool) -> None:
        """Read the socket LARGE_READ octets at a time while a large body arrives, else asyncio's 256 KiB.

        Each socket read of a body is a trip through the parser and a hand-off
        to the application: fewer, larger reads took the web process's CPU for
        a 100 MiB upload from 0.26 to 0.18 s (tests/jmapsite/upload_body_app.py,
        hashing included). Not for every read: each allocates its whole size
        first. asyncio's selector transport reads `max_size` (web_server runs
        uvicorn on asyncio's loop, not uvloop).
        """
        if hasattr(self.transport, "max_size"):
            self.transport.max_size = LARGE_READ if wanted else _ASYNCIO_READ

    # A large upload's pipe.

    def _pipe_take(self, cycle: Any) -> BodyPipe | None:
        """The body of `cycle`'s request as a BodyPipe, for an application that has read none of it.

        Called on the event loop (jmapsite/asgi_pool.py). What has arrived
        moves into the pipe, and from now on every piece goes there as it is
        read (on_body). None when the request is over or already piped.
        """
        if cycle is not self.cycle or self._pipe is not None or cycle.response_complete or cycle.disconnected:
            return None

        def room_made() -> None:  # on the reader's thread
            self.loop.call_soon_threadsafe(self._pipe_read_on, cycle)

        def first_read() -> None:  # on the reader's thread
            self.loop.call_soon_threadsafe(self._continue_send, cycle)

        pipe = BodyPipe(on_room=room_made, on_first_read=first_read)
        if cycle.body:
            pipe.put(bytes(cycle.body))
            cycle.body = bytearray()
        if not cycle.more_body:
            pipe.finished()
        # What uvicorn queued for `receive` is in the pipe now: receive waits for the disconnect.
        cycle.message_event.clear()
        self._pipe = pipe
        self.flow.resume_reading()  # uvicorn may have paused for its own queue, now empty
        return pipe

    def _pipe_read_on(self, cycle: Any) -> None:
        """The pipe has room again (called on the event loop, asked from the reader's thread)."""
        pipe = self._pipe
        if pipe is not None and cycle is self.cycle and not pipe.complete and not self.transport.is_closing():
            self.flow.resume_reading()

    def _continue_send(self, cycle: Any) -> None:
        """The view reads the body: a client that sent `Expect: 100-continue` may send it now (RFC 9110
        §10.1.1). uvicorn does so only from `receive`, which a piped request's application never calls."""
        if cycle is self.cycle and cycle.waiting_for_100_continue and not self.transport.is_closing():
            cycle.waiting_for_100_continue = False
            self.transport.write(_CONTINUE)
