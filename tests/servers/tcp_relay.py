"""A TCP relay on 127.0.0.1 between the proxy and a real server, that a test
can tell to cut every connection: the way to make a real backend "drop the
connection mid-request" without mocking the protocol.

`relay.cut_when(marker)` makes the relay close both sides as soon as the
client sends bytes containing `marker` (for example b"UID STORE"), before
they reach the server; the command never arrives.
"""
from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest


class TcpRelay:
    def __init__(self, *, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.cut_marker: bytes | None = None
        self.cuts = 0
        self._stopping = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="tcp-relay", daemon=True)
        self._thread.start()

    def cut_when(self, marker: bytes | None) -> None:
        self.cut_marker = marker

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.extend([client, server])
            pair = (client, server)
            threading.Thread(target=self._pump, args=(client, server, True, pair), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False, pair), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, upstream: bool,
              pair: tuple[socket.socket, socket.socket]) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                marker = self.cut_marker
                if upstream and marker is not None and marker in data:
                    self.cuts += 1
                    break
                sink.sendall(data)
        except OSError:
            pass
        for sock in pair:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            self.listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()
        self._thread.join(timeout=2)


@pytest.fixture
def tcp_relay_factory() -> Iterator[type[TcpRelay]]:
    """Make relays with TcpRelay-like calls; every one is stopped after the test."""
    made: list[TcpRelay] = []

    class Tracked(TcpRelay):
        def __init__(self, *, target_host: str, target_port: int) -> None:
            super().__init__(target_host=target_host, target_port=target_port)
            made.append(self)

    yield Tracked
    for relay in made:
        relay.stop()
