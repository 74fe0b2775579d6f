"""Forked processes that fetch and parse every folder of a large sync.

The account sync (backends.imap.sync) stores what it fetched in the database;
fetching (the IMAP FETCH answers, RFC 3501 §6.4.5) and parsing them (header
fields, addresses, dates, BODYSTRUCTURE) cost about as much CPU again. When a
sync has more than PROCESS_THRESHOLD messages to fetch in all its folders
(an account's first sync), `fetch_child_open` forks FETCH_PROCESSES
processes, each with its own IMAP connection. The batches of all folders,
in the order the parent stores them, are dealt to them in turn; each streams
its batches, already parsed and prepared for the store (every Email column
value that follows from the message alone, in the database's form, and the
threading keys: backends.imap.message_store.PreparedMessage), over a pipe.
The parent only threads and writes rows, so parsing the next batches
overlaps storing this one, and the fetch processes never stop between
folders.

- Memory stays bounded: each pipe holds at most the batch being sent; a
  reader thread per process takes what its process sends as soon as it is
  sent, up to CHILD_AHEAD messages ahead (so a process that is a batch ahead
  of the other parses on instead of waiting in send() for its turn: reading
  the pipes strictly in turn held the processes and the store in lockstep,
  1.3-1.9 s of a 20,000-message sync blocked in send() while the store waited
  as long, bench/first_sync_timeline.py); and a receiver thread puts them in
  the store's order, at most PREFETCH_BATCHES parsed batches ahead of it.
- The processes never touch the database; each sends ("selected",
  uidvalidity) per folder it has batches of (a folder whose UIDVALIDITY
  changed since step 1 sends no batches: the next sync resets it), ("batch",
  rows) per batch, ("done", None) at the end, or ("error", (message,
  permanent, kind)) — raised in the parent as the same BackendError.
- The processes are always reaped, also when the parent stops early (lost
  lock, error): one that has not finished is killed, which ends the
  receiver thread's wait on its pipe too.
- Where fork is not available (another platform, a daemonic process), the
  caller fetches in its own process (fetch_child_open gives None).
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from imapclient import IMAPClient

from accounts.models import Account
from backends.base import BackendError
from backends.imap.connection import KIND, imap_close
from backends.imap.message_store import FetchedMessage, PreparedMessage
from backends.imap.pool import imap_account_open
from backends.imap.sync_commands import Capabilities, folder_examine
from backends.imap.sync_trace import sync_trace

# A sync with more messages to fetch than this (all folders together) fetches
# and parses them in a child process; fewer are not worth a fork and a login.
PROCESS_THRESHOLD = 2000
# How long a stopping child may take to notice the closed pipe before it is killed.
CHILD_STOP_SECONDS = 3.0
# A child that sends nothing for this long (hung server or child) fails the sync.
CHILD_SILENCE_SECONDS = 600.0
# Parsed batches the parent may hold ahead of the store (besides the one being stored).
PREFETCH_BATCHES = 2
# Messages the parent reads from each process ahead of the store's order (besides PREFETCH_BATCHES).
CHILD_AHEAD = 1
# Fetch processes of one sync (fewer on a machine with fewer cores): parsing
# costs about as much CPU as storing, so two of them keep pace with the store.
FETCH_PROCESSES = 2
CHILD_NAME_PREFIX = "imap-fetch"

# fetch_batch(client, caps, uids) -> the messages of one UID FETCH, parsed and
# prepared for the store (backends.imap.message_store.message_prepare).
# The next batch's FETCH is not read ahead on a helper thread while one is
# parsed: measured, that cost 0.8 s more CPU and 1.4 s more wall per 20,000
# messages (imaplib's reading competes with parsing for the GIL; Dovecot's own
# share, 0.3 s warm, was too small to hide).
BatchFetcher = Callable[[IMAPClient, Capabilities, list[int]], list[PreparedMessage]]
Batches = Iterator[tuple[list[int], Sequence[FetchedMessage | PreparedMessage]]]


@dataclass(frozen=True)
class FolderJob:
    """One folder for the child: its name, the UIDVALIDITY step 1 recorded and
    the UID batches to fetch, newest first."""

    name: str
    uidvalidity: int
    batches: list[list[int]]


@contextmanager
def parent_heap_frozen() -> Iterator[None]:
    """The store's process (the worker) during a sync: what its heap held
    before is left out of the garbage collector's full collections
    (gc.freeze) until the sync ends, then handed back (gc.unfreeze: nothing
    stays frozen, what became garbage meanwhile is collected as usual). Both
    are list merges, O(1): a sync that finds nothing new pays nothing.

    Why: receiving a batch unpickles tens of thousands of objects, which
    triggers collections; each full one walked the worker's whole heap
    (Django, Celery, every module: ~150 MiB), a quarter of a second with the
    GIL held, during which the receiver thread and the store both stood still
    (bench/first_sync_timeline.py: a batch sent at t reached the store at
    t + 0.26 s; another, of 141 ms, fell in the inbox's first page). The
    fetch processes do the same after fork (_child_run).
    Several syncs at once only unfreeze earlier: a cost, never a leak."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def fork_available() -> bool:
    # A daemonic process (multiprocessing's) may not have children.
    return "fork" in multiprocessing.get_all_start_methods() and not multiprocessing.current_process().daemon


def message_pack(message: PreparedMessage) -> tuple[Any, ...]:
    """One message as the child sends it: a plain tuple of PreparedMessage's
    fields (plain tuples of strings and numbers pickle fastest)."""
    return tuple(message)


def message_unpack(row: tuple[Any, ...]) -> PreparedMessage:
    return PreparedMessage._make(row)


def _child_run(
    sender: Connection, account: Account, caps: Capabilities, jobs: list[FolderJob], fetch_batch: BatchFetcher
) -> None:
    """The child process: its own connection; per folder EXAMINE, then per batch
    UID FETCH and parsing (see the module docstring for what it sends)."""
    # Everything inherited from the worker is left out of this process's
    # garbage collections: a full collection would walk (and, through the
    # reference counts it touches, copy) the whole forked heap, a quarter of
    # a second per process in a 20,000-message sync, for objects it never frees.
    gc.freeze()
    sync_trace("child-start")
    client: IMAPClient | None = None
    try:
        client = imap_account_open(account=account)
        client._imap.debug = 0
        sync_trace("child-login")
        for job in jobs:
            selected = folder_examine(client=client, caps=caps, name=job.name)
            sender.send(("selected", selected.uidvalidity))
            if selected.uidvalidity and selected.uidvalidity != job.uidvalidity:
                continue  # the parent skips the folder too
            for batch in job.batches:
                rows = [message_pack(message) for message in fetch_batch(client, caps, batch)]
                sync_trace(f"child-parsed {len(rows)}")
                sender.send(("batch", rows))
                sync_trace("child-sent")
        sender.send(("done", None))
        sync_trace("child-done")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the parent stopped reading (it stopped the sync)
    except BackendError as error:
        _send_quietly(sender, ("error", (error.message, error.permanent, error.kind)))
    except BaseException as error:  # everything must reach the parent as a BackendError
        _send_quietly(sender, ("error", (f"fetch process failed: {error!r}", False, KIND)))
    finally:
        if client is not None:
            imap_close(client)
        sender.close()


def _send_quietly(sender: Connection, message: tuple[str, Any]) -> None:
    try:
        sender.send(message)
    except OSError:
        pass


def _child_stop(process: BaseProcess, *, kill: bool) -> None:
    """Reap the child. `kill`: it may be blocked sending a batch nobody will
    read, so it is killed at once (SIGKILL: it holds nothing but its IMAP
    connection, and a signal handler inherited from the worker must not run
    in it); else it is given CHILD_STOP_SECONDS to finish on its own."""
    if kill:
        process.kill()
    process.join(CHILD_STOP_SECONDS)
    if process.is_alive():
        process.kill()
        process.join()
    process.close()


@dataclass
class _Process:
    """One forked fetch process and the parent's end of its pipe."""

    process: BaseProcess
    receiver: Connection
    done: bool = False


@dataclass(frozen=True)
class _Step:
    """One folder as the parent reads it: the processes that send its
    ("selected", uidvalidity), in order, then the process of each batch."""

    job: FolderJob
    selecting: list[int]
    batch_senders: list[int]


def _shares(jobs: list[FolderJob], count: int) -> tuple[list[list[FolderJob]], list[_Step]]:
    """Deal the batches of all folders to `count` processes in turn (batch n
    of the whole sync to process n % count), so that they work on
    neighbouring batches at once and the store, which takes them in order,
    never waits long for one. Returns each process's jobs (its batches of
    each folder; folders where it has none are left out) and the order in
    which the parent reads them."""
    shares: list[list[FolderJob]] = [[] for _ in range(count)]
    steps: list[_Step] = []
    number = 0
    for job in jobs:
        mine: list[list[list[int]]] = [[] for _ in range(count)]
        senders: list[int] = []
        for batch in job.batches:
            mine[number % count].append(batch)
            senders.append(number % count)
            number += 1
        for index in range(count):
            if mine[index]:
                shares[index].append(FolderJob(name=job.name, uidvalidity=job.uidvalidity, batches=mine[index]))
        steps.append(_Step(job=job, selecting=[index for index in range(count) if mine[index]],
                           batch_senders=senders))  # fmt: skip
    return shares, steps


class FetchChild:
    """The parent's side of the fetch processes: `folder(name)` gives each
    folder's batches in the order of the jobs. A receiver thread reads the
    pipes in that order and unpickles ahead of the store (at most
    PREFETCH_BATCHES)."""

    def __init__(self, *, processes: list[_Process], steps: list[_Step]) -> None:
        self._processes = processes
        self._steps = steps
        self._next = 0
        self._broken = False
        self._queue: queue.Queue[tuple[str, Any] | BaseException] = queue.Queue(maxsize=PREFETCH_BATCHES)
        self._stop = threading.Event()
        self._sent: list[queue.Queue[tuple[str, Any] | BaseException]] = [
            queue.Queue(maxsize=CHILD_AHEAD) for _ in processes
        ]
        self._readers: list[threading.Thread] = []
        for index in range(len(processes)):
            name = f"{CHILD_NAME_PREFIX}-reader-{index}"
            self._readers.append(threading.Thread(target=self._read_process, args=(index,), name=name, daemon=True))
        self._thread = threading.Thread(target=self._receive_all, name=f"{CHILD_NAME_PREFIX}-receiver", daemon=True)
        for reader in self._readers:
            reader.start()
        self._thread.start()

    def covers(self, name: str) -> bool:
        """True when the fetch processes fetch folder `name` next."""
        return not self._broken and self._next < len(self._steps) and self._steps[self._next].job.name == name

    def _read_process(self, index: int) -> None:
        """Process `index`'s messages, in the order it sends them, into its queue (until its
        "done", an error, or close)."""
        receiver = self._processes[index].receiver
        while not self._stop.is_set():
            try:
                if not receiver.poll(CHILD_SILENCE_SECONDS):
                    raise TimeoutError(f"nothing for {CHILD_SILENCE_SECONDS:.0f} s")
                kind, value = receiver.recv()
                item: tuple[str, Any] | BaseException = (
                    (kind, [message_unpack(row) for row in value]) if kind == "batch" else (kind, value)
                )
            except Exception as error:  # EOF (the child died), or what it sent does not unpickle
                item = BackendError(f"the fetch process ended unexpectedly ({error!r})", permanent=False, kind=KIND)
            if not self._put(item, into=self._sent[index]) or isinstance(item, BaseException):
                return
            if item[0] in ("done", "error"):
                return

    def _receive(self, index: int, expected: str) -> Any:
        item = self._get(self._sent[index])
        if item is None:  # closing
            raise BackendError("the fetch processes were stopped", permanent=False, kind=KIND)
        if isinstance(item, BaseException):
            raise item
        kind, value = item
        if kind == "error":
            message, permanent, error_kind = value
            raise BackendError(message, permanent=permanent, kind=error_kind)
        if kind != expected:
            raise BackendError(f"the fetch process sent {kind!r}, not {expected!r}", permanent=False, kind=KIND)
        return value

    def _receive_all(self) -> None:
        try:
            for step in self._steps:
                skipped: set[int] = set()
                for index in step.selecting:
                    uidvalidity = self._receive(index, "selected")
                    if uidvalidity and uidvalidity != step.job.uidvalidity:
                        skipped.add(index)  # that process sends no batches of this folder
                    if not self._put(("selected", uidvalidity)):
                        return
                for index in step.batch_senders:
                    if index in skipped:
                        continue
                    batch = self._receive(index, "batch")
                    sync_trace("receiver-got")
                    if not self._put(("batch", batch)):
                        return
            for index, process in enumerate(self._processes):
                self._receive(index, "done")
                process.done = True
        except BaseException as error:
            self._put(error)

    def _put(
        self, item: tuple[str, Any] | BaseException, *, into: queue.Queue[tuple[str, Any] | BaseException] | None = None
    ) -> bool:
        """Put `item` into `into` (the store's queue by default) once it has room; False when closing."""
        target = self._queue if into is None else into
        while not self._stop.is_set():
            try:
                target.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _get(self, source: queue.Queue[tuple[str, Any] | BaseException]) -> tuple[str, Any] | BaseException | None:
        """The next item of a process's queue; None when closing."""
        while not self._stop.is_set():
            try:
                return source.get(timeout=0.2)
            except queue.Empty:
                continue
        return None

    def _take(self, expected: str) -> Any:
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._broken = True
            raise item
        kind, value = item
        if kind != expected:
            self._broken = True
            raise BackendError(f"the fetch process sent {kind!r}, not {expected!r}", permanent=False, kind=KIND)
        return value

    @contextmanager
    def folder(self, name: str) -> Iterator[Batches | None]:
        """The batches of folder `name` (which covers(name) must have
        confirmed); None when its UIDVALIDITY changed since step 1 (what
        was fetched of it anyway is dropped: the next sync resets the
        folder). The stream must be read to its end before the next folder
        is asked for."""
        if not self.covers(name):
            raise BackendError(f"the fetch process does not fetch {name!r} now", permanent=False, kind=KIND)
        step = self._steps[self._next]
        self._next += 1
        skipped = {index for index in step.selecting
                   if (uidvalidity := self._take("selected")) and uidvalidity != step.job.uidvalidity}  # fmt: skip
        if skipped:
            for index in step.batch_senders:
                if index not in skipped:
                    self._take("batch")
            yield None
            return
        finished = [False]

        def stream() -> Batches:
            for batch in step.job.batches:
                yield batch, self._take("batch")
            finished[0] = True

        try:
            yield stream()
        finally:
            if not finished[0]:
                self._broken = True  # the rest of this folder is still on its way

    def close(self) -> None:
        """Stop the receiver thread and reap the processes. One that has not
        finished is killed first: that also ends the thread's wait on its
        pipe (EOF), so the pipes are closed only once no thread reads them."""
        self._stop.set()
        for process in self._processes:
            if not process.done:
                process.process.kill()
        self._thread.join()
        for reader in self._readers:
            reader.join()
        for process in self._processes:
            process.receiver.close()
            _child_stop(process.process, kill=False)


def fetch_process_count() -> int:
    """How many fetch processes a large sync forks on this machine."""
    return max(1, min(FETCH_PROCESSES, os.cpu_count() or 1))


@contextmanager
def fetch_child_open(
    *, account: Account, caps: Capabilities, jobs: list[FolderJob], fetch_batch: BatchFetcher
) -> Iterator[FetchChild | None]:
    """A FetchChild working through `jobs` with FETCH_PROCESSES forked
    processes (no more than the machine has cores, nor than there are
    batches) when the jobs hold more than PROCESS_THRESHOLD UIDs and fork is
    available, else None (the caller fetches in its own process). The
    processes are reaped on exit, whatever happened."""
    jobs = [job for job in jobs if job.batches]
    if sum(len(batch) for job in jobs for batch in job.batches) <= PROCESS_THRESHOLD or not fork_available():
        yield None
        return
    count = min(fetch_process_count(), sum(len(job.batches) for job in jobs))
    shares, steps = _shares(jobs, count)
    context = multiprocessing.get_context("fork")
    processes: list[_Process] = []
    try:
        for index, share in enumerate(shares):
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(
                target=_child_run, args=(sender, account, caps, share, fetch_batch),
                name=f"{CHILD_NAME_PREFIX}-{account.pk}-{index}", daemon=True,
            )  # fmt: skip
            try:
                process.start()
            except BaseException:
                receiver.close()
                raise
            finally:
                sender.close()  # the child's end: once the child exits, recv() sees EOF
            processes.append(_Process(process=process, receiver=receiver))
        child = FetchChild(processes=processes, steps=steps)
    except BaseException:
        for started in processes:
            started.receiver.close()
            _child_stop(started.process, kill=True)
        raise
    try:
        yield child
    finally:
        child.close()
