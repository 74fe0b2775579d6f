"""Push latency: an APPEND by another IMAP client -> the StateChange on an
EventSource (issue 4 item 8: median <= 1 s, p99 <= 3 s, embedded and scale-out).

Usage: .venv/bin/python bench/push_latency.py [--mode embedded|scaleout|both] [--appends 50] [--runs 3]
       (make bench-push; default --mode both)

1. Starts a private Dovecot on 127.0.0.1 as the test suite does
   (tests/servers/dovecot.py), then per mode:
   - embedded: the whole proxy with the README's defaults (runproxy: web,
     Celery worker, beat, IMAP IDLE listener; SQLite and the filesystem
     queue), its JMAP port on 127.0.0.1 (bench/_mail_proxy.py);
   - scaleout: a private PostgreSQL and Redis and the cluster of
     tests/scaleout (bench/_scaleout.py): `runproxy --web-only` x2 (A, B),
     `--worker-only` (Celery worker + IMAP IDLE listener), `--beat-only`,
     README defaults. The account is added through A's management API, its
     first sync asked there, and the EventSource is on B.
2. One user, one account, one EventSource (types=*). After the first sync,
   per run: --appends APPENDs to INBOX by a separate IMAPClient connection,
   one at a time; each waits for its StateChange (timeout 10 s, counted as
   lost), then 0.4 s of quiet and a random 0-0.3 s before the next. Latency = wall clock from
   just before the APPEND is sent to the arrival of the `state` event.
3. Prints every run's median, p90, p99 and max, and the median of the runs.

Everything started here is stopped on exit, Ctrl-C, SIGTERM or error.
"""
from __future__ import annotations

import argparse
import base64
import os
import platform
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
from imapclient import IMAPClient

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

from _proxy import RunningProxy, free_port, proxy_env, wait_ready  # noqa: E402
from _scaleout import scaleout_cluster, scaleout_unavailable, uninterrupted, versions  # noqa: E402

from tests.jmapcore.push.clients import EventStream  # noqa: E402
from tests.scaleout.cluster import listener_watching, sync_request  # noqa: E402
from tests.servers.dovecot import DovecotOptions, DovecotServer, dovecot_start  # noqa: E402

WAIT = 10.0
QUIET = 0.4
FIRST_SYNC_WAIT = 60.0
# The worker node's listener needs a moment to see the new watch and reach IDLE.
WATCH_WAIT = 30.0

Figures = tuple[float, float, float, float, int]


@dataclass
class Target:
    """Where the account is added (mgmt_url) and where the EventSource connects (jmap_url)."""

    mgmt_url: str
    jmap_url: str
    logs: str
    # Called with the account id once the EventSource is open (scale-out: ask the
    # first sync on A, wait until the worker node's listener idles on the account).
    prepare: Callable[[str], None] | None = None


def machine(*, scaleout: bool = False) -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    dovecot = subprocess.run(["/usr/sbin/dovecot", "--version"], capture_output=True, text=True).stdout.strip()
    servers = f", {versions()}" if scaleout else ""
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, Dovecot {dovecot}{servers}"


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 50 samples is the largest but none)."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(len(ordered), rank) - 1]


def quiet(stream: EventStream) -> None:
    while stream.next_state(timeout=QUIET) is not None:
        pass


def one_run(stream: EventStream, phone: IMAPClient, *, login: str, appends: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    lost = 0
    for index in range(appends):
        message = (
            f"From: bench@example.test\r\nTo: {login}\r\nSubject: push {index}\r\n"
            f"Message-ID: <{secrets.token_hex(8)}@example.test>\r\n\r\nbody {index}\r\n"
        ).encode()
        quiet(stream)
        # Real changes come at random moments: don't phase-lock to the proxy's poll intervals.
        time.sleep(random.uniform(0.0, 0.3))
        started = time.time()
        phone.append("INBOX", message)
        deadline = time.monotonic() + WAIT
        event = None
        while (remaining := deadline - time.monotonic()) > 0:
            item = stream.next(timeout=remaining)
            if item is None or item.event == "state":
                event = item
                break
        if event is None:
            lost += 1
        else:
            latencies.append(event.received - started)
    return latencies, lost


def measure(
    target: Target, dovecot: DovecotServer, *, runs: int, appends: int, label: str, prefix: str
) -> list[Figures]:
    """The account, the EventSource, `runs` runs of `appends` APPENDs; prints each run and the summary."""
    login = f"bench-{secrets.token_hex(3)}@example.test"
    password = dovecot.user_add(login)
    accountid = "bench"
    body = {
        "accountid": accountid, "email": login, "type": "imap", "username": login, "password": password,
        "imapHost": dovecot.host, "imapPort": dovecot.imap_port, "imapSSL": 0, "check": False,
    }  # fmt: skip
    response = httpx.post(target.mgmt_url + "/api/accounts", json=body, timeout=30)
    response.raise_for_status()
    url = f"{target.jmap_url}/eventsource/?types=*&closeafter=no&ping=0"
    headers = {"Authorization": "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()}
    results: list[Figures] = []
    with EventStream(url=url, headers=headers) as stream:
        if target.prepare is not None:
            target.prepare(accountid)
        if stream.next_state(timeout=FIRST_SYNC_WAIT) is None:
            raise RuntimeError(f"no first sync; see {target.logs}")
        with IMAPClient(dovecot.host, dovecot.imap_port, ssl=False, timeout=10) as phone:
            phone.login(login, password)
            for run in range(1, runs + 1):
                latencies, lost = one_run(stream, phone, login=login, appends=appends)
                if not latencies:
                    raise RuntimeError(f"run {run}: no StateChange at all; see {target.logs}")
                figures = (
                    statistics.median(latencies), percentile(latencies, 0.90),
                    percentile(latencies, 0.99), max(latencies), lost,
                )  # fmt: skip
                results.append(figures)
                print(
                    f"{prefix}run {run}: {len(latencies)} appends, median {figures[0]:.3f} s, "
                    f"p90 {figures[1]:.3f} s, p99 {figures[2]:.3f} s, max {figures[3]:.3f} s, lost {lost}",
                    flush=True,
                )
    median = statistics.median(r[0] for r in results)
    p99 = statistics.median(r[2] for r in results)
    print(
        f"push latency ({label}), median of {len(results)} runs of {appends}: "
        f"median {median:.3f} s (target <= 1 s), p99 {p99:.3f} s (target <= 3 s), "
        f"lost {sum(r[4] for r in results)}",
        flush=True,
    )
    return results


@contextmanager
def embedded_target(*, keep_data: bool) -> Iterator[Target]:
    datadir = Path(tempfile.mkdtemp(prefix="jmap-bench-push-"))
    jmap_port, mgmt_port = free_port(), free_port()
    log = open(datadir / "proxy.log", "ab")
    try:
        env = proxy_env(datadir, jmap_port, mgmt_port)
        process = subprocess.Popen(
            [sys.executable, str(BENCH / "_mail_proxy.py")], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        proxy = RunningProxy(
            process=process, jmap_port=jmap_port, mgmt_port=mgmt_port, datadir=datadir, log=datadir / "proxy.log"
        )
        try:
            wait_ready(proxy)
            yield Target(mgmt_url=proxy.mgmt_url, jmap_url=proxy.jmap_url, logs=f"{datadir}/proxy.log")
        finally:
            with uninterrupted():
                proxy.stop()
    finally:
        log.close()
        if keep_data:
            print(f"proxy data and log kept in {datadir}")
        else:
            shutil.rmtree(datadir, ignore_errors=True)


@contextmanager
def scaleout_target(*, keep_data: bool) -> Iterator[Target]:
    with scaleout_cluster(keep=keep_data) as cluster:
        web_a, web_b, worker = cluster.a, cluster.b, cluster.worker_node
        logs = f"the role logs in {cluster.datadir.parent}"

        def prepare(accountid: str) -> None:
            sync_request(web_a, accountid)
            deadline = time.monotonic() + WATCH_WAIT
            while not listener_watching(worker, accountid):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the worker node's IMAP listener does not idle on the account; see {logs}")
                time.sleep(0.1)

        try:
            yield Target(mgmt_url=web_a.mgmt_url, jmap_url=web_b.jmap_url, logs=logs, prepare=prepare)
        finally:
            if keep_data:
                print(f"scale-out data and role logs kept in {cluster.datadir.parent}")


def sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through every finally: everything is stopped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("embedded", "scaleout", "both"), default="both")
    parser.add_argument("--appends", type=int, default=50, help="APPENDs per run (default 50)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep-data", action="store_true", help="keep the proxy's data directory (and its logs)")
    args = parser.parse_args()
    appends = max(1, min(args.appends, 1000))
    runs = max(1, min(args.runs, 20))
    modes = ("embedded", "scaleout") if args.mode == "both" else (args.mode,)
    if "scaleout" in modes and (reason := scaleout_unavailable()):
        parser.error(f"--mode {args.mode}: scale-out needs PostgreSQL and Redis: {reason}")
    signal.signal(signal.SIGTERM, sigterm)

    print(f"machine: {machine(scaleout='scaleout' in modes)}", flush=True)
    dovecot = dovecot_start(DovecotOptions(tls=False))
    try:
        if "embedded" in modes:
            with embedded_target(keep_data=args.keep_data) as target:
                measure(target, dovecot, runs=runs, appends=appends, prefix="",
                        label="APPEND -> EventSource StateChange")  # fmt: skip
        if "scaleout" in modes:
            with scaleout_target(keep_data=args.keep_data) as target:
                measure(target, dovecot, runs=runs, appends=appends, prefix="scale-out ",
                        label="scale-out: APPEND -> StateChange on web B, account added through web A")  # fmt: skip
    finally:
        with uninterrupted():
            dovecot.stop()
            shutil.rmtree(dovecot.directory, ignore_errors=True)


if __name__ == "__main__":
    main()
