"""The timeline of one first sync: which process keeps which core busy, when.

Usage: .venv/bin/python bench/first_sync_timeline.py [--runs 1] [--slot 0.1] [--every 0.02] [--slots]

One run of bench/first_sync.py (its corpus, its private Dovecot, a fresh
JMAP_DATADIR and `manage.py runproxy`), with:

- the proxy started with JMAP_SYNC_TRACE=<file in the run's private
  directory>: the sync, its fetch processes and its writer append one line per
  step (backends.imap.sync_trace; time.monotonic() is one clock for all
  processes);
- the moments the bench itself measures (POST sent and answered, progress
  shown, newest page queryable, progress complete, all queryable);
- every `--every` seconds, the CPU time of every thread of every process of
  the proxy's tree, of Dovecot's and of this process, from
  /proc/<pid>/task/<tid>/schedstat (nanoseconds on a CPU).

It prints, per `--slot` seconds from the POST (with --slots), the cores busy
in all and per role (web, worker, fetch children, Dovecot, bench), then the
events merged on the same clock, then a summary: the seconds during which
fewer than 1.5 cores were busy, per stretch between events (the serial
stretches of the critical path). CPU figures are not stretched by a loaded
machine the way wall time is; the load average is printed beside them.
"""
from __future__ import annotations

import argparse
import itertools
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import _mail_seed  # noqa: E402
import first_sync  # noqa: E402


def _role(command: str, pid: int, celery: set[int], parents: dict[int, int]) -> str:
    if "jmapsite.web_server" in command:
        return "web"
    if "celery" in command and " worker" in command:
        return "fetch" if parents.get(pid) in celery else "worker"
    if "supervisor" in command:
        return "supervisor"
    if "runproxy" in command:
        return "runproxy"
    return command.split()[0].rsplit("/", 1)[-1][:12] if command else "?"


def _machine_busy_ns() -> int:
    """Nanoseconds all CPUs were busy since boot (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat") as handle:
        fields = [int(value) for value in handle.readline().split()[1:8]]
    ticks = sum(fields) - fields[3] - fields[4]
    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def _descendants(root: int) -> list[int]:
    """`root` and its descendants, from /proc/<pid>/task/<tid>/children
    (cheaper than a scan of all of /proc, which would perturb the run)."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as handle:
                    todo.extend(int(child) for child in handle.read().split())
            except (OSError, ValueError):
                continue
    return found


class Sampler:
    """CPU of each process of the watched trees every `every` seconds:
    samples[(time, {pid: ns})]; roles {pid: role}. Each thread's schedstat
    stays open and is re-read with pread (a few microseconds per thread);
    the tree is re-read every 10 samples. The sampler's own thread is left
    out of the bench's figure."""

    def __init__(self, roots: list[int], every: float) -> None:
        self.roots = roots
        self.every = every
        self.samples: list[tuple[float, dict[int, int]]] = []
        # pid 0: the whole machine's busy time (/proc/stat), so that "others"
        # (what other programs used) shows how loaded the machine was.
        self.roles: dict[int, str] = {os.getpid(): "bench", 0: "machine"}
        self._files: dict[int, dict[int, int]] = {}  # pid -> {tid: fd}
        self._gone: dict[int, int] = {}  # CPU of threads that ended, per pid
        self._last: dict[int, int] = {}  # the last reading of each thread
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _discover(self) -> None:
        pids = {os.getpid(): "bench"}
        for number, root in enumerate(self.roots):
            for pid in _descendants(root):
                pids[pid] = "dovecot" if number else ""
        for pid, role in pids.items():
            if pid not in self.roles:
                try:
                    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    continue
                self.roles[pid] = role or _role(command, pid, self._celery(), {pid: first_sync.parent_pid(pid)})
            files = self._files.setdefault(pid, {})
            try:
                tids = [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
            except OSError:
                continue
            for tid in tids:
                if tid not in files and tid != threading.get_native_id():
                    try:
                        files[tid] = os.open(f"/proc/{pid}/task/{tid}/schedstat", os.O_RDONLY)
                    except OSError:
                        pass

    def _celery(self) -> set[int]:
        return {pid for pid, role in self.roles.items() if role == "worker"}

    def _read(self) -> dict[int, int]:
        values: dict[int, int] = {}
        for pid, files in self._files.items():
            total = self._gone.get(pid, 0)
            for tid, fd in list(files.items()):
                try:
                    value = int(os.pread(fd, 64, 0).split()[0])
                except (OSError, ValueError, IndexError):
                    # The thread ended: its last reading stays in the total.
                    ended = self._last.pop(tid, 0)
                    self._gone[pid] = self._gone.get(pid, 0) + ended
                    total += ended
                    os.close(fd)
                    del files[tid]
                    continue
                self._last[tid] = value
                total += value
            values[pid] = total
        return values

    def _run(self) -> None:
        rounds = 0
        while not self._stop.is_set():
            if rounds % 10 == 0:
                self._discover()
            rounds += 1
            values = self._read()
            values[0] = _machine_busy_ns()
            self.samples.append((time.monotonic(), values))
            self._stop.wait(self.every)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        for files in self._files.values():
            for fd in files.values():
                os.close(fd)


def busy_per_slot(sampler: Sampler, start: float, end: float, slot: float) -> list[dict[str, float]]:
    """Cores busy per role in each slot of [start, end): CPU seconds / slot.
    A process's CPU between two samples is spread evenly over that interval;
    a process that exited between samples loses its last interval (short)."""
    count = max(1, int((end - start) / slot + 0.999))
    slots: list[dict[str, float]] = [defaultdict(float) for _ in range(count)]
    previous: tuple[float, dict[int, int]] | None = None
    for moment, values in sampler.samples:
        if previous is not None:
            before, old = previous
            for pid, ns in values.items():
                used = (ns - old.get(pid, ns)) / 1e9
                if used <= 0:
                    continue
                role = sampler.roles.get(pid, "?")
                # Spread over [before, moment], slot by slot (by slot number,
                # not by float boundaries, so that rounding cannot stall it).
                span = moment - before
                first_index = math.floor((before - start) / slot)
                last_index = math.floor((moment - start) / slot)
                for index in range(max(first_index, 0), min(last_index, count - 1) + 1):
                    piece = min(moment, start + (index + 1) * slot) - max(before, start + index * slot)
                    if piece > 0:
                        slots[index][role] += used * piece / span / slot
        previous = (moment, values)
    return slots


def read_trace(path: Path, marks: list[tuple[float, str]], roles: dict[int, str]) -> list[tuple[float, str]]:
    events = [(moment, f"bench {name}") for moment, name in marks]
    if path.exists():
        for line in path.read_text().splitlines():
            moment, pid, event = line.split(" ", 2)
            events.append((float(moment), f"{roles.get(int(pid), 'pid')}:{pid} {event}"))
    return sorted(events)


def _compress(events: list[tuple[float, str]], start: float) -> list[str]:
    """Events as lines; runs of the same repeating event of one process are
    shown once per run with their count."""
    lines: list[str] = []
    for moment, text in events:
        lines.append(f"  {moment - start:7.3f}  {text}")
    return lines


def one_timeline(args: argparse.Namespace, server: object, expected: set[str]) -> None:
    private = Path(tempfile.mkdtemp(prefix="jmap-bench-timeline-"))
    trace = private / "trace.log"
    marks: list[tuple[float, str]] = []
    holder: dict[str, Sampler] = {}
    dovecot_pid = server.process.pid if server.process else 0  # type: ignore[attr-defined]

    def mark(event: str) -> None:
        marks.append((time.monotonic(), event))
        if event.startswith("proxy-pid "):
            holder["sampler"] = Sampler([int(event.split()[1]), dovecot_pid], args.every)

    first, everything, note = first_sync.one_run(
        server.host, server.imap_port, cap=args.cap, expected=expected,  # type: ignore[attr-defined]
        dovecot_pid=dovecot_pid, env={"JMAP_SYNC_TRACE": str(trace)}, mark=mark,
    )  # fmt: skip
    sampler = holder["sampler"]
    sampler.stop()
    start = next(moment for moment, name in marks if name == "post-sent")
    end = next((moment for moment, name in marks if name == "all-queryable"), time.monotonic())
    events = read_trace(trace, marks, sampler.roles)
    slots = busy_per_slot(sampler, start, end, args.slot)
    for slot in slots:  # the machine's busy time less ours: other programs
        slot["others"] = max(0.0, slot.pop("machine", 0.0) - sum(slot.values()))
    roles = sorted({role for slot in slots for role in slot})
    print(f"run: newest page {first_sync.shown(first, args.cap)}, all {first_sync.shown(everything, args.cap)}"
          f" ({note})")  # fmt: skip
    if args.slots:
        print("  slot(s)  cores  " + " ".join(f"{role:>8}" for role in roles))
        for index, slot in enumerate(slots):
            total = sum(slot.values())
            cells = " ".join(f"{slot.get(role, 0):8.2f}" for role in roles)
            print(f"  {index * args.slot:6.1f}  {total:5.2f}  {cells}")
    print("events (seconds from the POST):")
    for line in _compress([(m, t) for m, t in events if m >= start - 0.5], start):
        print(line)
    # Summary: CPU per role, and per stretch between the key events, the
    # slots with fewer than 1.5 cores busy.
    cpu: dict[str, float] = defaultdict(float)
    for slot in slots:
        for role, cores in slot.items():
            cpu[role] += cores * args.slot
    print("CPU s from POST to all queryable: " + ", ".join(f"{role} {value:.2f}" for role, value in
                                                           sorted(cpu.items(), key=lambda item: -item[1])))  # fmt: skip
    ours = [sum(cores for role, cores in slot.items() if role != "others") for slot in slots]
    under = sum(args.slot for busy in ours if busy < 1.5)
    idle_core = sum(max(0.0, 2.0 - busy) * args.slot for busy in ours)
    print(f"wall {end - start:.2f} s; slots with < 1.5 cores busy (ours): {under:.1f} s; core-seconds not ours: "
          f"{idle_core:.2f}, of which other programs {cpu.get('others', 0.0):.2f}")
    _waits(events, start)
    keys = ["post-sent", "post-answered", "sync-start", "login-done", "list-done", "counts-shown", "first-page-done",
            "step1-done", "children-started", "child-login", "child-done", "children-reaped", "sync-done",
            "progress-complete", "all-queryable"]  # fmt: skip
    firsts: list[tuple[float, str]] = []
    for key in keys:
        moment = next((m for m, t in events if t.split(" ", 1)[-1].split(" ")[0] == key
                       or t.endswith(" " + key)), None)  # fmt: skip
        if moment is not None:
            firsts.append((moment, key))
    firsts.sort()
    print("stretches (first occurrence of each event): wall s, idle core-s, cores busy by role")
    for (begin, name), (finish, next_name) in itertools.pairwise(firsts):
        lo, hi = int((begin - start) / args.slot), int((finish - start) / args.slot)
        part = slots[max(0, lo): max(lo + 1, hi)]
        idle = sum(max(0.0, 2.0 - sum(slot.values())) * args.slot for slot in part)
        byrole: dict[str, float] = defaultdict(float)
        for slot in part:
            for role, cores in slot.items():
                byrole[role] += cores / max(1, len(part))
        print(f"  {begin - start:6.2f} {name:>18} -> {next_name:<18} {finish - begin:5.2f} s  idle {idle:4.2f}  "
              + ", ".join(f"{role} {value:.2f}" for role, value in sorted(byrole.items(), key=lambda i: -i[1])
                          if value >= 0.05))  # fmt: skip
    trace.unlink(missing_ok=True)
    private.rmdir()


def _waits(events: list[tuple[float, str]], start: float) -> None:
    """The writer's seconds waiting for batches (writer-stored -> writer-got)
    and storing them, and each fetch process's seconds blocked sending
    (child-parsed -> child-sent: the pipe is full, the writer is behind)."""
    writer_wait = writer_busy = 0.0
    blocked: dict[str, float] = defaultdict(float)
    last: dict[str, tuple[float, str]] = {}
    first_got = None
    for moment, text in events:
        who, _, event = text.partition(" ")
        kind = event.split(" ")[0]
        before = last.get(who)
        if kind == "writer-got":
            first_got = first_got if first_got is not None else moment
            if before is not None and before[1] == "writer-stored":
                writer_wait += moment - before[0]
        elif kind == "writer-stored" and before is not None:
            writer_busy += moment - before[0] if before[1] in ("writer-got", "writer-inserted",
                                                                "writer-committed") else 0.0  # fmt: skip
        elif kind == "child-sent" and before is not None and before[1] == "child-parsed":
            blocked[who] += moment - before[0]
        if kind in ("writer-got", "writer-stored", "child-parsed", "child-sent"):
            last[who] = (moment, kind)
    first = f"{first_got - start:.2f} s" if first_got is not None else "never"
    print(f"writer: first batch at {first}, waiting {writer_wait:.2f} s between batches, storing {writer_busy:.2f} s; "
          "fetch processes blocked sending: " + ", ".join(f"{who} {value:.2f} s" for who, value in blocked.items()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--cap", type=float, default=120.0)
    parser.add_argument("--slot", type=float, default=0.1, help="seconds per printed slot")
    parser.add_argument("--every", type=float, default=0.02, help="seconds between CPU samples")
    parser.add_argument("--slots", action="store_true", help="print every slot, not only the summary")
    args = parser.parse_args()
    first_sync.seed_configure()
    server, _info = _mail_seed.seeded_dovecot()
    try:
        expected = first_sync.newest_inbox_ids()
        for _ in range(args.runs):
            one_timeline(args, server, expected)
    finally:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)


if __name__ == "__main__":
    main()
