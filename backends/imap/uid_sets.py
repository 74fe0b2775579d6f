"""UID sets sent by the server (RFC 3501 §9 `sequence-set`), read without amplification.

A few bytes from a hostile or broken server, `1:4294967295`, name four billion
UIDs; expanding them blindly exhausts memory (issue 8). Every set the server
sends — VANISHED (RFC 7162 §3.2.10), ESEARCH ALL (RFC 4731 §3.1), COPYUID and
APPENDUID (RFC 4315 §3) — goes through here:

- `uid_ranges_parse` reads the text in one pass (str.split, no regular
  expression) into sorted, merged ranges, clipped to `1..highest`: a UID the
  mailbox cannot have (at or above its UIDNEXT) is dropped, and overlapping
  or repeated ranges count once;
- `uid_ranges_count` counts without expanding;
- `uid_ranges_expand` materialises at most `limit` numbers and raises
  UidSetTooLarge beyond it, so callers choose the bound (the mailbox's
  EXISTS for a search result, UIDNEXT - 1 for VANISHED, the number of UIDs
  asked for COPYUID) and MAX_EXPANDED_UIDS caps it when the server lies
  about those too.

Malformed members (not a number, zero, more than 10 digits, beyond 2^32 - 1)
are skipped: the rest of the set still counts.
"""
from __future__ import annotations

MAX_UID = 2**32 - 1  # uniqueid and nz-number are 32-bit (RFC 3501 §9, §2.3.1.1)
# Ceiling on numbers expanded from one set whatever the server claims: ten
# times the bench's 100,000-message folder, about 70 MB of Python ints.
MAX_EXPANDED_UIDS = 2_000_000
_MAX_DIGITS = len(str(MAX_UID))

UidRange = tuple[int, int]


class UidSetTooLarge(ValueError):
    """The set names more UIDs than the caller's bound allows."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"the server sent a set of {count} UIDs, more than the {limit} that can exist here")
        self.count = count
        self.limit = limit


def _number(text: str, star: int) -> int | None:
    if text == "*":
        return star
    if not text or len(text) > _MAX_DIGITS or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if 0 < value <= MAX_UID else None


def uid_ranges_parse(text: str | bytes, *, highest: int = MAX_UID) -> list[UidRange]:
    """The ranges of `text` ("1:3,7,9:*"), sorted, merged and clipped to 1..`highest`.

    `*` stands for `highest` (RFC 3501 §9: the largest UID in use). Linear in
    len(text) plus the sort of its ranges."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    highest = min(highest, MAX_UID)
    if highest < 1:
        return []
    ranges: list[UidRange] = []
    for member in text.strip().split(","):
        low_text, colon, high_text = member.strip().partition(":")
        low = _number(low_text, highest)
        high = _number(high_text, highest) if colon else low
        if low is None or high is None:
            continue
        if low > high:
            low, high = high, low
        if low > highest:
            continue
        ranges.append((low, min(high, highest)))
    ranges.sort()
    merged: list[UidRange] = []
    for low, high in ranges:
        if merged and low <= merged[-1][1] + 1:
            if high > merged[-1][1]:
                merged[-1] = (merged[-1][0], high)
        else:
            merged.append((low, high))
    return merged


def uid_ranges_count(ranges: list[UidRange]) -> int:
    return sum(high - low + 1 for low, high in ranges)


def uid_ranges_expand(ranges: list[UidRange], *, limit: int) -> list[int]:
    """The UIDs of `ranges` in ascending order; UidSetTooLarge when there are
    more than `limit` (or MAX_EXPANDED_UIDS)."""
    limit = min(limit, MAX_EXPANDED_UIDS)
    count = uid_ranges_count(ranges)
    if count > limit:
        raise UidSetTooLarge(count, limit)
    numbers: list[int] = []
    for low, high in ranges:
        numbers.extend(range(low, high + 1))
    return numbers


def uid_sequence_parse(text: str | bytes, *, limit: int) -> list[int]:
    """The UIDs of a set in the order the server listed them (COPYUID pairs
    its source and destination sets member by member, RFC 4315 §3), without
    merging; a descending range `9:7` lists 9, 8, 7. UidSetTooLarge beyond
    `limit` numbers; ValueError on a malformed member (the pairing would be off)."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    limit = min(limit, MAX_EXPANDED_UIDS)
    members: list[UidRange] = []
    count = 0
    for member in text.strip().split(","):
        low_text, colon, high_text = member.strip().partition(":")
        low = _number(low_text, 0)
        high = _number(high_text, 0) if colon else low
        if not low or not high:
            raise ValueError(f"not a UID set member: {member[:40]!r}")
        members.append((low, high))
        count += abs(high - low) + 1
        if count > limit:
            raise UidSetTooLarge(count, limit)
    numbers: list[int] = []
    for low, high in members:
        numbers.extend(range(low, high + 1) if low <= high else range(low, high - 1, -1))
    return numbers
