"""The SMTP envelope of a message, and the message as it may leave (RFC 8621 §7).

envelope_from_headers() derives the envelope a JMAP EmailSubmission gets when
the client gives none (RFC 8621 §7, `envelope`): mailFrom is the address of
the Sender header field if present, else of the (first) From address; rcptTo
is every address in To, Cc and Bcc, groups expanded, each once.

message_without_bcc() removes the blind-copy header fields before the
message is handed to SMTP (RFC 5322 §3.6.3: Bcc must not reach the
recipients; DESIGN.md "Security"). Everything else stays byte-identical.
"""
from __future__ import annotations

import re
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import Message
from email.parser import BytesParser

# Blind-copy fields (RFC 5322 §3.6.3, §3.6.6).
BLIND_FIELDS = frozenset({b"bcc", b"resent-bcc"})
_FIELD_NAME = re.compile(rb"^([!-9;-~]+)[ \t]*:")


class EnvelopeError(ValueError):
    """The headers do not yield an envelope (no usable From/Sender address)."""


def _header_addresses(message: Message, name: str) -> list[Address]:
    found: list[Address] = []
    for header in message.get_all(name) or []:
        try:  # policy.default parses address fields into AddressHeader objects
            addresses: tuple[Address, ...] = getattr(header, "addresses", ())
        except (HeaderParseError, IndexError, ValueError):
            continue
        found.extend(address for address in addresses if address.addr_spec and "@" in address.addr_spec)
    return found


def _address_key(address: str) -> str:
    """Duplicates compare with the domain case-folded (RFC 5321 §2.4: the local
    part may be case-sensitive, the domain is not)."""
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def envelope_from_headers(raw: bytes) -> tuple[str, list[str]]:
    """(mailFrom, rcptTo) for a raw RFC 5322 message, per RFC 8621 §7.

    Raises EnvelopeError when neither Sender nor From holds an address.
    rcptTo may be empty (the caller answers noRecipients, RFC 8621 §7.5).
    """
    message = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
    senders = _header_addresses(message, "Sender") or _header_addresses(message, "From")
    if not senders:
        raise EnvelopeError("the message has no Sender or From address")
    recipients: dict[str, str] = {}
    for name in ("To", "Cc", "Bcc"):
        for address in _header_addresses(message, name):
            recipients.setdefault(_address_key(address.addr_spec), address.addr_spec)
    return senders[0].addr_spec, list(recipients.values())


def _lines(raw: bytes) -> list[bytes]:
    """Lines split after each LF, line ends kept (a bare CR is not a line end)."""
    return [line for line in re.split(rb"(?<=\n)", raw) if line]


def _header_end(raw: bytes) -> int:
    """Offset of the empty line that ends the header section (len(raw) if none)."""
    position = 0
    for line in _lines(raw):
        if line in (b"\r\n", b"\n"):
            return position
        position += len(line)
    return len(raw)


def message_without_bcc(raw: bytes) -> bytes:
    """`raw` without its Bcc (and Resent-Bcc) header fields, continuation lines
    included; every other byte, body and line ends included, unchanged."""
    end = _header_end(raw)
    kept: list[bytes] = []
    dropping = False
    for line in _lines(raw[:end]):
        if line[:1] not in (b" ", b"\t"):  # a new field; continuation lines follow their field
            match = _FIELD_NAME.match(line)
            dropping = match is not None and match.group(1).lower() in BLIND_FIELDS
        if not dropping:
            kept.append(line)
    return b"".join(kept) + raw[end:]
