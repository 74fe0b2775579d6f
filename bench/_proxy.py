"""Start and stop a real jmap-proxy (manage.py runproxy) for benchmarks."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.servers.dovecot import free_port  # noqa: E402
from tests.servers.proxy import ProxyProcess  # noqa: E402

# Benchmarks drive the same process record as the test suite's proxy fixture.
RunningProxy = ProxyProcess


def proxy_env(datadir: Path, jmap_port: int, mgmt_port: int, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        JMAP_DATADIR=str(datadir),
        JMAP_PORT=str(jmap_port),
        JMAP_MGMT_PORT=str(mgmt_port),
        BASEURL=f"http://127.0.0.1:{jmap_port}",
        DJANGO_SETTINGS_MODULE="jmapsite.settings",
        **extra,
    )
    return env


def start_proxy(datadir: Path, *, args: tuple[str, ...] = (), log: Path | None = None, **extra: str) -> RunningProxy:
    jmap_port, mgmt_port = free_port(), free_port()
    log_path = log or datadir / "proxy.log"
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runproxy", *args],
            cwd=ROOT,
            env=proxy_env(datadir, jmap_port, mgmt_port, **extra),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return RunningProxy(process=process, jmap_port=jmap_port, mgmt_port=mgmt_port, datadir=datadir, log=log_path)


def wait_ready(proxy: RunningProxy, *, timeout: float = 120.0) -> float:
    """Seconds until both ports answer: /healthz 200 and the JMAP well-known redirect."""
    start = time.monotonic()
    deadline = start + timeout
    while time.monotonic() < deadline:
        if proxy.process.poll() is not None:
            raise RuntimeError(f"proxy exited with {proxy.process.returncode}; see {proxy.datadir}/proxy.log")
        try:
            health = httpx.get(proxy.mgmt_url + "/healthz", timeout=1)
            known = httpx.get(proxy.jmap_url + "/.well-known/jmap", timeout=1)
            if health.status_code == 200 and known.status_code in (301, 302, 307, 308):
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError("proxy did not become ready")


def process_tree_rss_kib(pid: int) -> dict[int, tuple[str, int]]:
    """RSS of a process and all its descendants, from /proc: {pid: (name, KiB)}."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    result: dict[int, tuple[str, int]] = {}
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            cmdline = Path(f"/proc/{current}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        result[current] = (cmdline[:90], rss)
        todo.extend(children.get(current, []))
    return result
