"""Start and watch the proxy's processes: web (daphne, both ports), Celery worker,
Celery beat. A child that dies is restarted with a growing delay; SIGTERM or
SIGINT stops them all. The state file (supervisor_state_file) tells /healthz
and /metrics which children are alive.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from jmapcore.limits import LIMITS

log = logging.getLogger("jmap.supervisor")

RESTART_DELAY_MAX = 30.0
# Incoming WebSocket message limit (RFC 8887): a little over maxSizeRequest, so
# that a too-large request gets a "limit" RequestError rather than a dropped socket.
WEBSOCKET_MAX_MESSAGE = LIMITS.maxSizeRequest + 64 * 1024
STOP_GRACE_SECONDS = 10.0


def supervisor_state_file(*, datadir: Path, pid: int | None = None) -> Path:
    """Where a supervisor writes its state: `run/supervisor.json` for the
    embedded all-in-one start; `run/supervisor-<pid>.json` for the role
    processes of scale-out (--web-only, ...), which may share one data
    directory and must not overwrite each other's state."""
    name = "supervisor.json" if pid is None else f"supervisor-{pid}.json"
    return datadir / "run" / name


@dataclass
class ChildSpec:
    name: str
    argv: list[str]


@dataclass
class Child:
    spec: ChildSpec
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = 0.0


def twisted_interface(host: str) -> str:
    """Escape an address for a Twisted endpoint string (IPv6 colons)."""
    return host.replace(":", r"\:")


def web_argv(*, jmap_host: str, jmap_port: int, mgmt_host: str, mgmt_port: int) -> list[str]:
    """One daphne process listening on both ports."""
    return [
        sys.executable, "-m", "daphne",
        "-e", f"tcp:{jmap_port}:interface={twisted_interface(jmap_host)}",
        "-e", f"tcp:{mgmt_port}:interface={twisted_interface(mgmt_host)}",
        "--application-close-timeout", "30",
        # daphne's 1 MiB default would cut JMAP WebSocket requests far below
        # maxSizeRequest; the consumer answers a RequestError up to this size.
        "--websocket-max-message-size", str(WEBSOCKET_MAX_MESSAGE),
        "--websocket-max-frame-size", str(WEBSOCKET_MAX_MESSAGE),
        "jmapsite.asgi:application",
    ]  # fmt: skip


def worker_argv(*, concurrency: int) -> list[str]:
    # Threads: backend work is network-bound, and one process keeps memory low.
    return [
        sys.executable, "-m", "celery", "-A", "jmapsite", "worker",
        "--pool=threads", f"--concurrency={concurrency}", "--loglevel=INFO", "--without-gossip", "--without-mingle",
    ]  # fmt: skip


def listener_argv() -> list[str]:
    """The IMAP IDLE listener (backends.imap.idle); any number may run, they share the accounts."""
    return [sys.executable, str(Path(__file__).resolve().parent.parent / "manage.py"), "imap_listener"]


def beat_argv(*, datadir: Path) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "jmapsite", "beat", "--loglevel=INFO",
        "--pidfile=", f"--schedule={datadir / 'run' / 'celerybeat-schedule'}",
    ]  # fmt: skip


@dataclass
class Supervisor:
    children: list[Child]
    state_file: Path
    started: float = field(default_factory=time.time)
    stopping: bool = False

    @classmethod
    def for_specs(cls, specs: list[ChildSpec], *, state_file: Path) -> Supervisor:
        return cls(children=[Child(spec=s) for s in specs], state_file=state_file)

    def write_state(self) -> None:
        state = {
            "pid": os.getpid(),
            "started": self.started,
            "children": {c.spec.name: c.process.pid for c in self.children if c.process and c.process.poll() is None},
        }
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        # A temporary name of our own: never half of another writer's file.
        tmp = self.state_file.with_name(f".{self.state_file.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.state_file)

    def owns_state_file(self) -> bool:
        """True when the state file is the one this supervisor wrote (same pid
        and start time), not one a newer supervisor wrote since."""
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return False
        return isinstance(state, dict) and state.get("pid") == os.getpid() and state.get("started") == self.started

    def remove_state_file(self) -> None:
        """Remove the state file only if it is still ours (see owns_state_file)."""
        if self.owns_state_file():
            self.state_file.unlink(missing_ok=True)
        else:
            log.info("state file %s belongs to another supervisor; left in place", self.state_file)

    def start(self, child: Child) -> None:
        child.process = subprocess.Popen(child.spec.argv)  # noqa: S603 - our own argv
        child.started_at = time.monotonic()
        log.info("started %s (pid %d)", child.spec.name, child.process.pid)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for child in self.children:
            self.start(child)
        self.write_state()
        while not self.stopping:
            time.sleep(0.5)
            if self._reap_and_restart():
                self.write_state()
        self.stop_all()
        return 0

    def _reap_and_restart(self) -> bool:
        changed = False
        now = time.monotonic()
        for child in self.children:
            proc = child.process
            if proc is not None and proc.poll() is not None:
                # A child that ran for a minute had a fault, not a start-up loop.
                child.restarts = 0 if now - child.started_at > 60 else child.restarts + 1
                delay = min(RESTART_DELAY_MAX, 0.5 * 2**child.restarts)
                log.warning("%s exited with %s; restarting in %.1fs", child.spec.name, proc.returncode, delay)
                child.process = None
                child.next_start = now + delay
                changed = True
            if child.process is None and now >= child.next_start and not self.stopping:
                self.start(child)
                changed = True
        return changed

    def stop_all(self) -> None:
        running = [c.process for c in self.children if c.process and c.process.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for proc in running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.remove_state_file()
        log.info("all processes stopped")
