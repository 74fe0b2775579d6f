"""Raw MIME tree: header fields and entity boundaries (RFC 5322 §2.2, RFC 2045,
RFC 2046 §5.1). Works on octet offsets into the message, never raises, and caps
nesting and part count so hostile input costs linear time."""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from jmapcore.mime.params import media_type, parse_parameterised
from jmapcore.mime.transfer import decode_transfer

MAX_DEPTH = 50
MAX_PARTS = 5000
# RFC 2046 §5.1.1 allows at most 70 characters; a longer boundary is taken as
# missing rather than compiled into a delimiter pattern and cached.
BOUNDARY_MAX = 200
_FIELD_NAME = re.compile(rb"[\x21-\x39\x3b-\x7e]+")


class Part:
    """One MIME entity. ``children`` is a list for a split multipart, else None.

    A multipart without a usable boundary parameter is exposed as a leaf of type
    text/plain (RFC 2045 §5.2 default for an unusable Content-Type); one nested
    deeper than MAX_DEPTH as a leaf of type application/octet-stream.
    """

    __slots__ = ("_decoded", "body_end", "body_start", "children", "data", "disposition",
                 "disposition_params", "headers", "params", "part_id", "section", "type")

    def __init__(self, data: bytes, headers: list[tuple[str, str]], body_start: int, body_end: int) -> None:
        self.data = data
        self.headers = headers
        self.body_start = body_start
        self.body_end = body_end
        self.type = "text/plain"
        self.params: dict[str, str] = {}
        self.disposition: str | None = None
        self.disposition_params: dict[str, str] = {}
        self.children: list[Part] | None = None
        self.part_id: str | None = None
        self.section = ""
        self._decoded: tuple[bytes, bool] | None = None

    def header_values(self, name: str) -> list[str]:
        lower = name.lower()
        return [value for key, value in self.headers if key.lower() == lower]

    def last_header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[-1] if values else None

    @property
    def raw_body(self) -> bytes:
        return self.data[self.body_start : self.body_end]

    def decoded(self) -> tuple[bytes, bool]:
        """Body after Content-Transfer-Encoding decoding, with a problem flag; cached."""
        if self._decoded is None:
            encoding = (self.last_header("Content-Transfer-Encoding") or "").strip()
            self._decoded = decode_transfer(self.raw_body, encoding.split("(")[0])
        return self._decoded


def decode_header_value(raw: bytes) -> str:
    """Raw form text: UTF-8 with U+FFFD for invalid octets, NULs dropped (RFC 8621 §4.1.2.1)."""
    return raw.decode("utf-8", "replace").replace("\x00", "")


def parse_header_block(data: bytes, start: int, end: int, *,
                       value_decode: Callable[[bytes], str] = decode_header_value) -> tuple[list[tuple[str, str]], int]:
    """Header fields of the entity at data[start:end] and the offset of its body.

    One pass over the lines (RFC 5322 §2.2): a field is a name of printable
    ASCII but colon, optional blanks, a colon and the value up to the next line
    that does not begin with a blank. Values keep their folds (CRLF + blank)
    and are decoded by ``value_decode``.

    Lines that are neither a field nor a continuation end the header (they are
    body), except before the first field (an mbox ``From `` line, say), where they
    are skipped.
    """
    fields: list[tuple[str, str]] = []
    name: bytes | None = None
    value_start = 0
    value_end = 0
    pos = start
    body_start = end

    def flush() -> None:
        if name is not None:
            fields.append((name.decode("ascii", "replace"), value_decode(data[value_start:value_end])))

    while pos < end:
        nl = data.find(b"\n", pos, end)
        line_end = end if nl < 0 else nl
        next_pos = end if nl < 0 else nl + 1
        content_end = line_end - 1 if line_end > pos and data[line_end - 1] == 0x0D else line_end
        if content_end == pos:
            body_start = next_pos
            break
        first = data[pos]
        if first in (0x20, 0x09):
            if name is not None:
                value_end = content_end
            pos = next_pos
            continue
        colon = data.find(b":", pos, content_end)
        candidate = data[pos:colon].rstrip(b" \t") if colon >= 0 else b""
        if colon < 0 or not _FIELD_NAME.fullmatch(candidate):
            if name is None and not fields:
                pos = next_pos
                continue
            body_start = pos
            break
        flush()
        name = candidate
        value_start = colon + 1
        value_end = content_end
        pos = next_pos
    else:
        body_start = end
    flush()
    return fields, body_start


@lru_cache(maxsize=256)
def _delimiter(boundary: bytes) -> re.Pattern[bytes]:
    return re.compile(rb"^--" + re.escape(boundary) + rb"(--)?[ \t]*\r?$", re.MULTILINE)


class _Budget:
    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts = 0


def parse_entity(data: bytes, start: int, end: int, *, default_type: str = "text/plain",
                 depth: int = 0, section: str = "", budget: _Budget | None = None) -> Part:
    """Parse the entity at data[start:end] and, recursively, its sub-parts."""
    budget = budget or _Budget()
    budget.parts += 1
    headers, body_start = parse_header_block(data, start, end)
    part = Part(data, headers, body_start, end)
    part.section = section or "1"
    content_type = part.last_header("Content-Type")
    kind: str | None = None
    if content_type is not None:
        kind, part.params = media_type(content_type)
    part.type = kind or default_type
    if kind is None and content_type is not None:
        part.type = "text/plain"  # RFC 2045 §5.2: unusable Content-Type
    disposition = part.last_header("Content-Disposition")
    if disposition is not None:
        value, part.disposition_params = parse_parameterised(disposition)
        part.disposition = value or None
    if part.type.startswith("multipart/"):
        boundary = part.params.get("boundary", "")
        if not boundary or len(boundary) > BOUNDARY_MAX:
            part.type = "text/plain"
        elif depth >= MAX_DEPTH:
            part.type = "application/octet-stream"
        else:
            part.children = _split(part, boundary.encode("utf-8", "replace"), depth, section, budget)
    return part


def _split(part: Part, boundary: bytes, depth: int, section: str, budget: _Budget) -> list[Part]:
    data = part.data
    child_default = "message/rfc822" if part.type == "multipart/digest" else "text/plain"
    children: list[Part] = []
    open_at: int | None = None
    for match in _delimiter(boundary).finditer(data, part.body_start, part.body_end):
        if open_at is not None:
            close = match.start() - 1 if match.start() > part.body_start else match.start()
            if close > open_at and data[close - 1] == 0x0D:
                close -= 1
            close = max(close, open_at)
            _add_child(children, data, open_at, close, child_default, depth, section, budget)
        if match.group(1):
            open_at = None
            break
        line_end = match.end()
        open_at = line_end + 1 if line_end < part.body_end and data[line_end] == 0x0A else line_end
    if open_at is not None:
        _add_child(children, data, open_at, part.body_end, child_default, depth, section, budget)
    return children


def _add_child(children: list[Part], data: bytes, start: int, end: int, default_type: str,
               depth: int, section: str, budget: _Budget) -> None:
    if budget.parts >= MAX_PARTS:
        return
    prefix = f"{section}." if section else ""
    children.append(parse_entity(data, start, end, default_type=default_type, depth=depth + 1,
                                 section=f"{prefix}{len(children) + 1}", budget=budget))
