"""JMAP passthrough: the proxy's own CPU per forwarded request, in one process.

Usage: .venv/bin/python bench/passthrough_cpu.py [--messages 300] [--samples 200] [--profile FILE] [--breakdown]

bench/passthrough.py measures the added latency end to end (runproxy, real
sockets), which a loaded shared machine stretches and scatters: the upstream's
own time varies by tens of milliseconds from one request to the next. This
script measures what the proxy itself spends, which load hardly changes, so
that a change to the request path can be judged in minutes:

- Upstream: a private Cyrus IMAP 3.6 seeded with --messages messages in its
  INBOX (bench/_passthrough_upstream.py, as bench/passthrough.py).
- Proxy: this process, embedded defaults in a fresh JMAP_DATADIR (SQLite),
  the passthrough account created by accounts.services.account_create with
  Basic auth to Cyrus; requests go through the real ASGI application
  (jmapsite.asgi: PortRoutingMiddleware, Django's middleware, the API view,
  the engine, the forwarder, the pooled upstream client) by httpx's
  ASGITransport, Basic auth to the proxy.
- Requests, alternating: the list view of bench/passthrough.py (Email/query
  INBOX receivedAt desc, collapseThreads, limit 50 + Email/get of 8
  properties by back-reference) through the proxy; Core/echo through the
  proxy (answered locally: the floor of any request); the same list view
  straight to Cyrus with httpx.

Prints, per kind, the median and minimum wall time, the median CPU of this
whole process per request, and the median CPU of the thread that ran Django
for it (the view, the forwarding, the upstream HTTP client; not the ASGI
glue or the measuring client). With --profile, the request threads of the
proxied list views are profiled (cProfile, timed by the thread's CPU clock) and the top
functions printed. With --breakdown, the steps of the request path listed in
BREAKDOWN are timed by the request thread's CPU clock (each wrapped where its
caller looks it up; no profiler overhead on the rest) and their medians per
proxied list view printed: cProfile's per-call cost inflates code made of many
small calls, which this does not.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for _path in (str(BENCH), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)
os.environ["JMAP_DATADIR"] = tempfile.mkdtemp(prefix="jmap-bench-passthrough-cpu-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jmapsite.settings")

from _passthrough_upstream import SeededCyrus, seeded_cyrus  # noqa: E402

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
LOGIN = "bench-passthrough-cpu@example.test"
ACCOUNT_ID = "bench"
LIST_PROPERTIES = ["id", "threadId", "mailboxIds", "keywords", "from", "subject", "receivedAt", "preview"]
WARMUP = 10
# (module where the caller looks the name up, name): steps of the list view's request path.
BREAKDOWN = (
    ("jmapcore.api", "authenticate_request_accounts"),
    ("jmapcore.api", "json_decode"),
    ("jmapcore.api", "request_run"),
    ("jmapcore.engine", "passthrough_route"),
    ("jmapcore.engine", "session_state"),
    ("backends.jmap.forward", "upstream_client"),
    ("backends.jmap.forward", "arguments_to_upstream"),
    ("backends.jmap.forward", "response_split"),
    ("backends.jmap.client", "json_dumps"),
    ("backends.jmap.client", "exchange"),
    ("backends.jmap.client", "json_loads"),
    ("backends.jmap.api_transport", "request_bytes"),
    ("backends.jmap.api_transport", "head_read"),
    ("backends.jmap.api_transport", "body_read"),
)


def list_view(account_id: str, inbox: str) -> dict[str, Any]:
    return {"using": [CORE, MAIL], "methodCalls": [
        ["Email/query", {"accountId": account_id, "filter": {"inMailbox": inbox},
                         "sort": [{"property": "receivedAt", "isAscending": False}],
                         "collapseThreads": True, "limit": 50}, "q"],
        ["Email/get", {"accountId": account_id, "#ids": {"resultOf": "q", "name": "Email/query", "path": "/ids"},
                       "properties": LIST_PROPERTIES}, "g"],
    ]}  # fmt: skip


def basic(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


class RequestThreadCpu:
    """Wraps the Django handler's get_response: CPU of the thread that runs it, optionally profiled."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self.original = handler.get_response
        self.spent: list[float] = []
        self.profiler: cProfile.Profile | None = None
        handler.get_response = self

    def __call__(self, request: Any) -> Any:
        started = time.thread_time()
        if self.profiler is not None:
            self.profiler.enable()
        try:
            return self.original(request)
        finally:
            if self.profiler is not None:
                self.profiler.disable()
            self.spent.append(time.thread_time() - started)


class Breakdown:
    """Thread CPU of the BREAKDOWN steps, summed per request (see the module doc)."""

    def __init__(self) -> None:
        import importlib

        self.current: dict[str, float] = {}
        self.per_request: dict[str, list[float]] = {}
        for module_name, name in BREAKDOWN:
            module = importlib.import_module(module_name)
            setattr(module, name, self._wrapped(f"{module_name}.{name}", getattr(module, name)))

    def _wrapped(self, label: str, function: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.current[label] = self.current.get(label, 0.0) + time.thread_time() - started

        return timed

    def request_done(self, *, keep: bool) -> None:
        if keep:
            for label in (f"{module_name}.{name}" for module_name, name in BREAKDOWN):
                self.per_request.setdefault(label, []).append(self.current.get(label, 0.0))
        self.current.clear()

    def print(self) -> None:
        print("    request-thread CPU per proxied list view, by step (median, mean):")
        for label, values in self.per_request.items():
            median, mean = statistics.median(values) * 1000, statistics.fmean(values) * 1000
            print(f"      {label:45} {median:7.3f} ms {mean:7.3f} ms")


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.2f} ms"


async def measure(upstream: SeededCyrus, *, samples: int, profile: str, breakdown: bool) -> None:
    import httpx
    from django.conf import settings

    from jmapsite.asgi import application, django_asgi_app

    steps = Breakdown() if breakdown else None
    cpu = RequestThreadCpu(django_asgi_app)
    proxy_url = f"http://127.0.0.1:{settings.JMAP_PORT}"
    direct_api = upstream.user.session_url.split("/.well-known")[0] + "/jmap/"
    proxy_auth = {"Authorization": basic(LOGIN, upstream.user.password)}
    direct_auth = {"Authorization": basic(upstream.user.login, upstream.user.password)}
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url=proxy_url, headers=proxy_auth) as proxy, \
            httpx.AsyncClient(headers=direct_auth) as direct:  # fmt: skip
        found = await proxy.post("/jmap/", json={"using": [CORE, MAIL], "methodCalls": [
            ["Mailbox/query", {"accountId": ACCOUNT_ID, "filter": {"role": "inbox"}}, "m"]]})  # fmt: skip
        inbox = found.json()["methodResponses"][0][1]["ids"][0]

        async def post(side: str, body: dict[str, Any]) -> httpx.Response:
            answer = await (proxy.post("/jmap/", json=body) if side == "proxy" else direct.post(direct_api, json=body))
            answer.raise_for_status()
            return answer

        bodies = {
            "list view through the proxy": ("proxy", list_view(ACCOUNT_ID, inbox)),
            "Core/echo through the proxy": ("proxy", {"using": [CORE], "methodCalls": [["Core/echo", {}, "e"]]}),
            "list view straight to Cyrus": ("direct", list_view(upstream.user.login, inbox)),
        }
        for side, body in bodies.values():
            for _ in range(WARMUP):
                await post(side, body)
        if steps is not None:
            steps.request_done(keep=False)
        wall: dict[str, list[float]] = {name: [] for name in bodies}
        process: dict[str, list[float]] = {name: [] for name in bodies}
        thread: dict[str, list[float]] = {name: [] for name in bodies}
        # CPU time of the request thread, not wall time: waiting for Cyrus (recv) and for the GIL held
        # by the event loop's thread would otherwise dominate every figure.
        profiler = cProfile.Profile(time.thread_time) if profile else None
        for index in range(samples):
            order = list(bodies.items()) if index % 2 == 0 else list(bodies.items())[::-1]
            for name, (side, body) in order:
                cpu.spent.clear()
                cpu.profiler = profiler if name.startswith("list view through") else None
                started, cpu_started = time.perf_counter(), time.process_time()
                (await post(side, body)).json()
                wall[name].append(time.perf_counter() - started)
                process[name].append(time.process_time() - cpu_started)
                thread[name].append(sum(cpu.spent))
                if steps is not None:
                    steps.request_done(keep=name.startswith("list view through"))
                cpu.profiler = None
    for name in bodies:
        cpu_figures = "" if name.endswith("Cyrus") else (
            f", CPU of this process {median_ms(process[name])}, of the request thread {median_ms(thread[name])}")
        print(f"    {name:28}: wall median {median_ms(wall[name])}, min {min(wall[name]) * 1000:6.2f} ms{cpu_figures}",
              flush=True)  # fmt: skip
    if steps is not None:
        steps.print()
    if profiler is not None:
        profiler.dump_stats(profile)
        print(f"    request-thread profile of the proxied list views written to {profile}; top functions:")
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
        pstats.Stats(profile).sort_stats("tottime").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=300, help="messages seeded into the Cyrus INBOX")
    parser.add_argument("--samples", type=int, default=200, help="requests of each kind")
    parser.add_argument("--profile", default="", help="write a cProfile of the proxied list views here")
    parser.add_argument("--breakdown", action="store_true", help="thread CPU of each step of the list view's path")
    opts = parser.parse_args()
    print(f"command: cd {ROOT} && {' '.join([sys.executable, *sys.argv])}")
    one, five, _ = os.getloadavg()
    print(f"load average {one:.2f} (5 min {five:.2f})", flush=True)
    upstream = seeded_cyrus(messages=opts.messages)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("createcachetable", verbosity=0)
        from accounts.services import account_create

        account_create(accountid=ACCOUNT_ID, email=LOGIN, session_url=upstream.user.session_url,
                       username=upstream.user.login, password=upstream.user.password, auth_type="basic",
                       login_password=upstream.user.password)  # fmt: skip
        print(f"Cyrus on 127.0.0.1 (HTTP {upstream.server.http_port}), {opts.messages} messages; "
              f"{opts.samples} requests of each kind, alternating:", flush=True)  # fmt: skip
        asyncio.run(measure(upstream, samples=opts.samples, profile=opts.profile, breakdown=opts.breakdown))
    finally:
        upstream.stop()
    one, five, _ = os.getloadavg()
    print(f"load average after {one:.2f} (5 min {five:.2f})")


if __name__ == "__main__":
    main()
