"""The whole proxy as a user runs it: `manage.py runproxy` in a private data
directory on free ports, with the embedded defaults (SQLite, filesystem queue)."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.servers.dovecot import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ProxyProcess:
    process: subprocess.Popen[bytes]
    jmap_port: int
    mgmt_port: int
    datadir: Path
    log: Path

    @property
    def jmap_url(self) -> str:
        return f"http://127.0.0.1:{self.jmap_port}"

    @property
    def mgmt_url(self) -> str:
        return f"http://127.0.0.1:{self.mgmt_port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"runproxy exited with {self.process.returncode}:\n{self.log_text()[-4000:]}")
            try:
                if httpx.get(self.mgmt_url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"runproxy not ready after {timeout}s:\n{self.log_text()[-4000:]}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


def proxy_start(datadir: Path, *, extra_env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> ProxyProcess:
    jmap_port, mgmt_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JMAP_", "DJANGO_"))}
    env.update(
        JMAP_DATADIR=str(datadir),
        JMAP_PORT=str(jmap_port),
        JMAP_MGMT_PORT=str(mgmt_port),
        BASEURL=f"http://127.0.0.1:{jmap_port}",
        **(extra_env or {}),
    )
    log = datadir / "proxy.log"
    datadir.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runproxy", *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return ProxyProcess(process=process, jmap_port=jmap_port, mgmt_port=mgmt_port, datadir=datadir, log=log)


@contextlib.contextmanager
def proxy_running(
    datadir: Path, *, extra_env: dict[str, str] | None = None, args: tuple[str, ...] = ()
) -> Iterator[ProxyProcess]:
    """A proxy started as the README starts it, ready on both ports; stopped on exit."""
    proxy = proxy_start(datadir, extra_env=extra_env, args=args)
    try:
        proxy.wait_ready()
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture(scope="module")
def running_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    with proxy_running(tmp_path_factory.mktemp("proxy-data")) as proxy:
        yield proxy
