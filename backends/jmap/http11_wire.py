"""HTTP/1.1 messages on the wire for the upstream API transport (RFC 9112), without http.client.

backends.jmap.api_transport sends one small JSON POST per forwarded request
and reads one answer. http.client spent ~0.7 ms of CPU on that exchange --
header validation regexes on the way out, the email package's parser for
the answer's header fields, its buffered reader on the way in -- more than the
proxy's own work on the request. This module is the part of HTTP/1.1 that
exchange needs, written for that one use:

- request_bytes: the request line, Host (RFC 9110 §7.2: the port only when it
  is not the scheme's default), the caller's fields, Content-Length, the body.
  A target with a space or control character, or a field value with CR, LF
  or NUL, is refused (ValueError / http.client.InvalidURL), never sent: they
  would split the message.
- Wire: the receiving side of a connection, a buffer over one `receive`
  callable (one socket read per call). A line is found by searching only the
  octets that arrived since the last search, so reading is linear in the
  answer's size however it is split.
- head_read: the status line and header fields of the final answer (interim
  1xx answers are skipped, at most MAX_INTERIM). Each line is bounded by
  MAX_LINE octets, the fields by MAX_FIELDS; a field folded over lines
  (obs-fold; RFC 9112 §5.2 allows refusing it), a name that is not a token
  (whitespace before the colon included, §5.1), a CR or NUL in a value or
  the status line (RFC 9110 §5.5) and a status outside 100-599 are refused.
  A 101 is final but leaves the connection unusable.
- body_read: the body, framed as RFC 9112 §6.3 says -- none for 1xx, 204 and
  304; chunked when that is the final transfer coding (chunk sizes of at most
  16 hex digits, extensions ignored, trailers read and dropped; with a
  Content-Length beside it the connection is not reused); else
  Content-Length (repeated equal values are one, differing ones refused;
  one of more than 18 significant digits is over any limit); else until the
  upstream closes; an HTTP/1.0 answer with Transfer-Encoding closes the
  connection (§6.1). A gzip Content-Encoding is inflated (a stream that does
  not inflate, or ends before its end, is refused); any
  other is refused (only gzip is asked for). The octets received and the
  octets inflated are each bounded by `limit`, checked as they arrive, so an
  oversize or compressed-bomb answer costs at most `limit` of memory. A
  chunked body's framing (size lines, extensions, trailers) counts as
  received octets too.

Malformed answers raise http.client's exception types (BadStatusLine,
LineTooLong, IncompleteRead, RemoteDisconnected, HTTPException), whose names
the caller reports; no message quotes a header value.
"""
from __future__ import annotations

import http.client
import zlib
from collections.abc import Callable
from dataclasses import dataclass

# One line of the answer's head (status line, field, chunk-size line), as http.client's _MAXLINE.
MAX_LINE = 65536
# Header fields of one answer, and trailer fields after a chunked body, as http.client's _MAXHEADERS.
MAX_FIELDS = 100
# Interim (1xx) answers skipped before the final one.
MAX_INTERIM = 10
READ_CHUNK = 64 * 1024
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
# Octets that end or split a field value: never sent.
_VALUE_BREAKS = ("\r", "\n", "\0")
# CR and NUL as octet values: `13 in data` is a tenth of the cost of `b"\r" in data` (a memchr either
# way, but the bytes argument goes through the buffer protocol first: ~0.4 us per test).
_CR, _NUL = 0x0D, 0x00
# tchar (RFC 9110 §5.6.2): a field name is one or more of these and nothing else.
_TOKEN_OCTETS = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# A Content-Length of more digits than this (leading zeros aside) is over any limit; int() is not
# asked to convert it (a 64 KiB line of digits would be a ValueError past 4300 digits, and slow).
_LENGTH_DIGITS = 18


def host_header(scheme: str, host: str, port: int) -> str:
    """The Host field value for an origin (RFC 9110 §7.2): IPv6 literals bracketed, names in IDNA,
    the port only when it is not the scheme's default."""
    if ":" in host:
        name = f"[{host}]"
    elif host.isascii():
        name = host
    else:
        try:
            name = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise http.client.InvalidURL("the host name cannot be written in IDNA") from None
    if not name.isprintable() or " " in name:
        # urlsplit drops CR, LF and TAB from a URL but keeps other control characters and spaces.
        raise http.client.InvalidURL("the host name has a space or a control character")
    default = 443 if scheme == "https" else 80
    return name if port == default else f"{name}:{port}"


def request_bytes(*, method: str, target: str, host: str, fields: dict[str, str], body: bytes | None) -> bytes:
    """One HTTP/1.1 request (see the module); raises InvalidURL, ValueError or UnicodeEncodeError."""
    if not target.isascii() or not target.isprintable() or " " in target or not target.startswith("/"):
        raise http.client.InvalidURL("the request target has a space, a control character or non-ASCII text")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    for name, value in fields.items():
        if any(mark in value for mark in _VALUE_BREAKS):
            raise ValueError("a header value holds a line break or NUL")
        lines.append(f"{name}: {value}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body if body else head


class Wire:
    """Octets received on one connection, read as lines and pieces (see the module).

    `receive(n)` returns up to n octets, b"" once the peer has closed.
    """

    def __init__(self, receive: Callable[[int], bytes]) -> None:
        self._receive = receive
        self._buffer = bytearray()
        self._start = 0  # octets before this were consumed

    def pending(self) -> int:
        """Octets received and not consumed yet."""
        return len(self._buffer) - self._start

    def _fill(self) -> bool:
        if self._start == len(self._buffer):
            self._buffer.clear()
            self._start = 0
        elif self._start > READ_CHUNK:
            del self._buffer[: self._start]
            self._start = 0
        data = self._receive(READ_CHUNK)
        if not data:
            return False
        self._buffer += data
        return True

    def line(self, *, limit: int = MAX_LINE) -> bytes:
        """The next line without its line ending (CRLF, or a bare LF as RFC 9112 §2.2 tolerates)."""
        searched = 0  # octets of this line already searched for its end (never searched again)
        while True:
            end = self._buffer.find(b"\n", self._start + searched)
            if end >= 0:
                if end - self._start > limit:
                    raise http.client.LineTooLong("line")
                line = bytes(self._buffer[self._start : end])
                self._start = end + 1
                return line[:-1] if line.endswith(b"\r") else line
            searched = self.pending()
            if searched > limit:
                raise http.client.LineTooLong("line")
            if not self._fill():  # may move the buffer's start: `searched` counts from it
                if searched == 0:
                    raise http.client.RemoteDisconnected("closed before the answer or one of its lines")
                raise http.client.IncompleteRead(b"")

    def some(self, most: int) -> bytes:
        """Up to `most` octets: those already received, else one receive; b"" at the end of the stream."""
        if self.pending() == 0 and not self._fill():
            return b""
        take = min(most, self.pending())
        piece = bytes(self._buffer[self._start : self._start + take])
        self._start += take
        return piece


@dataclass(frozen=True)
class Head:
    """The final answer's status line and header fields (names lower-cased, repeated ones joined by ", ")."""

    version: bytes
    status: int
    fields: dict[str, str]


def _status_line(line: bytes) -> tuple[bytes, int]:
    version, _, rest = line.partition(b" ")
    code = rest[:3]
    well_formed = len(code) == 3 and code.isdigit() and rest[3:4] in (b"", b" ")
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or not well_formed or _CR in rest or _NUL in rest:
        raise http.client.BadStatusLine("status line")
    status = int(code)
    if not 100 <= status <= 599:
        # RFC 9110 §15: five classes; 000 or 600 has none, and no framing rule says what follows it.
        raise http.client.BadStatusLine("status line")
    return version, status


# Field names already found valid: an upstream sends the same dozen on every answer, and a set
# lookup costs a tenth of the check. Bounded, and only valid names get in.
_valid_names: set[bytes] = set()
_VALID_NAMES_MAX = 512


def _is_token(name: bytes) -> bool:
    if name in _valid_names:
        return True
    if not name or name.translate(None, _TOKEN_OCTETS):
        return False
    if len(_valid_names) < _VALID_NAMES_MAX:
        _valid_names.add(name)
    return True


def _fields_read(wire: Wire) -> dict[str, str]:
    # A received value or status line with CR or NUL is refused (RFC 9110 §5.5: "invalid and
    # dangerous"; a recipient rejects the message or replaces them -- this one rejects); LF ends lines.
    fields: dict[str, str] = {}
    # Values of a repeated name, joined once at the end: joining as they come would copy the
    # growing value again for every repetition (quadratic in the fields' size).
    repeated: dict[str, list[str]] | None = None
    for _ in range(MAX_FIELDS + 1):
        line = wire.line()
        if not line:
            if repeated:
                for key, values in repeated.items():
                    fields[key] = ", ".join(values)
            return fields
        if line[:1] in (b" ", b"\t"):
            raise http.client.HTTPException("a folded header field")
        name, colon, value = line.partition(b":")
        if not colon or (name not in _valid_names and not _is_token(name)):
            # Also whitespace before the colon (RFC 9112 §5.1) and names with control characters,
            # which another parser could read as a different field (Content-Length\v, say).
            raise http.client.HTTPException("a header field without a valid name")
        if _CR in value or _NUL in value:
            raise http.client.HTTPException("a header field value with CR or NUL")
        key = name.decode("latin-1").lower()
        text = value.strip(b" \t").decode("latin-1")
        if key in fields:
            if repeated is None:
                repeated = {}
            repeated.setdefault(key, [fields[key]]).append(text)
        else:
            fields[key] = text
    raise http.client.HTTPException("too many header fields")


def head_read(wire: Wire) -> Head:
    """The final answer's head (interim 1xx answers skipped; see the module)."""
    for _ in range(MAX_INTERIM + 1):
        version, status = _status_line(wire.line())
        fields = _fields_read(wire)
        if 100 <= status < 200 and status != 101:
            continue
        return Head(version=version, status=status, fields=fields)
    raise http.client.HTTPException("too many interim answers")


def _tokens(value: str) -> list[str]:
    return [token.strip().lower() for token in value.split(",") if token.strip()]


def keeps_alive(head: Head) -> bool:
    """Whether the connection may carry another request after this answer's body (RFC 9112 §9.3)."""
    connection = _tokens(head.fields.get("connection", ""))
    if head.status == 101:
        return False  # the connection now speaks another protocol (never asked for)
    if head.version == b"HTTP/1.0":
        return "keep-alive" in connection and "close" not in connection
    return "close" not in connection


class _Sink:
    """The body as it arrives: counted, inflated when gzip, bounded by `limit` both ways."""

    def __init__(self, *, gzip: bool, limit: int, too_large: Callable[[], Exception]) -> None:
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzip else None
        self._limit = limit
        self._too_large = too_large
        self._received = 0
        self._size = 0
        self._pieces: list[bytes] = []

    def _add(self, piece: bytes) -> None:
        self._size += len(piece)
        if self._size > self._limit:
            raise self._too_large()
        self._pieces.append(piece)

    def framing(self, octets: int) -> None:
        """Count octets of chunked framing (size lines, extensions, trailers) as received: else an
        upstream could send megabytes of extensions per octet of body and never reach the limit."""
        self._received += octets
        if self._received > self._limit:
            raise self._too_large()

    def feed(self, data: bytes) -> None:
        self._received += len(data)
        if self._received > self._limit:
            raise self._too_large()
        if self._inflate is None:
            self._add(data)
            return
        # At most one octet past the limit per step: a small gzip bomb cannot inflate whole.
        try:
            piece = self._inflate.decompress(data, self._limit - self._size + 1)
        except zlib.error:
            raise http.client.HTTPException("a gzip body that does not inflate") from None
        if self._inflate.unconsumed_tail:
            raise self._too_large()
        self._add(piece)

    def body(self) -> bytes:
        if self._inflate is not None:
            try:
                self._add(self._inflate.flush())
            except zlib.error:
                raise http.client.HTTPException("a gzip body that does not inflate") from None
            if self._received and not self._inflate.eof:
                # The framing said the body was whole, the gzip stream says it was cut short.
                raise http.client.IncompleteRead(b"")
        return b"".join(self._pieces)


def _content_length(value: str) -> int:
    values = {part.strip() for part in value.split(",")}
    if len(values) != 1:
        raise http.client.HTTPException("differing Content-Length values")
    text = values.pop()
    if not text.isdigit() or not text.isascii():
        raise http.client.HTTPException("an invalid Content-Length")
    digits = text.lstrip("0")
    if len(digits) > _LENGTH_DIGITS:
        return 10**_LENGTH_DIGITS  # over any limit: refused as too large, not converted
    return int(digits or "0")


def _exact_read(wire: Wire, sink: _Sink, left: int) -> None:
    """Feed exactly `left` octets (a chunk, or a Content-Length body) to `sink`; IncompleteRead when
    the upstream closes before they are in."""
    while left:
        piece = wire.some(min(left, READ_CHUNK))
        if not piece:
            raise http.client.IncompleteRead(b"")
        sink.feed(piece)
        left -= len(piece)


def _chunked_read(wire: Wire, sink: _Sink) -> None:
    while True:
        line = wire.line()
        sink.framing(len(line) + 2)
        size_text = line.partition(b";")[0].strip(b" \t")
        if not size_text or len(size_text) > 16 or not _HEX_DIGITS.issuperset(size_text):
            raise http.client.HTTPException("an invalid chunk size")
        left = int(size_text, 16)
        if left == 0:
            break
        _exact_read(wire, sink, left)
        if wire.line(limit=1) != b"":
            raise http.client.HTTPException("a chunk without its line ending")
    for _ in range(MAX_FIELDS + 1):  # trailer fields: read and dropped
        trailer = wire.line()
        if not trailer:
            return
        sink.framing(len(trailer) + 2)
    raise http.client.HTTPException("too many trailer fields")


def body_read(
    wire: Wire, head: Head, *, limit: int, too_large: Callable[[], Exception], unasked: Callable[[str], Exception]
) -> tuple[bytes, bool]:
    """The answer's body (see the module) and whether the connection may be reused after it.

    `too_large()` builds the error for a body over `limit` octets (a declared
    Content-Length over it is refused before any is read); `unasked(coding)`
    the error for a content or transfer coding that was not asked for.
    """
    reusable = keeps_alive(head)
    if head.status < 200 or head.status in (204, 304):
        return b"", reusable
    coding = head.fields.get("content-encoding", "").strip().lower()
    if coding not in ("", "identity", "gzip", "x-gzip"):
        raise unasked(coding[:40])
    sink = _Sink(gzip=coding in ("gzip", "x-gzip"), limit=limit, too_large=too_large)
    transfer = _tokens(head.fields.get("transfer-encoding", ""))
    if transfer:
        if transfer != ["chunked"]:
            raise unasked(",".join(transfer)[:40])
        _chunked_read(wire, sink)
        # Both framings at once smells of response splitting: read by chunked, then never reuse (§6.3);
        # an HTTP/1.0 answer with Transfer-Encoding has faulty framing: the connection closes (§6.1).
        reusable = reusable and "content-length" not in head.fields and head.version == b"HTTP/1.1"
    elif "content-length" in head.fields:
        left = _content_length(head.fields["content-length"])
        if left > limit:
            raise too_large()
        _exact_read(wire, sink, left)
    else:
        while piece := wire.some(READ_CHUNK):
            sink.feed(piece)
        reusable = False
    return sink.body(), reusable and wire.pending() == 0
