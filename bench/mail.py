"""Mail figures at 100,000 messages (or --messages N): initial sync (beside a raw IMAP floor), a
sync that finds nothing new, a list view over HTTP, a reconnecting client, memory.

Usage: .venv/bin/python bench/mail.py [--runs 3] [--requests 50] [--only all|corpus|hostile]
       [--hostile-cap 120] [--messages 100000]   (make bench-mail)

1. Starts a private Dovecot on 127.0.0.1 as the test suite does
   (tests/servers/dovecot.py, plain IMAP, CONDSTORE/QRESYNC/PREVIEW) with one
   user holding 100,000 messages in 14 folders (bench/_mail_seed.py; --messages
   scales every folder, e.g. 20,000 with 8,000 in the INBOX). The
   first run seeds them with MULTIAPPEND + LITERAL+ over 4 connections and
   keeps the maildir in /tmp/jmap-bench-mail-seed/<version>/; later runs link
   that copy in. One untimed pass over every message warms Dovecot's caches.
2. Per run (median of --runs): the floor, a raw IMAPClient
   `FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE
   BODY.PEEK[HEADER.FIELDS (...)] PREVIEW)` of every folder, then the initial
   sync of a fresh proxy database (new JMAP_DATADIR, SQLite, migrations
   applied untimed) through accounts.sync.account_sync() in a child process
   (bench/_mail_sync.py) until it returns with every message committed —
   then syncs that find nothing new, with their SQL and IMAP command counts.
3. On the last run's database, a real proxy process (runproxy: web, worker,
   beat; JMAP port on 127.0.0.1, see bench/_mail_proxy.py) answers over HTTP:
   Email/query (inMailbox INBOX, receivedAt desc, collapseThreads, limit 50)
   + Email/get of the eight list properties a mail client's message list
   shows (LIST_PROPERTIES) in one request (--requests, after 5 warm-ups;
   keep-alive connection), and a reconnecting client's
   Mailbox/changes + Email/changes + Thread/changes (request + response body
   bytes). Then the RSS of the proxy's whole process tree.

4. The hostile folder (issue 8): a second private Dovecot user whose folder
   "Hostile" holds the ~240 messages of tests/hostile_mail.py (long dotted and
   dashed addresses, list bounces, 2,000-address lists, nested comments,
   thousands of encoded words, 3,600-character dates, 40-deep multiparts...);
   the initial sync of that account, in the same child process as above,
   killed after --hostile-cap seconds ("did not finish" is a figure too).
   `--only hostile` runs just this part.

Everything started here is stopped on exit, Ctrl-C or error.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from imapclient import IMAPClient
from imapclient.response_parser import parse_fetch_response

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

import _mail_seed  # noqa: E402
from _mail_seed import LOGIN, PASSWORD, seeded_dovecot  # noqa: E402
from _proxy import RunningProxy, free_port, process_tree_rss_kib, proxy_env, wait_ready  # noqa: E402

from backends.imap.message_parse import HEADER_FIELDS  # noqa: E402

TARGET_INITIAL_S = 30.0
TARGET_NOOP_MS = 100.0
TARGET_LIST_MS = 12.0
TARGET_RECONNECT_BYTES = 1024
FLOOR_ITEMS = [
    "UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE",
    "BODY.PEEK[HEADER.FIELDS (" + " ".join(HEADER_FIELDS) + ")]", "PREVIEW",
]  # fmt: skip
USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"]
# What a message list shows per row (issue 9: "8 list properties").
LIST_PROPERTIES = ["id", "threadId", "mailboxIds", "keywords", "from", "subject", "receivedAt", "preview"]


def machine() -> str:
    info = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), platform.processor())
    mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:"))
    dovecot = subprocess.run(["dovecot", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} cores ({cpu}), {mem_kib / 1024 / 1024:.1f} GiB RAM, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, Dovecot {dovecot}")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def runs_text(values: list[float], fmt: str = "{:.2f}") -> str:
    return ", ".join(fmt.format(value) for value in values)


# -- the floor: raw FETCH ---------------------------------------------------------
def floor_fetch(host: str, port: int) -> tuple[float, int]:
    """Seconds for IMAPClient to FETCH (and parse) the list items of every message."""
    start = time.perf_counter()
    count = 0
    with IMAPClient(host, port, ssl=False, timeout=300) as client:
        client.login(LOGIN, PASSWORD)
        client._imap.debug = 0
        for folder in _mail_seed.FOLDERS:
            client.select_folder(folder, readonly=True)
            # IMAPClient.fetch() itself, minus its final filter, which cannot take "1:*"
            # (and a UID list of 40,000 would exceed Dovecot's 64 KiB command line).
            tag = client._imap._command("UID", "FETCH", "1:*", "(" + " ".join(FLOOR_ITEMS) + ")")
            typ, data = client._imap._command_complete("FETCH", tag)
            if typ != "OK":
                raise RuntimeError(f"FETCH failed in {folder}: {data!r}")
            typ, data = client._imap._untagged_response(typ, data, "FETCH")
            count += len(parse_fetch_response(data, client.normalise_times, True))
            client.unselect_folder()
    return time.perf_counter() - start, count


# -- initial sync in a child process --------------------------------------------
def sync_run(host: str, port: int, datadir: Path, *, noop: int, profile: str = "", login: str = LOGIN,
             password: str = PASSWORD, timeout: float | None = None) -> dict[str, Any]:
    """The child's JSON figures; subprocess.TimeoutExpired (the child killed)
    when it takes longer than ``timeout`` seconds."""
    env = dict(os.environ, JMAP_DATADIR=str(datadir), DJANGO_SETTINGS_MODULE="jmapsite.settings",
               JMAP_LOG_LEVEL=os.environ.get("JMAP_LOG_LEVEL", "WARNING"))
    args = [sys.executable, str(BENCH / "_mail_sync.py"), host, str(port), login, password, "--noop", str(noop)]
    if profile:
        args += ["--profile", profile]
    with open(datadir / "sync.log", "w") as log:
        done = subprocess.run(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log, text=True,
                              timeout=timeout)
    if done.returncode != 0:
        tail = (datadir / "sync.log").read_text()[-3000:]
        raise RuntimeError(f"sync child failed ({done.returncode}):\n{done.stdout[-2000:]}\n{tail}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# -- the proxy over HTTP -------------------------------------------------------------
def proxy_start(datadir: Path) -> RunningProxy:
    jmap_port, mgmt_port = free_port(), free_port()
    out = open(datadir / "proxy.log", "ab")
    process = subprocess.Popen(
        [sys.executable, str(BENCH / "_mail_proxy.py")],
        cwd=ROOT, env=proxy_env(datadir, jmap_port, mgmt_port), stdout=out, stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches this script, which stops the proxy in order
    )
    return RunningProxy(
        process=process, jmap_port=jmap_port, mgmt_port=mgmt_port, datadir=datadir, log=datadir / "proxy.log"
    )


def jmap_call(client: httpx.Client, url: str, calls: list[Any]) -> tuple[dict[str, Any], int, int]:
    body = json.dumps({"using": USING, "methodCalls": calls}, separators=(",", ":")).encode()
    answer = client.post(url, content=body, headers={"Content-Type": "application/json"})
    answer.raise_for_status()
    data = answer.json()
    for name, args, _ in data["methodResponses"]:
        if name == "error":
            raise RuntimeError(f"JMAP error: {args}")
    return data, len(body), len(answer.content)


def http_figures(proxy: RunningProxy, *, requests: int) -> dict[str, Any]:
    token_answer = httpx.post(f"{proxy.mgmt_url}/api/accounts/bench/tokens", json={"name": "bench"}, timeout=30)
    token_answer.raise_for_status()
    token = token_answer.json()["token"]
    url = proxy.jmap_url + "/jmap/"
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        session = client.get(proxy.jmap_url + "/session").json()
        account_id = session["primaryAccounts"]["urn:ietf:params:jmap:mail"]
        boxes, _, _ = jmap_call(client, url, [["Mailbox/get", {"accountId": account_id, "properties": ["role",
                                                                                                       "name"]}, "m"]])
        inbox = next(box["id"] for box in boxes["methodResponses"][0][1]["list"] if box.get("role") == "inbox")
        list_view = [
            ["Email/query", {"accountId": account_id, "filter": {"inMailbox": inbox},
                             "sort": [{"property": "receivedAt", "isAscending": False}],
                             "collapseThreads": True, "limit": 50}, "q"],
            ["Email/get", {"accountId": account_id, "#ids": {"resultOf": "q", "name": "Email/query", "path": "/ids"},
                           "properties": LIST_PROPERTIES},
             "g"],
        ]  # fmt: skip
        first, _, list_bytes = jmap_call(client, url, list_view)
        got = first["methodResponses"][1][1]["list"]
        if len(got) != 50 or not all("preview" in email and "subject" in email for email in got):
            raise RuntimeError(f"unexpected list view answer: {json.dumps(first)[:1000]}")
        for _ in range(5):
            jmap_call(client, url, list_view)
        times = []
        for _ in range(requests):
            begin = time.perf_counter()
            jmap_call(client, url, list_view)
            times.append((time.perf_counter() - begin) * 1000)

        states_answer, _, _ = jmap_call(client, url, [
            ["Mailbox/get", {"accountId": account_id, "ids": []}, "m"],
            ["Email/get", {"accountId": account_id, "ids": []}, "e"],
            ["Thread/get", {"accountId": account_id, "ids": []}, "t"],
        ])  # fmt: skip
        states = [response[1]["state"] for response in states_answer["methodResponses"]]
        reconnect = [
            [f"{kind}/changes", {"accountId": account_id, "sinceState": state}, kind[0].lower()]
            for kind, state in zip(("Mailbox", "Email", "Thread"), states, strict=True)
        ]
        changes, request_bytes, response_bytes = jmap_call(client, url, reconnect)
        for _, args, _ in changes["methodResponses"]:
            if args.get("created") or args.get("updated") or args.get("destroyed") or args.get("hasMoreChanges"):
                raise RuntimeError(f"changes where none were expected: {args}")
    return {
        "list_ms": times, "list_bytes": list_bytes, "reconnect_request": request_bytes,
        "reconnect_response": response_bytes, "reconnect_sample": json.dumps(changes, separators=(",", ":")),
    }


# -- the hostile folder (issue 8) ------------------------------------------------------
HOSTILE_LOGIN = "hostile@example.test"
HOSTILE_FOLDER = "Hostile"


def hostile_sync(*, cap: float, keep: bool) -> None:
    """Print the initial sync time of a folder of the hostile corpus, or that it
    did not finish within ``cap`` seconds."""
    from tests.hostile_mail import hostile_messages
    from tests.servers.dovecot import DovecotOptions, dovecot_start

    corpus = hostile_messages()
    octets = sum(len(item.raw) for item in corpus)
    server = dovecot_start(DovecotOptions(tls=False), users={})
    datadir = Path(tempfile.mkdtemp(prefix="jmap-bench-hostile-"))
    try:
        password = server.user_add(HOSTILE_LOGIN)
        with IMAPClient(server.host, server.imap_port, ssl=False, timeout=60) as client:
            client.login(HOSTILE_LOGIN, password)
            client.create_folder(HOSTILE_FOLDER)
            for item in corpus:
                client.append(HOSTILE_FOLDER, item.raw)
        label = f"f. hostile folder, {len(corpus)} messages ({octets / 1024 / 1024:.1f} MiB), initial sync"
        begin = time.perf_counter()
        try:
            result = sync_run(server.host, server.imap_port, datadir, noop=0, login=HOSTILE_LOGIN,
                              password=password, timeout=cap)
        except subprocess.TimeoutExpired:
            print(f"{label}: did not finish in {cap:.0f} s (killed after {time.perf_counter() - begin:.0f} s)",
                  flush=True)
            return
        if result["locations"] != len(corpus):
            raise RuntimeError(f"hostile sync cached {result['locations']} messages, expected {len(corpus)}")
        print(f"{label}: {result['initial_seconds']:.2f} s until all {result['locations']} queryable "
              f"({len(corpus) / result['initial_seconds']:,.0f} msg/s)", flush=True)
    finally:
        server.stop()
        if not keep:
            shutil.rmtree(server.directory, ignore_errors=True)
            shutil.rmtree(datadir, ignore_errors=True)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--noop", type=int, default=3, help="no-op syncs after each initial sync")
    parser.add_argument("--profile", default="", help="cProfile the last initial sync into this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directories")
    parser.add_argument("--only", choices=["all", "corpus", "hostile"], default="all",
                        help="corpus: the mailbox's figures a-e; hostile: the hostile folder (f) alone")
    parser.add_argument("--hostile-cap", type=float, default=120.0,
                        help="seconds after which the hostile folder's sync is killed and reported unfinished")
    parser.add_argument("--messages", type=int, default=_mail_seed.SEED_TOTAL,
                        help="size of the mailbox (every folder scaled; seeded once per size and kept)")
    opts = parser.parse_args()
    _mail_seed.corpus_scale(opts.messages)
    total = _mail_seed.SEED_TOTAL
    # The initial-sync target is for 100,000 messages: scaled with the mailbox.
    target_initial = TARGET_INITIAL_S * total / _mail_seed.FULL_TOTAL

    from tests.servers.dovecot import dovecot_available

    reason = dovecot_available()
    if reason:
        raise SystemExit(f"{reason} (make test-system-deps installs it)")
    print(f"machine: {machine()}")
    if opts.only == "hostile":
        hostile_sync(cap=opts.hostile_cap, keep=opts.keep)
        return
    print(f"mailbox: {total:,} messages in {len(_mail_seed.FOLDERS)} folders (INBOX {_mail_seed.FOLDERS['INBOX']:,}); "
          f"median of {opts.runs} runs", flush=True)
    cleanups: list[Callable[[], None]] = []
    # SIGTERM as Ctrl-C: unwind through the finally blocks below.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        server, seed = seeded_dovecot()
        def dovecot_cleanup() -> None:
            server.stop()
            if not opts.keep:
                shutil.rmtree(server.directory, ignore_errors=True)

        cleanups.append(dovecot_cleanup)
        if seed.cached:
            print(f"seeding: cached maildir linked in {seed.restore_seconds:.1f} s "
                  f"(seeding itself took {seed.seconds:.1f} s when first run)")
        else:
            print(f"seeding: {total:,} messages by MULTIAPPEND+LITERAL+, 4 connections: {seed.seconds:.1f} s "
                  f"({total / seed.seconds:,.0f} msg/s)")
        warm, count = floor_fetch(server.host, server.imap_port)
        if count != total:
            raise RuntimeError(f"Dovecot holds {count} messages, expected {total}")
        print(f"warm-up pass over Dovecot (untimed figure, builds its caches): {warm:.1f} s", flush=True)

        floors: list[float] = []
        syncs: list[dict[str, Any]] = []
        datadirs: list[Path] = []
        for run in range(opts.runs):
            floors.append(floor_fetch(server.host, server.imap_port)[0])
            datadir = Path(tempfile.mkdtemp(prefix="jmap-bench-mail-"))
            datadirs.append(datadir)
            if not opts.keep:
                cleanups.append(functools.partial(shutil.rmtree, datadir, ignore_errors=True))
            last = run == opts.runs - 1
            result = sync_run(server.host, server.imap_port, datadir, noop=opts.noop,
                              profile=opts.profile if last else "")
            if result["locations"] != total:
                raise RuntimeError(f"sync cached {result['locations']} messages, expected {total}")
            syncs.append(result)
            print(f"    run {run + 1}: floor {floors[-1]:.1f} s, initial sync {result['initial_seconds']:.1f} s, "
                  f"no-op syncs {runs_text([n['seconds'] * 1000 for n in result['noop']], '{:.0f}')} ms", flush=True)

        initial = [s["initial_seconds"] for s in syncs]
        noop_ms = [n["seconds"] * 1000 for s in syncs for n in s["noop"]]
        sample = syncs[-1]
        print()
        print(f"a. initial sync, {total:,} messages until all queryable: "
              f"median {statistics.median(initial):.1f} s "
              f"(runs: {runs_text(initial, '{:.1f}')}; {total / statistics.median(initial):,.0f} msg/s) "
              f"target <= {target_initial:.0f} s: {verdict(statistics.median(initial) <= target_initial)}")
        ratio = statistics.median(initial) / statistics.median(floors)
        print(f"   floor, raw IMAPClient FETCH of the same items: median {statistics.median(floors):.1f} s "
              f"(runs: {runs_text(floors, '{:.1f}')}); sync/floor {ratio:.1f}x")
        print(f"   sync detail: {sample['initial_imap_commands']} IMAP commands, {sample['emails']:,} emails, "
              f"{sample['mailboxes']} mailboxes, database {sample['db_bytes'] / 1024 / 1024:.0f} MiB, "
              f"sync process peak RSS {sample['maxrss_kib'] / 1024:.0f} MiB")
        if sample.get("phases"):
            print("   where the last initial sync's time went (wall time of nested steps, so they overlap):")
            for label, seconds in sorted(sample["phases"].items(), key=lambda item: -item[1]):
                print(f"      {seconds:7.1f} s  {label}")
        print(f"b. sync that finds nothing new: median {statistics.median(noop_ms):.0f} ms "
              f"(all {len(noop_ms)}: {runs_text(noop_ms, '{:.0f}')}; "
              f"{sample['noop'][-1]['queries']} SQL queries, {sample['noop'][-1]['imap_commands']} IMAP commands) "
              f"target <= {TARGET_NOOP_MS:.0f} ms: {verdict(statistics.median(noop_ms) <= TARGET_NOOP_MS)}", flush=True)

        proxy = proxy_start(datadirs[-1])
        cleanups.append(lambda: stop_process(proxy.process))
        wait_ready(proxy)
        http = http_figures(proxy, requests=opts.requests)
        lat = sorted(http["list_ms"])
        median = statistics.median(lat)
        print(f"c. Email/query (INBOX, receivedAt desc, collapseThreads, 50) + Email/get "
              f"({len(LIST_PROPERTIES)} properties), one request over HTTP to a real proxy process "
              f"(uvicorn, keep-alive): median {median:.1f} ms of "
              f"{len(lat)} (p90 {lat[int(len(lat) * 0.9) - 1]:.1f}, max {lat[-1]:.1f}; response "
              f"{http['list_bytes']:,} bytes) target <= {TARGET_LIST_MS:.0f} ms: {verdict(median <= TARGET_LIST_MS)}")
        reconnect = http["reconnect_request"] + http["reconnect_response"]
        print(f"d. reconnect, nothing changed (Mailbox/changes + Email/changes + Thread/changes): "
              f"{reconnect} bytes (request {http['reconnect_request']}, response {http['reconnect_response']}) "
              f"target <= {TARGET_RECONNECT_BYTES} bytes: {verdict(reconnect <= TARGET_RECONNECT_BYTES)}")
        tree = process_tree_rss_kib(proxy.process.pid)
        rss = sum(value for _, value in tree.values())
        print(f"e. proxy memory (RSS, whole process tree) at {total:,} messages after the above: "
              f"{rss / 1024:.1f} MiB")
        for pid, (cmd, value) in sorted(tree.items()):
            print(f"      {value / 1024:7.1f} MiB  pid {pid}  {cmd}")
        if opts.keep:
            print(f"kept: {', '.join(str(d) for d in datadirs)}; Dovecot in {server.directory}")
        if opts.only == "all":
            hostile_sync(cap=opts.hostile_cap, keep=opts.keep)
    finally:
        for cleanup in reversed(cleanups):
            try:
                cleanup()
            except Exception as exc:
                print(f"cleanup failed: {exc}", file=sys.stderr)


if __name__ == "__main__":
    main()
