"""A TcpRelay that rewrites what a real server answers, line by line: the way
to make a real Dovecot say what a hostile server would (a VANISHED set naming
every UID, a FETCH nested thousands deep) without mocking the protocol.

`relay.rewrite` (bytes line -> bytes) sees each server line with its CRLF;
literal data announced by `{n}` at the end of a line passes untouched.
"""
from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Callable

from tests.servers.tcp_relay import TcpRelay

_LITERAL_END = re.compile(rb"\{(\d+)\}\r\n\Z")


class RewritingRelay(TcpRelay):
    """See the module docstring."""

    rewrite: Callable[[bytes], bytes] = staticmethod(lambda line: line)

    def _pump(self, source: socket.socket, sink: socket.socket, upstream: bool,
              pair: tuple[socket.socket, socket.socket]) -> None:  # fmt: skip
        if upstream:
            super()._pump(source, sink, upstream, pair)
            return
        buffer = b""
        literal = 0
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                buffer += data
                out = []
                while buffer:
                    if literal:
                        chunk, buffer = buffer[:literal], buffer[literal:]
                        literal -= len(chunk)
                        out.append(chunk)
                        continue
                    end = buffer.find(b"\r\n")
                    if end < 0:
                        break
                    line, buffer = buffer[: end + 2], buffer[end + 2 :]
                    found = _LITERAL_END.search(line)
                    literal = int(found.group(1)) if found else 0
                    out.append(self.rewrite(line))
                sink.sendall(b"".join(out))
        except OSError:
            pass
        for sock in pair:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
