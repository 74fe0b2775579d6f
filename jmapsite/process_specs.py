"""The command lines of the proxy's processes (runproxy builds its plan from them).

Embedded (the all-in-one `make run`): two children of a Django-free supervisor,
- web: one daphne process on both ports;
- worker: one Celery worker process that runs the task queue (a thread pool),
  the beat schedule and the IMAP IDLE listener as threads (`--embedded`,
  jmapsite.embedded), so that one machine idles in three small processes.

Scale-out (`--web-only`, `--worker-only`, `--beat-only`, `--listener-only`)
keeps one process per role: any number of web processes, workers and
listeners, and exactly one beat.
"""
from __future__ import annotations

import sys
from pathlib import Path

from jmapcore.limits import LIMITS
from jmapsite.supervisor import ChildSpec

# Incoming WebSocket message limit (RFC 8887): a little over maxSizeRequest, so
# that a too-large request gets a "limit" RequestError rather than a dropped socket.
WEBSOCKET_MAX_MESSAGE = LIMITS.maxSizeRequest + 64 * 1024
MANAGE_PY = Path(__file__).resolve().parent.parent / "manage.py"


def twisted_interface(host: str) -> str:
    """Escape an address for a Twisted endpoint string (IPv6 colons)."""
    return host.replace(":", r"\:")


def web_argv(*, jmap_host: str, jmap_port: int, mgmt_host: str, mgmt_port: int, log_level: str) -> list[str]:
    """One daphne process listening on both ports; its access log (a line per
    request on stdout) only at JMAP_LOG_LEVEL INFO or DEBUG. It runs as
    jmapsite.daphne_server, daphne with request bodies read from its spool file
    and response bodies held while the client's socket is full, so a large
    upload or download does not sit in the web process's memory."""
    verbosity = "1" if log_level in ("DEBUG", "INFO") else "0"
    return [
        sys.executable, "-m", "jmapsite.daphne_server", "--verbosity", verbosity,
        "-e", f"tcp:{jmap_port}:interface={twisted_interface(jmap_host)}",
        "-e", f"tcp:{mgmt_port}:interface={twisted_interface(mgmt_host)}",
        "--application-close-timeout", "30",
        # daphne's 1 MiB default would cut JMAP WebSocket requests far below
        # maxSizeRequest; the consumer answers a RequestError up to this size.
        "--websocket-max-message-size", str(WEBSOCKET_MAX_MESSAGE),
        "--websocket-max-frame-size", str(WEBSOCKET_MAX_MESSAGE),
        "jmapsite.asgi:application",
    ]  # fmt: skip


def worker_argv(*, concurrency: int, log_level: str, embedded: bool = False) -> list[str]:
    """A Celery worker; `embedded` adds the beat schedule and the IMAP IDLE
    listener as threads of the same process (jmapsite.embedded)."""
    # Threads: backend work is network-bound, and one process keeps memory low.
    if not embedded:
        return [
            sys.executable, "-m", "celery", "-A", "jmapsite", "worker",
            "--pool=threads", f"--concurrency={concurrency}", f"--loglevel={log_level}",
            "--without-gossip", "--without-mingle",
        ]  # fmt: skip
    # Embedded: --quiet drops the banner; heartbeats (like gossip and mingle) are
    # for a cluster of workers watching each other, and there is one worker.
    return [
        sys.executable, "-m", "celery", "-A", "jmapsite", "--quiet", "worker",
        "--pool=threads", f"--concurrency={concurrency}", f"--loglevel={log_level}",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--embedded",
    ]  # fmt: skip


def listener_argv() -> list[str]:
    """The IMAP IDLE listener (backends.imap.idle); any number may run, they share the accounts."""
    return [sys.executable, str(MANAGE_PY), "imap_listener"]


def beat_argv(*, datadir: Path, log_level: str) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "jmapsite", "beat", f"--loglevel={log_level}",
        "--pidfile=", f"--schedule={datadir / 'run' / 'celerybeat-schedule'}",
    ]  # fmt: skip


def embedded_specs(
    *, jmap_host: str, jmap_port: int, mgmt_host: str, mgmt_port: int, concurrency: int, log_level: str
) -> list[ChildSpec]:
    """The all-in-one start: web and one embedded worker."""
    return [
        ChildSpec(
            "web",
            web_argv(
                jmap_host=jmap_host, jmap_port=jmap_port, mgmt_host=mgmt_host, mgmt_port=mgmt_port,
                log_level=log_level,
            ),
            "daphne, the JMAP and management ports",
        ),
        ChildSpec(
            "worker",
            worker_argv(concurrency=concurrency, log_level=log_level, embedded=True),
            "Celery worker with the task queue, the beat schedule and the IMAP IDLE listener",
        ),
    ]


def role_specs(
    *, role: str, jmap_host: str, jmap_port: int, mgmt_host: str, mgmt_port: int, concurrency: int, log_level: str,
    datadir: Path,
) -> list[ChildSpec]:
    """The processes of one scale-out role: web | worker (with its listener) | beat | listener."""
    specs: list[ChildSpec] = []
    if role == "web":
        specs.append(
            ChildSpec(
                "web",
                web_argv(
                    jmap_host=jmap_host, jmap_port=jmap_port, mgmt_host=mgmt_host, mgmt_port=mgmt_port,
                    log_level=log_level,
                ),
                "daphne, the JMAP and management ports",
            )
        )
    if role == "worker":
        specs.append(ChildSpec("worker", worker_argv(concurrency=concurrency, log_level=log_level), "Celery worker"))
    if role == "beat":
        specs.append(ChildSpec("beat", beat_argv(datadir=datadir, log_level=log_level), "Celery beat"))
    if role in ("worker", "listener"):
        specs.append(ChildSpec("listener", listener_argv(), "IMAP IDLE listener"))
    return specs
