"""backends.imap.sync_trace: silent without JMAP_SYNC_TRACE, one line per
event with it (what bench/first_sync_timeline.py merges across processes)."""
from __future__ import annotations

import gc
import os
import time
from pathlib import Path

import pytest

from backends.imap import sync_trace


def test_without_the_variable_nothing_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sync_trace, "TRACE_PATH", "")
    monkeypatch.chdir(tmp_path)
    sync_trace.sync_trace("sync-start")
    assert list(tmp_path.iterdir()) == []


def test_each_event_is_one_line_on_the_monotonic_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "trace.log"
    monkeypatch.setattr(sync_trace, "TRACE_PATH", str(path))
    before = time.monotonic()
    sync_trace.sync_trace("writer-got")
    sync_trace.sync_trace("child-parsed 200")
    lines = path.read_text().splitlines()
    assert [line.split(" ", 2)[1:] for line in lines] == [[str(os.getpid()), "writer-got"],
                                                          [str(os.getpid()), "child-parsed 200"]]  # fmt: skip
    moments = [float(line.split(" ", 1)[0]) for line in lines]
    assert before <= moments[0] <= moments[1] <= time.monotonic()


def test_long_garbage_collections_are_traced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "trace.log"
    monkeypatch.setattr(sync_trace, "TRACE_PATH", str(path))
    monkeypatch.setattr(sync_trace, "GC_TRACE_MS", 0.0)  # every collection
    # The interpreter keeps its own reference to gc.callbacks: added to, not replaced.
    gc.callbacks.append(sync_trace._gc_observe)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(sync_trace._gc_observe)
    events = [line.split(" ", 2)[2] for line in path.read_text().splitlines()]
    assert any(event.startswith("gc 2 ") for event in events)
