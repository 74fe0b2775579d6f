"""JMAP Email object -> RFC 5322 message, for Email/set create (RFC 8621 §4.6).

The client's Email is validated against the §4.6 constraints; a violation
raises EmailInvalid naming the offending properties (``invalidProperties``), an
unknown blob raises BlobNotFound (``blobNotFound`` with ``notFound``).
Properties that do not describe the message (mailboxIds, keywords, receivedAt,
…) are ignored.
"""
from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from jmapcore.mime.addresses import AddressError, format_address_list, format_groups, parse_addresses
from jmapcore.mime.dates import format_rfc5322_date, parse_jmap_date
from jmapcore.mime.encoded_words import encode_words, needs_encoding
from jmapcore.mime.headers import header_form_allowed, header_property_parse
from jmapcore.mime.params import media_type
from jmapcore.mime.transfer import encode_base64, encode_quoted_printable

BlobLookup = Callable[[str], "tuple[bytes, str] | None"]

_CONVENIENCE: dict[str, tuple[str, str]] = {
    "from": ("From", "Addresses"),
    "to": ("To", "Addresses"),
    "cc": ("Cc", "Addresses"),
    "bcc": ("Bcc", "Addresses"),
    "replyTo": ("Reply-To", "Addresses"),
    "sender": ("Sender", "Addresses"),
    "subject": ("Subject", "Text"),
    "sentAt": ("Date", "Date"),
    "messageId": ("Message-ID", "MessageIds"),
    "inReplyTo": ("In-Reply-To", "MessageIds"),
    "references": ("References", "MessageIds"),
}
# Body part properties and the header field each one is written to.
_PART_PROPERTY_FIELDS: dict[str, str] = {
    "type": "content-type",
    "charset": "content-type",
    "name": "content-disposition",
    "disposition": "content-disposition",
    "cid": "content-id",
    "language": "content-language",
    "location": "content-location",
}
_MAX_LINE = 998
_FOLD_AT = 78
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*")
_NO_SPACE_VALUE = re.compile(r"[^\s<>\x00-\x1f\x7f]+")


class EmailInvalid(Exception):
    """The Email cannot be created as given (RFC 8621 §4.6 ``invalidProperties``)."""

    def __init__(self, properties: list[str], description: str) -> None:
        super().__init__(description)
        self.properties = properties
        self.description = description


class BlobNotFound(EmailInvalid):
    """Body parts reference blobs that do not exist (RFC 8621 §4.6 ``blobNotFound``)."""

    def __init__(self, not_found: list[str], properties: list[str]) -> None:
        super().__init__(properties, "unknown blob ids: " + ", ".join(not_found))
        self.not_found = not_found


# --- header fields ----------------------------------------------------------


def _fold(name: str, value: str, prop: str) -> str:
    """``name: value`` folded at spaces near 78 columns; lines over 998 octets are
    an error (RFC 5322 §2.1.1)."""
    lines: list[str] = []
    line = name + ":"
    for word in value.split(" "):
        piece = " " + word
        if word and len(line) + len(piece) > _FOLD_AT and len(line) > len(name) + 1:
            lines.append(line)
            line = piece
        else:
            line += piece
    lines.append(line)
    if any(len(item.encode("utf-8")) > _MAX_LINE for item in lines):
        raise EmailInvalid([prop], f"header field {name} has a line longer than {_MAX_LINE} octets")
    return "\r\n".join(lines)


def _raw_field(name: str, value: Any, prop: str) -> str:
    if not isinstance(value, str) or "\x00" in value:
        raise EmailInvalid([prop], "a Raw header value must be a string without NUL")
    value = value.replace("\r\n", "\n")
    if "\r" in value or re.search(r"\n(?![ \t])", value):
        raise EmailInvalid([prop], "a Raw header value may contain line breaks only as folding")
    field = f"{name}:{value}".replace("\n", "\r\n")
    if any(len(line.encode("utf-8")) > _MAX_LINE for line in field.split("\r\n")):
        raise EmailInvalid([prop], f"header field {name} has a line longer than {_MAX_LINE} octets")
    return field


def _text_value(value: Any, prop: str) -> str:
    if not isinstance(value, str):
        raise EmailInvalid([prop], "a Text header value must be a string")
    value = re.sub(r"[\r\n\t]+", " ", value)
    return " ".join(encode_words(value)) if needs_encoding(value) else value


def _id_list(value: Any, prop: str, *, brackets_sep: str) -> str:
    if not isinstance(value, list) or not value:
        raise EmailInvalid([prop], "the value must be a non-empty list of strings")
    for item in value:
        if not isinstance(item, str) or not _NO_SPACE_VALUE.fullmatch(item):
            raise EmailInvalid([prop], "each item must be a non-empty string without spaces or angle brackets")
    return brackets_sep.join(f"<{item}>" for item in value)


def _field(name: str, form: str, value: Any, prop: str) -> str:
    """One header field line (with folds) for a value in ``form`` (RFC 8621 §4.1.2)."""
    if form == "Raw":
        return _raw_field(name, value, prop)
    try:
        if form == "Text":
            text = _text_value(value, prop)
        elif form == "Addresses":
            text = format_address_list(value)
        elif form == "GroupedAddresses":
            text = format_groups(value)
        elif form == "MessageIds":
            text = _id_list(value, prop, brackets_sep=" ")
        elif form == "URLs":
            text = _id_list(value, prop, brackets_sep=", ")
        elif form == "Date":
            moment = parse_jmap_date(value)
            if moment is None:
                raise EmailInvalid([prop], "a Date value must be an RFC 3339 date-time")
            text = format_rfc5322_date(moment)
        else:
            raise EmailInvalid([prop], f"unknown header form {form}")
    except AddressError as exc:
        raise EmailInvalid([prop], str(exc))
    return _fold(name, text, prop)


class _Fields:
    """Header field properties of one object, checked for duplicates."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.props_by_name: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def add(self, name: str, form: str, value: Any, want_all: bool, prop: str) -> None:
        lower = name.lower()
        if lower in self.props_by_name:
            raise EmailInvalid([self.props_by_name[lower], prop], f"header field {name} is given twice")
        if not header_form_allowed(name, form):
            raise EmailInvalid([prop], f"the {form} form is not allowed for header field {name}")
        self.props_by_name[lower] = prop
        self.values[lower] = (form, value, want_all)
        if want_all:
            if not isinstance(value, list):
                raise EmailInvalid([prop], "an :all header property needs a list of values")
            self.lines.extend(_field(name, form, item, prop) for item in value)
        else:
            self.lines.append(_field(name, form, value, prop))


def _header_properties(obj: dict[str, Any], path: str, fields: _Fields) -> None:
    for key, value in obj.items():
        if not isinstance(key, str) or not key.startswith("header:"):
            continue
        spec = header_property_parse(key)
        if spec is None:
            raise EmailInvalid([path + key], f"malformed header property {key}")
        if value is None:
            continue
        name, form, want_all = spec
        fields.add(name, form, value, want_all, path + key)


# --- body parts -------------------------------------------------------------


def _param(name: str, value: str) -> str:
    if _TOKEN.fullmatch(value):
        return f"{name}={value}"
    return f'{name}="' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _rfc2231_params(name: str, value: str) -> list[str]:
    """``name*=utf-8''…`` with continuations so no segment is long (RFC 2231 §3, §4)."""
    encoded = quote(value, safe="")
    if len(encoded) <= 60:
        return [f"{name}*=utf-8''{encoded}"]
    pieces: list[str] = []
    i = 0
    while i < len(encoded):
        j = min(i + 60, len(encoded))
        while j < len(encoded) and "%" in encoded[j - 2 : j]:
            j -= 1
        pieces.append(encoded[i:j])
        i = j
    return [f"{name}*{n}*={'utf-8' + chr(39) * 2 if n == 0 else ''}{p}" for n, p in enumerate(pieces)]


def _name_params(name: str, param: str) -> list[str]:
    if param == "name":
        if needs_encoding(name):
            return [_param("name", " ".join(encode_words(name)))]
        return [_param("name", name)]
    if needs_encoding(name) or len(name) > 60:
        return _rfc2231_params("filename", name)
    return [_param("filename", name)]


def _seven_bit_safe(data: bytes) -> bool:
    """ASCII without NUL or bare CR/LF, lines at most 998 octets."""
    if not data.isascii() or b"\x00" in data:
        return False
    lines = data.split(b"\r\n")
    return all(b"\r" not in line and b"\n" not in line and len(line) <= _MAX_LINE for line in lines)


class _Builder:
    def __init__(self, email: dict[str, Any], blob_content: BlobLookup) -> None:
        self.email = email
        self.blob_content = blob_content
        self.missing: dict[str, str] = {}
        body_values = email.get("bodyValues")
        if body_values is not None and not isinstance(body_values, dict):
            raise EmailInvalid(["bodyValues"], "bodyValues must be an object")
        self.body_values: dict[str, Any] = body_values or {}

    def render(self, spec: Any, path: str, *, forbidden: set[str] | None = None) -> tuple[list[str], bytes]:
        """(header lines, body octets) for one EmailBodyPart."""
        if not isinstance(spec, dict):
            raise EmailInvalid([path], "an EmailBodyPart must be an object")
        prefix = path + "/"
        if spec.get("headers"):
            raise EmailInvalid([prefix + "headers"], "headers must not be given; use header: properties")
        fields = _Fields()
        _header_properties(spec, prefix, fields)
        for lower, prop in fields.props_by_name.items():
            if lower == "content-transfer-encoding":
                raise EmailInvalid([prop], "Content-Transfer-Encoding must not be given")
            if forbidden and lower in forbidden:
                raise EmailInvalid([prop], "header field already defined on the Email")
        for key, lower in _PART_PROPERTY_FIELDS.items():
            if spec.get(key) is not None and lower in fields.props_by_name:
                raise EmailInvalid([prefix + key, fields.props_by_name[lower]],
                                   f"{key} and header field {lower} both given")
        given_type = spec.get("type")
        if given_type is not None and not isinstance(given_type, str):
            raise EmailInvalid([prefix + "type"], "type must be a string")
        explicit_type = self._explicit_type(fields)
        if isinstance(spec, _Synthetic):
            return self._multipart(spec, prefix, fields, given_type, spec.children, False)
        sub_parts = spec.get("subParts")
        if sub_parts is not None:
            return self._multipart(spec, prefix, fields, given_type or explicit_type, sub_parts, True)
        return self._leaf(spec, prefix, fields, given_type, explicit_type)

    @staticmethod
    def _explicit_type(fields: _Fields) -> str | None:
        entry = fields.values.get("content-type")
        if entry is None or entry[2] or not isinstance(entry[1], str):
            return None
        kind, _params = media_type(entry[1])
        return kind

    def _multipart(self, spec: dict[str, Any], prefix: str, fields: _Fields, kind: str | None,
                   sub_parts: Any, from_client: bool) -> tuple[list[str], bytes]:
        kind = (kind or "multipart/mixed").lower()
        if not kind.startswith("multipart/") or not _TOKEN.fullmatch(kind.split("/", 1)[1]):
            raise EmailInvalid([prefix + "type"], "a part with subParts must be of type multipart/*")
        if spec.get("partId") is not None or spec.get("blobId") is not None:
            raise EmailInvalid([prefix + "subParts"], "a multipart part has no partId or blobId")
        if not isinstance(sub_parts, list) or not sub_parts:
            raise EmailInvalid([prefix + "subParts"], "subParts must be a non-empty list")
        nodes = [(p, f"{prefix}subParts/{i}") for i, p in enumerate(sub_parts)] if from_client else sub_parts
        rendered = [self.render(child, child_path) for child, child_path in nodes]
        encoded = [b"\r\n".join(line.encode("utf-8") for line in lines) + b"\r\n\r\n" + body
                   for lines, body in rendered]
        boundary = "=_" + secrets.token_hex(12)
        while any(boundary.encode() in chunk for chunk in encoded):
            boundary = "=_" + secrets.token_hex(12)
        delimiter = b"--" + boundary.encode()
        body = b"".join(delimiter + b"\r\n" + chunk + b"\r\n" for chunk in encoded) + delimiter + b"--\r\n"
        lines = [] if "content-type" in fields.props_by_name else [
            _fold("Content-Type", f"{kind}; {_param('boundary', boundary)}", prefix + "type")]
        lines += self._common_headers(spec, prefix, fields, None)
        return lines + fields.lines, body

    def _leaf(self, spec: dict[str, Any], prefix: str, fields: _Fields, given_type: str | None,
              explicit_type: str | None) -> tuple[list[str], bytes]:
        part_id = spec.get("partId")
        blob_id = spec.get("blobId")
        if part_id is not None and blob_id is not None:
            raise EmailInvalid([prefix + "partId", prefix + "blobId"], "give partId or blobId, not both")
        if part_id is None and blob_id is None:
            raise EmailInvalid([prefix + "partId"], "a body part needs a partId, a blobId or subParts")
        kind = (given_type or explicit_type or "").lower()
        charset: str | None = None
        if part_id is not None:
            data = self._body_value(part_id, prefix)
            for key in ("charset", "size"):
                if spec.get(key) is not None:
                    raise EmailInvalid([prefix + key], f"{key} must be omitted when partId is given")
            kind = kind or "text/plain"
            if kind.startswith("text/"):
                charset = "utf-8"
                encoding = "7bit" if _seven_bit_safe(data) else "quoted-printable"
                body = data if encoding == "7bit" else encode_quoted_printable(data.replace(b"\r\n", b"\n"))
            else:
                # RFC 8621 §4.6 lets any leaf take its content from bodyValues
                # (an SVG image, a calendar attachment): it keeps its own type.
                body, encoding = self._encode_blob(kind, data)
        else:
            if not isinstance(blob_id, str):
                raise EmailInvalid([prefix + "blobId"], "blobId must be a string")
            found = self.blob_content(blob_id)
            if found is None:
                self.missing.setdefault(blob_id, prefix + "blobId")
                found = (b"", "application/octet-stream")
            data, blob_type = found
            kind = kind or (blob_type or "application/octet-stream").split(";", 1)[0].strip().lower()
            given_charset = spec.get("charset")
            if given_charset is not None and not (isinstance(given_charset, str) and _TOKEN.fullmatch(given_charset)):
                raise EmailInvalid([prefix + "charset"], "charset must be a token")
            if kind.startswith("text/"):
                charset = given_charset
                if charset is None and not data.isascii():
                    try:
                        data.decode("utf-8")
                        charset = "utf-8"
                    except UnicodeDecodeError:
                        charset = None
            body, encoding = self._encode_blob(kind, data)
        if "/" not in kind or not all(_TOKEN.fullmatch(x) for x in kind.split("/", 1)):
            raise EmailInvalid([prefix + "type"], f"malformed media type {kind!r}")
        if kind.startswith("multipart/"):
            raise EmailInvalid([prefix + "type"], "a multipart/* part needs subParts")
        lines: list[str] = []
        if "content-type" not in fields.props_by_name:
            params = [kind] + ([_param("charset", charset)] if charset else [])
            name = spec.get("name")
            if name is not None:
                if not isinstance(name, str):
                    raise EmailInvalid([prefix + "name"], "name must be a string")
                params += _name_params(name, "name")
            lines.append(_fold("Content-Type", "; ".join(params), prefix + "type"))
        lines.append(f"Content-Transfer-Encoding: {encoding}")
        lines += self._common_headers(spec, prefix, fields, spec.get("name"))
        return lines + fields.lines, body

    def _body_value(self, part_id: Any, prefix: str) -> bytes:
        if not isinstance(part_id, str) or part_id not in self.body_values:
            raise EmailInvalid([prefix + "partId"], "partId is not a key of bodyValues")
        entry = self.body_values[part_id]
        if not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
            raise EmailInvalid([f"bodyValues/{part_id}"], "an EmailBodyValue needs a string value")
        for flag in ("isEncodingProblem", "isTruncated"):
            if entry.get(flag) not in (None, False):
                raise EmailInvalid([f"bodyValues/{part_id}/{flag}"], f"{flag} must be false or omitted")
        text = entry["value"].replace("\r\n", "\n").replace("\r", "\n")
        return text.encode("utf-8", "replace").replace(b"\n", b"\r\n")

    @staticmethod
    def _encode_blob(kind: str, data: bytes) -> tuple[bytes, str]:
        if _seven_bit_safe(data):
            return data, "7bit"
        if kind.startswith("message/"):
            # RFC 2046 §5.2.1: message/rfc822 takes no encoding beyond 8bit/binary.
            return data, "8bit"
        return encode_base64(data), "base64"

    @staticmethod
    def _common_headers(spec: dict[str, Any], prefix: str, fields: _Fields, name: Any) -> list[str]:
        lines: list[str] = []
        disposition = spec.get("disposition")
        if disposition is not None and "content-disposition" not in fields.props_by_name:
            if not isinstance(disposition, str) or not _TOKEN.fullmatch(disposition):
                raise EmailInvalid([prefix + "disposition"], "disposition must be a token")
            params = [disposition.lower()]
            if isinstance(name, str):
                params += _name_params(name, "filename")
            lines.append(_fold("Content-Disposition", "; ".join(params), prefix + "disposition"))
        cid = spec.get("cid")
        if cid is not None:
            if not isinstance(cid, str) or not _NO_SPACE_VALUE.fullmatch(cid):
                raise EmailInvalid([prefix + "cid"], "cid must be a string without spaces or angle brackets")
            lines.append(_fold("Content-ID", f"<{cid}>", prefix + "cid"))
        language = spec.get("language")
        if language is not None:
            if not isinstance(language, list) or not all(isinstance(t, str) and _TOKEN.fullmatch(t) for t in language):
                raise EmailInvalid([prefix + "language"], "language must be a list of language tags")
            if language:
                lines.append(_fold("Content-Language", ", ".join(language), prefix + "language"))
        location = spec.get("location")
        if location is not None:
            if not isinstance(location, str) or not _NO_SPACE_VALUE.fullmatch(location):
                raise EmailInvalid([prefix + "location"], "location must be a URI")
            lines.append(_fold("Content-Location", location, prefix + "location"))
        return lines


_Node = tuple[dict[str, Any], str]


class _Synthetic(dict[str, Any]):
    """A multipart node generated from the flat body properties; it carries its
    children (already paired with the client's property paths)."""

    def __init__(self, kind: str, children: list[_Node]) -> None:
        super().__init__(type=kind)
        self.children = children


def _flat_structure(email: dict[str, Any]) -> _Node | None:
    """The body tree implied by textBody/htmlBody/attachments: text and HTML as
    multipart/alternative; attachments with a cid (not marked attachment) next to
    the HTML in multipart/related; other attachments in multipart/mixed, marked
    ``attachment`` unless the client chose a disposition."""
    text = _single_body(email, "textBody", "text/plain")
    html = _single_body(email, "htmlBody", "text/html")
    attachments = email.get("attachments") or []
    if not isinstance(attachments, list):
        raise EmailInvalid(["attachments"], "attachments must be a list")
    inline: list[_Node] = []
    others: list[_Node] = []
    for i, item in enumerate(attachments):
        path = f"attachments/{i}"
        if not isinstance(item, dict):
            raise EmailInvalid([path], "an EmailBodyPart must be an object")
        has_header = any(isinstance(k, str) and k.lower().startswith("header:content-disposition") for k in item)
        if html is not None and item.get("cid") and item.get("disposition") in (None, "inline"):
            inline.append((item if has_header else {**item, "disposition": "inline"}, path))
        elif item.get("disposition") is None and not has_header:
            others.append(({**item, "disposition": "attachment"}, path))
        else:
            others.append((item, path))
    html_node = html
    if html is not None and inline:
        html_node = (_Synthetic("multipart/related", [html, *inline]), "htmlBody")
    body = html_node
    if text is not None:
        body = (_Synthetic("multipart/alternative", [text, html_node]), "textBody") if html_node else text
    if not others:
        return body
    return _Synthetic("multipart/mixed", ([body] if body else []) + others), "attachments"


def _single_body(email: dict[str, Any], key: str, kind: str) -> tuple[Any, str] | None:
    value = email.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], dict):
        raise EmailInvalid([key], f"{key} must contain exactly one body part")
    part = value[0]
    if part.get("subParts") is not None or (part.get("type") or kind).lower() != kind:
        raise EmailInvalid([f"{key}/0/type"], f"{key} must be a single {kind} part")
    return {**part, "type": kind}, f"{key}/0"


def _domain_for_message_id(email: dict[str, Any]) -> str:
    senders = email.get("from")
    if not isinstance(senders, list):
        raw = email.get("header:From")
        senders = parse_addresses(raw) if isinstance(raw, str) else []
    for sender in senders:
        address = sender.get("email") if isinstance(sender, dict) else None
        if isinstance(address, str) and "@" in address:
            domain = address.rsplit("@", 1)[1]
            if _DOT_ATOM.fullmatch(domain):
                return domain
    return "jmap-proxy.invalid"


def email_build(email: dict[str, Any], *, blob_content: BlobLookup, now: datetime | None = None) -> bytes:
    """RFC 5322 octets for an Email/set create object (RFC 8621 §4.6).

    Header fields come from ``header:`` and convenience properties; the body from
    bodyStructure or textBody/htmlBody/attachments, with text from bodyValues and
    other content from ``blob_content(blobId)`` -> (octets, media type) or None.
    Date and Message-ID are added when absent, and MIME-Version. Non-ASCII text
    is RFC 2047 encoded, bodies quoted-printable or base64; no line exceeds 998
    octets.
    """
    if not isinstance(email, dict):
        raise EmailInvalid([], "the Email must be an object")
    if email.get("headers"):
        raise EmailInvalid(["headers"], "headers must not be given; use header: properties")
    fields = _Fields()
    for key, value in email.items():
        if key in _CONVENIENCE and value is not None:
            name, form = _CONVENIENCE[key]
            fields.add(name, form, value, False, key)
    _header_properties(email, "", fields)
    for lower, prop in fields.props_by_name.items():
        if lower.startswith("content-"):
            raise EmailInvalid([prop], "Content-* header fields belong on body parts, not the Email")
    flat_keys = [k for k in ("textBody", "htmlBody", "attachments") if email.get(k) is not None]
    structure = email.get("bodyStructure")
    if structure is not None and flat_keys:
        raise EmailInvalid(["bodyStructure", *flat_keys], "bodyStructure excludes textBody, htmlBody and attachments")

    builder = _Builder(email, blob_content)
    if structure is not None:
        part_lines, body = builder.render(structure, "bodyStructure", forbidden=set(fields.props_by_name))
    else:
        node = _flat_structure(email)
        if node is None:
            part_lines = ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 7bit"]
            body = b""
        else:
            part_lines, body = builder.render(*node)
    if builder.missing:
        raise BlobNotFound(list(builder.missing), list(builder.missing.values()))

    # A single-part message's part headers are the message's own: a Date,
    # Message-ID or MIME-Version given there must not be written twice.
    given = set(fields.props_by_name) | {
        line.split(":", 1)[0].strip().lower() for line in part_lines if line[:1] not in (" ", "\t")
    }
    lines: list[str] = []
    if "date" not in given:
        lines.append("Date: " + format_rfc5322_date(now or datetime.now(UTC)))
    lines += fields.lines
    if "message-id" not in given:
        lines.append(f"Message-ID: <{uuid.uuid4().hex}@{_domain_for_message_id(email)}>")
    if "mime-version" not in given:
        lines.append("MIME-Version: 1.0")
    lines += part_lines
    return b"\r\n".join(line.encode("utf-8") for line in lines) + b"\r\n\r\n" + body


# --- Bcc removal ------------------------------------------------------------

_FIELD_LINE = re.compile(rb"([\x21-\x39\x3b-\x7e]+)[ \t]*:")


def message_without_bcc(raw: bytes) -> bytes:
    """``raw`` with every top-level Bcc header field (and its folded lines)
    removed, all other octets unchanged (DESIGN: Bcc never leaves in a sent
    message; RFC 5322 §3.6.3)."""
    out: list[bytes] = []
    pos = 0
    n = len(raw)
    dropping = False
    while pos < n:
        nl = raw.find(b"\n", pos)
        next_pos = n if nl < 0 else nl + 1
        line = raw[pos:next_pos]
        if line in (b"\r\n", b"\n"):
            break
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                out.append(line)
        else:
            match = _FIELD_LINE.match(line)
            if match is None:
                break
            dropping = match.group(1).lower() == b"bcc"
            if not dropping:
                out.append(line)
        pos = next_pos
    return b"".join(out) + raw[pos:]
