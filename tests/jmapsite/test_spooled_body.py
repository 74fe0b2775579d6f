"""jmapsite.spooled_body: readers of a request body in the server's spool file.

A reader has a position of its own (the server's file object may move or
close without disturbing it); a reader of a body still arriving waits for
the octets it asks for, ends where the complete body ends, and fails (never
hangs) when the client goes away. Real files, real threads.
"""
from __future__ import annotations

import tempfile
import threading

import pytest

from jmapsite.spooled_body import BodyProgress, growing_reader, spool_reader


def test_a_reader_keeps_its_own_position_and_outlives_the_servers_file() -> None:
    with tempfile.TemporaryFile() as spool:
        spool.write(b"alice's body")
        spool.flush()
        reader = spool_reader(spool.fileno())
        spool.seek(3)  # the server's file moves ...
        assert reader.read(5) == b"alice"
        spool.close()  # ... and closes
        assert reader.read() == b"'s body"
        reader.seek(0)
        assert reader.read(5) == b"alice"
        reader.close()


def test_a_growing_body_is_read_as_it_arrives_and_ends_with_it() -> None:
    progress = BodyProgress()
    with tempfile.TemporaryFile() as spool:
        reader = growing_reader(spool.fileno(), progress)
        got: list[bytes] = []
        done = threading.Thread(target=lambda: got.append(reader.read()))
        done.start()
        for piece in (b"bob ", b"sends ", b"slowly"):
            spool.write(piece)
            spool.flush()
            progress.arrived(len(piece))
        with pytest.raises(OSError):
            reader.fileno()  # no sendfile of a body still arriving
        progress.finished()
        done.join(timeout=30)
        assert got == [b"bob sends slowly"]
        assert reader.fileno() >= 0
        reader.close()


def test_a_client_gone_mid_body_fails_the_reader() -> None:
    progress = BodyProgress()
    with tempfile.TemporaryFile() as spool:
        spool.write(b"mallory")
        spool.flush()
        progress.arrived(7)
        reader = growing_reader(spool.fileno(), progress)
        assert reader.read(7) == b"mallory"
        failures: list[BaseException] = []

        def read_more() -> None:
            try:
                reader.read(1)
            except OSError as error:
                failures.append(error)

        waiting = threading.Thread(target=read_more)
        waiting.start()
        progress.aborted()
        waiting.join(timeout=30)
        assert not waiting.is_alive()
        assert len(failures) == 1 and "went away" in str(failures[0])
        reader.close()


def test_a_stalled_client_fails_the_reader_after_the_timeout() -> None:
    progress = BodyProgress()
    with pytest.raises(OSError, match="sent no part"):
        progress.wait_for(0, 1, timeout=0.05)


def test_a_read_gives_what_arrived_rather_than_wait_for_a_whole_piece() -> None:
    # alice's client sends slowly: a 1 MiB read returns her few octets (after the gather pause),
    # so the upload view gets to renew its slot while she sends, not once per MiB.
    progress = BodyProgress()
    with tempfile.TemporaryFile() as spool:
        reader = growing_reader(spool.fileno(), progress)
        spool.write(b"alice")
        spool.flush()
        progress.arrived(5)
        got: list[bytes] = []
        done = threading.Thread(target=lambda: got.append(reader.read(1024 * 1024)))
        done.start()
        done.join(timeout=30)
        assert got == [b"alice"]
        spool.write(b" and more")
        spool.flush()
        progress.arrived(9)
        progress.finished()
        assert reader.read(4) == b" and"  # as much as asked when it is there
        assert reader.read(1024) == b" more"
        assert reader.read(1024) == b""
        reader.close()


def test_the_end_of_a_growing_body_is_known_once_it_is_complete() -> None:
    progress = BodyProgress()
    with tempfile.TemporaryFile() as spool:
        reader = growing_reader(spool.fileno(), progress)
        ends: list[int] = []
        waiting = threading.Thread(target=lambda: ends.append(reader.seek(-3, 2)))
        waiting.start()
        spool.write(b"bob's body")
        spool.flush()
        progress.arrived(10)
        progress.finished()
        waiting.join(timeout=30)
        assert ends == [7]
        assert reader.read() == b"ody"
        reader.close()
