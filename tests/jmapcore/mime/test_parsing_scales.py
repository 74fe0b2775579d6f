"""Every header and MIME parser stays linear on every hostile shape (issue 8).

Each (parser, shape) runs in a fresh interpreter at size n and then 16 n,
under a hard timeout far above what a linear parser needs (well under a
second at 16 n here). A parser that backtracks or grows quadratically takes
minutes or never finishes at 16 n, so it fails by the timeout; nothing here
measures or asserts a duration. The child prints what it parsed, and the
test checks it produced an answer of the expected type at both sizes.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile_mail import BASE_SIZE, PARSERS, shape_names

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT_SECONDS = 30

_CHILD = """
import sys
from tests.hostile_mail import PARSERS, parser_run, shape_make
parser, shape, base = sys.argv[1], sys.argv[2], int(sys.argv[3])
for size in (base, 16 * base):
    result = parser_run(parser, shape_make(PARSERS[parser], shape, size))
    print(size, type(result).__name__, flush=True)
"""

CASES = [(parser, shape) for parser, kind in PARSERS.items() for shape in shape_names(kind)]


@pytest.mark.parametrize(("parser", "shape"), CASES, ids=[f"{parser}-{shape}" for parser, shape in CASES])
def test_parser_is_linear_on_shape(parser: str, shape: str) -> None:
    base = BASE_SIZE[PARSERS[parser]]
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD, parser, shape, str(base)], cwd=ROOT,
                              capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"{parser} did not finish shape {shape} at sizes {base} and {16 * base} within "
                    f"{TIMEOUT_SECONDS} s (superlinear); finished: {expired.stdout!r}")
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.split()
    assert lines[0::2] == [str(base), str(16 * base)], done.stdout
    assert all(kind in ("list", "str", "NoneType", "tuple", "datetime", "ParsedHeaders") for kind in lines[1::2])
