"""Real processes and a real supervisor state file for the health and metrics
tests (the file is what jmapsite.supervisor writes while it runs)."""
from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings


def sleeper() -> subprocess.Popen[bytes]:
    """A live child process standing in for web, worker or beat."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@contextmanager
def supervisor_state(*, pid: int, started: float, children: dict[str, int]) -> Iterator[Path]:
    """Write $JMAP_DATADIR/run/supervisor.json for the duration of the block."""
    path = Path(settings.DATADIR) / "run" / "supervisor.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": pid, "started": started, "children": children}))
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


@contextmanager
def children(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes = [sleeper() for _ in range(count)]
    try:
        yield processes
    finally:
        for process in processes:
            process.kill()
            process.wait()
