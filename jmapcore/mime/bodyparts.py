"""EmailBodyPart objects and the textBody/htmlBody/attachments decomposition
(RFC 8621 §4.1.4)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jmapcore.mime.encoded_words import decode_text
from jmapcore.mime.headers import header_form_parse, header_property_parse, unfold
from jmapcore.mime.params import strip_comments
from jmapcore.mime.structure import Part

DEFAULT_BODY_PROPERTIES = ("partId", "blobId", "size", "name", "type", "charset",
                           "disposition", "cid", "language", "location")


def leaves(part: Part) -> list[Part]:
    """Every non-multipart part, depth first."""
    if part.children is None:
        return [part]
    return [leaf for child in part.children for leaf in leaves(child)]


def part_name(part: Part) -> str | None:
    """Content-Disposition filename (RFC 2231), else Content-Type name (RFC 2047)."""
    name = part.disposition_params.get("filename") or part.params.get("name")
    return decode_text(name) if name else None


def part_charset(part: Part) -> str | None:
    """The charset parameter; the implicit us-ascii for text/* without one (also
    when Content-Type is absent); None for other types, including the implicit
    message/rfc822 of a digest."""
    if not part.type.startswith("text/"):
        return None
    return part.params.get("charset") or "us-ascii"


def _cid(part: Part) -> str | None:
    raw = part.last_header("Content-ID")
    if raw is None:
        return None
    value = "".join(strip_comments(unfold(raw)).split())
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    return value


def _language(part: Part) -> list[str] | None:
    raw = part.last_header("Content-Language")
    if raw is None:
        return None
    return [tag.strip() for tag in strip_comments(unfold(raw)).split(",") if tag.strip()]


def _location(part: Part) -> str | None:
    raw = part.last_header("Content-Location")
    if raw is None:
        return None
    return "".join(strip_comments(unfold(raw)).split())


def body_part_object(part: Part, part_blob_id: Callable[[str], str], properties: list[str] | None,
                     *, recurse: bool = True) -> dict[str, Any]:
    """The EmailBodyPart for ``part`` with ``properties`` (default: RFC 8621 §4.2
    bodyProperties). Multipart parts have null partId and blobId and size 0."""
    wanted = list(DEFAULT_BODY_PROPERTIES) if properties is None else properties
    leaf = part.children is None
    out: dict[str, Any] = {}
    for prop in wanted:
        if prop == "partId":
            out[prop] = part.part_id if leaf else None
        elif prop == "blobId":
            out[prop] = part_blob_id(part.part_id) if leaf and part.part_id else None
        elif prop == "size":
            out[prop] = len(part.decoded()[0]) if leaf else 0
        elif prop == "headers":
            out[prop] = [{"name": n, "value": v} for n, v in part.headers]
        elif prop == "name":
            out[prop] = part_name(part)
        elif prop == "type":
            out[prop] = part.type
        elif prop == "charset":
            out[prop] = part_charset(part)
        elif prop == "disposition":
            out[prop] = part.disposition
        elif prop == "cid":
            out[prop] = _cid(part)
        elif prop == "language":
            out[prop] = _language(part)
        elif prop == "location":
            out[prop] = _location(part)
        elif prop == "subParts":
            if leaf or not recurse:
                out[prop] = None
            else:
                out[prop] = [body_part_object(c, part_blob_id, properties) for c in part.children or ()]
        elif prop.startswith("header:"):
            spec = header_property_parse(prop)
            if spec is None:
                continue
            name, form, want_all = spec
            values = [header_form_parse(form, v) for v in part.header_values(name)]
            out[prop] = values if want_all else (values[-1] if values else None)
    return out


def _inline_media(kind: str) -> bool:
    return kind.startswith(("image/", "audio/", "video/"))


def decompose(root: Part) -> tuple[list[Part], list[Part], list[Part]]:
    """(textBody, htmlBody, attachments): the algorithm suggested by RFC 8621
    §4.1.4, transcribed step for step."""
    text: list[Part] = []
    html: list[Part] = []
    attachments: list[Part] = []
    _walk([root], "mixed", False, html, text, attachments)
    return text, html, attachments


def _walk(parts: list[Part], multipart_type: str, in_alternative: bool,
          html_body: list[Part] | None, text_body: list[Part] | None, attachments: list[Part]) -> None:
    text_length = len(text_body) if text_body is not None else -1
    html_length = len(html_body) if html_body is not None else -1
    for i, part in enumerate(parts):
        kind = part.type
        is_inline = (
            part.disposition != "attachment"
            and (kind in ("text/plain", "text/html") or _inline_media(kind))
            and (i == 0 or (multipart_type != "related" and (_inline_media(kind) or not part_name(part))))
        )
        if part.children is not None:
            sub_type = kind.split("/", 1)[1]
            _walk(part.children, sub_type, in_alternative or sub_type == "alternative",
                  html_body, text_body, attachments)
        elif is_inline:
            if multipart_type == "alternative":
                if kind == "text/plain":
                    if text_body is not None:
                        text_body.append(part)
                elif kind == "text/html":
                    if html_body is not None:
                        html_body.append(part)
                else:
                    attachments.append(part)
                continue
            if in_alternative:
                if kind == "text/plain":
                    html_body = None
                if kind == "text/html":
                    text_body = None
            if text_body is not None:
                text_body.append(part)
            if html_body is not None:
                html_body.append(part)
            if (text_body is None or html_body is None) and _inline_media(kind):
                attachments.append(part)
        else:
            attachments.append(part)
    if multipart_type == "alternative" and text_body is not None and html_body is not None:
        if text_length == len(text_body) and html_length != len(html_body):
            text_body.extend(html_body[html_length:])
        if html_length == len(html_body) and text_length != len(text_body):
            html_body.extend(text_body[text_length:])
