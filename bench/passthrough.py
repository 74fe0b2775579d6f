"""JMAP passthrough: what the proxy adds over talking to the JMAP server directly
(issue 12 item 7: added latency <= 5 ms on loopback, throughput >= 80 % of direct).

Usage: .venv/bin/python bench/passthrough.py [--messages 3000] [--samples 100] [--blob-mb 100]
       [--blob-runs 3] [--appends 10]                              (make bench-passthrough)

1. Upstream: a private Cyrus IMAP 3.6 with its JMAP module, started as the test
   suite starts it (tests/servers/cyrus.py, Debian packages, 127.0.0.1), whose
   user holds --messages realistic messages in its INBOX, APPENDed over IMAP
   from bench/_mail_seed.py's generator (bench/_passthrough_upstream.py).
2. Proxy: `manage.py runproxy` as the README starts it (embedded defaults, a
   fresh JMAP_DATADIR; JMAP port on 127.0.0.1, bench/_mail_proxy.py), the
   passthrough account added with POST /api/accounts {"sessionUrl": ...}
   exactly as the README shows, Basic auth to Cyrus.
3. In the same run, the same client code (bench/_passthrough_jmap.py) against
   both, one keep-alive connection each:
   (a) the list-view request: Email/query of the INBOX (receivedAt desc,
       collapseThreads, limit 50) + Email/get of 8 list properties by result
       reference, one HTTP request; --warmup each, then --samples each,
       direct and proxied alternating so that load on the shared machine hits
       both alike. Prints each side's median, p90 and min, the added latency
       (median of the proxied minus median of the direct) and the median of the
       per-pair differences, and whether both answered the same Emails;
       beside it the proxy's floor: Core/echo answered by the proxy itself
       (same connection and auth), and the proxy's CPU per request of each.
       Measured twice: first with clients that ask for quick ACKs
       (bench/_passthrough_jmap.py: Cyrus writes its answers in pieces with
       Nagle on, and a client's delayed ACK holds each answer ~40 ms) -- the
       target figure, the proxy's own cost; then with plain httpx clients, for
       information: what an ordinary client sees of Cyrus directly and through
       the proxy, whose upstream connections ask for quick ACKs;
   (b) a --blob-mb MiB blob downloaded (downloadUrl; one blob stored on Cyrus
       beforehand and read once, both sides fetch it), then uploaded
       (uploadUrl; new random octets each time), --blob-runs each, direct and
       proxied alternating: MiB/s medians and the proxied/direct ratios, with
       the proxy's peak resident memory (all its processes) and CPU seconds
       during its downloads and during its uploads, beside its memory before;
   (c) push: an APPEND on Cyrus by an IMAP client -> the StateChange naming the
       account's Email on the proxy's EventSource (Cyrus itself offers no push:
       its eventSourceUrl answers 204, so the proxy relays by polling),
       --appends times after a warm-up one, each after a quiet moment and a
       random 0-2 s (the relay's poll period), median and max; skipped with the reason when no StateChange
       comes within 10 s (push relay not in the code measured).
   A part the proxy cannot do yet at the measured commit is reported as "not
   measured" with the proxy's answer; the direct figures are printed anyway.
Prints the machine, the commit, Cyrus's version, the load average before and
after each part, the host's speed before each list-view measurement
(host_speed), and the exact command. Everything started is stopped on exit.
"""
from __future__ import annotations

import argparse
import base64
import imaplib
import json
import os
import platform
import random
import secrets
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for _path in (str(BENCH), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from _passthrough_jmap import MAIL, JmapEndpoint, JmapFailure, Transfer, url_template_fill  # noqa: E402
from _passthrough_upstream import SeededCyrus, seeded_cyrus  # noqa: E402
from _proxy import RunningProxy, free_port, process_tree_rss_kib, proxy_env, wait_ready  # noqa: E402

from tests.jmapcore.push.clients import EventStream  # noqa: E402

TARGET_ADDED_MS = 5.0
TARGET_RATIO = 0.80
ACCOUNT_ID = "bench"
PROXY_LOGIN = "bench-passthrough@example.test"
PUSH_WAIT = 10.0
PUSH_QUIET = 0.5
PUSH_WARMUP = 3
# A random pause before each APPEND, as long as the relay's poll period (2 s against Cyrus):
# changes come at any moment, and an APPEND always made just after a poll would measure one phase.
PUSH_JITTER = 2.0
SESSION_WAIT = 60.0
RSS_EVERY = 0.1


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(len(ordered), rank) - 1]


def load_average() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"{one:.2f} (5 min {five:.2f})"


def host_speed() -> str:
    """CPU time of a fixed pure-Python workload, median of 7: how fast the shared host runs code right now.

    The proxy's added latency is mostly its own CPU time, which this host stretches two- or threefold at
    its busiest hours; this figure, taken just before a measurement, tells such a run from one on a host
    running at its usual speed: compare it between runs."""
    document = {"ids": [f"M{index:024x}" for index in range(2000)], "keywords": {"$seen": True}, "n": 1.5}
    spent: list[float] = []
    for _ in range(7):
        started = time.thread_time()
        for _ in range(10):
            text = json.dumps(document)
            sorted(json.loads(text)["ids"], reverse=True)
        sum(index * index for index in range(100_000))
        spent.append(time.thread_time() - started)
    return f"reference workload {statistics.median(spent) * 1000:.1f} ms of CPU (median of 7)"


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {system}"


def cyrus_version() -> str:
    # cyrus-common (master) and cyrus-caldav (httpd with JMAP) are installed wherever the suite's Cyrus
    # runs; imapd may come unpacked from cyrus-imapd of the same version (tests/servers/cyrus.py).
    done = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "cyrus-common"], capture_output=True, text=True)
    return f"Cyrus IMAP {done.stdout.strip() or '(version unknown)'} (Debian cyrus-common, cyrus-caldav)"


def code_version() -> str:
    """The commit measured, and whether the passthrough's code differs from it in the checkout."""
    head = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%H %cI %s"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "backends", "jmapcore", "accounts", "jmapsite"],
        capture_output=True, text=True,
    ).stdout.split("\n")  # fmt: skip
    changed = [line[3:] for line in dirty if line.strip()]
    more = f" and {len(changed) - 8} more" if len(changed) > 8 else ""
    note = f"; uncommitted changes in the checkout: {', '.join(changed[:8])}{more}" if changed else ""
    return f"{head[:140]}{note}"


# -- the proxy -----------------------------------------------------------------------------
def proxy_start(datadir: Path) -> RunningProxy:
    """runproxy with the README's defaults, its JMAP port on loopback (bench/_mail_proxy.py)."""
    jmap_port, mgmt_port = free_port(), free_port()
    log = datadir / "proxy.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, str(BENCH / "_mail_proxy.py")], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            env=proxy_env(datadir, jmap_port, mgmt_port),
        )  # fmt: skip
    return RunningProxy(process=process, jmap_port=jmap_port, mgmt_port=mgmt_port, datadir=datadir, log=log)


def passthrough_add(proxy: RunningProxy, upstream: SeededCyrus) -> str:
    """POST /api/accounts as the README's passthrough example; returns what the API answered."""
    answer = httpx.post(proxy.mgmt_url + "/api/accounts", json={
        "accountid": ACCOUNT_ID, "email": PROXY_LOGIN, "sessionUrl": upstream.user.session_url,
        "username": upstream.user.login, "password": upstream.user.password, "authType": "basic",
        "loginPassword": upstream.user.password,
    }, timeout=120)  # fmt: skip
    if answer.status_code != 201:
        raise JmapFailure(f"POST /api/accounts answered {answer.status_code}: {answer.text[:500]}")
    return f"POST /api/accounts answered 201 in {answer.elapsed.total_seconds():.2f} s"


def proxied_endpoint(proxy: RunningProxy, upstream: SeededCyrus, *, quick_ack: bool = False) -> JmapEndpoint:
    """The proxy's Session for the login, once it offers mail for the passthrough account."""
    endpoint = JmapEndpoint("proxy", proxy.jmap_url + "/.well-known/jmap", PROXY_LOGIN, upstream.user.password,
                            quick_ack=quick_ack)  # fmt: skip
    deadline = time.monotonic() + SESSION_WAIT
    while True:
        session = endpoint.session_load()
        account = session.get("accounts", {}).get(ACCOUNT_ID, {})
        if MAIL in account.get("accountCapabilities", {}) and endpoint.account_id:
            return endpoint
        if time.monotonic() > deadline:
            offered = sorted(account.get("accountCapabilities", {}))
            endpoint.close()
            raise JmapFailure(f"after {SESSION_WAIT:.0f} s the proxy's Session offers account {ACCOUNT_ID!r} "
                              f"only {offered}, not {MAIL}")  # fmt: skip
        time.sleep(0.5)


class RssPeak:
    """Peak resident memory (KiB) of the proxy's whole process tree, sampled on a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(RSS_EVERY):
            self.peak = max(self.peak, sum(rss for _cmd, rss in process_tree_rss_kib(self.pid).values()))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, with reaped children) used so far by a process tree: a
    figure a loaded machine does not stretch the way it stretches wall time."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for member in process_tree_rss_kib(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return total / ticks


def web_pid(proxy_pid: int) -> int:
    """The proxy's web process (jmapsite.web_server), which serves every request; 0 when not found."""
    return next((pid for pid, (cmd, _rss) in process_tree_rss_kib(proxy_pid).items() if "web_server" in cmd), 0)


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) one process has used so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds of the proxy's web process, and of all its processes (the worker's background
    included: beat, the push relay's registry reads), from creation to `spent()`."""

    def __init__(self, proxy_pid: int) -> None:
        self.proxy_pid = proxy_pid
        self.web = web_pid(proxy_pid)
        self._start = (process_cpu_seconds(self.web), tree_cpu_seconds(proxy_pid))

    def spent(self) -> tuple[float, float]:
        return (process_cpu_seconds(self.web) - self._start[0], tree_cpu_seconds(self.proxy_pid) - self._start[1])

    def per_request(self, requests: int) -> str:
        web, tree = self.spent()
        return (f"proxy CPU per request {web / requests * 1000:.1f} ms in the web process "
                f"({tree / requests * 1000:.1f} ms all processes, background included)")


class ProxyCost:
    """Peak resident memory (MiB) of the proxy's processes and CPU seconds of its web process
    over a `with` block."""

    def __init__(self, pid: int, *, enabled: bool = True) -> None:
        self.pid = pid
        self.enabled = enabled
        self.peak_mib = 0
        self.cpu_seconds = 0.0
        self._sampler: RssPeak | None = None
        self._cpu: CpuMeter | None = None

    def __enter__(self) -> ProxyCost:
        if self.enabled:
            self._cpu = CpuMeter(self.pid)
            self._sampler = RssPeak(self.pid)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._sampler is not None:
            self.peak_mib = self._sampler.stop() // 1024
            self.cpu_seconds = self._cpu.spent()[0] if self._cpu is not None else 0.0


def tree_rss_mib(pid: int) -> int:
    return sum(rss for _cmd, rss in process_tree_rss_kib(pid).values()) // 1024


# -- (a) the list view ----------------------------------------------------------------------
def list_view_measure(direct: JmapEndpoint, proxied: JmapEndpoint | None, *, samples: int, warmup: int,
                      proxy_pid: int, client: str, target: bool) -> None:  # fmt: skip
    """The list view direct and proxied (module doc, (a)); with `target`, the Core/echo floor and
    the added latency judged against TARGET_ADDED_MS, else the added latency for information."""
    print(f"(a) list view, {client}: Email/query INBOX receivedAt desc collapseThreads limit 50 + "
          f"Email/get of 8 properties by back-reference, one request; {warmup} warm-up then {samples} "
          f"each, alternating; load average {load_average()}; host speed: {host_speed()}", flush=True)  # fmt: skip
    direct.inbox_find()
    direct_body = direct.list_view_request()
    proxied_body: dict[str, Any] | None = None
    if proxied is not None:
        try:
            proxied.inbox_find()
            proxied_body = proxied.list_view_request()
            for _ in range(warmup):
                proxied.list_view(proxied_body)
        except (JmapFailure, httpx.HTTPError, KeyError, ValueError) as exc:
            print(f"    through the proxy: not measured: {exc}", flush=True)
            proxied_body = None
    for _ in range(warmup):
        direct.list_view(direct_body)
    direct_times: list[float] = []
    proxied_times: list[float] = []
    same = True
    meter = CpuMeter(proxy_pid)
    for index in range(samples):
        # Alternate which goes first, so that neither always follows the other's cache warming.
        order = [("direct", direct), ("proxy", proxied)] if index % 2 == 0 else [("proxy", proxied), ("direct", direct)]
        listed: dict[str, list[str]] = {}
        for side, endpoint in order:
            if side == "direct":
                seconds, emails = direct.list_view(direct_body)
                direct_times.append(seconds)
            elif endpoint is not None and proxied_body is not None:
                seconds, emails = endpoint.list_view(proxied_body)
                proxied_times.append(seconds)
            else:
                continue
            listed[side] = [str(email.get("id")) for email in emails]
        if "proxy" in listed and listed["proxy"] != listed["direct"]:
            same = False
    proxy_cpu = meter.per_request(len(proxied_times) or 1)
    print(f"    direct to Cyrus:   {figures_ms(direct_times)}", flush=True)
    if proxied is None or not proxied_times:
        print(f"    load average after {load_average()}", flush=True)
        return
    print(f"    through the proxy: {figures_ms(proxied_times)}; {proxy_cpu}", flush=True)
    added = (statistics.median(proxied_times) - statistics.median(direct_times)) * 1000
    paired = statistics.median(p - d for p, d in zip(proxied_times, direct_times, strict=True)) * 1000
    listed_count = len(direct.list_view(direct_body)[1])
    floor = (min(proxied_times) - min(direct_times)) * 1000
    if target:
        echo_measure(proxied, samples=samples, warmup=warmup, proxy_pid=proxy_pid)
        verdict = f"target <= {TARGET_ADDED_MS:.0f} ms: {'met' if added <= TARGET_ADDED_MS else 'MISSED'}"
    else:
        verdict = "for information (not the target figure: see the module doc)"
    print(f"    added latency: {added:.2f} ms (difference of medians; median of paired differences "
          f"{paired:.2f} ms, difference of minimums {floor:.2f} ms), {verdict}; "
          f"both listed the same {listed_count} Emails in every pair: {'yes' if same else 'NO'}; "
          f"load average after {load_average()}", flush=True)  # fmt: skip


def list_view_twice(direct: JmapEndpoint, proxied: JmapEndpoint | None, *, upstream: SeededCyrus,
                    proxy: RunningProxy, opts: argparse.Namespace) -> None:  # fmt: skip
    """(a) with quick-ACK clients (the target figure), then with the plain ones (module doc)."""
    quick_direct = JmapEndpoint("Cyrus", upstream.user.session_url, upstream.user.login, upstream.user.password,
                                quick_ack=True)  # fmt: skip
    quick_proxied: JmapEndpoint | None = None
    try:
        quick_direct.session_load()
        if proxied is not None:
            try:
                quick_proxied = proxied_endpoint(proxy, upstream, quick_ack=True)
            except (JmapFailure, httpx.HTTPError, KeyError, ValueError) as exc:
                print(f"through the proxy, quick-ACK client: not measured: {exc}", flush=True)
        list_view_measure(quick_direct, quick_proxied, samples=opts.samples, warmup=opts.warmup,
                          proxy_pid=proxy.process.pid, client="clients acknowledging at once (quick ACK)",
                          target=True)  # fmt: skip
    finally:
        quick_direct.close()
        if quick_proxied is not None:
            quick_proxied.close()
    list_view_measure(direct, proxied, samples=opts.samples, warmup=opts.warmup, proxy_pid=proxy.process.pid,
                      client="plain httpx clients (delayed ACKs)", target=False)


def echo_measure(proxied: JmapEndpoint, *, samples: int, warmup: int, proxy_pid: int) -> None:
    """The proxy's own floor: Core/echo (RFC 8620 §4), answered by the proxy without the upstream,
    over the same connection and auth: what any request costs before forwarding adds its part."""
    body = {"using": ["urn:ietf:params:jmap:core"], "methodCalls": [["Core/echo", {"hello": "bench"}, "e"]]}
    for _ in range(warmup):
        proxied.http.post(proxied.api_url, json=body).raise_for_status()
    times: list[float] = []
    meter = CpuMeter(proxy_pid)
    for _ in range(samples):
        start = time.perf_counter()
        answer = proxied.http.post(proxied.api_url, json=body)
        answer.json()
        times.append(time.perf_counter() - start)
        answer.raise_for_status()
    print(f"    the proxy's floor, Core/echo (no upstream): {figures_ms(times)}; {meter.per_request(samples)}",
          flush=True)


def figures_ms(times: list[float]) -> str:
    return (f"median {statistics.median(times) * 1000:.2f} ms, p90 {percentile(times, 0.9) * 1000:.2f} ms, "
            f"min {min(times) * 1000:.2f} ms ({len(times)} requests)")  # fmt: skip


# -- (b) blobs --------------------------------------------------------------------------------
def rate(transfer: Transfer) -> float:
    return transfer.octets / (1 << 20) / transfer.seconds


def blob_measure(direct: JmapEndpoint, proxied: JmapEndpoint | None, *, size: int, runs: int,
                 proxy_pid: int, upstream_pid: int = 0) -> None:  # fmt: skip
    """Downloads first, then uploads, so that each phase's peak memory is its own (resident
    memory seldom shrinks: an upload's high-water mark would hide a download's).

    Beside the proxy's web process CPU, Cyrus's own (all its processes, `upstream_pid`'s
    tree) for each side: the proxy's CPU per MiB set against what the upstream itself
    spends decides the ratio on a machine whose cores all three share."""
    print(f"(b) blobs: {size >> 20} MiB, {runs} downloads then {runs} uploads each side, direct and proxied "
          f"alternating (the order swapped every run); load average {load_average()}", flush=True)  # fmt: skip
    base = os.urandom(size)
    rates: dict[tuple[str, str], list[float]] = {}
    peaks = {"download": 0, "upload": 0}
    cpu = {"download": 0.0, "upload": 0.0}
    upstream_cpu: dict[tuple[str, str], list[float]] = {}
    rss_before = tree_rss_mib(proxy_pid)
    proxy_failed = "" if proxied is not None else "no passthrough account"
    try:
        # One blob for every download, stored on Cyrus directly and read once, so that every timed
        # download (both sides fetch the same blob of the same Cyrus account) finds it cached alike.
        blob_id = direct.upload(secrets.token_bytes(16) + base[16:]).blob_id
        direct.download(blob_id, expected=size)
    except (JmapFailure, httpx.HTTPError, KeyError, ValueError) as exc:
        print(f"    direct to Cyrus: not measured: {exc}", flush=True)
        return
    for phase in ("download", "upload"):
        for run in range(runs):
            sides = [("direct", direct), ("proxy", proxied)]
            for side, endpoint in sides if run % 2 == 0 else sides[::-1]:
                if endpoint is None or (side == "proxy" and proxy_failed):
                    continue
                watched = side == "proxy"
                # A blob of its own for each upload: a server that deduplicates by digest must store it.
                payload = secrets.token_bytes(16) + base[16:] if phase == "upload" else b""
                try:
                    upstream_before = tree_cpu_seconds(upstream_pid) if upstream_pid else 0.0
                    with ProxyCost(proxy_pid, enabled=watched) as cost:
                        if phase == "upload":
                            done = endpoint.upload(payload)
                        else:
                            done = endpoint.download(blob_id, expected=size)
                    if upstream_pid:
                        upstream_cpu.setdefault((side, phase), []).append(
                            tree_cpu_seconds(upstream_pid) - upstream_before)
                except (JmapFailure, httpx.HTTPError, KeyError, ValueError) as exc:
                    if side == "direct":
                        print(f"    direct to Cyrus: {phase} not measured: {exc}", flush=True)
                        return
                    proxy_failed = f"{phase}: {exc}"
                    continue
                finally:
                    del payload
                if watched:
                    peaks[phase] = max(peaks[phase], cost.peak_mib)
                    cpu[phase] += cost.cpu_seconds
                rates.setdefault((side, phase), []).append(rate(done))
                encoding = f", Content-Encoding {done.encoding}" if phase == "download" else ""
                print(f"    {phase} {run + 1} {side:6}: {rate(done):7.1f} MiB/s ({done.seconds:.2f} s{encoding})",
                      flush=True)  # fmt: skip
    direct_down = statistics.median(rates[("direct", "download")])
    direct_up = statistics.median(rates[("direct", "upload")])
    print(f"    direct to Cyrus:   download median {direct_down:.1f} MiB/s, upload median {direct_up:.1f} MiB/s",
          flush=True)
    if proxy_failed:
        print(f"    through the proxy: not measured: {proxy_failed}", flush=True)
    else:
        proxy_down = statistics.median(rates[("proxy", "download")])
        proxy_up = statistics.median(rates[("proxy", "upload")])
        down_ratio, up_ratio = proxy_down / direct_down, proxy_up / direct_up
        print(f"    through the proxy: download median {proxy_down:.1f} MiB/s ({down_ratio:.0%} of direct), "
              f"upload median {proxy_up:.1f} MiB/s ({up_ratio:.0%} of direct); target >= {TARGET_RATIO:.0%}: "
              f"download {'met' if down_ratio >= TARGET_RATIO else 'MISSED'}, "
              f"upload {'met' if up_ratio >= TARGET_RATIO else 'MISSED'}", flush=True)  # fmt: skip
    proxied_downloads = len(rates.get(("proxy", "download"), []))
    proxied_uploads = len(rates.get(("proxy", "upload"), []))
    if proxied_downloads:
        mib = size >> 20
        uploads = (f"; uploads: peak {peaks['upload']} MiB, CPU {cpu['upload'] / proxied_uploads:.2f} s per {mib} MiB"
                   if proxied_uploads else "")  # fmt: skip
        print(f"    proxy (memory: all its processes; CPU: its web process): {rss_before} MiB resident before; "
              f"downloads: peak {peaks['download']} MiB, CPU {cpu['download'] / proxied_downloads:.2f} s per "
              f"{mib} MiB{uploads} (memory sampled every {RSS_EVERY} s)", flush=True)  # fmt: skip
    if upstream_cpu:
        per = {key: statistics.median(values) / (size >> 20) * 1000 for key, values in upstream_cpu.items()}
        web = {phase: cpu[phase] / max(len(rates.get(("proxy", phase), [])), 1) / (size >> 20) * 1000
               for phase in ("download", "upload")}  # fmt: skip
        print("    CPU per MiB (ms): " + "; ".join(
            f"{phase}: proxy web process {web[phase]:.2f}, Cyrus direct {per.get(('direct', phase), 0.0):.2f}, "
            f"Cyrus proxied {per.get(('proxy', phase), 0.0):.2f}" for phase in ("download", "upload")
            if ("direct", phase) in per), flush=True)  # fmt: skip
    print(f"    load average after {load_average()}", flush=True)


# -- (c) push ---------------------------------------------------------------------------------
def push_measure(proxied: JmapEndpoint, upstream: SeededCyrus, *, appends: int) -> None:
    print(f"(c) push: APPEND on Cyrus by an IMAP client -> StateChange (Email of {proxied.account_id}) on the "
          f"proxy's EventSource, {appends} times; load average {load_average()}", flush=True)  # fmt: skip
    if not proxied.event_source_url:
        print("    not measured: the proxy's Session has no eventSourceUrl", flush=True)
        return
    url = url_template_fill(proxied.event_source_url, types="*", closeafter="no", ping="0")
    credentials = f"{PROXY_LOGIN}:{upstream.user.password}".encode()
    headers = {"Authorization": "Basic " + base64.b64encode(credentials).decode()}
    latencies: list[float] = []
    lost = 0
    with EventStream(url=url, headers=headers) as stream:
        if stream.status != 200:
            print(f"    not measured: the EventSource answered {stream.status}: {stream.body[:300]!r}", flush=True)
            return
        phone = imaplib.IMAP4(upstream.user.imap_host, upstream.user.imap_port, timeout=30)
        try:
            phone.login(upstream.user.login, upstream.user.password)
            # The relay starts when the proxy notices the listener and takes the upstream's states
            # as its baseline: a change before that is in the baseline, not announced. Warm up
            # until one APPEND comes through (or give up after PUSH_WARMUP tries).
            warm = None
            for attempt in range(PUSH_WARMUP):
                warm = timed_append(phone, stream, upstream, proxied.account_id, f"warm-up {attempt}")
                if warm is not None:
                    break
            if warm is None:
                print(f"    not measured: none of {PUSH_WARMUP} APPENDs brought a StateChange within "
                      f"{PUSH_WAIT:.0f} s (no push relay for passthrough accounts at this commit?)",
                      flush=True)  # fmt: skip
                return
            print(f"    warm-up: the relay announced an APPEND after {warm:.3f} s", flush=True)
            for index in range(appends):
                latency = timed_append(phone, stream, upstream, proxied.account_id, f"push {index}")
                if latency is None:
                    lost += 1
                else:
                    latencies.append(latency)
        finally:
            phone.logout()
    if not latencies:
        print(f"    not measured: every APPEND was lost (none within {PUSH_WAIT:.0f} s)", flush=True)
        return
    print(f"    median {statistics.median(latencies):.3f} s, max {max(latencies):.3f} s over {len(latencies)} "
          f"appends, lost {lost} (none within {PUSH_WAIT:.0f} s); load average after {load_average()}",
          flush=True)  # fmt: skip


def timed_append(phone: imaplib.IMAP4, stream: EventStream, upstream: SeededCyrus, account_id: str,
                 subject: str) -> float | None:  # fmt: skip
    """Seconds from an APPEND on Cyrus to the StateChange naming the account's Email, or None
    when none came within PUSH_WAIT. Earlier events are drained first, then a random pause."""
    while stream.next(timeout=PUSH_QUIET) is not None:
        pass
    time.sleep(random.uniform(0.0, PUSH_JITTER))
    message = (f"From: bench@example.test\r\nTo: {upstream.user.login}\r\nSubject: {subject}\r\n"
               f"Message-ID: <{secrets.token_hex(8)}@bench.example>\r\n\r\nbody of {subject}\r\n")  # fmt: skip
    started = time.time()
    status, detail = phone.append("INBOX", "", imaplib.Time2Internaldate(time.time()), message.encode())
    if status != "OK":
        raise JmapFailure(f"Cyrus refused the APPEND: {detail}")
    arrived = state_wait(stream, account_id=account_id)
    return None if arrived is None else arrived - started


def state_wait(stream: EventStream, *, account_id: str) -> float | None:
    """Wall-clock arrival of the next StateChange that names `account_id`'s Email, or None."""
    deadline = time.monotonic() + PUSH_WAIT
    while (remaining := deadline - time.monotonic()) > 0:
        item = stream.next(timeout=remaining)
        if item is None:
            return None
        if item.event == "state" and "Email" in item.json().get("changed", {}).get(account_id, {}):
            return item.received
    return None


# -- main --------------------------------------------------------------------------------------
def python_path() -> str:
    """The interpreter as the command line shows it: relative to the checkout when it is the venv's."""
    executable = Path(sys.executable)
    return str(executable.relative_to(ROOT)) if executable.is_relative_to(ROOT) else str(executable)


def sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=3000, help="messages seeded into the Cyrus INBOX")
    parser.add_argument("--samples", type=int, default=100, help="list-view requests measured on each side")
    parser.add_argument("--warmup", type=int, default=10, help="list-view requests before measuring, each side")
    parser.add_argument("--blob-mb", type=int, default=100, help="blob size in MiB (0 skips the blob part)")
    parser.add_argument("--blob-runs", type=int, default=3)
    parser.add_argument("--appends", type=int, default=10, help="APPENDs timed to their StateChange (0 skips)")
    opts = parser.parse_args()
    signal.signal(signal.SIGTERM, sigterm)
    print(f"command: cd {ROOT} && {shlex.join([python_path(), *sys.argv])}")
    print(f"machine: {machine()}; load average {load_average()}")
    print(f"code: {code_version()}")
    print(f"upstream: {cyrus_version()}", flush=True)
    upstream = seeded_cyrus(messages=opts.messages)
    datadir = Path(tempfile.mkdtemp(prefix="jmap-bench-passthrough-"))
    proxy: RunningProxy | None = None
    direct: JmapEndpoint | None = None
    proxied: JmapEndpoint | None = None
    try:
        print(f"Cyrus on 127.0.0.1 (IMAP {upstream.server.imap_port}, HTTP {upstream.server.http_port}): "
              f"{opts.messages:,} messages APPENDed to {upstream.user.login}'s INBOX in "
              f"{upstream.seed_seconds:.1f} s", flush=True)  # fmt: skip
        proxy = proxy_start(datadir)
        ready = wait_ready(proxy)
        print(f"proxy: runproxy ready in {ready:.1f} s (JMAP {proxy.jmap_url}, data {datadir})", flush=True)
        direct = JmapEndpoint("Cyrus", upstream.user.session_url, upstream.user.login, upstream.user.password)
        direct.session_load()
        try:
            print(f"passthrough account {ACCOUNT_ID!r}: {passthrough_add(proxy, upstream)}", flush=True)
            proxied = proxied_endpoint(proxy, upstream)
        except (JmapFailure, httpx.HTTPError, KeyError, ValueError) as exc:
            print(f"through the proxy: not measured at all: {exc}", flush=True)
        list_view_twice(direct, proxied, upstream=upstream, proxy=proxy, opts=opts)
        if opts.blob_mb > 0:
            blob_measure(direct, proxied, size=opts.blob_mb << 20, runs=opts.blob_runs,
                         proxy_pid=proxy.process.pid,
                         upstream_pid=upstream.server.process.pid if upstream.server.process else 0)  # fmt: skip
        if opts.appends > 0 and proxied is not None:
            push_measure(proxied, upstream, appends=opts.appends)
    finally:
        for endpoint in (direct, proxied):
            if endpoint is not None:
                endpoint.close()
        if proxy is not None:
            proxy.stop()
        upstream.stop()
        shutil.rmtree(datadir, ignore_errors=True)


if __name__ == "__main__":
    main()
