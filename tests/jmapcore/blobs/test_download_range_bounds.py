"""Range headers with absurd positions are ignored, not a 500 (issue 8: HTTP
arguments reach no regex or int() unbounded)."""
from __future__ import annotations

from jmapcore.blob_views import _byte_range


def test_overlong_positions_are_ignored() -> None:
    # int() of a 5,000-digit number raises ValueError (Python's 4,300-digit limit).
    assert _byte_range("bytes=" + "9" * 5000 + "-", 100) is None
    assert _byte_range("bytes=-" + "9" * 5000, 100) is None
    assert _byte_range("bytes=0-" + "1" * 19, 100) is None


def test_ordinary_ranges_still_work() -> None:
    assert _byte_range("bytes=10-19", 100) == (10, 19)
    assert _byte_range("bytes=-5", 100) == (95, 99)
    assert _byte_range("bytes=" + "9" * 18 + "-", 100) == "unsatisfiable"
    assert _byte_range("bytes=\u0661-\u0662", 100) is None  # Arabic-Indic digits are not HTTP digits
