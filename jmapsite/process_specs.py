"""The command lines of the proxy's processes (runproxy builds its plan from them).

Embedded (the all-in-one `make run`): two children of a Django-free supervisor,
- web: one uvicorn process on both ports (jmapsite.web_server);
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

from jmapsite.supervisor import ChildSpec

MANAGE_PY = Path(__file__).resolve().parent.parent / "manage.py"


def bind_address(host: str, port: int) -> str:
    """HOST:PORT for jmapsite.web_server, an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def web_argv(*, jmap_host: str, jmap_port: int, mgmt_host: str, mgmt_port: int, log_level: str) -> list[str]:
    """One web process (jmapsite.web_server: uvicorn) listening on both ports; its access log
    (a line per request) only at JMAP_LOG_LEVEL INFO or DEBUG."""
    access_log = ["--access-log"] if log_level in ("DEBUG", "INFO") else []
    return [
        sys.executable, "-m", "jmapsite.web_server", *access_log,
        "--bind", bind_address(jmap_host, jmap_port), "--bind", bind_address(mgmt_host, mgmt_port),
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
            "uvicorn, the JMAP and management ports",
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
                "uvicorn, the JMAP and management ports",
            )
        )
    if role == "worker":
        specs.append(ChildSpec("worker", worker_argv(concurrency=concurrency, log_level=log_level), "Celery worker"))
    if role == "beat":
        specs.append(ChildSpec("beat", beat_argv(datadir=datadir, log_level=log_level), "Celery beat"))
    if role in ("worker", "listener"):
        specs.append(ChildSpec("listener", listener_argv(), "IMAP IDLE listener"))
    return specs
