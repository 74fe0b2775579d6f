"""jmapsite.web_server started as the web process runs it (`python -m jmapsite.web_server`),
serving one of the test applications here, for the tests of the server (tests/jmapsite/test_web_server.py,
test_upload_body_pipe.py)."""
from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator

import httpx

from tests.servers.dovecot import free_port
from tests.servers.proxy import ROOT


@contextlib.contextmanager
def web_server_run(*, application: str, probe_path: str, options: tuple[str, ...] = ()) -> Iterator[int]:
    """The port of a web_server on 127.0.0.1 serving `application` ("module:attribute"), run with `options`.

    Yields once `probe_path` answers (at most ~30 s of tries; a server that exits first raises
    RuntimeError with its stderr); the server is stopped and waited for afterwards.
    """
    port = free_port()
    # Its log goes to a file: a pipe nobody reads would stop a server that logs much.
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-m", "jmapsite.web_server", "--bind", f"127.0.0.1:{port}", *options, application],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    try:
        for _attempt in range(300):
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(log.read().decode(errors="replace") or "web_server exited")
            try:
                httpx.get(f"http://127.0.0.1:{port}{probe_path}", timeout=1)
                break
            except httpx.HTTPError:
                threading.Event().wait(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
