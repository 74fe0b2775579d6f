"""backends.jmap.quick_ack: a connection asked for quick ACKs is in that mode (Linux reports it),
and a socket closed meanwhile is left to the read that follows, which reports it."""
from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from backends.jmap.quick_ack import ack_at_once

pytestmark = pytest.mark.skipif(not hasattr(socket, "TCP_QUICKACK"), reason="TCP_QUICKACK is Linux's only")


@pytest.fixture
def connection() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
        with client, server:
            yield client


def test_a_connection_in_delayed_ack_mode_is_put_in_quick_ack_mode(connection: socket.socket) -> None:
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
    assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK) == 0
    ack_at_once(connection)
    assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK) == 1


def test_a_closed_socket_is_left_to_the_read(connection: socket.socket) -> None:
    connection.close()
    ack_at_once(connection)  # no OSError here
    with pytest.raises(OSError):
        connection.recv(1)
