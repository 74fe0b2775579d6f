"""Passthrough push latency: an IMAP APPEND on Cyrus by another client -> the
StateChange on the proxy's EventSource (issue 12 item 4: within 5 s).

Usage: .venv/bin/python bench/passthrough_push.py [--appends 20]

1. Starts a private Cyrus IMAP 3.6 (tests/servers/cyrus.py, as the test suite
   does) and the whole proxy with the README's defaults (runproxy: web and the
   embedded worker whose listener thread runs the push relay; SQLite).
2. Adds a passthrough account for the Cyrus user through the management API
   and opens one EventSource (types=*) on the proxy's JMAP port. Cyrus 3.6
   answers its eventSourceUrl with 204, so the relay polls Cyrus's states
   (backends.jmap.push_poll, every 2 s) while the stream is open; the bench
   waits until the relay has polled once.
3. --appends APPENDs to INBOX by a separate IMAP connection to Cyrus, one at a
   time, each at a random moment (so as not to phase-lock to the poll) after
   the stream went quiet; latency = wall clock from just before the APPEND to
   the arrival of the `state` event (timeout 10 s, counted as lost).
4. Prints median, p90, max and lost.

Everything started here is stopped on exit or error.
"""
from __future__ import annotations

import argparse
import base64
import imaplib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

from _proxy import start_proxy, wait_ready  # noqa: E402

from tests.jmapcore.push.clients import EventStream  # noqa: E402
from tests.servers.cyrus import cyrus_available, cyrus_start  # noqa: E402

WAIT = 10.0
QUIET = 0.5
RELAY_WAIT = 60.0
LOGIN = "bench-push"
PASSWORD = "bench-push-pw"  # noqa: S105 - a throw-away user of a Cyrus on loopback


def relay_polls(datadir: Path, accountid: str) -> int:
    """How often the relay polled for `accountid` (its status file), -1 while it does not run."""
    for path in (datadir / "run").glob("jmap-relay-*.json"):
        try:
            status = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for relay in status.get("relays", {}).values():
            if relay.get("accountid") == accountid:
                return int(relay.get("polls", 0))
    return -1


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(len(ordered), rank) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=20)
    args = parser.parse_args()
    missing = cyrus_available()
    if missing:
        raise SystemExit(missing)
    cyrus_dir = Path(tempfile.mkdtemp(prefix="jmap-bench-cyrus-"))
    datadir = Path(tempfile.mkdtemp(prefix="jmap-bench-pushpt-"))
    cyrus = cyrus_start(cyrus_dir)
    proxy = None
    try:
        user = cyrus.user(LOGIN, PASSWORD)
        proxy = start_proxy(datadir, JMAP_LOG_LEVEL="WARNING")
        wait_ready(proxy)
        accountid = "bench-push"
        email = "bench-push@example.test"
        body = {
            "accountid": accountid, "email": email, "type": "jmap", "sessionUrl": user.session_url,
            "username": user.login, "password": user.password, "check": False,
        }  # fmt: skip
        httpx.post(proxy.mgmt_url + "/api/accounts", json=body, timeout=60).raise_for_status()
        url = f"{proxy.jmap_url}/eventsource/?types=*&closeafter=no&ping=0"
        headers = {"Authorization": "Basic " + base64.b64encode(f"{email}:{PASSWORD}".encode()).decode()}
        latencies: list[float] = []
        lost = 0
        with EventStream(url=url, headers=headers) as stream:
            deadline = time.monotonic() + RELAY_WAIT
            while relay_polls(datadir, accountid) < 1:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the relay never polled; see {datadir}/proxy.log")
                time.sleep(0.1)
            phone = imaplib.IMAP4(cyrus.host, cyrus.imap_port, timeout=30)
            phone.login(user.login, user.password)
            try:
                for index in range(args.appends):
                    while stream.next_state(timeout=QUIET) is not None:
                        pass
                    time.sleep(random.uniform(0.0, 2.0))  # not phase-locked to the poll
                    message = (f"From: bench@example.test\r\nTo: {email}\r\nSubject: push {index}\r\n\r\n"
                               f"body {index}\r\n").encode()  # fmt: skip
                    started = time.time()
                    phone.append("INBOX", None, None, message)
                    event = stream.next_state(timeout=WAIT)
                    if event is None:
                        lost += 1
                    else:
                        latencies.append(time.time() - started)
            finally:
                phone.logout()
        if not latencies:
            raise RuntimeError(f"no StateChange at all; see {datadir}/proxy.log")
        print(
            f"passthrough push (Cyrus 3.6, polled every 2 s), {len(latencies)} APPENDs: "
            f"median {statistics.median(latencies):.3f} s, p90 {percentile(latencies, 0.9):.3f} s, "
            f"max {max(latencies):.3f} s (target <= 5 s), lost {lost}",
            flush=True,
        )
    finally:
        if proxy is not None:
            proxy.stop()
        cyrus.stop()
        shutil.rmtree(cyrus_dir, ignore_errors=True)
        if not os.environ.get("JMAP_BENCH_KEEP"):
            shutil.rmtree(datadir, ignore_errors=True)


if __name__ == "__main__":
    main()
