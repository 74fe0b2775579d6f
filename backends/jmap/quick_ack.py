"""Acknowledge an upstream's answer at once instead of after the delayed-ACK timer.

An upstream that writes its answer in several pieces on a socket with Nagle's
algorithm on (Cyrus IMAP 3.6's httpd does: the status line and headers, then
the body) holds every piece after the first until the first is acknowledged.
Linux acknowledges a lone small segment only when its delayed-ACK timer fires,
~40 ms later, unless the receiver is in quick-ACK mode. Measured on Cyrus 3.6
(bench/passthrough.py's list view, 500 messages, loopback): 48 ms an answer
read plainly, 6.2 ms with quick ACKs asked for before each read. The mode is
not sticky (the kernel may leave it after any segment): the API transport
asks again before every read of an answer; the blob transport asks once,
before an answer's head (its bodies come in full segments, which are
acknowledged at once anyway: no stall measured on 3 KB to 2 MB downloads).
Elsewhere than Linux this does nothing.
"""
from __future__ import annotations

import socket

_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


def ack_at_once(sock: socket.socket) -> None:
    """Put `sock` in quick-ACK mode for the segments that arrive next (module doc)."""
    if _QUICKACK is None:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
    except OSError:
        # A socket closed under us: the read that follows reports it.
        pass
