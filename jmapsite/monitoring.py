"""Health and metrics endpoints of the management port.

/healthz answers {"status": "ok", "uptime": s, "children": n, "pid": p,
"processes": {name: pid}} when the proxy can serve (`processes` lists the live
children of this supervisor: web and worker under the all-in-one start, whose
worker also runs the beat schedule and the IDLE listener as threads; a
scale-out role's own, e.g. worker and listener), and HTTP 503 with
"status": "degraded" and the failed checks when it cannot (the database is
unreachable); it needs no credentials (Docker's health check has none).
/metrics, guarded like the management API, is the Prometheus text
format of the default registry: django-prometheus's HTTP/DB metrics, our
counters from jmapsite.metrics, and the values below computed at scrape time.

Both read the supervisor's state file (jmapsite.supervisor writes it) to learn
when the proxy started and which child processes are alive. In scale-out
several supervisors share one data directory, each with its own file named by
its pid; the web process reads its parent's. Without a (current) file they
describe this process.

jmap_backend_workers_active counts the accounts whose sync runs right now, in
any process: the per-account sync locks held in the shared cache
(accounts.sync), so every web process reports the same cluster-wide value.
"""
from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("jmap.monitoring")

# When this process started; the uptime when no supervisor state is available.
PROCESS_STARTED = time.time()



def supervisor_state_path() -> Path:
    """This process's supervisor's state file: the one named by the parent's
    pid (role-specific supervisors of scale-out), else the embedded one."""
    from jmapsite.supervisor import supervisor_state_file

    own = supervisor_state_file(datadir=Path(settings.DATADIR), pid=os.getppid())
    return own if own.exists() else supervisor_state_file(datadir=Path(settings.DATADIR))


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists (signal 0 checks without sending)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        # It exists but belongs to someone else: alive.
        return True
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class ProcessState:
    """What the health and metrics endpoints report about the proxy's processes."""

    pid: int
    started: float
    children: dict[str, list[int]] = field(default_factory=dict)
    from_supervisor: bool = False

    @property
    def uptime(self) -> float:
        return max(0.0, time.time() - self.started)

    def live_children(self, *, prefix: str = "") -> int:
        pids = [pid for name, pids in self.children.items() if name.startswith(prefix) for pid in pids]
        return sum(1 for pid in pids if pid_alive(pid))

    def live_processes(self) -> dict[str, int | list[int]]:
        """{child name: pid} of the children alive now (a list where a name has several)."""
        alive: dict[str, int | list[int]] = {}
        for name, pids in self.children.items():
            live = [pid for pid in pids if pid_alive(pid)]
            if live:
                alive[name] = live[0] if len(live) == 1 else live
        return alive


def _child_pids(value: Any) -> list[int]:
    # The supervisor writes one pid per child; a list is accepted for children
    # that run several processes under one name.
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


def process_state_read() -> ProcessState:
    """The supervisor's state if its file is present and its pid alive, else this
    process's. A file left behind by a supervisor that died is ignored."""
    fallback = ProcessState(pid=os.getpid(), started=PROCESS_STARTED)
    try:
        raw = json.loads(supervisor_state_path().read_text())
    except FileNotFoundError:
        return fallback
    except (OSError, ValueError) as exc:
        log.warning("unreadable supervisor state file %s: %s", supervisor_state_path(), exc)
        return fallback
    if not isinstance(raw, dict):
        return fallback
    pid, started, children = raw.get("pid"), raw.get("started"), raw.get("children")
    if not isinstance(pid, int) or not pid_alive(pid):
        return fallback
    if not isinstance(started, int | float):
        started = PROCESS_STARTED
    parsed = {str(k): _child_pids(v) for k, v in children.items()} if isinstance(children, dict) else {}
    return ProcessState(pid=pid, started=float(started), children=parsed, from_supervisor=True)


def database_check() -> str | None:
    """None when the database answers a trivial query, else why not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        log.warning("health check: database unreachable: %s", exc)
        return f"unreachable ({type(exc).__name__})"
    return None


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """The product README's health document; 503 "degraded" lists failed checks."""
    state = process_state_read()
    failed: dict[str, str] = {}
    db_error = database_check()
    if db_error is not None:
        failed["database"] = db_error
    body: dict[str, Any] = {
        "status": "degraded" if failed else "ok",
        "uptime": int(state.uptime),
        "children": state.live_children(),
        "pid": state.pid,
        "processes": state.live_processes(),
    }
    if failed:
        body["failed"] = failed
    return JsonResponse(body, status=503 if failed else 200)


# --- scrape-time metrics ------------------------------------------------------


def queue_depth() -> int:
    """Messages waiting in the Celery broker's default queue.

    Filesystem broker (embedded default): one file per message in data_folder_in,
    named `<time>_<uuid>.<queue>.msg`. Redis broker: a list per queue (plus one
    per priority step, which kombu names `<queue>\\x06\\x16<priority>`).
    """
    from jmapsite.celery import app

    queue = str(app.conf.task_default_queue or "celery")
    broker_url = str(settings.CELERY_BROKER_URL)
    if broker_url.startswith("filesystem:"):
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("data_folder_in", "data_in"))
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return 0
        return sum(1 for name in names if name.partition(".")[2] == f"{queue}.msg")
    if broker_url.startswith(("redis:", "rediss:", "unix:")):
        import redis

        client = redis.Redis.from_url(broker_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            pipe = client.pipeline()
            for name in _redis_queue_names(queue):
                pipe.llen(name)
            return sum(int(n) for n in pipe.execute())
        finally:
            client.close()
    raise ValueError(f"queue depth not supported for broker {broker_url.split(':', 1)[0]}")


def _redis_queue_names(queue: str) -> list[str]:
    from kombu.transport.redis import PRIORITY_STEPS

    return [queue if step == 0 else f"{queue}\x06\x16{step}" for step in PRIORITY_STEPS]


def syncs_running() -> int:
    """Accounts whose sync holds its lock now, whichever process runs it."""
    from django.core.cache import cache

    from accounts.models import Account
    from accounts.sync import account_sync_lock_key

    ids = list(Account.objects.values_list("pk", flat=True))
    running = 0
    for start in range(0, len(ids), 1000):
        keys = [account_sync_lock_key(account_id=pk) for pk in ids[start : start + 1000]]
        running += len(cache.get_many(keys))
    return running


def account_sync_ages(*, now: float) -> Iterator[tuple[str, float]]:
    """(accountid, seconds since last sync) per account; never-synced accounts
    count from their creation."""
    from accounts.models import Account

    for accountid, last_sync_at, created_at in Account.objects.values_list(
        "accountid", "last_sync_at", "created_at"
    ).iterator():
        since = last_sync_at or created_at
        yield accountid, max(0.0, now - since.timestamp())


class ProxyCollector(Collector):
    """Gauges computed when Prometheus scrapes. A source that fails (database or
    broker down) leaves its metric out of this scrape rather than failing it."""

    def describe(self) -> Iterable[GaugeMetricFamily]:
        # Lets registration skip collect(): no database access at import time.
        return [
            GaugeMetricFamily("jmap_uptime_seconds", "Seconds since the proxy started"),
            GaugeMetricFamily("jmap_backend_workers_active", "Account syncs running now, in any process"),
            GaugeMetricFamily("jmap_backend_queue_depth", "Backend jobs waiting in the task queue"),
            GaugeMetricFamily(
                "jmap_account_last_sync_age_seconds", "Seconds since each account last synced", labels=["accountid"]
            ),
        ]

    def collect(self) -> Iterable[GaugeMetricFamily]:
        uptime, workers, depth, ages = self.describe()
        state = process_state_read()
        uptime.add_metric([], state.uptime)
        yield uptime
        try:
            workers.add_metric([], syncs_running())
        except Exception as exc:
            log.warning("metrics: cannot count running syncs: %s", exc)
        else:
            yield workers
        try:
            depth.add_metric([], queue_depth())
        except Exception as exc:
            log.warning("metrics: cannot read the task queue depth: %s", exc)
        else:
            yield depth
        try:
            rows = list(account_sync_ages(now=time.time()))
        except Exception as exc:
            log.warning("metrics: cannot read account sync times: %s", exc)
        else:
            for accountid, age in rows:
                ages.add_metric([accountid], age)
            yield ages


_collector: ProxyCollector | None = None


def collector_install() -> ProxyCollector:
    """Register the scrape-time collector with the default registry, once."""
    global _collector
    if _collector is None:
        collector = ProxyCollector()
        try:
            REGISTRY.register(collector)
        except ValueError:
            # Already registered by an earlier import of this module (reload).
            log.debug("scrape-time collector already registered")
        _collector = collector
    return _collector


collector_install()


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text exposition of the default registry.

    Guarded like the management API (accounts.mgmt_auth): with a management
    token, Prometheus must send it (``authorization: {credentials: ...}`` or
    ``bearer_token_file`` in its scrape config); the Host check applies too.
    """
    # Importing registers our counters even if no JMAP request touched them yet.
    import jmapsite.metrics  # noqa: F401
    from accounts.mgmt_auth import ManagementAccessDenied, mgmt_access_check

    try:
        mgmt_access_check(request)
    except ManagementAccessDenied as exc:
        response = HttpResponse(exc.detail + "\n", status=exc.status, content_type="text/plain; charset=utf-8")
        if exc.status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="jmap-proxy management"'
        return response
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
