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
"""
from __future__ import annotations

import io
import os

# The scope["extensions"] key of the offer; its value is {"take": Callable[[int], IO[bytes] | None]}.
SPOOLED_BODY_EXTENSION = "jmap.spooled_body"
# Bodies smaller than this take Django's usual path (it keeps them in memory anyway).
SPOOLED_BODY_MIN = 1024 * 1024
READ_BUFFER = 1024 * 1024


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
