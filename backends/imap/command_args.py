"""IMAP command arguments built from user data, safe by construction (RFC 3501 §4, §9).

An IMAP command is one line: a string sent as a quoted string must hold no CR
or LF, or the rest of it is read as a new command (`BODY "x\\r\\nZ1 DELETE
Trash"` would delete the Trash folder, whatever the account's rights in the
proxy, and leave the pooled connection out of step with its replies).

- `imap_string` turns text into an `astring`: a quoted string when every
  character may stand in one (RFC 3501 `TEXT-CHAR`: 7-bit, no CR, LF or
  NUL), otherwise a literal (`{n}` CRLF octets, or `{n+}` with LITERAL+,
  RFC 7888), which carries any octet but NUL. Text with NUL cannot be sent
  at all (RFC 3501 `CHAR8` is %x01-ff) and is refused.
- `imap_flag` checks a flag or keyword (RFC 3501 `flag`): an atom, or
  a backslash and an atom. Anything else is refused.
- `imap_search_uids` runs UID SEARCH with a search key and its string
  arguments, each sent with `imap_string`.

A refusal is `ArgumentRefused` (a permanent BackendError), raised before a
connection is borrowed. The callers check user input long before (RFC 8621
keyword syntax, filter values): this module is the last line, so that no
future caller can forget.

IMAPClient 4.1 sends an argument as a literal when it is an instance of its
`_literal` bytes class (imapclient.imapclient, `_raw_command`); that is the
one private name used here, with `_raw_command_untagged` which `search`
itself uses. requirements.txt pins the version.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from imapclient.imapclient import _literal  # private: see the module docstring
from imapclient.response_parser import parse_message_list

from backends.base import BackendError

KIND = "imap"
# Search keys (RFC 3501 §6.4.4) that take string arguments, and how many.
SEARCH_KEYS: dict[str, int] = {
    "BCC": 1,
    "BODY": 1,
    "CC": 1,
    "FROM": 1,
    "HEADER": 2,
    "SUBJECT": 1,
    "TEXT": 1,
    "TO": 1,
}
# RFC 3501 atom-specials plus "]" (resp-specials): not in a flag's atom.
_ATOM_SPECIALS = frozenset('(){ %*"\\]')


class ArgumentRefused(BackendError):
    """User data that no IMAP command can carry (NUL, a malformed flag)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True, kind=KIND)


def _quotable(raw: bytes) -> bool:
    # TEXT-CHAR: any CHAR (%x01-7F) except CR and LF.
    return all(0x01 <= octet <= 0x7F and octet not in (0x0A, 0x0D) for octet in raw)


def imap_string(text: str | bytes) -> bytes:
    """`text` as an IMAP astring: quoted when it can be, else a literal.

    str is sent as UTF-8 (the caller announces CHARSET UTF-8 when it is not
    ASCII). Raises ArgumentRefused for NUL, which no IMAP string can hold.
    """
    raw = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    if b"\x00" in raw:
        raise ArgumentRefused("text with a NUL character cannot be sent to an IMAP server")
    if _quotable(raw):
        return b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    return _literal(raw)


def flag_valid(flag: object) -> bool:
    """A flag (RFC 3501 `flag`, `flag-keyword`): an atom, or "\\" and an atom."""
    if not isinstance(flag, str):
        return False
    atom = flag[1:] if flag.startswith("\\") else flag
    return 1 <= len(atom) <= 255 and all(0x21 <= ord(char) <= 0x7E and char not in _ATOM_SPECIALS for char in atom)


def imap_flags(flags: Sequence[str]) -> list[str]:
    """`flags`, each checked with `flag_valid`; raises ArgumentRefused otherwise."""
    for flag in flags:
        if not flag_valid(flag):
            raise ArgumentRefused(f"{flag!r} is not an IMAP flag or keyword")
    return list(flags)


def search_arguments(criteria: Sequence[str]) -> tuple[list[bytes], bool]:
    """The arguments of UID SEARCH for one key and its strings, and whether
    CHARSET UTF-8 must precede them (RFC 3501 §6.4.4).

    `criteria[0]` is the search key (one of SEARCH_KEYS, never user text);
    the rest are its string arguments, as `imap_string` sends them.
    """
    if not criteria:
        raise ArgumentRefused("an empty search")
    key, *strings = criteria
    wanted = SEARCH_KEYS.get(key.upper()) if isinstance(key, str) else None
    if wanted is None or len(strings) != wanted:
        raise ArgumentRefused(f"{key!r} with {len(strings)} arguments is not a supported search key")
    arguments = [key.upper().encode("ascii"), *(imap_string(text) for text in strings)]
    return arguments, not all(text.isascii() for text in strings)


def imap_search_uids(client: Any, *, arguments: list[bytes], utf8: bool) -> list[int]:
    """UID SEARCH in the selected folder with prepared `search_arguments`."""
    prefix = [b"CHARSET", b"UTF-8"] if utf8 else []
    data = client._raw_command_untagged(b"SEARCH", prefix + arguments)
    return list(parse_message_list(data))
