"""jmapsite.daphne_server started as the web process runs it (`python -m jmapsite.daphne_server`),
serving one of the test applications here, for the tests of the server (tests/jmapsite/test_daphne_*)."""
from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from collections.abc import Iterator

import httpx

from tests.servers.dovecot import free_port
from tests.servers.proxy import ROOT


@contextlib.contextmanager
def daphne_server_run(*, application: str, probe_path: str) -> Iterator[int]:
    """The port of a daphne_server on 127.0.0.1 serving `application` ("module:attribute").

    Yields once `probe_path` answers (at most ~30 s of tries; a server that exits first raises
    RuntimeError with its stderr); the server is stopped and waited for afterwards.
    """
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "jmapsite.daphne_server", "-b", "127.0.0.1", "-p", str(port), application],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        for _attempt in range(300):
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode() if process.stderr else "daphne_server exited")
            try:
                httpx.get(f"http://127.0.0.1:{port}{probe_path}", timeout=1)
                break
            except httpx.HTTPError:
                threading.Event().wait(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
