"""One proxy per data directory: a lock held for the supervisor's lifetime.

``manage.py runproxy`` (the embedded all-in-one start) takes an exclusive
flock(2) on ``$JMAP_DATADIR/run/runproxy.lock``; a second start on the same
directory finds it taken and refuses with a message naming the running pid,
instead of running migrations under the first one, overwriting its state file
and fighting over its SQLite databases and queue.

The role processes of scale-out (``--web-only``, ``--worker-only``, ...) may share
one data directory, so they take the same lock *shared*: any number of them
coexist, but not with an all-in-one start.

The kernel drops the lock when the process dies, however it dies, so a stale
lock file never blocks a restart. Children do not inherit it (subprocess closes
inherited descriptors), so a leftover child cannot hold it either.
"""
from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

LOCK_NAME = "runproxy.lock"


class DatadirBusy(Exception):
    """Another proxy holds this data directory; the message says which and what to do."""


@dataclass
class RunLock:
    """A held lock; release() (or process exit) gives it up."""

    path: Path
    fd: int
    shared: bool

    def release(self) -> None:
        if self.fd >= 0:
            if not self.shared:
                os.ftruncate(self.fd, 0)  # no pid left behind for the next refusal message
            os.close(self.fd)  # closing drops the flock
            self.fd = -1


def run_lock_path(*, datadir: Path) -> Path:
    return Path(datadir) / "run" / LOCK_NAME


def run_lock_acquire(*, datadir: Path, shared: bool = False) -> RunLock:
    """Take the data directory's run lock without waiting; DatadirBusy if taken."""
    path = run_lock_path(datadir=datadir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise DatadirBusy(_busy_message(datadir=Path(datadir), holder=holder, shared=shared)) from None
    except BaseException:
        os.close(fd)
        raise
    if not shared:
        # Only the exclusive holder writes: it says who holds the directory.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return RunLock(path=path, fd=fd, shared=shared)


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    if not text.isdigit():
        return ""
    try:
        os.kill(int(text), 0)  # a pid left by a holder that crashed names nobody
    except ProcessLookupError:
        return ""
    except PermissionError:
        pass
    return text


def _busy_message(*, datadir: Path, holder: str, shared: bool) -> str:
    if shared:
        who = f"a jmap-proxy (pid {holder})" if holder else "a jmap-proxy"
        return (
            f"{who} is already running on JMAP_DATADIR={datadir} as one all-in-one start; "
            "role processes (--web-only, ...) cannot join it. Stop it first, or use another JMAP_DATADIR."
        )
    who = f"another jmap-proxy (pid {holder})" if holder else "other jmap-proxy processes (scale-out roles)"
    return (
        f"{who} is already running on JMAP_DATADIR={datadir}. "
        "Stop it first (Ctrl-C, or SIGTERM to its pid), or start this one with another JMAP_DATADIR."
    )
