"""jmapsite.body_pipe: a request body still arriving, read on another thread.

Its reader gets pieces as they arrive, ends where the complete body ends,
fails (never hangs) when the client goes away or stalls; a full pipe stops
the feed until the reader has made room, and a closed reader lets the rest
through unkept. Real threads.
"""
from __future__ import annotations

import threading

import pytest

from jmapsite.body_pipe import BodyPipe, pipe_reader
from tests.linear_run import sizes_run


def test_a_body_through_the_pipe_is_read_as_it_arrives_and_ends_with_it() -> None:
    pipe = BodyPipe()
    reader = pipe_reader(pipe)
    got: list[bytes] = []
    done = threading.Thread(target=lambda: got.append(reader.read()))
    done.start()
    for piece in (b"bob ", b"sends ", b"slowly"):
        pipe.put(piece)
    with pytest.raises(OSError):
        reader.fileno()  # no sendfile of a body that is no file
    pipe.finished()
    done.join(timeout=30)
    assert got == [b"bob sends slowly"]
    assert reader.read(10) == b""
    reader.close()


def test_a_read_gives_what_arrived_rather_than_wait_for_as_much_as_asked() -> None:
    # alice's client sends slowly: a 1 MiB read returns her few octets at once, so the upload
    # view renews its slot while she sends; a read of less than a piece takes just that.
    pipe = BodyPipe()
    reader = pipe_reader(pipe)
    pipe.put(b"alice")
    assert reader.read(1024 * 1024) == b"alice"
    pipe.put(b" and more")
    pipe.finished()
    assert reader.read(4) == b" and"
    assert reader.read(1024) == b" more"
    assert reader.read(1024) == b""


def test_a_full_pipe_stops_the_server_until_the_reader_makes_room() -> None:
    rooms: list[int] = []
    pipe = BodyPipe(limit=4000, on_room=lambda: rooms.append(pipe.buffered))
    piece = b"m" * 1000
    fulls = [pipe.put(piece) for _ in range(4)]
    assert fulls == [False, False, False, True]  # the server stops reading here: 4000 octets wait
    assert pipe.buffered == 4000
    reader = pipe_reader(pipe)
    assert reader.read(1000) == piece
    assert rooms == []  # 3000 left: still more than half
    assert reader.read(1000) == piece
    assert rooms == [2000]  # half: read on
    reader.close()


def test_a_closed_reader_lets_the_rest_of_the_body_through_unkept() -> None:
    # The application answered without reading the rest (a refusal): the client may finish
    # sending, and nothing of it is held.
    rooms: list[int] = []
    pipe = BodyPipe(limit=2000, on_room=lambda: rooms.append(1))
    reader = pipe_reader(pipe)
    assert pipe.put(b"x" * 2000) is True
    reader.close()
    assert rooms == [1] and pipe.buffered == 0
    assert pipe.put(b"y" * 5000) is False
    assert pipe.buffered == 0 and pipe.received == 7000


def test_a_client_gone_mid_body_fails_the_reader() -> None:
    pipe = BodyPipe()
    pipe.put(b"mallory")
    reader = pipe_reader(pipe)
    assert reader.read(7) == b"mallory"
    failures: list[BaseException] = []

    def read_more() -> None:
        try:
            reader.read(1)
        except OSError as error:
            failures.append(error)

    waiting = threading.Thread(target=read_more)
    waiting.start()
    pipe.aborted()
    waiting.join(timeout=30)
    assert not waiting.is_alive()
    assert len(failures) == 1 and "went away" in str(failures[0])
    reader.close()


def test_a_stalled_client_fails_the_reader_after_the_timeout() -> None:
    with pytest.raises(OSError, match="sent no part"):
        BodyPipe().take(1, timeout=0.05)


def test_small_reads_of_a_large_piece_take_linear_time() -> None:
    # The local blob store reads 64 KiB at a time from the server's 1 MiB pieces: each read must copy
    # only what it takes (copying the rest each time was quadratic in the piece).
    setup = (
        "from jmapsite.body_pipe import BodyPipe\n"
        "def make(n):\n"
        "    pipe = BodyPipe(limit=1 << 40)\n"
        "    pipe.put(b'x' * n)\n"
        "    pipe.finished()\n"
        "    return pipe\n"
        "def run(pipe):\n"
        "    pieces = []\n"
        "    while piece := pipe.take(64):\n"
        "        pieces.append(len(piece))\n"
        "    return pieces\n"
    )
    sizes = sizes_run(setup, base=1_000_000, what="BodyPipe.take of small reads from one piece")
    assert sizes == ["list:15625", "list:250000"]
