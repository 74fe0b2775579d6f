"""Run a parser on one hostile shape at size n and 16 n in a fresh interpreter.

Used by the linear-time tests (issue 8): a parser linear in its input finishes
both sizes in well under a second here; one that is quadratic needs 256 times
longer for 16 n than for n, an exponential one never finishes. The child gets
a hard timeout far above what linear needs, so superlinear growth fails the
test by that timeout and nothing measures or asserts a duration.

`setup` is Python source run once in the child; it must define
`make(n) -> input` and `run(input) -> object`. The child prints one line per
size, `<n> <summary>`, where summary is what `run` returned passed through
`summary` (default: its type name and, for sized results, its length).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_SECONDS = 60.0

_CHILD = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
base = int(sys.argv[1])
def summary(result):
    try:
        return f"{type(result).__name__}:{len(result)}"
    except TypeError:
        return type(result).__name__
exec(sys.stdin.read())
for size in (base, 16 * base):
    print(size, summary(run(make(size))), flush=True)
"""


def sizes_run(setup: str, *, base: int, timeout: float = TIMEOUT_SECONDS, what: str = "parser") -> list[str]:
    """The summaries of `run(make(n))` for n = base and 16 base (see the module doc);
    fails the test when the child does not finish within `timeout` or crashes."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(base)], input=setup, cwd=ROOT, capture_output=True, text=True,
            timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired as expired:
        pytest.fail(
            f"{what} did not finish sizes {base} and {16 * base} within {timeout:g} s (superlinear); "
            f"finished: {expired.stdout!r}"
        )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == [str(base), str(16 * base)], done.stdout
    return [line.split(" ", 1)[1] for line in lines]
