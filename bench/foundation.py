"""Foundation figures: cold start, idle memory, Core/echo throughput.

Usage: .venv/bin/python bench/foundation.py [--runs 3] [--seconds 10]

Starts a real proxy (manage.py runproxy, embedded defaults: what `make run`
starts) in a temporary data directory on 127.0.0.1, measures, stops it.

Idle memory is read with one IMAP account on a private Dovecot (started as the
test suite does, tests/servers/dovecot.py), synced and watched by an
EventSource client (so the IMAP IDLE listener holds its connection): the sum
over the whole process tree of RSS, and of PSS from /proc/PID/smaps_rollup
(shared pages divided among the processes that share them: what the tree
really costs). Throughput uses wrk with 20
connections that stand for 20 clients: each request carries the Bearer token of
one of 20 logins in turn, because the proxy rightly refuses more than
maxConcurrentRequests (8, RFC 8620 §2) at once for one login. The baseline in
the same run is GET of the static landing page.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proxy import RunningProxy, process_tree_rss_kib, start_proxy, wait_ready

from tests.servers.dovecot import DovecotOptions, DovecotServer, dovecot_start

CLIENTS = 20

ECHO_BODY = {
    "using": ["urn:ietf:params:jmap:core"],
    "methodCalls": [["Core/echo", {"hello": "world", "n": [1, 2, 3]}, "c1"]],
}


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def echo_script(*, body: bytes, tokens: list[str]) -> str:
    """A wrk script: POST `body`, each request with the next login's Bearer token.

    wrk has no per-connection hook; rotating per request (each thread from its
    own offset) keeps about one request in flight per login.
    """
    names = ", ".join(lua_string(token) for token in tokens)
    return f"""
tokens = {{{names}}}
i = 0
local threads = 0
function setup(thread)
  thread:set("i", threads * {CLIENTS // 2})
  threads = threads + 1
end
function request()
  i = i % #tokens + 1
  return wrk.format("POST", nil, {{
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[i],
  }}, {lua_string(body.decode())})
end
"""


def wrk_rps(url: str, *, seconds: int, script: str | None = None) -> tuple[float, str]:
    """Requests/second reported by wrk (20 connections, 2 threads) and its latency line."""
    args = ["wrk", "-t2", f"-c{CLIENTS}", f"-d{seconds}s", "--latency"]
    script_file = None
    if script is not None:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script_file:
            script_file.write(script)
        args += ["-s", script_file.name]
    try:
        out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    finally:
        if script_file is not None:
            os.unlink(script_file.name)
    rps_line = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rps_line is None:
        raise RuntimeError(f"no Requests/sec in wrk's output:\n{out}")
    rps = float(rps_line.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{non2xx.group(1)} failed responses from {url}:\n{out}")
    latency = re.search(r"Latency\s+(\S+)", out)
    return rps, latency.group(1) if latency else "?"


def create_login(proxy: RunningProxy, *, n: int) -> str:
    """Login number `n`: an account (no backend check) and a bearer token through the management API."""
    accountid = f"bench{n}"
    created = httpx.post(
        proxy.mgmt_url + "/api/accounts",
        json={
            "accountid": accountid, "email": f"{accountid}@example.test", "type": "imap", "username": accountid,
            "password": "bench-password", "imapHost": "127.0.0.1", "imapPort": 1, "imapSSL": 0, "check": False,
        },
        timeout=30,
    )
    created.raise_for_status()
    token = httpx.post(f"{proxy.mgmt_url}/api/accounts/{accountid}/tokens", json={"name": "bench"}, timeout=30)
    token.raise_for_status()
    return str(token.json()["token"])


def pss_kib(pid: int) -> int:
    """Proportional set size of one process (KiB), 0 when it is gone."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")), 0)


def one_account(proxy: RunningProxy, dovecot: DovecotServer, *, messages: int = 20) -> tuple[str, str, str]:
    """alice on Dovecot with `messages` messages, added to the proxy and synced: (login, password, accountid)."""
    login = "alice@example.test"
    password = dovecot.user_add(login)
    for n in range(messages):
        dovecot.message_append(
            login, f"From: bob@example.test\r\nTo: {login}\r\nSubject: note {n}\r\n"
            f"Message-ID: <bench-{n}@example.test>\r\n\r\nHello {n}.\r\n"
        )  # fmt: skip
    created = httpx.post(
        proxy.mgmt_url + "/api/accounts",
        json={
            "accountid": "alice", "email": login, "type": "imap", "username": login, "password": password,
            "imapHost": dovecot.host, "imapPort": dovecot.imap_port, "imapSSL": 0, "check": False,
        },
        timeout=30,
    )  # fmt: skip
    created.raise_for_status()
    query = {
        "using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
        "methodCalls": [["Email/query", {"accountId": "alice", "calculateTotal": True}, "q"]],
    }
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        answer = httpx.post(proxy.jmap_url + "/jmap/", json=query, auth=(login, password), timeout=30).json()
        if answer["methodResponses"][0][1].get("total") == messages:
            return login, password, "alice"
        time.sleep(0.5)
    raise TimeoutError("the account did not sync")


def idle_memory_one_account(proxy: RunningProxy, dovecot: DovecotServer) -> None:
    """Print RSS and PSS of the whole process tree, one synced account with a push listener."""
    login, password, _ = one_account(proxy, dovecot)
    stop = threading.Event()

    def listen() -> None:
        url = proxy.jmap_url + "/eventsource/?types=*&closeafter=no&ping=30"
        try:
            with httpx.stream("GET", url, auth=(login, password), timeout=httpx.Timeout(10, read=90)) as stream:
                for _ in stream.iter_raw():
                    if stop.is_set():
                        return
        except httpx.HTTPError as exc:
            if not stop.is_set():  # the proxy stopping after the measurement ends the stream
                print(f"    (EventSource client: {exc!r})")

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    try:
        time.sleep(15)  # the IDLE watcher connects; every process settles
        tree = process_tree_rss_kib(proxy.process.pid)
        rss = sum(kib for _, kib in tree.values())
        pss = {pid: pss_kib(pid) for pid in tree}
        print(f"idle memory, one IMAP account (Dovecot) with an EventSource client, {len(tree)} processes: "
              f"RSS sum {rss / 1024:.1f} MiB, PSS sum {sum(pss.values()) / 1024:.1f} MiB")  # fmt: skip
        for pid, (cmd, kib) in sorted(tree.items()):
            print(f"    RSS {kib / 1024:6.1f} MiB  PSS {pss[pid] / 1024:6.1f} MiB  pid {pid}  {cmd}")
    finally:
        stop.set()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--no-throughput", action="store_true", help="start-up and memory only (no wrk)")
    opts = parser.parse_args()
    if not opts.no_throughput and not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk (or pass --no-throughput)")
    print(f"machine: {machine()}")
    datadir = Path(tempfile.mkdtemp(prefix="jmap-bench-"))
    try:
        first = start_proxy(datadir)
        first_start = wait_ready(first)
        first.stop()
        print(f"first start (migrations, static files, admin user): {first_start:.2f} s")

        cold: list[float] = []
        for _ in range(opts.runs):
            proxy = start_proxy(datadir)
            cold.append(wait_ready(proxy))
            proxy.stop()
        print(f"cold start to both ports answering: median {statistics.median(cold):.2f} s "
              f"(runs: {', '.join(f'{c:.2f}' for c in cold)})")

        dovecot = dovecot_start(DovecotOptions(tls=False))
        proxy = start_proxy(datadir)
        try:
            wait_ready(proxy)
            idle_memory_one_account(proxy, dovecot)
        finally:
            proxy.stop()
            dovecot.stop()
            shutil.rmtree(dovecot.directory, ignore_errors=True)

        if opts.no_throughput:
            return
        proxy = start_proxy(datadir)
        wait_ready(proxy)
        try:
            tokens = [create_login(proxy, n=n) for n in range(CLIENTS)]
            time.sleep(10)  # let every process settle before reading memory
            tree = process_tree_rss_kib(proxy.process.pid)
            total = sum(rss for _, rss in tree.values())
            pss_total = sum(pss_kib(pid) for pid in tree)
            print(f"idle memory after {CLIENTS} logins (no backend), whole process tree: "
                  f"RSS sum {total / 1024:.1f} MiB, PSS sum {pss_total / 1024:.1f} MiB")  # fmt: skip
            for pid, (cmd, rss) in sorted(tree.items()):
                print(f"    {rss / 1024:7.1f} MiB  pid {pid}  {cmd}")

            body = json.dumps(ECHO_BODY).encode()
            headers = {"Authorization": f"Bearer {tokens[0]}", "Content-Type": "application/json"}
            check = httpx.post(proxy.jmap_url + "/jmap/", content=body, headers=headers, timeout=10)
            check.raise_for_status()
            assert check.json()["methodResponses"][0][0] == "Core/echo", check.text
            script = echo_script(body=body, tokens=tokens)
            base, echo = [], []
            for _ in range(opts.runs):
                base.append(wrk_rps(proxy.jmap_url + "/", seconds=opts.seconds))
                echo.append(wrk_rps(proxy.jmap_url + "/jmap/", seconds=opts.seconds, script=script))
            print(f"baseline GET / (landing page), {CLIENTS} connections: median "
                  f"{statistics.median(r for r, _ in base):.0f} req/s (runs: {', '.join(f'{r:.0f}' for r, _ in base)})")
            print(f"Core/echo with Bearer auth, {CLIENTS} clients (one login each): median "
                  f"{statistics.median(r for r, _ in echo):.0f} req/s (runs: {', '.join(f'{r:.0f}' for r, _ in echo)}; "
                  f"avg latency {', '.join(lat for _, lat in echo)})")
        finally:
            proxy.stop()
    finally:
        shutil.rmtree(datadir, ignore_errors=True)


if __name__ == "__main__":
    main()
