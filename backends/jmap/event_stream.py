"""Incremental parsing of an upstream's event stream (RFC 8620 §7.3, HTML
"Server-sent events" §9.2.6 "Interpreting an event stream").

`EventStreamParser.feed(chunk)` takes whatever bytes arrived and returns the
events completed by them; a line may be split anywhere across chunks, CR LF
included. Cost is linear in the bytes fed: each byte is scanned once for a
line end, and a partial line is kept in one growing buffer. Both a line and
an event's data are bounded (MAX_LINE, MAX_EVENT): an upstream that sends
more raises EventStreamTooLarge, so it cannot make the relay hold unbounded
memory. Comment lines (":" …) are dropped, unknown fields ignored, as the
HTML parsing rules say.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# A StateChange of a few hundred accounts fits easily; a line longer than this is not a JMAP event.
MAX_LINE = 256 * 1024
MAX_EVENT = 1024 * 1024
_LINE_END = re.compile(rb"[\r\n]")
_BOM = b"\xef\xbb\xbf"


class EventStreamTooLarge(ValueError):
    """A line or an event's data exceeded its bound: the stream is dropped."""


@dataclass(frozen=True)
class ServerSentEvent:
    event: str  # "message" when the stream named none
    data: str
    id: str | None


class EventStreamParser:
    """One stream's parser state (see the module doc)."""

    def __init__(self, *, max_line: int = MAX_LINE, max_event: int = MAX_EVENT) -> None:
        self.max_line = max_line
        self.max_event = max_event
        self.last_event_id: str | None = None
        self._partial = bytearray()
        self._after_cr = False  # the previous chunk ended in CR: a leading LF belongs to it
        self._started = False
        self._event = ""
        self._data: list[str] = []
        self._data_size = 0

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events that `chunk` completes, in order."""
        events: list[ServerSentEvent] = []
        if not chunk:
            return events  # keeps a pending CR's state for the next chunk
        position = 0
        if self._after_cr and chunk[:1] == b"\n":
            position = 1
        self._after_cr = False
        while position < len(chunk):
            match = _LINE_END.search(chunk, position)
            if match is None:
                if len(self._partial) + len(chunk) - position > self.max_line:
                    raise EventStreamTooLarge(f"an event stream line is longer than {self.max_line} bytes")
                self._partial += chunk[position:]
                break
            end = match.start()
            if self._partial:
                self._partial += chunk[position:end]
                line = bytes(self._partial)
                self._partial.clear()
            else:
                line = chunk[position:end]
            if len(line) > self.max_line:
                raise EventStreamTooLarge(f"an event stream line is longer than {self.max_line} bytes")
            position = end + 1
            if chunk[end:end + 1] == b"\r":
                if position < len(chunk):
                    if chunk[position:position + 1] == b"\n":
                        position += 1
                else:
                    self._after_cr = True
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def _line(self, raw: bytes) -> ServerSentEvent | None:
        if not self._started:
            self._started = True
            raw = raw.removeprefix(_BOM)
        if not raw:
            return self._dispatch()
        if raw[:1] == b":":
            return None  # a comment (keep-alive)
        name, colon, value = raw.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        text = value.decode("utf-8", errors="replace")
        field = name.decode("utf-8", errors="replace")
        if field == "event":
            self._event = text
        elif field == "data":
            self._data_size += len(value) + 1
            if self._data_size > self.max_event:
                raise EventStreamTooLarge(f"an event's data is larger than {self.max_event} bytes")
            self._data.append(text)
        elif field == "id" and "\0" not in text:
            self.last_event_id = text
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        event, data = self._event, self._data
        self._event, self._data, self._data_size = "", [], 0
        if not data:
            return None
        return ServerSentEvent(event=event or "message", data="\n".join(data), id=self.last_event_id)
