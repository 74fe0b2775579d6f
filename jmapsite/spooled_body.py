"""A request body handed to Django as the very file the ASGI server spooled it to.

daphne (through jmapsite/daphne_server.py) has the whole request body in a
temporary file before the application starts. Django's ASGI handler would
then read it back message by message and write it into a spooled file of its
own before the view sees a byte: for a 100 MB upload a second 100 MB written
and read, on the critical path of every passthrough upload (issue 12, item 7).

jmapsite/daphne_server.py offers, in the scope's extensions under
SPOOLED_BODY_EXTENSION, a `take(min_size)` that gives the body as a
`spool_reader()` over its file (and drops the body messages from the
application's queue) when the body is at least `min_size` octets and lies in
a real file; jmapsite/asgi_pool.py uses it instead of Django's copy. Nothing
here imports daphne or Django, so both sides can import it.

A large POST may also be started before its body has arrived (daphne_server:
EarlyStartRequest), so that a passthrough upload goes on to the upstream
while the client is still sending it. Its body is then a `growing_reader()`:
a read waits (BodyProgress) until the octets it asks for are in the file, the
body is complete, or the client has gone away or stalled (OSError).
"""
from __future__ import annotations

import io
import os
import threading
import time

# The scope["extensions"] key of the offer; its value is {"take": Callable[[int], IO[bytes] | None]}.
SPOOLED_BODY_EXTENSION = "jmap.spooled_body"
# Bodies smaller than this take Django's usual path (it keeps them in memory anyway).
SPOOLED_BODY_MIN = 1024 * 1024
READ_BUFFER = 1024 * 1024
# A read of a growing body gives up when no octet has arrived for this long (the client stalled).
# Below jmapcore.concurrency.SLOT_TTL (180 s), so a stalled upload fails before its slot could lapse.
STALL_TIMEOUT = 60.0
# A read of a growing body that has some octets but fewer than asked returns them after this long.
GATHER_SECONDS = 0.2


class SpoolFile(io.RawIOBase):
    """A read-only view of a file descriptor with a position of its own (os.pread).

    The descriptor is a duplicate of the server's: the server may close its
    own file object, or move its offset, without disturbing this reader (a
    plain duplicate would share the offset). `fileno()` lets a sender use
    os.sendfile with explicit offsets.
    """

    def __init__(self, descriptor: int) -> None:
        super().__init__()
        self._descriptor = descriptor
        self._position = 0
        self._size = os.fstat(descriptor).st_size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def fileno(self) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        return self._descriptor

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("I/O operation on closed file")
        view = memoryview(buffer).cast("B")
        count = os.preadv(self._descriptor, [view], self._position)
        self._position += count
        return count

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            position = offset
        elif whence == os.SEEK_CUR:
            position = self._position + offset
        elif whence == os.SEEK_END:
            position = self._size + offset
        else:
            raise ValueError(f"invalid whence ({whence})")
        if position < 0:
            raise ValueError("negative seek position")
        self._position = position
        return position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        if not self.closed:
            try:
                os.close(self._descriptor)
            finally:
                super().close()


def spool_reader(descriptor: int) -> io.BufferedReader:
    """A buffered reader from the start of the file behind `descriptor` (duplicated here; the caller
    keeps and closes its own). Closing the reader closes the duplicate."""
    return io.BufferedReader(SpoolFile(os.dup(descriptor)), buffer_size=READ_BUFFER)


class BodyProgress:
    """How much of a request body is in its spool file, told by the server as it arrives.

    The server (its event loop) calls `arrived`, `finished` or `aborted`;
    readers on other threads wait in `wait_for`.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.received = 0
        self.complete = False
        self.gone = False

    def arrived(self, count: int) -> None:
        with self._changed:
            self.received += count
            self._changed.notify_all()

    def finished(self) -> None:
        with self._changed:
            self.complete = True
            self._changed.notify_all()

    def aborted(self) -> None:
        with self._changed:
            self.gone = True
            self._changed.notify_all()

    def wait_for(self, position: int, want: int, *, timeout: float | None = None,
                 gather: float | None = None) -> int:  # fmt: skip
        """Octets readable from `position` now: more than 0, or 0 at the end of a complete body.

        Returns once `want` octets are in (or the body is complete), or once
        `gather` seconds have passed with fewer but some: a slow sender's
        octets go on without waiting for a whole piece, a fast sender's go in
        whole pieces (fewer, larger reads and sends downstream). Raises
        OSError when the client went away, or sent nothing for `timeout`
        seconds while nothing was left to read.
        """
        timeout = STALL_TIMEOUT if timeout is None else timeout
        gather = GATHER_SECONDS if gather is None else gather
        start = time.monotonic()
        with self._changed:
            while True:
                if self.gone:
                    raise OSError("the client went away before the whole request body arrived")
                available = self.received - position
                if available >= want or self.complete:
                    return max(available, 0)
                waited = time.monotonic() - start
                if available > 0 and waited >= gather:
                    return available
                if available <= 0 and waited >= timeout:
                    raise OSError(f"the client sent no part of the request body for {timeout:g} s")
                self._changed.wait((gather if available > 0 else timeout) - waited)

    def wait_complete(self) -> int:
        """The body's length once it is all in (OSError as for wait_for)."""
        while True:
            with self._changed:
                if self.complete and not self.gone:
                    return self.received
            self.wait_for(self.received, 1 << 62)


class GrowingSpoolFile(SpoolFile):
    """A SpoolFile whose file is still being written: reads wait for the octets (BodyProgress).

    Unbuffered: `read(size)` is one wait and one pread, giving what has
    arrived (BodyProgress.wait_for), so a caller that does something between
    reads (the upload view renews its concurrency slot) does it while a slow
    client sends, not once per whole piece. It has no `fileno()` until the
    body is complete, so that nobody sends it with sendfile, which would stop
    at what has arrived so far.
    """

    def __init__(self, descriptor: int, progress: BodyProgress) -> None:
        super().__init__(descriptor)
        self._progress = progress

    def fileno(self) -> int:
        if not self._progress.complete:
            raise io.UnsupportedOperation("the request body is still arriving")
        return super().fileno()

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        available = self._progress.wait_for(self.tell(), len(view)) if len(view) else 0
        if available == 0:
            return 0
        return super().readinto(view[:available])

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        if self.closed:
            raise ValueError("I/O operation on closed file")
        available = self._progress.wait_for(self._position, size) if size else 0
        # One copy, into the bytes returned (RawIOBase.read would copy through a bytearray).
        data = os.pread(self._descriptor, min(available, size), self._position)
        self._position += len(data)
        return data

    def readall(self) -> bytes:
        pieces = []
        while piece := self.read(READ_BUFFER):
            pieces.append(piece)
        return b"".join(pieces)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_END:
            # The end is known only once the body is complete.
            self._size = self._progress.wait_complete()
        return super().seek(offset, whence)


def growing_reader(descriptor: int, progress: BodyProgress) -> GrowingSpoolFile:
    """An unbuffered reader from the start of a body still arriving in the file behind `descriptor`
    (duplicated here, as for spool_reader)."""
    return GrowingSpoolFile(os.dup(descriptor), progress)
