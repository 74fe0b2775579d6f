"""Content-Transfer-Encoding decoding and encoding (RFC 2045 §6)."""
from __future__ import annotations

import binascii
import re

_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")
_B64_WS = re.compile(rb"[\s=]")
IDENTITY_ENCODINGS = frozenset({"", "7bit", "8bit", "binary"})


def decode_transfer(data: bytes, encoding: str) -> tuple[bytes, bool]:
    """Decode ``data``; returns (octets, problem). Unknown encodings are treated as
    identity (RFC 8621 §4.1.4 blobId) but flagged as a problem (bodyValues
    isEncodingProblem). Never raises."""
    encoding = encoding.strip().lower()
    if encoding in IDENTITY_ENCODINGS:
        return data, False
    if encoding == "base64":
        return _decode_base64(data)
    if encoding == "quoted-printable":
        try:
            return binascii.a2b_qp(data), False
        except (binascii.Error, ValueError):
            return data, True
    return data, True


def _decode_base64(data: bytes) -> tuple[bytes, bool]:
    problem = bool(_B64_JUNK.search(_B64_WS.sub(b"", data)))
    clean = _B64_JUNK.sub(b"", data)
    if len(clean) % 4 == 1:
        clean = clean[:-1]
        problem = True
    clean += b"=" * (-len(clean) % 4)
    try:
        return binascii.a2b_base64(clean), problem
    except (binascii.Error, ValueError):
        return b"", True


def encode_base64(data: bytes) -> bytes:
    """Base64 in CRLF-terminated lines of 76 characters."""
    encoded = binascii.b2a_base64(data, newline=False)
    lines = [encoded[i : i + 76] for i in range(0, len(encoded), 76)]
    return b"".join(line + b"\r\n" for line in lines)


def encode_quoted_printable(text: bytes) -> bytes:
    """Quoted-printable of LF-separated text, emitted with CRLF line ends."""
    encoded = binascii.b2a_qp(text, quotetabs=False, istext=True, header=False)
    return encoded.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
