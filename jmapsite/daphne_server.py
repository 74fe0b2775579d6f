"""daphne, with request bodies handed to the application from daphne's own spool file.

daphne 4 receives a request body into Twisted's request file (a temporary file
once it passes 100 kB) and then, before the application has read anything,
puts the whole body into the application's asyncio.Queue, request_buffer_size
octets per message (daphne/http_protocol.py, WebRequest.process). So a 100 MB
upload sat in the web process's memory whole while Django copied it to its
own spool file: +105 MiB resident, measured by
tests/backends/jmap/test_blob_stream_memory.py (issue 12, item 3: blobs must
pass without being held in memory).

Here the queue of an HTTP request keeps only *where* each piece of the body
lies in that file and reads the piece back when the application asks for it,
so one piece is in memory at a time. A large body can also be taken whole as
that file (jmapsite/spooled_body.py): Django's handler then reads it from
there instead of copying it into a spool file of its own, and a passthrough
upload is sent from it with sendfile (issue 12, item 7).

A large upload with a Content-Length does not wait for its body at all
(EarlyStartRequest): it starts once its headers are in and reads its body
through a bounded pipe in memory while the client sends it, so a passthrough
upload goes on to the upstream at the same time (issue 12, item 7). Only a
large upload of unknown length (chunked) still comes whole from the spool
file as above.

Each connection reads up to SEND_BUFFER octets per socket read (Twisted's
64 KiB made 1,600 reads and file writes of a 100 MB upload, each a trip
through Twisted's HTTP parser) and sends up to SEND_BUFFER per write, each
piece the application wrote sent as it is, never joined with the next
first (_writes_unjoined).

The other way, daphne writes each response piece to the socket's buffer as
soon as the application sends it, however slowly the client reads: a
streamed 100 MB download from a fast upstream to a slow client piled up in
memory. Here a response body waits while Twisted says the connection is
full (a registered streaming producer, paused and resumed by Twisted), and
"full" means SEND_BUFFER octets waiting, not Twisted's 64 KiB.
Twisted does not parse form bodies daphne never uses (EarlyStartRequest.__init__),
nor format access-log lines nobody sees (EarlyStartHTTPFactory.log).
Everything else is daphne's.

Run as daphne is run: `python -m jmapsite.daphne_server <daphne arguments>`
(jmapsite/process_specs.py builds the web process's command).
"""
from __future__ import annotations

import asyncio
import os
import stat
from dataclasses import dataclass
from functools import partial
from typing import IO, Any, cast

from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.server import Server

from jmapsite.spooled_body import SPOOLED_BODY_EXTENSION, BodyPipe, pipe_reader, spool_reader


@dataclass(frozen=True)
class _SpoolSlice:
    """Where one body message's octets lie in the request's spool file."""

    offset: int
    length: int


class SpooledBodyQueue(asyncio.Queue[dict[str, Any]]):
    """An application input queue that keeps `http.request` bodies in `request.content` until read.

    daphne seeks the file to 0 and then puts the body in order, so the
    offsets are counted here. If the file is gone when a piece is read (the
    client went away and Twisted closed it), the application is told
    `http.disconnect`, as ASGI says for a vanished client.
    """

    def __init__(self, request: Any, *, pipe: BodyPipe | None = None) -> None:
        super().__init__()
        self._request = request
        self._offset = 0
        # Set for a request started before its body arrived (EarlyStartRequest): the body comes
        # through the pipe as it arrives, not from daphne's messages.
        self._pipe = pipe
        self._delivered = 0
        self._taken = False
        self._news = asyncio.Event()

    def body_moved(self) -> None:
        """The growing body changed (octets arrived, it ended, the client left): wake the reader."""
        self._news.set()

    def put_nowait(self, item: dict[str, Any]) -> None:
        if self._pipe is not None and item.get("type") == "http.request":
            # daphne's own body message (empty: it ran before the body arrived); the body
            # comes through the pipe (_growing_get).
            return
        self._news.set()
        content = getattr(self._request, "content", None)
        body = item.get("body")
        if item.get("type") == "http.request" and isinstance(body, bytes) and body and content is not None:
            item = {**item, "body": _SpoolSlice(self._offset, len(body))}
            self._offset += len(body)
        super().put_nowait(item)

    async def _growing_get(self, pipe: BodyPipe) -> dict[str, Any]:
        """The next piece of a body still arriving, or what was queued after it (http.disconnect)."""
        while True:
            if not self.empty():
                return super().get_nowait()
            self._news.clear()
            try:
                data = pipe.take(REQUEST_PIECE, wait=False)
            except OSError:
                return {"type": "http.disconnect"}
            if data is not None:
                self._delivered += len(data)
                done = not data
                if done:
                    self._pipe = None  # from here on, an ordinary queue
                return {"type": "http.request", "body": data, "more_body": not done}
            await self._news.wait()

    async def get(self) -> dict[str, Any]:
        if self._pipe is not None and not self._taken:
            return await self._growing_get(self._pipe)
        item = await super().get()
        piece = item.get("body")
        if not isinstance(piece, _SpoolSlice):
            return item
        try:
            content = self._request.content
            content.seek(piece.offset)
            data = content.read(piece.length)
        except (AttributeError, OSError, ValueError):
            return {"type": "http.disconnect"}
        if len(data) != piece.length:
            return {"type": "http.disconnect"}
        return {**item, "body": data}

    def body_take(self, min_size: int) -> IO[bytes] | None:
        """The whole body as a reader of its spool file (spooled_body.spool_reader), or None.

        Only before the application has read any of it, when every body
        message is queued (daphne queues them all before the application
        runs), the body has at least `min_size` octets and lies in a real
        file. The body messages are dropped from the queue, so that the next
        message the application receives is what follows the body
        (http.disconnect), as after reading them all.

        A body still arriving (EarlyStartRequest) is given as the reader of
        its pipe (spooled_body.pipe_reader) when none of it was read yet.
        """
        if self._pipe is not None:
            return self._growing_take(self._pipe, min_size)
        if self._offset < min_size:
            return None
        pending: list[dict[str, Any]] = list(self._queue)  # type: ignore[attr-defined]  # asyncio.Queue keeps a deque
        # daphne ends a body whose length is a multiple of its piece size with an empty message.
        if not pending or any(
            item.get("type") != "http.request" or not isinstance(item.get("body"), _SpoolSlice | bytes)
            or (isinstance(item.get("body"), bytes) and item["body"]) for item in pending
        ) or pending[-1].get("more_body", False):
            return None
        if sum(item["body"].length for item in pending if isinstance(item["body"], _SpoolSlice)) != self._offset:
            return None  # the application has read some of it already
        try:
            descriptor = self._request.content.fileno()
            if not stat.S_ISREG(os.fstat(descriptor).st_mode) or os.fstat(descriptor).st_size != self._offset:
                return None
            reader = spool_reader(descriptor)
        except (AttributeError, OSError, ValueError):
            return None
        for _item in pending:
            super().get_nowait()
        return reader

    def _growing_take(self, pipe: BodyPipe, min_size: int) -> IO[bytes] | None:
        expected = getattr(self._request, "jmap_expected_length", None)
        if self._taken or self._delivered or not isinstance(expected, int) or expected < min_size:
            return None
        reader = pipe_reader(pipe)
        self._taken = True
        # A raw (unbuffered) binary file: read, readinto, seek, close, as the consumers use it.
        return cast("IO[bytes]", reader)


class _NoBody:
    """What daphne's WebRequest.process reads as the body of a request started early: nothing yet."""

    closed = False

    def read(self, size: int = -1) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0


# A POST whose declared body is at least this large starts before the body has arrived ...
EARLY_START_MIN = 1024 * 1024
# ... when its path is an upload endpoint's (jmapsite/urls_jmap.py: upload/<accountId>/). A request
# started early holds a request thread while its client sends; the upload view reads its body
# only after authentication and under the login's maxConcurrentUpload slot (jmapcore/blob_views.py),
# so a slow sender holds at most that many. Other bodies (the API, forms) are read with no such bound:
# they still wait in Twisted's file, costing no thread, until they are whole.
EARLY_START_PATHS = (b"/upload/",)


def early_start_wanted(*, method: bytes | None, path: bytes | None, length: int | None, upgrade: bool) -> bool:
    """Whether a request starts as soon as its headers are in (EarlyStartRequest).

    Only a POST to an upload endpoint (EARLY_START_PATHS) that declares a
    Content-Length of at least EARLY_START_MIN and asks for no protocol
    upgrade. A body of unknown length (chunked, RFC 9112 §7.1) waits, as
    before: the reader's end would depend on the chunked decoding.
    """
    return (method == b"POST" and isinstance(path, bytes) and path.startswith(EARLY_START_PATHS)
            and isinstance(length, int) and length >= EARLY_START_MIN and not upgrade)  # fmt: skip


class EarlyStartRequest(WebRequest):
    """daphne's WebRequest; a large upload is handed to the application as soon as its headers are in.

    Twisted calls a request's process() only once the whole body is in its
    spool file, so a passthrough upload was received whole before a byte of
    it went on to the upstream: the two transfers took turns (issue 12, item
    7: uploads at 60-77 % of direct). A request early_start_wanted() accepts
    starts at once instead, and its body goes to the application through a
    BodyPipe in memory (spooled_body): the client's socket is read only
    while the pipe has room, so memory stays bounded whatever the two sides'
    speeds, and no temporary file is written.

    Framing stays Twisted's: the body is exactly Content-Length octets
    (HTTPChannel refuses a request with both Content-Length and
    Transfer-Encoding, or two lengths, with 400 before this runs), and
    octets after it are the next request, parsed only once this one is
    finished.

    Twisted's HTTPChannel expects the request to finish only after its body
    is in: if the application answers sooner (a refusal), the answer is
    written at once, the rest of the body is read and dropped, and Twisted's
    finish waits until it has arrived. A client that goes away mid-body
    wakes the reader with an error.
    """

    jmap_pipe: BodyPipe | None = None
    jmap_expected_length: int | None = None
    _jmap_finish_waits = False
    _jmap_paused = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Twisted parses the body of every form POST (urlencoded, or multipart: all of it, in the
        # reactor's thread) into `args`, and the Content-Type of every POST with a body, with the
        # email package (70-105 µs a request, timeit). daphne hands the body to the application as it came
        # and never reads `args`: neither is done.
        kwargs["parsePOSTFormSubmission"] = False
        super().__init__(*args, **kwargs)

    def gotLength(self, length: int | None) -> None:
        super().gotLength(length)
        channel = self.channel
        command = getattr(channel, "_command", None)
        path = getattr(channel, "_path", None)
        version = getattr(channel, "_version", None)
        if not isinstance(version, bytes) or not early_start_wanted(
            method=command, path=path, length=length, upgrade=self.requestHeaders.hasHeader(b"Upgrade")
        ):
            return
        assert isinstance(path, bytes) and isinstance(command, bytes)  # early_start_wanted checked them
        # What requestReceived would set (daphne reads only these), so process() can run now.
        self.method, self.uri, self.clientproto = command, path, version
        self.path = path.split(b"?", 1)[0]
        self.args: dict[bytes, list[bytes]] = {}
        self.jmap_pipe = BodyPipe(on_room=self._jmap_room)
        self.jmap_expected_length = length
        spool: Any = getattr(self, "content", None)
        self.content = _NoBody()
        try:
            self.process()
        finally:
            self.content = spool

    def _jmap_queue(self) -> SpooledBodyQueue | None:
        queue = getattr(self, "application_queue", None)
        return queue if isinstance(queue, SpooledBodyQueue) else None

    def _jmap_transport(self) -> Any:
        return getattr(getattr(self, "channel", None), "transport", None)

    def _jmap_room(self) -> None:
        """The pipe has room again (called on the reader's thread): read the client on, on the reactor's."""
        from twisted.internet import reactor  # daphne.server installed the asyncio reactor

        reactor.callFromThread(self._jmap_read_on)

    def _jmap_read_on(self) -> None:
        transport = self._jmap_transport()
        if self._jmap_paused and not self._disconnected and transport is not None:
            self._jmap_paused = False
            transport.resumeProducing()

    def handleContentChunk(self, data: bytes) -> None:
        pipe = self.jmap_pipe
        if pipe is None:
            super().handleContentChunk(data)
            return
        # The body goes through the pipe, not the spool file (class doc). Paused again on every
        # piece that finds it full: Twisted's HTTPChannel resumes the transport itself when its
        # send buffer drains, so a pause of ours may have been undone (one socket read at most).
        if pipe.put(data) and (transport := self._jmap_transport()) is not None:
            self._jmap_paused = True
            transport.pauseProducing()
        if (queue := self._jmap_queue()) is not None:
            queue.body_moved()

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        pipe = self.jmap_pipe
        if pipe is None:
            super().requestReceived(command, path, version)
            return
        # Started already (gotLength): the body is complete now; process() must not run twice.
        pipe.finished()
        if (queue := self._jmap_queue()) is not None:
            queue.body_moved()
        if self._jmap_finish_waits:
            self._jmap_finish_waits = False
            super().finish()

    def finish(self) -> None:
        pipe = self.jmap_pipe
        if pipe is not None and not pipe.complete and not pipe.gone and not self._disconnected:
            # Answered before the body is in: nobody reads the rest, and Twisted's channel
            # finishes a request only after its body.
            pipe.discard()
            self._jmap_finish_waits = True
            return
        super().finish()

    def connectionLost(self, reason: Any) -> None:
        if self.jmap_pipe is not None:
            self.jmap_pipe.aborted()
            if (queue := self._jmap_queue()) is not None:
                queue.body_moved()
        super().connectionLost(reason)


class EarlyStartHTTPFactory(HTTPFactory):
    """daphne's HTTPFactory, whose connections make EarlyStartRequest requests."""

    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        if protocol is not None:
            protocol.requestFactory = EarlyStartRequest
        return protocol

    def log(self, request: Any) -> None:
        # Twisted formats a combined-log line for every finished request and writes it to
        # Twisted's log, which daphne sends nowhere at verbosity 1 or less (the access log is
        # daphne's own, AccessLogGenerator): the line is only made where it can be seen.
        if getattr(getattr(self, "server", None), "verbosity", 0) > 1:
            super().log(request)


class _WriteGate:
    """A streaming producer (Twisted IPushProducer) registered on one HTTP request while its body is sent.

    Twisted pauses the producers of a connection whose socket buffer is full
    and resumes them when it drains; the reply path waits for the gate before
    writing the next piece, so a client that reads slowly slows the
    application down instead of piling the response up in this process.
    """

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.open.set()

    # Twisted's method names (twisted.internet.interfaces.IPushProducer).
    def pauseProducing(self) -> None:
        self.open.clear()

    def resumeProducing(self) -> None:
        self.open.set()

    def stopProducing(self) -> None:
        # The connection is gone: let the rest through, daphne drops it.
        self.open.set()


GATE_ATTRIBUTE = "_jmap_write_gate"

# How much of a streamed response Twisted holds for one connection before it pauses the
# producer. Twisted's default (64 KiB, FileDescriptor.bufferSize) paused a download after
# every piece Django sends (64 KiB) and resumed it only once the socket had taken all of
# it: a stop-and-wait that held passthrough downloads to ~45 % of the upstream's speed.
# 1 MiB per streaming connection keeps memory bounded and the socket fed.
SEND_BUFFER = 1024 * 1024


def _send_buffer_widen(protocol: Any) -> None:
    """Let the connection's transport hold SEND_BUFFER octets before pausing (see SEND_BUFFER).

    Only a transport with Twisted's own int `bufferSize` (a TCP connection) is
    changed; any other transport keeps its flow control as it is. Twisted's
    TCP transport also reads up to `bufferSize` per socket read, and writes
    up to SEND_LIMIT per send: both are widened to SEND_BUFFER.
    """
    transport: Any = getattr(getattr(protocol, "channel", None), "transport", None)
    size = getattr(transport, "bufferSize", None)
    if isinstance(size, int) and not isinstance(size, bool) and size < SEND_BUFFER:
        transport.bufferSize = SEND_BUFFER
        limit = getattr(transport, "SEND_LIMIT", None)
        if isinstance(limit, int) and not isinstance(limit, bool) and limit < SEND_BUFFER:
            transport.SEND_LIMIT = SEND_BUFFER
            _writes_unjoined(transport)


_TWISTED_WRITE_STATE = ("dataBuffer", "offset", "_tempDataBuffer", "_tempDataLen", "doWrite")


def _writes_unjoined(transport: Any) -> None:
    """Send a connection's written pieces one by one, as they were written, never joined first.

    Twisted's FileDescriptor.doWrite joins every piece written since its
    last send into one bytes object before sending, and while less than
    SEND_LIMIT of the previous one is unsent, joins that rest in too: with
    1 MiB download pieces two usually wait at once, so each octet of a
    download was copied once more in this process, some twice (py-spy: that
    join was a fifth of the web process's busy samples during passthrough
    downloads). Here, when nothing is left unsent, the next piece alone
    becomes what is sent, and the unsent rest of a piece is sent alone
    (SEND_LIMIT is made that rest for the call, as Twisted joins only below
    it); the pieces are the application's own bytes, copied once, by the
    kernel. A transport without Twisted's write state is left as it is.
    """
    if not all(hasattr(transport, name) for name in _TWISTED_WRITE_STATE):
        return
    twisted_do_write = transport.doWrite

    def do_write() -> Any:
        waiting = transport._tempDataBuffer
        if len(transport.dataBuffer) == transport.offset and len(waiting) > 1:
            first = waiting.pop(0)
            transport._tempDataLen -= len(first)
            transport.dataBuffer, transport.offset = first, 0
        rest = len(transport.dataBuffer) - transport.offset
        if not 0 < rest < SEND_BUFFER:
            return twisted_do_write()
        transport.SEND_LIMIT = rest
        try:
            return twisted_do_write()
        finally:
            transport.SEND_LIMIT = SEND_BUFFER

    # The reactor looks the method up on the transport each time it may write.
    transport.doWrite = do_write


# The body no longer waits in the queue, so its pieces can be large (daphne's 8 KiB made
# 12,800 hand-offs of a 100 MB upload); one piece is in memory at a time.
REQUEST_PIECE = 1024 * 1024


class SpooledBodyServer(Server):
    """daphne's Server: HTTP request bodies come through SpooledBodyQueue, response bodies wait for the socket."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("request_buffer_size", REQUEST_PIECE)
        super().__init__(*args, **kwargs)

    # daphne's Server.run makes its HTTPFactory and listens with it; the one it makes is swapped
    # for one whose requests may start early (EarlyStartRequest).
    @property
    def http_factory(self) -> Any:
        return self._jmap_http_factory

    @http_factory.setter
    def http_factory(self, factory: Any) -> None:
        self._jmap_http_factory = factory if isinstance(factory, EarlyStartHTTPFactory) else EarlyStartHTTPFactory(self)

    def protocol_connected(self, protocol: Any) -> None:
        # A request starts (daphne calls this as its WebRequest is made, before the body is
        # read): large socket reads and writes from now on (module doc).
        super().protocol_connected(protocol)
        _send_buffer_widen(protocol)

    def protocol_disconnected(self, protocol: Any) -> None:
        # A reply waiting for a socket that is gone would wait for ever: let it through (daphne drops it).
        gate: _WriteGate | None = getattr(protocol, GATE_ATTRIBUTE, None)
        if gate is not None:
            gate.stopProducing()
        super().protocol_disconnected(protocol)

    async def handle_reply(self, protocol: Any, message: dict[str, Any]) -> None:
        if message.get("type") == "http.response.body":
            gate: _WriteGate | None = getattr(protocol, GATE_ATTRIBUTE, None)
            if message.get("more_body", False):
                if gate is None and getattr(protocol, "channel", None) is not None and not protocol.finished:
                    fresh = _WriteGate()
                    _send_buffer_widen(protocol)
                    if getattr(protocol.channel, "_waitingForTransport", False):
                        # Already full: Twisted pauses on the change to full, which has happened.
                        fresh.pauseProducing()
                    try:
                        protocol.registerProducer(fresh, True)
                        gate = fresh
                    except (RuntimeError, ValueError):
                        # Another producer is registered on this request or connection: send
                        # ungated, as daphne does, and leave the request's producer as it was.
                        if getattr(protocol, "producer", None) is fresh:
                            protocol.producer = None
                    setattr(protocol, GATE_ATTRIBUTE, gate)
                if gate is not None:
                    await gate.open.wait()
            elif gate is not None:
                # Twisted wants the producer gone before the request finishes.
                setattr(protocol, GATE_ATTRIBUTE, None)
                if getattr(protocol, "channel", None) is not None:
                    protocol.unregisterProducer()
        await super().handle_reply(protocol, message)

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> asyncio.Queue[dict[str, Any]] | None:
        # As daphne: one application instance per protocol, run as a task, fed by the returned queue.
        if protocol not in self.connections:
            return None
        if "application_instance" in self.connections[protocol]:
            raise RuntimeError("an application instance already exists for this connection")
        queue: asyncio.Queue[dict[str, Any]]
        if scope.get("type") == "http":
            queue = SpooledBodyQueue(protocol, pipe=getattr(protocol, "jmap_pipe", None))
            scope["extensions"] = {**(scope.get("extensions") or {}), SPOOLED_BODY_EXTENSION: {"take": queue.body_take}}
        else:
            queue = asyncio.Queue()
        scope.setdefault("asgi", {"version": "3.0"})
        instance = self.application(scope=scope, receive=queue.get, send=partial(self.handle_reply, protocol))
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(instance)
        return queue


class SpooledBodyCommand(CommandLineInterface):
    """daphne's command line, serving with SpooledBodyServer."""

    server_class = SpooledBodyServer


if __name__ == "__main__":
    SpooledBodyCommand.entrypoint()
