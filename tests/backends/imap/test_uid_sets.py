"""UID sets from the server, bounded and linear (issue 8, backends/imap/uid_sets.py).

A hostile server's `1:4294967295` must not be expanded into four billion
numbers: sets are clipped below the mailbox's UIDNEXT, repeated ranges count
once, and nothing expands past the caller's bound (EXISTS, the UIDs copied).
"""
from __future__ import annotations

import pytest

from backends.base import BackendError
from backends.imap.sync_commands import sequence_set_parse
from backends.imap.uid_sets import (
    MAX_EXPANDED_UIDS,
    MAX_UID,
    UidSetTooLarge,
    uid_ranges_count,
    uid_ranges_expand,
    uid_ranges_parse,
    uid_sequence_parse,
)
from tests.linear_run import sizes_run


def test_ranges_are_sorted_merged_and_clipped() -> None:
    assert uid_ranges_parse("9:7,1:3,2,4,20") == [(1, 4), (7, 9), (20, 20)]
    assert uid_ranges_parse(b"1:4294967295", highest=5) == [(1, 5)]
    assert uid_ranges_parse("6:*,3", highest=10) == [(3, 3), (6, 10)]
    assert uid_ranges_parse("11:20", highest=10) == []
    assert uid_ranges_parse("1:3", highest=0) == []


def test_malformed_members_are_skipped() -> None:
    assert uid_ranges_parse("0,1,x,2:y,,3:,99999999999,4294967296,5 ,\u0661,7") == [(1, 1), (5, 5), (7, 7)]
    assert uid_ranges_parse("") == []
    assert uid_ranges_parse("1" * 5000) == []  # no int() of a 5,000-digit number


def test_repeated_huge_ranges_count_once() -> None:
    mallory = ",".join(["1:4294967295"] * 10_000)
    ranges = uid_ranges_parse(mallory, highest=1000)
    assert ranges == [(1, 1000)]
    assert uid_ranges_count(uid_ranges_parse(mallory)) == MAX_UID


def test_expansion_stops_at_the_bound() -> None:
    assert uid_ranges_expand([(1, 3), (7, 8)], limit=5) == [1, 2, 3, 7, 8]
    with pytest.raises(UidSetTooLarge):
        uid_ranges_expand([(1, 3), (7, 8)], limit=4)
    with pytest.raises(UidSetTooLarge):
        uid_ranges_expand([(1, MAX_UID)], limit=MAX_UID)  # MAX_EXPANDED_UIDS caps any bound
    assert MAX_EXPANDED_UIDS < MAX_UID


def test_sequence_set_parse_is_bounded() -> None:
    assert sequence_set_parse("1:3,5,9:8") == [1, 2, 3, 5, 8, 9]
    assert sequence_set_parse("1:4294967295", highest=4) == [1, 2, 3, 4]
    with pytest.raises(BackendError) as raised:  # a folder of 5 messages with UIDNEXT 11
        sequence_set_parse("1:4294967295", highest=10, limit=5)
    assert raised.value.permanent is False
    assert "more than" in raised.value.message


def test_copyuid_sets_keep_their_order_and_bound() -> None:
    assert uid_sequence_parse("9:7,1", limit=4) == [9, 8, 7, 1]
    with pytest.raises(UidSetTooLarge):
        uid_sequence_parse("1:4294967295", limit=3)
    with pytest.raises(ValueError):
        uid_sequence_parse("1,x", limit=3)


@pytest.mark.parametrize(
    ("shape", "make"),
    [
        ("many-members", "','.join(str(k) for k in range(1, n + 1))"),
        ("many-huge-ranges", "','.join(['1:4294967295'] * n)"),
        ("descending-ranges", "','.join(f'{k + 1}:{k}' for k in range(1, 2 * n, 2))"),
        ("garbage", "'x:' * n"),
    ],
)
def test_parsing_is_linear(shape: str, make: str) -> None:
    setup = (
        "from backends.imap.uid_sets import uid_ranges_parse, uid_ranges_expand\n"
        f"def make(n):\n    return {make}\n"
        "def run(text):\n    return uid_ranges_expand(uid_ranges_parse(text, highest=10 ** 6), limit=10 ** 6)\n"
    )
    summaries = sizes_run(setup, base=20_000, what=f"uid_ranges_parse on {shape}")
    assert all(summary.startswith("list:") for summary in summaries)
