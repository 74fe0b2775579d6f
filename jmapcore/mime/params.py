"""Structured MIME header values with parameters: Content-Type and
Content-Disposition (RFC 2045 §5.1, RFC 2183), including RFC 2231 continuations,
charsets and languages. Best effort; never raises."""
from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from jmapcore.mime.charsets import decode_bytes
from jmapcore.mime.encoded_words import decode_text

_MAX_SEGMENTS = 1000
# A Content-Type or Content-Disposition is read up to this many characters:
# room for a thousand parameters, and no more work for a hostile one.
PARAMETERISED_MAX = 64 * 1024
_EXT_NAME = re.compile(r"([^*]+)(?:\*(\d{1,4}))?(\*)?")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def strip_comments(value: str) -> str:
    """Remove RFC 5322 comments (nested, with quoted-pairs) outside quoted strings."""
    if "(" not in value:
        return value
    out: list[str] = []
    depth = 0
    in_quote = False
    i = 0
    n = len(value)
    while i < n:
        ch = value[i]
        if ch == "\\" and (in_quote or depth):
            if not depth:
                out.append(value[i : i + 2])
            i += 2
            continue
        if depth:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if not depth:
                    out.append(" ")
        elif ch == '"':
            in_quote = not in_quote
            out.append(ch)
        elif ch == "(" and not in_quote:
            depth = 1
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _split_segments(value: str) -> list[tuple[str, bool]]:
    """Split on ';' outside quoted strings; each segment says whether its value
    part was quoted (after unquoting)."""
    segments: list[tuple[str, bool]] = []
    buf: list[str] = []
    quoted = False
    in_quote = False
    i = 0
    n = len(value)
    while i < n:
        ch = value[i]
        if in_quote:
            if ch == "\\" and i + 1 < n:
                buf.append(value[i + 1])
                i += 2
                continue
            if ch == '"':
                in_quote = False
            else:
                buf.append(ch)
        elif ch == '"':
            in_quote = True
            quoted = True
        elif ch == ";":
            segments.append(("".join(buf), quoted))
            buf, quoted = [], False
        else:
            buf.append(ch)
        i += 1
    segments.append(("".join(buf), quoted))
    return segments


def parse_parameterised(value: str) -> tuple[str, dict[str, str]]:
    """Split ``type/subtype; a=b; c*=utf-8''x`` into (lowercase value, params).

    Parameter names are lowercased. RFC 2231 continuations and charset/language
    encoding are decoded; an extended parameter wins over a plain one of the same
    name. A parameter value that is entirely RFC 2047 encoded words is decoded as
    well (common for ``name``/``filename`` in practice).
    """
    value = value[:PARAMETERISED_MAX]
    segments = _split_segments(strip_comments(value.replace("\r", "").replace("\n", "")))
    main = "".join(segments[0][0].split()).lower()
    plain: dict[str, str] = {}
    extended: dict[str, dict[int, tuple[str, bool]]] = {}
    for text, _quoted in segments[1:]:
        name, sep, val = text.partition("=")
        if not sep:
            continue
        name = name.strip().lower()
        val = val.strip()
        match = _EXT_NAME.fullmatch(name)
        if not name or match is None:
            continue
        base, index, star = match.groups()
        if index is None and star is None:
            plain.setdefault(base, val)
            continue
        segs = extended.setdefault(base, {})
        if len(segs) < _MAX_SEGMENTS:
            segs.setdefault(int(index or 0), (val, bool(star)))
    params = {k: decode_text(v) if "=?" in v else v for k, v in plain.items()}
    for base, segs in extended.items():
        params[base] = _join_extended(segs)
    return main, params


def _join_extended(segs: dict[int, tuple[str, bool]]) -> str:
    charset: str | None = None
    buf = bytearray()
    for position, index in enumerate(sorted(segs)):
        val, encoded = segs[index]
        if encoded:
            if position == 0 and val.count("'") >= 2:
                charset, _lang, val = val.split("'", 2)
            buf += unquote_to_bytes(val)
        else:
            buf += val.encode("utf-8", "replace")
    text, _problem = decode_bytes(bytes(buf), charset or "utf-8")
    return text


def media_type(value: str) -> tuple[str | None, dict[str, str]]:
    """Content-Type as (type/subtype or None if syntactically invalid, params)."""
    main, params = parse_parameterised(value)
    kind, slash, sub = main.partition("/")
    if not slash or not _TOKEN.fullmatch(kind) or not _TOKEN.fullmatch(sub):
        return None, params
    return main, params
