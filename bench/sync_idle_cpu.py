"""Periodic sync cost: CPU seconds per hour for 100 idle IMAP accounts at the
default JMAP_SYNC_INTERVAL (issue 4, item 8).

Starts a private Dovecot as the test suite does (tests/servers/dovecot.py:
127.0.0.1, free ports, plain IMAP) with N users holding a few messages each,
and the embedded proxy (`manage.py runproxy`: web, Celery worker, beat, IMAP
listener) with JMAP_SYNC_INTERVAL as given (default 30, the README's default).

1. Baseline: CPU of worker + beat + listener over the window with no account.
2. N accounts are added through the management API and their first sync is
   requested; once every account has synced, nothing changes on the server.
3. Measured: the same processes' CPU (utime + stime from /proc/<pid>/stat)
   over the window while beat runs the periodic sync as in production; the
   syncs that ran are counted from the worker's log.

Figures are real time at the real interval, extrapolated linearly from the
window to one hour (CPU s/hour = CPU s in window x 3600 / window). Everything
started is stopped, also on failure.

    .venv/bin/python bench/sync_idle_cpu.py [--accounts 100] [--interval 30] [--window 180]
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _proxy import RunningProxy, process_tree_rss_kib, start_proxy, wait_ready  # noqa: E402

from tests.servers.dovecot import DovecotOptions, DovecotServer, dovecot_start  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MESSAGES_PER_ACCOUNT = 20
FIRST_SYNC_WAIT = 300.0


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def roles(proxy: RunningProxy) -> dict[str, int]:
    """{"web"|"worker"|"beat"|"listener": pid} of the supervisor's children."""
    found: dict[str, int] = {}
    for pid, (cmd, _) in process_tree_rss_kib(proxy.process.pid).items():
        if pid == proxy.process.pid:
            continue
        if "jmapsite.web_server" in cmd:
            found["web"] = pid
        elif " worker" in cmd and "celery" in cmd:
            found["worker"] = pid
        elif " beat" in cmd and "celery" in cmd:
            found["beat"] = pid
        elif "imap_listener" in cmd:
            found["listener"] = pid
    return found


def window_cpu(proxy: RunningProxy, seconds: float) -> dict[str, float]:
    pids = roles(proxy)
    start = {role: cpu_seconds(pid) for role, pid in pids.items()}
    time.sleep(seconds)
    now = roles(proxy)
    if now != pids:
        raise RuntimeError(f"a process restarted during the window: {pids} -> {now}")
    return {role: cpu_seconds(pid) - start[role] for role, pid in pids.items()}


def mailboxes_seed(server: DovecotServer) -> None:
    import imapclient

    for login, password in server.users.items():
        with imapclient.IMAPClient(server.host, server.imap_port, ssl=False, timeout=30) as client:
            client.login(login, password)
            client.multiappend(
                "INBOX",
                [
                    f"From: a@example.test\r\nTo: {login}\r\nSubject: idle {i}\r\n"
                    f"Message-ID: <idle-{i}-{login}>\r\n\r\nHello {i}.\r\n".encode()
                    for i in range(MESSAGES_PER_ACCOUNT)
                ],
            )


def accounts_add(proxy: RunningProxy, server: DovecotServer) -> list[str]:
    ids = []
    with httpx.Client(timeout=30) as client:
        for index, (login, password) in enumerate(sorted(server.users.items())):
            accountid = f"idle{index:03d}"
            body = {
                "accountid": accountid, "email": login, "type": "imap", "username": login, "password": password,
                "imapHost": server.host, "imapPort": server.imap_port, "imapSSL": 0, "check": False,
            }  # fmt: skip
            response = client.post(proxy.mgmt_url + "/api/accounts", json=body)
            if response.status_code != 201:
                raise RuntimeError(f"account create: {response.status_code} {response.text}")
            client.post(f"{proxy.mgmt_url}/api/accounts/{accountid}/sync", json={})
            ids.append(accountid)
    return ids


def all_synced(proxy: RunningProxy, count: int) -> None:
    deadline = time.monotonic() + FIRST_SYNC_WAIT
    while time.monotonic() < deadline:
        accounts = httpx.get(proxy.mgmt_url + "/api/accounts", timeout=30).json()
        errors = [a for a in accounts if a.get("lastSyncError")]
        if errors:
            raise RuntimeError(f"sync failed: {errors[0]['accountid']}: {errors[0]['lastSyncError']}")
        if sum(1 for a in accounts if a.get("lastSyncAt")) >= count:
            return
        time.sleep(1)
    raise TimeoutError("the first syncs did not finish")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--interval", type=int, default=30, help="JMAP_SYNC_INTERVAL (default: the README's 30)")
    parser.add_argument("--window", type=float, default=180.0, help="measured seconds (each of baseline and load)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"command: .venv/bin/python bench/sync_idle_cpu.py --accounts {args.accounts} "
          f"--interval {args.interval} --window {args.window:g}")  # fmt: skip
    users = {f"idle{i:03d}@example.test": f"idle-secret-{i}" for i in range(args.accounts)}
    server = dovecot_start(DovecotOptions(tls=False), users=users)
    datadir = Path(tempfile.mkdtemp(prefix="jmap-bench-sync-cpu-"))
    proxy: RunningProxy | None = None
    try:
        mailboxes_seed(server)
        # INFO: the count below reads the worker's ": synced" lines.
        proxy = start_proxy(datadir, JMAP_SYNC_INTERVAL=str(args.interval), JMAP_LOG_LEVEL="INFO")
        wait_ready(proxy)
        time.sleep(5)  # start-up work (first beat tick, imports) out of the baseline
        base = window_cpu(proxy, args.window)
        accounts_add(proxy, server)
        all_synced(proxy, args.accounts)
        time.sleep(args.interval)  # the first syncs' queue drained, the periodic rhythm set
        log = datadir / "proxy.log"
        log_start = log.stat().st_size
        load = window_cpu(proxy, args.window)
        with log.open("rb") as handle:
            handle.seek(log_start)
            runs = handle.read().decode(errors="replace").count(": synced")
    finally:
        if proxy is not None:
            proxy.stop()
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)
        shutil.rmtree(datadir, ignore_errors=True)

    background = ("worker", "beat", "listener")

    def per_hour(cpu: dict[str, float]) -> float:
        return sum(cpu.get(role, 0.0) for role in background) * 3600 / args.window

    def detail(cpu: dict[str, float]) -> str:
        return ", ".join(f"{role} {cpu[role]:.2f}" for role in (*background, "web") if role in cpu)

    print(f"window: {args.window:g} s at JMAP_SYNC_INTERVAL={args.interval} (real time, extrapolated to 1 h)")
    print(f"baseline, 0 accounts: CPU s in window: {detail(base)} -> {per_hour(base):.1f} CPU s/hour "
          "(worker+beat+listener)")  # fmt: skip
    print(f"{args.accounts} idle accounts: CPU s in window: {detail(load)} -> {per_hour(load):.1f} CPU s/hour "
          "(worker+beat+listener)")  # fmt: skip
    print(f"  syncs run in the window: {runs} ({runs * 3600 / args.window:.0f}/hour; "
          f"{runs / args.accounts * 3600 / args.window:.1f} per account per hour)")
    extra = per_hour(load) - per_hour(base)
    print(f"  periodic sync cost: {extra:.1f} CPU s/hour above baseline "
          f"({extra / args.accounts * 1000:.1f} CPU ms/hour per account"
          + (f", {extra * 1000 / max(1, runs * 3600 / args.window):.1f} CPU ms per sync)" if runs else ")"))


if __name__ == "__main__":
    main()
