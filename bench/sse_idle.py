"""1,000 idle EventSource connections on one web process (issue 4, item 8).

Starts the embedded proxy (`manage.py runproxy`, SQLite, private data
directory, 127.0.0.1 only), adds one login with a bearer token through the
management API, and per round:

1. measures Core/echo latency (sequential requests, one keep-alive client)
   and the web process's RSS with no stream open;
2. opens N EventSource streams (RFC 8620 §7.3, `types=*&closeafter=no&ping=0`)
   from one asyncio loop, each waiting for the server's opening comment, and
   checks jmap_sse_connections_active == N;
3. after a short settle, RSS again and Core/echo latency while they are open;
4. closes every stream and waits until the gauge is back to 0.

Prints the figures of each round and their median (3 rounds by default).
Memory per connection is (RSS with N open - RSS before) / N of the web
process. Everything started is stopped, also on failure; every wait is bounded.

    .venv/bin/python bench/sse_idle.py [--connections 1000] [--rounds 3] [--echo 300]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _proxy import RunningProxy, process_tree_rss_kib, start_proxy, wait_ready

OPEN_TIMEOUT = 120.0
CLOSE_TIMEOUT = 60.0


def fd_limit_raise(wanted: int) -> int:
    """Raise RLIMIT_NOFILE (inherited by the proxy) to at least `wanted` if the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def web_pid(proxy: RunningProxy) -> int:
    for pid, (cmd, _) in process_tree_rss_kib(proxy.process.pid).items():
        if "jmapsite.web_server" in cmd:
            return pid
    raise RuntimeError("no web process (jmapsite.web_server) under the proxy")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def metric(proxy: RunningProxy, name: str) -> float:
    text = httpx.get(proxy.mgmt_url + "/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise RuntimeError(f"{name} not exposed")


def echo_latencies(proxy: RunningProxy, token: str, count: int) -> list[float]:
    body = {"using": ["urn:ietf:params:jmap:core"], "methodCalls": [["Core/echo", {"hello": "world"}, "0"]]}
    out: list[float] = []
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
        client.post(proxy.jmap_url + "/jmap/", json=body)  # warm the connection
        for _ in range(count):
            start = time.perf_counter()
            response = client.post(proxy.jmap_url + "/jmap/", json=body)
            out.append(time.perf_counter() - start)
            if response.status_code != 200:
                raise RuntimeError(f"Core/echo answered {response.status_code}: {response.text[:200]}")
    return out


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


class Streams:
    """N idle EventSource connections held by one asyncio loop in a thread."""

    def __init__(self, *, port: int, token: str, count: int) -> None:
        self.port, self.token, self.count = port, token, count
        self.loop = asyncio.new_event_loop()
        self.writers: list[asyncio.StreamWriter] = []
        self.opened = 0
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _open_one(self, gate: asyncio.Semaphore) -> None:
        async with gate:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.write(
                    (
                        "GET /eventsource/?types=*&closeafter=no&ping=0 HTTP/1.1\r\n"
                        f"Host: 127.0.0.1:{self.port}\r\nAuthorization: Bearer {self.token}\r\n"
                        "Accept: text/event-stream\r\n\r\n"
                    ).encode()
                )
                await writer.drain()
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=60)
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
                # The opening comment (": ...") says the subscription is in place.
                await asyncio.wait_for(reader.readuntil(b"\n\n"), timeout=60)
                self.writers.append(writer)
                self.opened += 1
            except Exception as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")

    async def _open_all(self) -> None:
        gate = asyncio.Semaphore(50)  # no SYN flood: at most 50 handshakes at a time
        await asyncio.gather(*(self._open_one(gate) for _ in range(self.count)))

    async def _close_all(self) -> None:
        for writer in self.writers:
            writer.close()
        await asyncio.gather(*(w.wait_closed() for w in self.writers), return_exceptions=True)
        self.writers.clear()

    def open(self) -> float:
        self.thread.start()
        start = time.monotonic()
        asyncio.run_coroutine_threadsafe(self._open_all(), self.loop).result(timeout=OPEN_TIMEOUT)
        if self.errors:
            raise RuntimeError(f"{len(self.errors)} streams failed to open, e.g. {self.errors[0]}")
        return time.monotonic() - start

    def close(self) -> None:
        if self.thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(self._close_all(), self.loop).result(timeout=CLOSE_TIMEOUT)
            finally:
                self.loop.call_soon_threadsafe(self.loop.stop)
                self.thread.join(timeout=10)
        self.loop.close()


def wait_gauge(proxy: RunningProxy, value: float, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while metric(proxy, "jmap_sse_connections_active") != value:
        if time.monotonic() > deadline:
            raise TimeoutError(f"jmap_sse_connections_active did not reach {value}")
        time.sleep(0.2)


def one_round(proxy: RunningProxy, token: str, *, connections: int, echo: int) -> dict[str, Any]:
    pid = web_pid(proxy)
    idle = echo_latencies(proxy, token, echo)
    time.sleep(1)
    rss_before = rss_kib(pid)
    streams = Streams(port=proxy.jmap_port, token=token, count=connections)
    try:
        open_s = streams.open()
        wait_gauge(proxy, connections, 30)
        time.sleep(3)
        rss_open = rss_kib(pid)
        loaded = echo_latencies(proxy, token, echo)
    finally:
        streams.close()
    wait_gauge(proxy, 0, CLOSE_TIMEOUT)
    return {
        "open_s": open_s,
        "rss_before_mib": rss_before / 1024,
        "rss_open_mib": rss_open / 1024,
        "kib_per_conn": (rss_open - rss_before) / connections,
        "echo_idle_median_ms": statistics.median(idle) * 1000,
        "echo_idle_p99_ms": p99(idle) * 1000,
        "echo_open_median_ms": statistics.median(loaded) * 1000,
        "echo_open_p99_ms": p99(loaded) * 1000,
    }


def person_with_token(proxy: RunningProxy) -> str:
    login = "sse-bench@example.test"
    body = {
        "accountid": "ssebench", "email": login, "type": "imap", "username": login, "password": "x",
        "imapHost": "127.0.0.1", "imapPort": 9, "imapSSL": 0, "check": False,
    }  # fmt: skip
    response = httpx.post(proxy.mgmt_url + "/api/accounts", json=body, timeout=30)
    if response.status_code != 201:
        raise RuntimeError(f"account create: {response.status_code} {response.text}")
    response = httpx.post(proxy.mgmt_url + "/api/accounts/ssebench/tokens", json={"name": "bench"}, timeout=30)
    if response.status_code != 201:
        raise RuntimeError(f"token issue: {response.status_code} {response.text}")
    return str(response.json()["token"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--echo", type=int, default=300, help="Core/echo requests per measurement")
    args = parser.parse_args()
    limit = fd_limit_raise(args.connections * 2 + 512)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, fd limit {limit}")
    print(f"command: .venv/bin/python bench/sse_idle.py --connections {args.connections} --rounds {args.rounds}")
    datadir = Path(tempfile.mkdtemp(prefix="jmap-bench-sse-"))
    proxy = start_proxy(datadir)
    rounds: list[dict[str, Any]] = []
    try:
        wait_ready(proxy)
        token = person_with_token(proxy)
        for index in range(args.rounds):
            result = one_round(proxy, token, connections=args.connections, echo=args.echo)
            rounds.append(result)
            print(
                f"round {index + 1}: opened {args.connections} in {result['open_s']:.1f} s; "
                f"RSS {result['rss_before_mib']:.1f} -> {result['rss_open_mib']:.1f} MiB "
                f"({result['kib_per_conn']:.1f} KiB/conn); Core/echo median/p99 "
                f"{result['echo_idle_median_ms']:.2f}/{result['echo_idle_p99_ms']:.2f} ms idle, "
                f"{result['echo_open_median_ms']:.2f}/{result['echo_open_p99_ms']:.2f} ms with the streams open",
                flush=True,
            )
    finally:
        proxy.stop()
        shutil.rmtree(datadir, ignore_errors=True)

    def med(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    print(f"median of {len(rounds)}:")
    # The first round grows a fresh process; the allocator keeps that memory
    # after the streams close, so later rounds reuse it and show less.
    print(f"  memory per idle EventSource connection: {rounds[0]['kib_per_conn']:.1f} KiB in a fresh process "
          f"(round 1), {med('kib_per_conn'):.1f} KiB median of rounds (web process RSS delta / N); "
          f"RSS after closing all: {rounds[-1]['rss_before_mib'] if len(rounds) > 1 else float('nan'):.1f} MiB")
    print(f"  Core/echo without streams: median {med('echo_idle_median_ms'):.2f} ms, "
          f"p99 {med('echo_idle_p99_ms'):.2f} ms")  # fmt: skip
    print(f"  Core/echo with {args.connections} open: median {med('echo_open_median_ms'):.2f} ms, "
          f"p99 {med('echo_open_p99_ms'):.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
