"""Email keywords (RFC 8621 §4.1.1) and their IMAP flag spelling (RFC 3501 §2.3.2)."""
from __future__ import annotations

from typing import Any

from jmapcore.datatypes.values import InvalidValue

# JMAP keyword -> IMAP system flag; other keywords are IMAP keywords as they are.
SYSTEM_FLAGS = {
    "$seen": "\\Seen",
    "$flagged": "\\Flagged",
    "$answered": "\\Answered",
    "$draft": "\\Draft",
}
# Characters an IMAP atom may not hold (RFC 3501 "atom-specials", plus "]").
_FORBIDDEN = set('(){ %*"\\]')


def keyword_valid(value: object) -> bool:
    """1-255 printable ASCII characters, none of the IMAP atom-specials."""
    if not isinstance(value, str) or not 1 <= len(value) <= 255:
        return False
    return all(0x21 <= ord(char) <= 0x7E and char not in _FORBIDDEN for char in value)


def keyword_read(value: object) -> str:
    """A keyword from a filter or comparator, lowercased (keywords are case-insensitive)."""
    if not keyword_valid(value):
        raise InvalidValue("must be a keyword (RFC 8621 §4.1.1)")
    assert isinstance(value, str)
    return value.lower()


def keywords_validate(value: Any) -> dict[str, bool]:
    """The `keywords` property: {keyword: true}, stored lowercased."""
    if not isinstance(value, dict):
        raise InvalidValue("must be a map of keywords to true")
    result: dict[str, bool] = {}
    for key, flag in value.items():
        if flag is not True or not keyword_valid(key):
            raise InvalidValue(f"{key!r} is not a keyword set to true")
        result[key.lower()] = True
    return result


def keyword_to_flag(keyword: str) -> str:
    return SYSTEM_FLAGS.get(keyword, keyword)
