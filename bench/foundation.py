"""Foundation figures: cold start, idle memory, Core/echo throughput.

Usage: .venv/bin/python bench/foundation.py [--runs 3] [--seconds 10]

Starts a real proxy (manage.py runproxy, embedded defaults) in a temporary data
directory on 127.0.0.1, measures, stops it. Throughput uses wrk with 20
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
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proxy import RunningProxy, process_tree_rss_kib, start_proxy, wait_ready

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    opts = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
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

        proxy = start_proxy(datadir)
        wait_ready(proxy)
        try:
            tokens = [create_login(proxy, n=n) for n in range(CLIENTS)]
            time.sleep(10)  # let every process settle before reading memory
            tree = process_tree_rss_kib(proxy.process.pid)
            total = sum(rss for _, rss in tree.values())
            print(f"idle memory (RSS, whole process tree): {total / 1024:.1f} MiB")
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
