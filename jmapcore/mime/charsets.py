"""Charset decoding for MIME bodies and encoded words (RFC 2045 §4, RFC 2047 §3).

Decoding never raises: unknown charsets and malformed octets yield U+FFFD and a
problem flag, which feeds ``isEncodingProblem`` (RFC 8621 §4.1.4, bodyValues).
"""
from __future__ import annotations

import codecs
import re

# Labels seen in real mail that Python does not know, or knows under a narrower
# table than senders actually use (supersets decode strictly more messages).
_ALIASES: dict[str, str] = {
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "ks_c_5601-1989": "cp949",
    "euc-kr": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "windows-874": "cp874",
    "tis-620": "cp874",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "x-sjis": "shift_jis",
    "shift-jis": "shift_jis",
    "windows-31j": "cp932",
}

# Labels under which 8-bit octets are common in practice; decoded with a
# heuristic (UTF-8 if valid, else windows-1252) as RFC 8621 §4.1.4 permits.
_LOOSE_ASCII = frozenset({"us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "646", "us", "cp367", "ibm367"})
_LOOSE_LATIN1 = frozenset({"iso-8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "iso8859-1", "cp819", "ibm819"})

# The longest registered charset name is 45 characters (IANA character sets).
CHARSET_NAME_MAX = 64

# Codecs Python treats as text encodings but which are not charsets.
_REFUSED = frozenset({"idna", "punycode", "unicode_escape", "raw_unicode_escape", "undefined", "mbcs", "oem"})

_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_text(value: str) -> str:
    """Replace lone surrogates (some codecs, e.g. UTF-7, emit them) with U+FFFD so
    the result always encodes as UTF-8 JSON."""
    return _SURROGATES.sub("\ufffd", value)


def normalize_charset(label: str | None) -> str:
    """The label as a lowercase token without quotes, whitespace or RFC 2231 language."""
    if not label:
        return ""
    value = label.strip().strip("\"'").strip().lower()
    return value.split("*", 1)[0]


def charset_codec(label: str | None) -> str | None:
    """The Python codec name for a MIME charset label, or None if unknown."""
    name = normalize_charset(label)
    if not name or len(name) > CHARSET_NAME_MAX:
        return None  # no registered charset name is longer: a hostile one is not looked up
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED:
        return None
    return info.name


def _windows_1252(data: bytes) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        # 0x81, 0x8d, 0x8f, 0x90 and 0x9d are unassigned in windows-1252.
        return data.decode("latin-1")


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, bool]:
    """Decode ``data`` in ``charset``; returns (text, problem).

    ``problem`` is True when the charset is unknown or malformed octets were
    replaced by U+FFFD (RFC 8621 §4.1.4 isEncodingProblem). A missing charset or
    US-ASCII is decoded as UTF-8 when valid, else as windows-1252; ISO-8859-1 as
    windows-1252 (the labels are routinely applied to those octets).
    """
    name = normalize_charset(charset)
    if not name or name in _LOOSE_ASCII:
        try:
            return data.decode("utf-8"), False
        except UnicodeDecodeError:
            return _windows_1252(data), False
    if name in _LOOSE_LATIN1:
        return _windows_1252(data), False
    codec = charset_codec(name)
    if codec is None:
        return clean_text(data.decode("utf-8", "replace")), True
    try:
        return clean_text(data.decode(codec)), False
    except UnicodeDecodeError:
        pass
    except Exception:  # a broken codec must not break parsing
        return clean_text(data.decode("utf-8", "replace")), True
    try:
        return clean_text(data.decode(codec, "replace")), True
    except Exception:
        return clean_text(data.decode("utf-8", "replace")), True
