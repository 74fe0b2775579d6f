"""RFC 5322 §3.4 address lists to and from JMAP EmailAddress / EmailAddressGroup
(RFC 8621 §4.1.2.3, §4.1.2.4). Parsing is best effort and never raises."""
from __future__ import annotations

import re
import unicodedata
from typing import Any

from jmapcore.mime.encoded_words import (
    LITERAL,
    SPLIT_WS,
    WORD,
    WS,
    decode_text,
    decode_tokens,
    encode_words,
    needs_encoding,
)

# Token kinds.
_ATOM = "atom"
_QUOTED = "quoted"
_COMMENT = "comment"
_LITERAL = "domain-literal"
_SPECIAL = "special"
_WS = "ws"

_SPECIALS = frozenset('<>:;@,.[]')
_WS_CHARS = frozenset(" \t\r\n")


class _Token:
    __slots__ = ("kind", "raw", "value")

    def __init__(self, kind: str, value: str, raw: str) -> None:
        self.kind = kind
        self.value = value
        self.raw = raw


def _scan_delimited(s: str, i: int, close: str, nest: str | None) -> tuple[str, int]:
    """Content from s[i] (just after the opener) to the matching ``close``,
    decoding quoted-pairs; returns (content, index after the closer). One pass."""
    out: list[str] = []
    depth = 1
    n = len(s)
    while i < n:
        ch = s[i]
        if ch == "\\" and i + 1 < n:
            out.append(s[i + 1])
            i += 2
            continue
        if nest is not None and ch == nest:
            depth += 1
        elif ch == close:
            depth -= 1
            if not depth:
                return "".join(out), i + 1
        out.append(ch)
        i += 1
    return "".join(out), n


# One token at a position. Each alternative begins with its own characters
# (white space, '"', '[', an atom character, a special), and the quoted and
# literal bodies are "unrolled loops" whose repeated part begins with a
# backslash that the part before it cannot match, so no input backtracks.
# Comments nest, which no regex can follow: "(" goes to _scan_delimited.
_TOKEN = re.compile(
    r'(?P<ws>[ \t\r\n]+)'
    r'|"(?P<quoted>[^"\\]*(?:\\[\s\S][^"\\]*)*\\?)"?'
    r'|\[(?P<literal>[^\]\\]*(?:\\[\s\S][^\]\\]*)*\\?)\]?'
    r'|(?P<atom>[^<>:;@,.\[\] \t\r\n"()]+)'
    r'|(?P<special>[<>:;@,.\])])'
)
_QUOTED_PAIR = re.compile(r"\\([\s\S])")


def _unquote(inner: str) -> str:
    return _QUOTED_PAIR.sub(r"\1", inner) if "\\" in inner else inner


def _tokenize(s: str) -> list[_Token]:
    """The lexical tokens of RFC 5322 §3.2 (atoms in the lenient sense: any run
    of characters that are not specials, white space, quotes or parentheses).
    Unterminated quoted strings, literals and comments run to the end."""
    tokens: list[_Token] = []
    i = 0
    n = len(s)
    match = _TOKEN.match
    while i < n:
        found = match(s, i)
        if found is None:  # "(": a comment, possibly nested
            value, end = _scan_delimited(s, i + 1, ")", "(")
            tokens.append(_Token(_COMMENT, value, s[i:end]))
            i = end
            continue
        kind = found.lastgroup
        raw = found.group()
        i = found.end()
        if kind == "ws":
            tokens.append(_Token(_WS, " ", raw))
        elif kind == "atom":
            tokens.append(_Token(_ATOM, raw, raw))
        elif kind == "quoted":
            tokens.append(_Token(_QUOTED, _unquote(found.group("quoted")), raw))
        elif kind == "literal":
            tokens.append(_Token(_LITERAL, _unquote(found.group("literal")), raw))
        else:
            tokens.append(_Token(_SPECIAL, raw, raw))
    return tokens


def _phrase(tokens: list[_Token], *, words_in_quotes: bool = False) -> str | None:
    """A display-name: atoms may be encoded words, quoted-strings are not decoded
    (RFC 2047 §5) unless ``words_in_quotes`` (a leniency for list views: many
    mailers put encoded words between quotes), comments are dropped, white space
    unfolded and trimmed."""
    parts: list[tuple[str, str]] = []
    for tok in tokens:
        if tok.kind == _COMMENT:
            continue
        if tok.kind == _WS:
            parts.append((WS, " "))
        elif tok.kind == _ATOM:
            parts.append((WORD, tok.value))
        elif tok.kind == _QUOTED:
            quoted = tok.value.replace("\r\n", "").replace("\n", "")
            if words_in_quotes and "=?" in quoted:
                parts.extend((WS if piece[0] in " \t" else WORD, piece) for piece in SPLIT_WS.findall(quoted))
            else:
                parts.append((LITERAL, quoted))
        else:
            parts.append((LITERAL, tok.raw))
    text = unicodedata.normalize("NFC", decode_tokens(parts)).strip()
    return text or None


def _addr_spec(tokens: list[_Token]) -> str:
    """The addr-spec text with CFWS removed (and any obs-route dropped)."""
    for idx in range(len(tokens) - 1, -1, -1):
        if tokens[idx].kind == _SPECIAL and tokens[idx].value == ":":
            tokens = tokens[idx + 1 :]
            break
    return "".join(t.raw for t in tokens if t.kind not in (_WS, _COMMENT))


def _mailbox(buf: list[_Token], angle: list[_Token] | None, words_in_quotes: bool) -> dict[str, Any] | None:
    if angle is not None:
        return {"name": _phrase(buf, words_in_quotes=words_in_quotes), "email": _addr_spec(angle)}
    meaningful = [t for t in buf if t.kind not in (_WS, _COMMENT)]
    if not meaningful:
        return None
    name = None
    last = max(i for i, t in enumerate(buf) if t.kind not in (_WS, _COMMENT))
    for tok in buf[last + 1 :]:
        if tok.kind == _COMMENT:
            name = decode_text(tok.value).strip() or None
            break
    return {"name": name, "email": _addr_spec(buf)}


def parse_groups(value: str, *, words_in_quotes: bool = False) -> list[dict[str, Any]]:
    """GroupedAddresses form: consecutive ungrouped mailboxes share a group whose
    name is null (RFC 8621 §4.1.2.4). Linear in ``value``: one tokenizing pass,
    then one pass over the tokens."""
    groups: list[dict[str, Any]] = []
    loose: list[dict[str, Any]] = []
    group_name: str | None = None
    group: list[dict[str, Any]] | None = None
    buf: list[_Token] = []
    angle: list[_Token] | None = None
    in_angle = False

    def finish() -> None:
        nonlocal buf, angle
        box = _mailbox(buf, angle, words_in_quotes)
        if box is not None:
            (group if group is not None else loose).append(box)
        buf, angle = [], None

    def flush_loose() -> None:
        if loose:
            groups.append({"name": None, "addresses": list(loose)})
            loose.clear()

    for tok in _tokenize(value):
        if in_angle:
            if tok.kind == _SPECIAL and tok.value == ">":
                in_angle = False
            elif angle is not None:
                angle.append(tok)
            continue
        if tok.kind != _SPECIAL:
            if angle is None or tok.kind == _COMMENT:
                buf.append(tok)
        elif tok.value == "<" and angle is None:
            in_angle = True
            angle = []
        elif tok.value == ",":
            finish()
        elif tok.value == ":" and group is None and angle is None:
            flush_loose()
            group_name = _phrase(buf, words_in_quotes=words_in_quotes)
            group = []
            buf = []
        elif tok.value == ";" and group is not None:
            finish()
            groups.append({"name": group_name, "addresses": group})
            group, group_name = None, None
        elif tok.value in "<>" or angle is not None:
            continue
        else:
            buf.append(tok)
    finish()
    if group is not None:
        groups.append({"name": group_name, "addresses": group})
    flush_loose()
    return groups


def parse_addresses(value: str, *, words_in_quotes: bool = False) -> list[dict[str, Any]]:
    """Addresses form: every mailbox in the list, group information discarded
    (RFC 8621 §4.1.2.3)."""
    return [box for group in parse_groups(value, words_in_quotes=words_in_quotes) for box in group["addresses"]]


# --- formatting (Email/set create, RFC 8621 §4.6) ---------------------------

_ATEXT_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+")
_FORBIDDEN_IN_EMAIL = frozenset("<>\r\n\x00")


class AddressError(ValueError):
    """A JMAP EmailAddress/EmailAddressGroup value that cannot be written."""


def format_phrase(name: str) -> str:
    """A display-name as atoms, a quoted-string or RFC 2047 encoded words."""
    if needs_encoding(name):
        return " ".join(encode_words(name))
    if _ATEXT_PHRASE.fullmatch(name) and name.strip() == name and "  " not in name:
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_address(address: Any) -> str:
    if not isinstance(address, dict):
        raise AddressError("EmailAddress must be an object")
    email = address.get("email")
    name = address.get("name")
    if not isinstance(email, str) or any(ch in _FORBIDDEN_IN_EMAIL for ch in email):
        raise AddressError("EmailAddress email must be a string without <, >, CR, LF")
    if name is not None and not isinstance(name, str):
        raise AddressError("EmailAddress name must be a string or null")
    if name:
        return f"{format_phrase(name)} <{email}>"
    if not email or any(ch in email for ch in " \t,;:()"):
        return f"<{email}>"
    return email


def format_address_list(addresses: Any) -> str:
    if not isinstance(addresses, list):
        raise AddressError("Addresses value must be a list")
    return ", ".join(format_address(a) for a in addresses)


def format_groups(groups: Any) -> str:
    if not isinstance(groups, list):
        raise AddressError("GroupedAddresses value must be a list")
    out: list[str] = []
    for group in groups:
        if not isinstance(group, dict):
            raise AddressError("EmailAddressGroup must be an object")
        name = group.get("name")
        members = format_address_list(group.get("addresses"))
        if name is None:
            if members:
                out.append(members)
        elif isinstance(name, str):
            out.append(f"{format_phrase(name)}: {members};")
        else:
            raise AddressError("EmailAddressGroup name must be a string or null")
    return ", ".join(out)
