"""Timestamps of a sync's steps, for bench/first_sync_timeline.py.

Only when the environment variable JMAP_SYNC_TRACE names a file (read once,
at import: the forked fetch processes inherit it): each `sync_trace(event)`
appends one line "<time.monotonic()> <pid> <event>" to it. CLOCK_MONOTONIC is
one clock for every process of the machine, so the lines of the worker and
of its fetch children can be merged into one timeline. Without the variable
`sync_trace` is a test of one module global: nothing is opened or formatted.

The file is opened with O_APPEND per write, and each line is written by one
write() shorter than PIPE_BUF, so lines of concurrent processes do not mix.
Events carry names and counts only, never message data or credentials.
With tracing on, garbage collections of GC_TRACE_MS or more are traced too.
"""
from __future__ import annotations

import gc
import os
import time
from typing import Any

TRACE_PATH = os.environ.get("JMAP_SYNC_TRACE", "")
# Garbage collections at least this long are traced too ("gc <generation> <ms>"):
# a full one holds the GIL, so every thread of the process stands still.
GC_TRACE_MS = 5.0


def sync_trace(event: str) -> None:
    """Record `event` (a short name without newlines) when tracing is on."""
    if not TRACE_PATH:
        return
    line = f"{time.monotonic():.6f} {os.getpid()} {event}\n".encode()[:512]
    descriptor = os.open(TRACE_PATH, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)


_gc_started = [0.0]


def _gc_observe(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _gc_started[0] = time.monotonic()
        return
    elapsed = (time.monotonic() - _gc_started[0]) * 1000
    if elapsed >= GC_TRACE_MS:
        sync_trace(f"gc {info.get('generation')} {elapsed:.0f}")


if TRACE_PATH:
    gc.callbacks.append(_gc_observe)
