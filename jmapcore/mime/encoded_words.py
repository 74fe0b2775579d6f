"""RFC 2047 encoded words: decoding for the Text form (RFC 8621 §4.1.2.2) and
encoding for Email/set create (RFC 8621 §4.6)."""
from __future__ import annotations

import binascii
import re
import unicodedata
from collections.abc import Iterable

from jmapcore.mime.charsets import CHARSET_NAME_MAX, charset_codec, clean_text, decode_bytes

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=")
_QHEX = re.compile(rb"=([0-9A-Fa-f]{2})")
_B64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")

# Token kinds for decode_tokens.
WS = "ws"  # white space
WORD = "word"  # may be an encoded word
LITERAL = "literal"  # never decoded (quoted-string content, specials)


def _b_decode(text: str) -> bytes:
    raw = text.encode("ascii", "ignore").rstrip(b"=")
    raw = bytes(c for c in raw if c in _B64_ALPHABET)
    if len(raw) % 4 == 1:
        raw = raw[:-1]
    raw += b"=" * (-len(raw) % 4)
    try:
        return binascii.a2b_base64(raw)
    except (binascii.Error, ValueError):
        return b""


def _q_decode(text: str) -> bytes:
    raw = text.replace("_", " ").encode("utf-8", "replace")
    return _QHEX.sub(lambda m: bytes([int(m.group(1), 16)]), raw)


def _control_free(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cc")


def _word_payload(token: str) -> tuple[str, bytes] | None:
    """(charset, octets) if ``token`` is exactly one encoded word in a known charset."""
    match = _ENCODED_WORD.fullmatch(token)
    if match is None:
        return None
    charset, encoding, text = match.groups()
    charset = charset.split("*", 1)[0]  # RFC 2231 §5 language suffix
    if len(charset) > CHARSET_NAME_MAX:
        return None  # no registered charset is this long; a hostile one is not looked up
    if charset_codec(charset) is None and charset.lower() not in ("us-ascii", "iso-8859-1"):
        return None
    data = _b_decode(text) if encoding in "Bb" else _q_decode(text)
    return charset.lower(), data


def decode_tokens(tokens: Iterable[tuple[str, str]]) -> str:
    """Join (kind, text) tokens, decoding every WORD that is a whole encoded word.

    White space between two adjacent encoded words is dropped (RFC 2047 §6.2);
    adjacent words in the same charset are decoded together so a character split
    across words survives. Encoded control characters are dropped (RFC 8621
    §4.1.2.2). Text that is not a whole token is never decoded.
    """
    out: list[str] = []
    run_charset: str | None = None
    run = bytearray()
    held_ws: list[str] = []
    after_word = False

    def flush_run() -> None:
        nonlocal run_charset
        if run_charset is not None:
            text, _problem = decode_bytes(bytes(run), run_charset)
            out.append(_control_free(text))
            run.clear()
            run_charset = None

    for kind, text in tokens:
        if kind == WS:
            if after_word:
                held_ws.append(text)
            else:
                out.append(text)
            continue
        payload = _word_payload(text) if kind == WORD else None
        if payload is not None:
            charset, data = payload
            held_ws.clear()
            if charset != run_charset:
                flush_run()
                run_charset = charset
            run.extend(data)
            after_word = True
            continue
        flush_run()
        out.extend(held_ws)
        held_ws.clear()
        out.append(text)
        after_word = False
    flush_run()
    out.extend(held_ws)
    return clean_text("".join(out))


# Runs of blanks or of anything else: two disjoint classes, linear.
SPLIT_WS = re.compile(r"[ \t]+|[^ \t]+")


def decode_text(value: str) -> str:
    """Decode encoded words in unstructured text and normalise to NFC."""
    if "=?" not in value:
        return unicodedata.normalize("NFC", value)
    tokens = ((WS if t[0] in " \t" else WORD, t) for t in SPLIT_WS.findall(value))
    return unicodedata.normalize("NFC", decode_tokens(tokens))


# Characters that may appear unencoded in a Q-encoded word anywhere, including a
# phrase (RFC 2047 §5 (3)).
_Q_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_MAX_PAYLOAD = 75 - len("=?UTF-8?Q??=")


def encode_words(text: str) -> list[str]:
    """``text`` as a list of UTF-8 Q encoded words of at most 75 characters each,
    never splitting a character; join them with folding white space."""
    words: list[str] = []
    current: list[str] = []
    length = 0
    for ch in text:
        if ch in _Q_SAFE:
            piece = ch
        elif ch == " ":
            piece = "_"
        else:
            piece = "".join(f"={b:02X}" for b in ch.encode("utf-8", "replace"))
        if current and length + len(piece) > _MAX_PAYLOAD:
            words.append("=?UTF-8?Q?" + "".join(current) + "?=")
            current, length = [], 0
        current.append(piece)
        length += len(piece)
    if current or not words:
        words.append("=?UTF-8?Q?" + "".join(current) + "?=")
    return words


def needs_encoding(text: str) -> bool:
    """True if ``text`` cannot be sent as plain header text: non-ASCII, control
    characters, something a decoder would take for an encoded word, or a word too
    long to fold."""
    if "=?" in text:
        return True
    for ch in text:
        if ch != "\t" and not " " <= ch <= "~":
            return True
    return any(len(word) > 900 for word in text.split())
