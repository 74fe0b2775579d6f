"""Turning one FETCH answer into the cached Email values (RFC 8621 §4.1).

Everything here is pure (no database, no network) and total: malformed input
(broken MIME, raw 8-bit headers, absurdly long headers, bad dates, unknown
charsets) gives best-effort values, never an exception.

- Header fields come from `BODY.PEEK[HEADER.FIELDS (...)]` (RFC 3501 §6.4.5);
  encoded words are decoded (RFC 2047) and addresses become EmailAddress
  objects `{"name": str | None, "email": str}` (RFC 8621 §4.1.2.3).
- hasAttachment comes from BODYSTRUCTURE (RFC 3501 §7.4.2): a part with
  disposition "attachment", or a leaf that is neither text nor multipart and not
  shown inline.
- preview comes from PREVIEW (RFC 8970) or from a short partial fetch of the
  first text part; at most 256 characters with whitespace collapsed.
- IMAP flags become JMAP keywords (RFC 8621 §4.1.1).

There is one header parser: jmapcore.mime (fields, addresses, dates,
message-ids, encoded words), whose cost is linear in its input; this module
only caps the values (HEADER_VALUE_MAX) and shapes the results for the cache.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import quopri
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jmapcore.mime.addresses import parse_addresses
from jmapcore.mime.dates import parse_rfc5322_datetime
from jmapcore.mime.encoded_words import decode_text
from jmapcore.mime.headers import message_ids_scan
from jmapcore.mime.preview import html_to_text
from jmapcore.mime.structure import parse_header_block

PREVIEW_MAX = 256
# isinstance() with a tuple of types: `tuple | list` would build a union at every call.
_SEQUENCE = (tuple, list)
# A header longer than this is cut before parsing: nobody reads it, and a
# hostile one must not cost the sync seconds.
HEADER_VALUE_MAX = 16_384
ADDRESS_MAX = 500
MESSAGE_ID_MAX = 255
HEADER_FIELDS = (
    "MESSAGE-ID", "IN-REPLY-TO", "REFERENCES", "SUBJECT", "FROM", "TO", "CC", "BCC", "SENDER", "REPLY-TO", "DATE",
)
# System flags with a JMAP keyword (RFC 8621 §4.1.1); \Recent and \Deleted have none.
FLAG_KEYWORDS = {
    "\\seen": "$seen",
    "\\flagged": "$flagged",
    "\\answered": "$answered",
    "\\draft": "$draft",
}
_NOT_KEYWORDS = frozenset({"\\recent", "\\deleted", "\\*"})
_KEYWORD_FORBIDDEN = re.compile(r'[\x00-\x20\x7f()\{\]%*"\\]')
_WHITESPACE = re.compile(r"\s+")
# Reply/forward markers and [list] tags (RFC 5256 §2.1, with the usual
# translations). Each optional piece begins with a character the piece before
# it cannot match, so a match attempt is linear; callers strip the white space
# around the prefix themselves.
_SUBJECT_PREFIX = re.compile(
    r"(?:re|fwd?|aw|wg|sv|vs|antw|tr|rif|r)\s*(?:\[\d+\]\s*|\(\d+\)\s*)?[:\uff1a]|\[[^\[\]]{0,40}\]",
    re.IGNORECASE,
)
_REPLY_PREFIX = re.compile(r"(?:re|fwd?|aw|wg|sv|vs|antw|tr|rif)\s*(?:\[\d+\]\s*|\(\d+\)\s*)?[:\uff1a]", re.IGNORECASE)
_SUBJECT_TRAILERS = ("(fwd)", "(fw)")
_BASE64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")


@dataclass(frozen=True)
class ParsedHeaders:
    subject: str
    base_subject: str
    is_reply: bool
    sent_at: dt.datetime | None
    message_id: list[str] | None
    in_reply_to: list[str] | None
    references: list[str] | None
    sender: list[dict[str, str | None]] | None
    from_addr: list[dict[str, str | None]] | None
    to: list[dict[str, str | None]] | None
    cc: list[dict[str, str | None]] | None
    bcc: list[dict[str, str | None]] | None
    reply_to: list[dict[str, str | None]] | None


@dataclass(frozen=True)
class TextPart:
    """Where the first text part is, for a partial fetch when PREVIEW is missing."""

    section: str
    subtype: str
    charset: str
    encoding: str


def bytes_text(raw: bytes) -> str:
    """Header or body bytes as text: UTF-8 when valid, else Windows-1252 (the
    usual charset of raw 8-bit headers), never failing."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def words_decode(value: str) -> str:
    """Decode RFC 2047 encoded words (jmapcore.mime: linear, undecodable words
    stay as they are)."""
    return decode_text(value) if "=?" in value else value


def unfold(value: str) -> str:
    if value.isprintable() and "  " not in value:
        return value.strip()  # no whitespace but single spaces (\s is only Cc and separators): nothing to fold
    return _WHITESPACE.sub(" ", value.replace("\r", "").replace("\n", "")).strip()


def _trailer_strip(text: str) -> str:
    trimmed = text.rstrip()
    lowered = trimmed[-5:].lower()
    for trailer in _SUBJECT_TRAILERS:
        if lowered.endswith(trailer):
            return trimmed[: -len(trailer)].rstrip()
    return text


def subject_base(subject: str) -> str:
    """The base subject for threading (RFC 5256 §2.1, simplified): without
    leading Re:/Fwd:/[list] prefixes and a trailing "(fwd)"."""
    text = unfold(subject)
    for _ in range(20):
        stripped = text.lstrip()
        prefix = _SUBJECT_PREFIX.match(stripped)
        if prefix is not None:
            stripped = stripped[prefix.end() :].lstrip()
        stripped = _trailer_strip(stripped)
        if stripped == text:
            break
        text = stripped
    return text.strip()


def subject_is_reply(subject: str) -> bool:
    return bool(_REPLY_PREFIX.match(subject.lstrip()))


def addresses_parse(value: str | None) -> list[dict[str, str | None]] | None:
    """An address-list header as EmailAddress objects (RFC 8621 §4.1.2.3); None
    when absent. jmapcore.mime's parser, leniently decoding encoded words
    inside quoted display names (as many mailers write them). Each call
    returns new lists and dicts (the caller may change them)."""
    if value is None:
        return None
    value = value[:HEADER_VALUE_MAX]
    pairs = _addresses_memo(value) if len(value) <= ADDRESS_MEMO_VALUE_MAX else _addresses_pairs(value)
    return [{"name": name, "email": address} for name, address in pairs]


# The same From, To and Cc values come back message after message (the
# account's own address, colleagues, lists): an initial sync parses each
# distinct value once. Bounded in entries and in the length of a value.
ADDRESS_MEMO_SIZE = 4096
ADDRESS_MEMO_VALUE_MAX = 1024


def _addresses_pairs(value: str) -> tuple[tuple[str | None, str], ...]:
    result: list[tuple[str | None, str]] = []
    for item in parse_addresses(value, words_in_quotes=True):
        name = unfold(item["name"]) if item["name"] else ""
        address = str(item["email"]).strip()
        if not name and not address:
            continue
        result.append((name or None, address))
        if len(result) >= ADDRESS_MAX:
            break
    return tuple(result)


_addresses_memo = lru_cache(maxsize=ADDRESS_MEMO_SIZE)(_addresses_pairs)


def message_ids_parse(value: str | None, *, lenient: bool = False) -> list[str] | None:
    """A msg-id list (RFC 5322 §3.6.4) without angle brackets; None when absent.
    ``lenient``: a Message-ID without brackets is taken as its first word."""
    if value is None:
        return None
    found = [item[:MESSAGE_ID_MAX] for item in message_ids_scan(value[:HEADER_VALUE_MAX])]
    if not found and lenient and value.strip():
        found = [value.strip().split()[0][:MESSAGE_ID_MAX]]
    return found or None


# The Date most mailers write (RFC 5322 §3.3 without obsolete forms, comments
# or folding): "Mon, 7 Dec 2026 00:43:30 +0100". Read directly, it gives what
# parse_rfc5322_datetime gives for it (tests/backends/imap/test_message_parse.py
# compares the two); anything else goes to that parser. ASCII classes only.
_DATE_PLAIN = re.compile(
    r"(?:[A-Za-z]+, ?)?([0-9]{1,2}) ([A-Za-z]{3}) ([0-9]{4})"
    r" ([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2}) ([+-])([0-9]{2})([0-9]{2})"
)
_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}  # fmt: skip
_ZONES: dict[int, dt.timezone] = {}


def _date_plain(value: str) -> dt.datetime | None:
    """The common form of a Date; None when `value` is not in it (not: when it is bad)."""
    found = _DATE_PLAIN.fullmatch(value.strip(" \t\r\n"))
    if found is None:
        return None
    day, month_name, year, hour, minute, second, sign, zone_hours, zone_minutes = found.groups()
    month = _MONTHS.get(month_name.lower())
    if month is None or int(zone_hours) > 23 or int(zone_minutes) > 59:
        return None
    offset = (int(zone_hours) * 60 + int(zone_minutes)) * (-1 if sign == "-" else 1)
    zone = _ZONES.get(offset)
    if zone is None:
        zone = _ZONES.setdefault(offset, dt.timezone(dt.timedelta(minutes=offset)))
    try:
        return dt.datetime(int(year), month, int(day), int(hour), int(minute), min(int(second), 59), tzinfo=zone)
    except ValueError:
        return None


def date_parse(value: str | None) -> dt.datetime | None:
    """The Date header as an aware datetime (RFC 5322 §3.3); None when absent or bad."""
    if not value:
        return None
    parsed = _date_plain(value) or parse_rfc5322_datetime(value)
    if parsed is None:
        return None
    try:
        parsed.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        return None
    return parsed


def _header_value(raw: bytes) -> str:
    # NUL cannot be stored in a PostgreSQL text column and means nothing in a header.
    return bytes_text(raw[:HEADER_VALUE_MAX * 4]).replace("\x00", "")


# A field name (RFC 5322 §3.6.8), as jmapcore.mime.structure reads it.
_FIELD_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]+")


def _header_fields_plain(raw: bytes, last: frozenset[str]) -> dict[str, str] | None:
    """header_fields of the block most servers send for a HEADER.FIELDS fetch —
    valid UTF-8 without NUL, shorter than HEADER_VALUE_MAX octets (so no value
    needs cutting), one "Name: value" per CRLF-ended line, no folding — read
    with one decode and one split; None for any other block, which the full
    reader then reads. Gives exactly what the full reader gives (tests compare
    the two on generated blocks)."""
    if len(raw) > HEADER_VALUE_MAX or b"\x00" in raw or raw.endswith(b"\r"):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.count("\n") != text.count("\r\n"):
        return None  # a bare LF ends a line for the full reader, not for split()
    fields: dict[str, str] = {}
    for line in text.split("\r\n"):
        if not line:
            break  # the empty line: the header ends
        if line[0] in " \t":
            return None  # folded
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")
        if not colon or _FIELD_NAME.fullmatch(name) is None:
            return None  # not a field: the full reader knows where that leaves the header
        key = name.lower()
        if key in last or key not in fields:
            fields[key] = value.lstrip(" \t")
    return fields


def header_fields(raw: bytes, *, last: frozenset[str] = frozenset()) -> dict[str, str]:
    """{lower-cased name: value} of the first occurrence of each field of a
    header block (jmapcore.mime.structure's one-pass reader), each value cut to
    HEADER_VALUE_MAX characters; of the last occurrence for the names in `last`."""
    plain = _header_fields_plain(raw, last)
    return plain if plain is not None else _header_fields_full(raw, last)


def _header_fields_full(raw: bytes, last: frozenset[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    parsed, _body = parse_header_block(raw, 0, len(raw), value_decode=_header_value)
    for name, value in parsed:
        key = name.strip().lower()
        if key in last or key not in fields:
            fields[key] = value.lstrip(" \t")[:HEADER_VALUE_MAX]
    return fields


# messageId is header:Message-ID:asMessageIds, which takes the last instance
# of the field (RFC 8621 §4.1.3).
_LAST_WINS = frozenset({"message-id"})


def headers_fields(raw: bytes | None) -> dict[str, str]:
    """The fields of a header-fields fetch as headers_parse reads them."""
    return header_fields(raw or b"", last=_LAST_WINS)


def headers_parse(raw: bytes | None) -> ParsedHeaders:
    """The cached header values of one message from its header-fields fetch."""
    fields = headers_fields(raw)
    subject = unfold(words_decode(unfold(fields["subject"]))) if "subject" in fields else ""
    return ParsedHeaders(
        subject=subject,
        base_subject=subject_base(subject),
        is_reply=subject_is_reply(subject),
        sent_at=date_parse(fields.get("date")),
        message_id=message_ids_parse(fields.get("message-id"), lenient=True),
        in_reply_to=message_ids_parse(fields.get("in-reply-to")),
        references=message_ids_parse(fields.get("references")),
        sender=addresses_parse(fields.get("sender")),
        from_addr=addresses_parse(fields.get("from")),
        to=addresses_parse(fields.get("to")),
        cc=addresses_parse(fields.get("cc")),
        bcc=addresses_parse(fields.get("bcc")),
        reply_to=addresses_parse(fields.get("reply-to")),
    )


# What a fallback keeps of a Subject that could not be parsed.
FALLBACK_SUBJECT_MAX = 200
_SUBJECT_LINE = re.compile(rb"^subject[ \t]*:([^\r\n]{0,800})", re.IGNORECASE | re.MULTILINE)


def headers_fallback(raw: bytes | None) -> ParsedHeaders:
    """The header values of a message that headers_parse could not read: the
    first Subject line as it stands (not unfolded, not decoded, at most
    FALLBACK_SUBJECT_MAX characters) and nothing else. Never raises."""
    subject = ""
    try:
        found = _SUBJECT_LINE.search(raw[: HEADER_VALUE_MAX * 4]) if raw else None
        if found is not None:
            subject = bytes_text(found.group(1)).replace("\x00", "").strip()[:FALLBACK_SUBJECT_MAX]
    except Exception:  # the fallback of the fallback: an empty subject
        subject = ""
    return ParsedHeaders(subject=subject, base_subject=subject, is_reply=False, sent_at=None, message_id=None,
                         in_reply_to=None, references=None, sender=None, from_addr=None, to=None, cc=None, bcc=None,
                         reply_to=None)  # fmt: skip


def addresses_text(addresses: list[dict[str, str | None]] | None) -> str:
    """Lower-cased "name <email>" text of an address list, for the address filters."""
    if not addresses:
        return ""
    parts = []
    for item in addresses:
        name, address = item.get("name") or "", item.get("email") or ""
        parts.append(f"{name} <{address}>" if name else f"<{address}>")
    return ", ".join(parts).lower()


# -- flags -----------------------------------------------------------------------


def flags_text(flags: Any) -> list[str]:
    """FETCH FLAGS as strings, without \\Recent (it belongs to one session,
    RFC 3501 §2.3.2, and would make every scan look like a change)."""
    if not isinstance(flags, _SEQUENCE):
        return []
    texts = [flag.decode("utf-8", "replace") if isinstance(flag, bytes) else str(flag) for flag in flags]
    return [text for text in texts if text.lower() != "\\recent"]


def flags_deleted(flags: list[str]) -> bool:
    return any(flag.lower() == "\\deleted" for flag in flags)


def flags_unread(flags: list[str]) -> bool:
    return not any(flag.lower() == "\\seen" for flag in flags)


def flags_keywords(flags: list[str]) -> dict[str, bool]:
    """IMAP flags as JMAP keywords (RFC 8621 §4.1.1): system flags map to their
    $keywords, other keywords are lower-cased; \\Recent and \\Deleted are dropped."""
    keywords: dict[str, bool] = {}
    for flag in flags:
        lowered = flag.lower()
        if lowered in FLAG_KEYWORDS:
            keywords[FLAG_KEYWORDS[lowered]] = True
        elif lowered in _NOT_KEYWORDS or lowered.startswith("\\"):
            continue
        elif lowered and not _KEYWORD_FORBIDDEN.search(lowered) and len(lowered) <= 255:
            keywords[lowered] = True
    return keywords


# -- BODYSTRUCTURE ------------------------------------------------------------


def _lower(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", "replace").lower()
    return str(value).lower() if isinstance(value, str) else ""


def _params(value: Any) -> dict[str, str]:
    if not isinstance(value, _SEQUENCE):
        return {}
    items = list(value)
    return {_lower(items[i]): _lower(items[i + 1]) for i in range(0, len(items) - 1, 2)}


def _is_multipart(part: Any) -> bool:
    return isinstance(part, _SEQUENCE) and bool(part) and isinstance(part[0], _SEQUENCE)


def _disposition(part: Any) -> str:
    """The Content-Disposition type of a body part, "" when none (RFC 3501 §7.4.2)."""
    if _is_multipart(part):
        return ""
    kind, subtype = _lower(part[0]), _lower(part[1]) if len(part) > 1 else ""
    if kind == "text":
        index = 9
    elif kind == "message" and subtype in ("rfc822", "global"):
        index = 11
    else:
        index = 8
    value = part[index] if len(part) > index else None
    if isinstance(value, _SEQUENCE) and value:
        return _lower(value[0])
    return ""


def _multipart_parts(part: Any) -> list[Any]:
    if not _is_multipart(part):
        return []
    first = part[0]
    # IMAPClient gives multipart bodies as ([child, child, ...], subtype, ...).
    if first and _is_leaf_or_multipart(first[0]):
        return list(first)
    return [first]


def _is_leaf_or_multipart(value: Any) -> bool:
    return isinstance(value, _SEQUENCE)


def _multipart_subtype(part: Any) -> str:
    return _lower(part[1]) if _is_multipart(part) and len(part) > 1 else ""


def bodystructure_has_attachment(structure: Any) -> bool:
    """hasAttachment (RFC 8621 §4.1.4) from BODYSTRUCTURE; False when unparsable."""
    try:
        return _has_attachment(structure, in_related=False, depth=0)
    except Exception:
        return False


def _has_attachment(part: Any, *, in_related: bool, depth: int) -> bool:
    if depth > 30 or not isinstance(part, _SEQUENCE) or not part:
        return False
    if _is_multipart(part):
        related = _multipart_subtype(part) == "related"
        return any(_has_attachment(child, in_related=related, depth=depth + 1) for child in _multipart_parts(part))
    disposition = _disposition(part)
    if disposition == "attachment":
        return True
    if disposition == "inline":
        return False
    kind = _lower(part[0])
    if kind in ("text", "multipart"):
        return False
    # A leaf without disposition in multipart/related is an inline resource.
    return not in_related


def bodystructure_text_part(structure: Any) -> TextPart | None:
    """The first text/plain part (else text/html) and its section number."""
    try:
        found = _text_parts(structure, prefix="", depth=0)
    except Exception:
        return None
    for wanted in ("plain", "html"):
        for part in found:
            if part.subtype == wanted:
                return part
    return None


def _text_parts(part: Any, *, prefix: str, depth: int) -> list[TextPart]:
    if depth > 30 or not isinstance(part, _SEQUENCE) or not part:
        return []
    if _is_multipart(part):
        found: list[TextPart] = []
        for index, child in enumerate(_multipart_parts(part), start=1):
            found.extend(_text_parts(child, prefix=f"{prefix}{index}.", depth=depth + 1))
        return found
    if _lower(part[0]) != "text" or _disposition(part) == "attachment":
        return []
    section = prefix[:-1] if prefix else "1"
    params = _params(part[2] if len(part) > 2 else None)
    encoding = _lower(part[5]) if len(part) > 5 else ""
    return [TextPart(section=section, subtype=_lower(part[1]), charset=params.get("charset", ""), encoding=encoding)]


# -- preview --------------------------------------------------------------------------


def preview_clean(text: str) -> str:
    """Whitespace collapsed, at most PREVIEW_MAX characters (RFC 8621 §4.1.4)."""
    if text.isprintable() and "  " not in text:
        # The only white space a printable string holds is single spaces (every
        # other \s character is a control or separator): nothing to collapse.
        # A server's PREVIEW (RFC 8970) is nearly always so, and the
        # substitution costs a match per word.
        return text.strip()[:PREVIEW_MAX]
    return _WHITESPACE.sub(" ", text).strip()[:PREVIEW_MAX]


def preview_from_part(raw: bytes | None, part: TextPart) -> str:
    """A preview from the first bytes of a text part (transfer-decoded, charset-decoded)."""
    if not raw:
        return ""
    data = raw
    try:
        if part.encoding == "base64":
            cleaned = _BASE64_JUNK.sub(b"", data)
            data = base64.b64decode(cleaned[: len(cleaned) - len(cleaned) % 4])
        elif part.encoding == "quoted-printable":
            data = quopri.decodestring(data.rsplit(b"=", 1)[0] if data[-3:].count(b"=") else data)
    except (binascii.Error, ValueError):
        data = raw
    try:
        text = data.decode(part.charset or "utf-8", "replace")
    except LookupError:
        text = bytes_text(data)
    if part.subtype == "html":
        text = html_to_text(text)
    return preview_clean(text)


def preview_value(value: Any) -> str:
    """The PREVIEW fetch item (RFC 8970 §3) as text; NIL gives ""."""
    if isinstance(value, _SEQUENCE):  # "PREVIEW (FUZZY) ..." in the draft syntax
        value = value[-1] if value else None
    if isinstance(value, bytes):
        return preview_clean(bytes_text(value))
    if isinstance(value, str):
        return preview_clean(value)
    return ""
