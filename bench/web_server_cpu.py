"""The web process's own cost per JMAP request: jmapsite.web_server beside stock uvicorn and, given a checkout, daphne.

Usage: .venv/bin/python bench/web_server_cpu.py [--messages 300] [--requests 400]
           [--daphne-checkout DIR --daphne-path DIR]

bench/passthrough.py puts the proxy's added latency over Cyrus near its 5 ms
target, and the proxy's CPU per forwarded request is most of it; about half
of that CPU was spent outside Django, in the ASGI server. This bench serves
the very same application under several servers, taking turns request by
request, and measures each server process's CPU:

- Upstream: a private Cyrus IMAP 3.6 seeded with --messages messages
  (bench/_passthrough_upstream.py), a passthrough account added through the
  management API of `manage.py runproxy` as the README starts it
  (bench/passthrough.py's helpers), which then keeps running for the data
  directory and the worker.
- Servers: beside it, one web process per server on a port of its own, same
  environment and data directory, serving jmapsite.asgi:application:
  - `web_server`: `python -m jmapsite.web_server` (what runproxy runs:
    uvicorn with httptools and the proxy's head limits);
  - `uvicorn`: stock `python -m uvicorn --http httptools --loop asyncio`,
    the cost of those additions being the difference;
  - `daphne`, with --daphne-checkout (a checkout of a commit that still has
    jmapsite/daphne_server.py, the web process up to 1b950fc, e.g. `git
    worktree add /tmp/old 1b950fc`) and --daphne-path (where daphne 4.2.3
    and Twisted are installed: `pip install --target DIR daphne==4.2.3`):
    `python -m jmapsite.daphne_server` run in that checkout.
- Requests: Core/echo (the floor of any request) and the list view of
  bench/passthrough.py (Email/query + Email/get by back-reference, forwarded to
  Cyrus), --requests of each per server, the servers taking turns request by
  request, one keep-alive quick-ACK client each (bench/_passthrough_jmap.py).

Prints per server and request kind the median and minimum wall time and the
server process's CPU per request (user + system from /proc, over all its
requests of that kind), and the load average before and after.
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for _path in (str(BENCH), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import passthrough as passthrough_bench  # noqa: E402
from _passthrough_jmap import JmapEndpoint  # noqa: E402
from _proxy import free_port, proxy_env, wait_ready  # noqa: E402
from passthrough import process_cpu_seconds as cpu_seconds  # noqa: E402

ECHO = {"using": ["urn:ietf:params:jmap:core"], "methodCalls": [["Core/echo", {"hello": "bench"}, "e"]]}
WARMUP = 20
READY_WAIT = 60.0


@dataclass
class Served:
    """One web process under test and what it measured."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    endpoint: JmapEndpoint | None = None
    times: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)


def server_argv(name: str, port: int) -> list[str]:
    if name == "web_server":
        return [sys.executable, "-m", "jmapsite.web_server", "--bind", f"127.0.0.1:{port}", "jmapsite.asgi:application"]
    if name == "daphne":
        return [sys.executable, "-m", "jmapsite.daphne_server", "--verbosity", "0", "-b", "127.0.0.1",
                "-p", str(port), "jmapsite.asgi:application"]  # fmt: skip
    return [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--http", "httptools",
            "--loop", "asyncio", "--lifespan", "off", "--no-access-log", "--log-level", "warning",
            "jmapsite.asgi:application"]  # fmt: skip


def daphne_runnable(checkout: str, path: str) -> bool:
    """Whether `checkout` has the daphne web process and daphne imports from `path`."""
    if not (Path(checkout) / "jmapsite" / "daphne_server.py").is_file():
        return False
    env = dict(os.environ, PYTHONPATH=path)
    done = subprocess.run([sys.executable, "-c", "import daphne, twisted"], env=env, capture_output=True)
    return done.returncode == 0


def endpoint_ready(served: Served, *, login: str, password: str) -> JmapEndpoint:
    deadline = time.monotonic() + READY_WAIT
    while True:
        if served.process.poll() is not None:
            raise RuntimeError(f"{served.name} exited with {served.process.returncode}")
        endpoint = JmapEndpoint(served.name, f"http://127.0.0.1:{served.port}/.well-known/jmap", login, password,
                                quick_ack=True)  # fmt: skip
        try:
            endpoint.session_load()
            endpoint.account_id = passthrough_bench.ACCOUNT_ID
            endpoint.inbox_find()
            return endpoint
        except (httpx.HTTPError, passthrough_bench.JmapFailure):
            endpoint.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def one_request(endpoint: JmapEndpoint, kind: str, body: dict[str, Any]) -> float:
    start = time.perf_counter()
    if kind == "echo":
        answer = endpoint.http.post(endpoint.api_url, json=ECHO)
        answer.raise_for_status()
        answer.json()
    else:
        endpoint.list_view(body)
    return time.perf_counter() - start


def measure(servers: list[Served], *, requests: int) -> None:
    for kind in ("echo", "list view"):
        bodies = {}
        for served in servers:
            assert served.endpoint is not None
            bodies[served.name] = served.endpoint.list_view_request()
            for _ in range(WARMUP):
                one_request(served.endpoint, kind, bodies[served.name])
        started = {served.name: cpu_seconds(served.process.pid) for served in servers}
        for served in servers:
            served.times[kind] = []
        for _ in range(requests):
            for served in servers:
                assert served.endpoint is not None
                served.times[kind].append(one_request(served.endpoint, kind, bodies[served.name]))
        for served in servers:
            served.cpu[kind] = (cpu_seconds(served.process.pid) - started[served.name]) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=300, help="messages seeded into the Cyrus INBOX")
    parser.add_argument("--requests", type=int, default=400, help="requests of each kind per server")
    parser.add_argument("--daphne-checkout", default="",
                        help="a checkout with jmapsite/daphne_server.py (up to 1b950fc)")  # fmt: skip
    parser.add_argument("--daphne-path", default="", help="a directory daphne and Twisted are installed in")
    opts = parser.parse_args()
    print(f"command: cd {ROOT} && {shlex.join([sys.executable, *sys.argv])}")
    print(f"machine: {passthrough_bench.machine()}; load average {passthrough_bench.load_average()}")
    print(f"code: {passthrough_bench.code_version()}", flush=True)
    names = ["web_server", "uvicorn"]
    if opts.daphne_checkout:
        if daphne_runnable(opts.daphne_checkout, opts.daphne_path):
            names.append("daphne")
        else:
            print("daphne: not measured: the checkout has no jmapsite/daphne_server.py, or daphne and Twisted "
                  "cannot be imported from --daphne-path", flush=True)  # fmt: skip
    upstream = passthrough_bench.seeded_cyrus(messages=opts.messages)
    datadir = Path(tempfile.mkdtemp(prefix="jmap-bench-web-server-"))
    proxy = passthrough_bench.proxy_start(datadir)
    servers: list[Served] = []
    try:
        wait_ready(proxy)
        print(f"passthrough account: {passthrough_bench.passthrough_add(proxy, upstream)}", flush=True)
        passthrough_bench.proxied_endpoint(proxy, upstream).close()  # the Session offers mail now
        for name in names:
            port = free_port()
            env = proxy_env(datadir, port, proxy.mgmt_port)
            cwd = ROOT
            if name == "daphne":
                # The old checkout's modules first, then its daphne; the venv's packages after.
                env["PYTHONPATH"] = os.pathsep.join([opts.daphne_checkout, opts.daphne_path])
                cwd = Path(opts.daphne_checkout)
            process = subprocess.Popen(server_argv(name, port), cwd=cwd, env=env)
            servers.append(Served(name=name, process=process, port=port))
        for served in servers:
            served.endpoint = endpoint_ready(served, login=passthrough_bench.PROXY_LOGIN,
                                             password=upstream.user.password)  # fmt: skip
        print(f"{opts.requests} requests of each kind per server, the servers taking turns; "
              f"load average {passthrough_bench.load_average()}", flush=True)  # fmt: skip
        measure(servers, requests=opts.requests)
        for kind in ("echo", "list view"):
            for served in servers:
                times = served.times[kind]
                print(f"    {kind:9} {served.name:10} median {statistics.median(times) * 1000:6.2f} ms, "
                      f"min {min(times) * 1000:6.2f} ms, server CPU per request "
                      f"{served.cpu[kind] * 1000:5.2f} ms", flush=True)  # fmt: skip
        print(f"load average after {passthrough_bench.load_average()}", flush=True)
    finally:
        for served in servers:
            if served.endpoint is not None:
                served.endpoint.close()
            served.process.terminate()
            served.process.wait(timeout=30)
        proxy.stop()
        upstream.stop()
        shutil.rmtree(datadir, ignore_errors=True)


if __name__ == "__main__":
    main()
