"""RFC 5322 / MIME message -> JMAP Email properties (RFC 8621 §4.1, §4.2, §4.9).

``message_parse`` accepts any octets and never raises; neither do the methods of
the ParsedMessage it returns. Parts are split once at parse time; transfer
decoding is done on first use and cached per part.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from jmapcore.mime.bodyparts import body_part_object, decompose, leaves
from jmapcore.mime.charsets import decode_bytes
from jmapcore.mime.headers import header_form_parse
from jmapcore.mime.preview import html_to_text, make_preview
from jmapcore.mime.structure import Part, parse_entity

_PREVIEW_SOURCE_BYTES = 64 * 1024

_CONVENIENCE: tuple[tuple[str, str, str], ...] = (
    ("messageId", "Message-ID", "MessageIds"),
    ("inReplyTo", "In-Reply-To", "MessageIds"),
    ("references", "References", "MessageIds"),
    ("sender", "Sender", "Addresses"),
    ("from", "From", "Addresses"),
    ("to", "To", "Addresses"),
    ("cc", "Cc", "Addresses"),
    ("bcc", "Bcc", "Addresses"),
    ("replyTo", "Reply-To", "Addresses"),
    ("subject", "Subject", "Text"),
    ("sentAt", "Date", "Date"),
)

BodyPartProps = list[str] | None


def truncate_utf8(value: str, max_bytes: int, *, html: bool = False) -> tuple[str, bool]:
    """``value`` cut to at most ``max_bytes`` UTF-8 octets on a character boundary
    and, for HTML, not inside a tag (RFC 8621 §4.2 maxBodyValueBytes)."""
    if max_bytes <= 0:
        return value, False
    encoded = value.encode("utf-8")
    if len(encoded) <= max_bytes:
        return value, False
    cut = encoded[:max_bytes].decode("utf-8", "ignore")
    if html:
        lt = cut.rfind("<")
        if lt > cut.rfind(">"):
            cut = cut[:lt]
    return cut, True


class ParsedMessage:
    """A parsed message; property methods return JSON-ready values."""

    def __init__(self, raw: bytes) -> None:
        self.size = len(raw)
        self._root = parse_entity(raw, 0, len(raw))
        self._leaves = leaves(self._root)
        for leaf in self._leaves:
            leaf.part_id = leaf.section
        self._by_id: dict[str, Part] = {}
        for leaf in self._leaves:
            self._by_id.setdefault(leaf.section, leaf)
        self._text, self._html, self._attachments = decompose(self._root)
        self._values: dict[str, tuple[str, bool]] = {}
        self.headers: list[dict[str, str]] = [{"name": n, "value": v} for n, v in self._root.headers]
        self.has_attachment = any(self._counts_as_attachment(p) for p in self._attachments)
        self.preview = self._make_preview()

    # -- headers (RFC 8621 §4.1.3) ------------------------------------------

    def header(self, name: str, form: str = "Raw", all: bool = False) -> Any:
        """``header:{name}:as{form}[:all]``: the last instance (None if absent) or
        every instance in order (empty list if absent)."""
        values = [header_form_parse(form, v) for v in self._root.header_values(name)]
        if all:
            return values
        return values[-1] if values else None

    def metadata(self) -> dict[str, Any]:
        """The convenience properties messageId … sentAt (RFC 8621 §4.1.3)."""
        return {prop: self.header(field, form) for prop, field, form in _CONVENIENCE}

    # -- body parts (RFC 8621 §4.1.4) ---------------------------------------

    def body_structure(self, part_blob_id: Callable[[str], str], properties: BodyPartProps = None) -> dict[str, Any]:
        """The EmailBodyPart tree; only leaf parts have a partId. Part ids are the
        IMAP section numbers of the parts (RFC 3501 §6.4.5), so a backend can
        fetch a part by its id."""
        return body_part_object(self._root, part_blob_id, properties)

    def text_body(self, part_blob_id: Callable[[str], str], properties: BodyPartProps = None) -> list[dict[str, Any]]:
        return [body_part_object(p, part_blob_id, properties) for p in self._text]

    def html_body(self, part_blob_id: Callable[[str], str], properties: BodyPartProps = None) -> list[dict[str, Any]]:
        return [body_part_object(p, part_blob_id, properties) for p in self._html]

    def attachments(self, part_blob_id: Callable[[str], str], properties: BodyPartProps = None) -> list[dict[str, Any]]:
        return [body_part_object(p, part_blob_id, properties) for p in self._attachments]

    def fetch_parts(self, which: str) -> list[str]:
        """Part ids of the text/* parts that fetchTextBodyValues ("text"),
        fetchHTMLBodyValues ("html") or fetchAllBodyValues ("all") select (RFC
        8621 §4.2), in order, without duplicates."""
        source = {"text": self._text, "html": self._html, "all": self._leaves}.get(which, [])
        seen: dict[str, None] = {}
        for part in source:
            if part.type.startswith("text/") and part.part_id is not None:
                seen.setdefault(part.part_id, None)
        return list(seen)

    def _text_value(self, part: Part) -> tuple[str, bool]:
        key = part.section
        cached = self._values.get(key)
        if cached is None:
            data, cte_problem = part.decoded()
            charset = part.params.get("charset") if part.type.startswith("text/") else None
            text, charset_problem = decode_bytes(data, charset)
            cached = (text.replace("\r\n", "\n"), cte_problem or charset_problem)
            self._values[key] = cached
        return cached

    def body_values(self, part_ids: Iterable[str], max_bytes: int = 0) -> dict[str, dict[str, Any]]:
        """EmailBodyValue per known part id (RFC 8621 §4.1.4, §4.2): transfer and
        charset decoded, CRLF as LF, truncated to ``max_bytes`` UTF-8 octets."""
        out: dict[str, dict[str, Any]] = {}
        for part_id in part_ids:
            part = self._by_id.get(part_id)
            if part is None or part_id in out:
                continue
            text, problem = self._text_value(part)
            value, truncated = truncate_utf8(text, max_bytes, html=part.type == "text/html")
            out[part_id] = {"value": value, "isEncodingProblem": problem, "isTruncated": truncated}
        return out

    def part_content(self, part_id: str) -> tuple[bytes, str] | None:
        """Decoded octets and media type of leaf part ``part_id`` (the part's blob)."""
        part = self._by_id.get(part_id)
        if part is None:
            return None
        return part.decoded()[0], part.type

    # -- derived ------------------------------------------------------------

    def _counts_as_attachment(self, part: Part) -> bool:
        """hasAttachment (RFC 8621 §4.1.4): an attachments entry that is not
        Content-Disposition inline. As the RFC permits, parts with a Content-ID
        are ignored when they are not marked as attachments: they are resources
        embedded in an HTML body (multipart/related), not downloads."""
        if part.disposition == "inline":
            return False
        return not (part.disposition is None and part.last_header("Content-ID") is not None)

    def _make_preview(self) -> str:
        chunks: list[str] = []
        for part in self._text:
            if part.type not in ("text/plain", "text/html"):
                continue
            data, _problem = part.decoded()
            charset = part.params.get("charset")
            text, _problem = decode_bytes(data[:_PREVIEW_SOURCE_BYTES], charset)
            chunks.append(html_to_text(text) if part.type == "text/html" else text)
            if sum(len(c) for c in chunks) > 4096:
                break
        return make_preview(chunks)


def message_parse(raw: bytes) -> ParsedMessage:
    """Parse ``raw`` (any octets) as an RFC 5322 message (RFC 8621 §4.9)."""
    return ParsedMessage(bytes(raw))
