"""Start and watch the proxy's processes; SIGTERM or SIGINT stops them all.

This module is the process that lives as long as the proxy, so it imports the
standard library only: no Django, no Celery (about 10 MiB instead of 110).
`manage.py runproxy` prepares the data directory with Django, takes the run lock
(jmapsite.run_lock), builds the plan (jmapsite.process_specs) and then replaces
itself with this module (`python -P -S jmapsite/supervisor.py PLAN`: same pid,
the lock's descriptor kept open across exec; -P keeps jmapsite/ off sys.path,
so no module of the project can shadow the standard library, and -S keeps
site-packages off it, so nothing but the standard library can be imported).

A child that dies is restarted with a growing delay. The state file
(supervisor_state_file) tells /healthz and /metrics which children are alive;
a stopping supervisor removes it only if it is still its own.
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

log = logging.getLogger("jmap.supervisor")

RESTART_DELAY_MAX = 30.0
STOP_GRACE_SECONDS = 10.0
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # the format of jmapsite.settings.LOGGING


def supervisor_state_file(*, datadir: Path, pid: int | None = None) -> Path:
    """Where a supervisor writes its state: `run/supervisor.json` for the
    embedded all-in-one start; `run/supervisor-<pid>.json` for the role
    processes of scale-out (--web-only, ...), which may share one data
    directory and must not overwrite each other's state."""
    name = "supervisor.json" if pid is None else f"supervisor-{pid}.json"
    return datadir / "run" / name


@dataclass
class ChildSpec:
    """One supervised process: its name in the state file, its command line and
    what it runs (the console line printed when it starts)."""

    name: str
    argv: list[str]
    about: str = ""


@dataclass
class Child:
    spec: ChildSpec
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = 0.0


@dataclass
class Supervisor:
    children: list[Child]
    state_file: Path
    started: float = field(default_factory=time.time)
    stopping: bool = False
    # Extra environment for the children (JMAP_LOG_LEVEL of the all-in-one start).
    child_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_specs(
        cls, specs: list[ChildSpec], *, state_file: Path, child_env: dict[str, str] | None = None
    ) -> Supervisor:
        return cls(children=[Child(spec=s) for s in specs], state_file=state_file, child_env=dict(child_env or {}))

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
        env = {**os.environ, **self.child_env} if self.child_env else None
        child.process = subprocess.Popen(child.spec.argv, env=env)  # noqa: S603 - our own argv
        child.started_at = time.monotonic()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for child in self.children:
            self.start(child)
            assert child.process is not None
            # The one console line per process (logging may be at WARNING).
            about = f": {child.spec.about}" if child.spec.about else ""
            print(f"jmap-proxy: started {child.spec.name} (pid {child.process.pid}){about}", flush=True)
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
                assert child.process is not None
                log.warning("restarted %s (pid %d)", child.spec.name, child.process.pid)
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
                log.warning("pid %d did not stop within %.0fs; killed", proc.pid, STOP_GRACE_SECONDS)
                proc.kill()
                proc.wait()
        self.remove_state_file()
        log.info("all processes stopped")


@dataclass(frozen=True)
class Plan:
    """What runproxy hands over across exec (one JSON argument)."""

    children: list[ChildSpec]
    state_file: Path
    log_level: str = "WARNING"
    child_env: dict[str, str] = field(default_factory=dict)
    lock_fd: int = -1  # the run lock's descriptor, kept open for our lifetime
    lock_shared: bool = False

    def to_json(self) -> str:
        return json.dumps(
            {
                "children": [{"name": c.name, "argv": c.argv, "about": c.about} for c in self.children],
                "state_file": str(self.state_file),
                "log_level": self.log_level,
                "child_env": self.child_env,
                "lock_fd": self.lock_fd,
                "lock_shared": self.lock_shared,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Plan:
        raw = json.loads(text)
        return cls(
            children=[
                ChildSpec(str(c["name"]), [str(a) for a in c["argv"]], str(c.get("about", ""))) for c in raw["children"]
            ],
            state_file=Path(raw["state_file"]),
            log_level=str(raw.get("log_level", "WARNING")),
            child_env={str(k): str(v) for k, v in raw.get("child_env", {}).items()},
            lock_fd=int(raw.get("lock_fd", -1)),
            lock_shared=bool(raw.get("lock_shared", False)),
        )


def supervisor_argv(plan: Plan) -> list[str]:
    """The command line runproxy execs into (see the module doc)."""
    return [sys.executable, "-P", "-S", str(Path(__file__).resolve()), plan.to_json()]


def _lock_release(plan: Plan) -> None:
    """Give the run lock up as jmapsite.run_lock.RunLock.release does (the pid
    of an exclusive holder is erased, so no refusal message names us later)."""
    if plan.lock_fd < 0:
        return
    try:
        if not plan.lock_shared:
            os.ftruncate(plan.lock_fd, 0)
        os.close(plan.lock_fd)
    except OSError:
        pass  # the kernel drops the lock at exit anyway


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: started by `manage.py runproxy`, which passes the plan", file=sys.stderr)
        return 2
    plan = Plan.from_json(argv[0])
    logging.basicConfig(level=plan.log_level, format=LOG_FORMAT, stream=sys.stderr)
    if plan.lock_fd >= 0:
        os.set_inheritable(plan.lock_fd, False)  # children never hold the lock
    supervisor = Supervisor.for_specs(plan.children, state_file=plan.state_file, child_env=plan.child_env)
    try:
        return supervisor.run()
    finally:
        _lock_release(plan)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
