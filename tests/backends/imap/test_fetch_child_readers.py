"""The parent reads each fetch process's pipe as soon as it sends
(backends.imap.fetch_child, CHILD_AHEAD): a process whose batch comes later in
the store's order is not held in send() until the other process's earlier
batch has arrived. Reading the pipes strictly in the store's order held the
processes and the store in lockstep (bench/first_sync_timeline.py)."""
from __future__ import annotations

import datetime as dt
import multiprocessing
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event

from backends.imap import fetch_child
from backends.imap import message_parse as mp
from backends.imap.fetch_child import FetchChild, FolderJob, _Process, _shares
from backends.imap.message_store import FetchedMessage, message_prepare, row_adapters

UIDVALIDITY = 5
# Rows in the later batch: far more than a pipe's buffer (64 KiB) once pickled.
LATER_ROWS = 2000
WAIT = 20.0


def _rows(count: int) -> list[tuple[object, ...]]:
    moment = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
    address: list[dict[str, str | None]] = [{"name": "Bob", "email": "bob.long-dotted.name@lists.example.test"}]
    headers = mp.ParsedHeaders(
        subject="Invoice", base_subject="Invoice", is_reply=False, sent_at=moment, message_id=["a@x"],
        in_reply_to=[], references=[], sender=address, from_addr=address, to=address, cc=None, bcc=[],
        reply_to=address,
    )  # fmt: skip
    adapters = row_adapters()
    rows = []
    for uid in range(1, count + 1):  # distinct rows: pickle would send one copy of identical ones
        fetched = FetchedMessage(
            uid=uid, flags=[], modseq=uid, received_at=moment, size=100 + uid, headers=headers,
            preview=f"{uid} " + "x" * 200, has_attachment=False, email_id=f"E{uid}", thread_id=f"T{uid}",
        )  # fmt: skip
        rows.append(fetch_child.message_pack(message_prepare(fetched, adapters=adapters)))
    return rows


def _earlier(sender: Connection, release: Event) -> None:
    release.wait(WAIT)
    sender.send(("selected", UIDVALIDITY))
    sender.send(("batch", _rows(1)))
    sender.send(("done", None))


def _later(sender: Connection, sent: Event) -> None:
    sender.send(("selected", UIDVALIDITY))
    sender.send(("batch", _rows(LATER_ROWS)))
    sent.set()
    sender.send(("done", None))


def test_a_process_ahead_of_its_turn_is_not_held_in_send() -> None:
    context = multiprocessing.get_context("fork")
    release, sent = context.Event(), context.Event()
    _, steps = _shares([FolderJob(name="INBOX", uidvalidity=UIDVALIDITY, batches=[[1], [2]])], 2)
    processes = []
    for target, event in ((_earlier, release), (_later, sent)):
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=target, args=(sender, event), daemon=True)
        process.start()
        sender.close()
        processes.append(_Process(process=process, receiver=receiver))
    child = FetchChild(processes=processes, steps=steps)
    try:
        # The second process's batch goes second into the store, yet its send completes first.
        assert sent.wait(WAIT), "the later batch's process stayed blocked in send() behind the earlier one"
        assert not release.is_set()
        release.set()
        with child.folder("INBOX") as batches:
            assert batches is not None
            sizes = [len(rows) for _, rows in batches]
        assert sizes == [1, LATER_ROWS]
    finally:
        release.set()
        child.close()
