"""Per-folder message sync (RFC 3501, RFC 7162 CONDSTORE/QRESYNC, RFC 8474, RFC 8970).

A folder is synced in two steps, so that one account sync can see a message
moved by another client (expunged in A, new in B) as the same Email:

1. `folder_changes_read` — flags and expunges of cached messages, and the list
   of UIDs still to fetch. It picks the cheapest path the server allows:

   - skip: STATUS (UIDNEXT UIDVALIDITY HIGHESTMODSEQ) equals what the cache
     recorded and the initial fetch is complete — no SELECT at all;
   - QRESYNC (RFC 7162 §3.2.5): `EXAMINE folder (QRESYNC (uidvalidity modseq))`
     answers VANISHED (EARLIER) and FETCH (FLAGS MODSEQ) for what changed;
   - CONDSTORE (RFC 7162 §3.1): `UID FETCH 1:* (FLAGS) (CHANGEDSINCE modseq)`
     plus `UID SEARCH ALL` compared with the cached UIDs for expunges;
   - neither: `UID FETCH 1:* (FLAGS)` compared with the cache. Without
     CONDSTORE a flag change leaves STATUS as it was, so such servers are
     scanned at every sync (there is no cheaper way to see flag changes).

   A message with \\Deleted is treated as not there. A changed UIDVALIDITY
   (RFC 3501 §2.3.1.1) drops the folder's locations and refetches it; the
   emails are taken over again by Message-ID + size + INTERNALDATE.

2. `folder_messages_fetch` — the new UIDs, newest first, in batches of
   BATCH_SIZE: UID, FLAGS, INTERNALDATE, RFC822.SIZE, BODYSTRUCTURE, the header
   fields the cache needs, PREVIEW where offered (else a 2 KiB partial fetch of
   the first text part), MODSEQ with CONDSTORE, EMAILID/THREADID with
   OBJECTID. Whole messages are never downloaded. Each batch is one
   transaction at one modseq. Progress is the cache itself: a killed sync
   resumes by fetching the UIDs that are on the server but not cached.
   ENVELOPE is not fetched: the header fields carry the same data and parsing
   it would double the client-side cost of a large initial sync.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from imapclient import IMAPClient

from accounts.models import Account
from accounts.sync import sync_progress_kind_write
from backends.base import BackendError
from backends.imap import message_parse as mp
from backends.imap.connection import KIND
from backends.imap.fetch_child import Batches, FetchChild, FolderJob, fetch_child_open
from backends.imap.fetch_prepare import PrepareMemo, message_prepare_fast
from backends.imap.fetch_prepare import changed_values as _changed_values
from backends.imap.fetch_prepare import header_bytes as _header_bytes
from backends.imap.fetch_prepare import object_id as _object_id
from backends.imap.fetch_prepare import received_at_value as _received_at
from backends.imap.message_store import (
    FetchedMessage,
    PreparedMessage,
    RowAdapters,
    flags_apply,
    locations_remove,
    mailbox_counts_compute,
    mailbox_counts_refresh,
    mailbox_counts_save,
    message_prepare,
    messages_store,
    row_adapters,
)
from backends.imap.parse_problems import PARSE_PROBLEM_MAX, message_parse_problems_record
from backends.imap.sync_commands import (
    Capabilities,
    FolderStatus,
    folder_examine,
    folder_status,
    sequence_set_format,
    uid_fetch,
    uid_search,
)
from backends.imap.sync_trace import sync_trace
from jmapcore.models.mail import Mailbox, MailboxMessage
from jmapcore.state import state_change_atomic, state_change_publish, type_state_touch

BATCH_SIZE = 1000
# The first page of a folder's initial fetch (the INBOX's, see backends.imap.sync):
# what a client's list view shows first, committed before the bulk of the folder.
FIRST_PAGE = 50
# isinstance() with a tuple of types: `tuple | list` would build a union at every call.
_SEQUENCE = (tuple, list)
PARTIAL_OCTETS = 2048
# Recount a folder's totals every this many batches of a long initial fetch.
COUNTS_EVERY_BATCHES = 10
# The sizes of the first batches the fetch processes send (then BATCH_SIZE):
# see _jobs_plan. One per fetch process at each size, so that each starts small.
RAMP_BATCHES = (200, 200, 500, 500)
HEADER_ITEM = "BODY.PEEK[HEADER.FIELDS (" + " ".join(mp.HEADER_FIELDS) + ")]"


@dataclass
class SyncContext:
    """What one account sync shares between folders."""

    account: Account
    client: IMAPClient
    caps: Capabilities
    # Called between batches; returns False when the sync must stop (lock lost).
    keep_going: Callable[[], bool] = lambda: True
    batch_size: int = BATCH_SIZE
    orphans_possible: bool = False
    progress: dict[str, Any] = field(default_factory=dict)


@dataclass
class FolderWork:
    """What step 1 found for one folder and step 2 must do."""

    mailbox: Mailbox
    status: FolderStatus
    to_fetch: list[int]  # newest first
    path: str  # "skip" | "qresync" | "condstore" | "scan" | "initial"


class SyncStopped(BackendError):
    """The sync lost its lock (another one may run now) and stopped between batches."""

    def __init__(self) -> None:
        super().__init__("sync stopped: its lock expired", permanent=False, kind=KIND)


def _touch_mailbox_state(ctx: SyncContext, modseq: int) -> None:
    type_state_touch(account=ctx.account, type_name="Mailbox", modseq=modseq)
    state_change_publish(account=ctx.account, type_names=["Mailbox"])


def _uidvalidity_reset(ctx: SyncContext, mailbox: Mailbox, status: FolderStatus) -> None:
    """RFC 3501 §2.3.1.1: old UIDs mean nothing now; drop them and refetch."""
    with state_change_atomic(account=ctx.account, type_names=["Email"]) as modseq:
        removed = locations_remove(
            account=ctx.account, locations=MailboxMessage.objects.filter(mailbox=mailbox), modseq=modseq
        )
        mailbox.uidvalidity = status.uidvalidity
        mailbox.uidnext = mailbox.highestmodseq = mailbox.synced_uid = 0
        mailbox.save(update_fields=["uidvalidity", "uidnext", "highestmodseq", "synced_uid"])
        if mailbox_counts_refresh(mailboxes=[mailbox], modseq=modseq):
            _touch_mailbox_state(ctx, modseq)
    if removed:
        ctx.orphans_possible = True


def _is_unchanged(ctx: SyncContext, mailbox: Mailbox, status: FolderStatus) -> bool:
    if mailbox.uidvalidity != status.uidvalidity or mailbox.uidnext != status.uidnext:
        return False
    if mailbox.synced_uid < status.uidnext - 1:
        return False  # an initial fetch is still incomplete
    if ctx.caps.condstore and status.highestmodseq:
        return mailbox.highestmodseq == status.highestmodseq
    # Without CONDSTORE only an empty folder is known not to have changed flags.
    return status.messages == 0 and mailbox.total_emails == 0


def folder_changes_read(*, ctx: SyncContext, mailbox: Mailbox, status: FolderStatus | None) -> FolderWork | None:
    """Step 1 for one folder (see the module docstring); applies flag changes
    and expunges to the cache. None for a folder that cannot be selected."""
    if not mailbox.is_selectable:
        return None
    client, caps = ctx.client, ctx.caps
    if status is None:
        status = folder_status(client=client, caps=caps, name=mailbox.imap_name)
    if mailbox.uidvalidity and status.uidvalidity and mailbox.uidvalidity != status.uidvalidity:
        _uidvalidity_reset(ctx, mailbox, status)
    if _is_unchanged(ctx, mailbox, status):
        return FolderWork(mailbox=mailbox, status=status, to_fetch=[], path="skip")

    cached_all: dict[int, list[str]] | None = None
    changed: dict[int, tuple[list[str], int]] = {}
    server_uids: set[int] | None = None
    vanished: set[int] = set()
    fresh_start = mailbox.uidvalidity != status.uidvalidity or not MailboxMessage.objects.filter(
        mailbox=mailbox
    ).exists()
    if fresh_start:
        path = "initial"
        folder_examine(client=client, caps=caps, name=mailbox.imap_name)
    elif caps.qresync and mailbox.highestmodseq:
        path = "qresync"
        selected = folder_examine(
            client=client, caps=caps, name=mailbox.imap_name, qresync=(mailbox.uidvalidity, mailbox.highestmodseq)
        )
        vanished = set(selected.vanished)
        changed = {uid: _changed_values(data) for uid, data in selected.changed.items()}
    elif caps.condstore and mailbox.highestmodseq:
        path = "condstore"
        folder_examine(client=client, caps=caps, name=mailbox.imap_name)
        fetched = uid_fetch(
            client=client, uids="1:*", items=["FLAGS", "MODSEQ"], modifiers=f"CHANGEDSINCE {mailbox.highestmodseq}"
        )
        changed = {uid: _changed_values(data) for uid, data in fetched.items()}
        server_uids = set(uid_search(client=client, caps=caps, criteria="ALL"))
    else:
        path = "scan"
        folder_examine(client=client, caps=caps, name=mailbox.imap_name)
        fetched = uid_fetch(client=client, uids="1:*", items=["FLAGS", *(["MODSEQ"] if caps.condstore else [])])
        changed = {uid: _changed_values(data) for uid, data in fetched.items()}
        server_uids = set(changed)

    if fresh_start:
        cached: dict[int, list[str]] = {}
    elif server_uids is not None:
        cached_all = dict(MailboxMessage.objects.filter(mailbox=mailbox).values_list("uid", "flags"))
        cached = cached_all
    else:
        wanted = sorted(set(changed) | vanished)
        cached = {}
        for start in range(0, len(wanted), 2000):
            cached.update(
                MailboxMessage.objects.filter(mailbox=mailbox, uid__in=wanted[start : start + 2000]).values_list(
                    "uid", "flags"
                )
            )

    gone = {uid for uid in vanished if uid in cached}
    if server_uids is not None:
        gone.update(uid for uid in cached if uid not in server_uids)
    flag_changes: dict[int, tuple[list[str], int]] = {}
    to_fetch: set[int] = set()
    for uid, (flags, modseq) in changed.items():
        if uid in gone:
            continue
        if mp.flags_deleted(flags):
            if uid in cached:
                gone.add(uid)
            continue
        if uid in cached:
            if sorted(cached[uid]) != sorted(flags):
                flag_changes[uid] = (flags, modseq)
        elif path != "scan" or uid <= mailbox.synced_uid:
            to_fetch.add(uid)
    if status.uidnext - 1 > mailbox.synced_uid or fresh_start:
        if path == "scan":
            newer = [uid for uid, (flags, _) in changed.items() if uid > mailbox.synced_uid and not
                     mp.flags_deleted(flags)]
        else:
            newer = uid_search(client=client, caps=caps, criteria=f"UID {mailbox.synced_uid + 1}:* UNDELETED")
        if not fresh_start and cached_all is None:
            known = set(
                MailboxMessage.objects.filter(mailbox=mailbox, uid__gt=mailbox.synced_uid).values_list(
                    "uid", flat=True
                )
            )
        else:
            known = set(cached)
        to_fetch.update(uid for uid in newer if uid > mailbox.synced_uid and uid not in known)
    to_fetch -= set(cached)

    if gone or flag_changes:
        with state_change_atomic(account=ctx.account, type_names=["Email"]) as modseq:
            if gone:
                locations_remove(
                    account=ctx.account,
                    locations=MailboxMessage.objects.filter(mailbox=mailbox, uid__in=sorted(gone)),
                    modseq=modseq,
                )
                ctx.orphans_possible = True
            flags_apply(account=ctx.account, mailbox=mailbox, changes=flag_changes, modseq=modseq)
            if mailbox_counts_refresh(mailboxes=[mailbox], modseq=modseq):
                _touch_mailbox_state(ctx, modseq)
    if mailbox.uidvalidity != status.uidvalidity:
        mailbox.uidvalidity = status.uidvalidity
        mailbox.save(update_fields=["uidvalidity"])
    return FolderWork(mailbox=mailbox, status=status, to_fetch=sorted(to_fetch, reverse=True), path=path)


def _fetch_items(caps: Capabilities) -> list[str]:
    items = ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "BODYSTRUCTURE", HEADER_ITEM]
    if caps.condstore:
        items.append("MODSEQ")
    if caps.preview:
        items.append("PREVIEW")
    if caps.objectid:
        items += ["EMAILID", "THREADID"]
    return items


def message_from_fetch(*, uid: int, data: dict[bytes, Any], preview: str | None = None) -> FetchedMessage:
    """One FETCH answer as a FetchedMessage. Total: a message that cannot be
    parsed is cached with what is known (UID, flags, size, INTERNALDATE, the
    raw Subject cut short) and its problem in ``parse_problem``; it never stops
    its folder's sync (issue 8)."""
    try:
        return _message_parsed(uid=uid, data=data, preview=preview)
    except Exception as error:  # RecursionError, MemoryError of one value, a parser bug
        return message_fallback(uid=uid, data=data, problem=f"{type(error).__name__}: {error}")


def _message_parsed(*, uid: int, data: dict[bytes, Any], preview: str | None) -> FetchedMessage:
    structure = data.get(b"BODYSTRUCTURE")
    size = data.get(b"RFC822.SIZE")
    flags, modseq = _changed_values(data)
    return FetchedMessage(
        uid=uid,
        flags=flags,
        modseq=modseq,
        received_at=_received_at(data.get(b"INTERNALDATE")),
        size=int(size) if isinstance(size, int) else 0,
        headers=mp.headers_parse(_header_bytes(data)),
        preview=preview if preview is not None else mp.preview_value(data.get(b"PREVIEW")),
        has_attachment=mp.bodystructure_has_attachment(structure),
        email_id=_object_id(data.get(b"EMAILID")),
        thread_id=_object_id(data.get(b"THREADID")),
    )


def _known(read: Callable[[], Any], default: Any) -> Any:
    try:
        return read()
    except Exception:
        return default


def message_fallback(*, uid: int, data: dict[bytes, Any], problem: str) -> FetchedMessage:
    """The FetchedMessage of a message whose parsing failed: every value that
    can still be read from the FETCH answer, defaults for the rest. Never raises."""
    size = data.get(b"RFC822.SIZE") if isinstance(data, dict) else None
    flags, modseq = _known(lambda: _changed_values(data), ([], 0))
    return FetchedMessage(
        uid=uid,
        flags=flags,
        modseq=modseq,
        received_at=_known(lambda: _received_at(data.get(b"INTERNALDATE")), timezone.now().replace(microsecond=0)),
        size=size if isinstance(size, int) else 0,
        headers=mp.headers_fallback(_known(lambda: _header_bytes(data), None)),
        preview="",
        has_attachment=False,
        email_id=_known(lambda: _object_id(data.get(b"EMAILID")), ""),
        thread_id=_known(lambda: _object_id(data.get(b"THREADID")), ""),
        parse_problem=problem[:PARSE_PROBLEM_MAX],
    )


def _previews_fetch(client: IMAPClient, fetched: dict[int, dict[bytes, Any]]) -> dict[int, str]:
    """Without PREVIEW: a partial fetch of each message's first text part, one
    UID FETCH per distinct section number."""
    by_section: dict[str, list[int]] = {}
    parts: dict[int, mp.TextPart] = {}
    for uid, data in fetched.items():
        part = mp.bodystructure_text_part(data.get(b"BODYSTRUCTURE"))
        if part is not None:
            parts[uid] = part
            by_section.setdefault(part.section, []).append(uid)
    previews: dict[int, str] = {}
    for section, uids in by_section.items():
        answer = uid_fetch(
            client=client, uids=sequence_set_format(uids), items=[f"BODY.PEEK[{section}]<0.{PARTIAL_OCTETS}>"]
        )
        for uid, data in answer.items():
            raw = next((value for key, value in data.items() if key.startswith(b"BODY[")), None)
            if uid in parts:
                previews[uid] = mp.preview_from_part(raw if isinstance(raw, bytes) else None, parts[uid])
    return previews


@contextmanager
def _batches_local(ctx: SyncContext, work: FolderWork, batches: list[list[int]]) -> Iterator[Batches | None]:
    """The batches fetched and parsed in this process; None when the folder's
    UIDVALIDITY changed since step 1."""
    selected = folder_examine(client=ctx.client, caps=ctx.caps, name=work.mailbox.imap_name)
    if selected.uidvalidity and selected.uidvalidity != work.mailbox.uidvalidity:
        yield None  # changed since step 1: the next sync resets the folder
        return
    items = _fetch_items(ctx.caps)
    # While batch n is parsed and stored, the UID FETCH of batch n + 1 runs on
    # a helper thread (waiting on the socket releases the GIL, and the server
    # works in its own process). The connection is only ever used by one
    # thread at a time: the next fetch starts once batch n's previews are in.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="imap-fetch") as pool:
        pending: Future[dict[int, dict[bytes, Any]]] | None = None

        def stream() -> Batches:
            nonlocal pending
            pending = pool.submit(uid_fetch, client=ctx.client, uids=sequence_set_format(batches[0]), items=items)
            for number, batch in enumerate(batches, start=1):
                assert pending is not None
                fetched = pending.result()
                pending = None
                previews = {} if ctx.caps.preview else _previews_fetch(ctx.client, fetched)
                if number < len(batches):
                    pending = pool.submit(
                        uid_fetch, client=ctx.client, uids=sequence_set_format(batches[number]), items=items
                    )
                default = None if ctx.caps.preview else ""
                yield batch, [
                    message_from_fetch(uid=uid, data=data, preview=previews.get(uid, default))
                    for uid, data in fetched.items()
                ]

        try:
            yield stream()
        finally:
            if pending is not None:
                # Never leave a command half-read on the connection (it goes back to the pool).
                wait([pending])


def message_prepared_from_fetch(
    *, uid: int, data: dict[bytes, Any], preview: str | None, adapters: RowAdapters, memo: PrepareMemo
) -> PreparedMessage:
    """message_prepare(message_from_fetch(...)) in one step where the message
    parses (backends.imap.fetch_prepare), else by that reference route."""
    prepared = message_prepare_fast(uid=uid, data=data, preview=preview, adapters=adapters, memo=memo)
    if prepared is None:
        prepared = message_prepare(message_from_fetch(uid=uid, data=data, preview=preview), adapters=adapters)
    return prepared


def _batch_fetch(
    client: IMAPClient, caps: Capabilities, uids: list[int], *, adapters: RowAdapters, memo: PrepareMemo | None = None
) -> list[PreparedMessage]:
    """One UID FETCH of the sync's items, its messages parsed and prepared for
    the store with the store's `adapters` (what a fetch process does per
    batch, backends.imap.fetch_child); `memo` keeps header values seen in
    earlier batches of the same process."""
    fetched = uid_fetch(client=client, uids=sequence_set_format(uids), items=_fetch_items(caps))
    sync_trace("child-fetched")
    previews = {} if caps.preview else _previews_fetch(client, fetched)
    default = None if caps.preview else ""
    memo = memo if memo is not None else PrepareMemo()
    return [
        message_prepared_from_fetch(uid=uid, data=data, preview=previews.get(uid, default), adapters=adapters,
                                    memo=memo)
        for uid, data in fetched.items()
    ]  # fmt: skip


def _batches_split(uids: list[int], size: int) -> list[list[int]]:
    return [uids[start : start + size] for start in range(0, len(uids), size)]


def _jobs_plan(works: list[FolderWork], batch_size: int) -> list[FolderJob]:
    """The fetch processes' jobs: each folder's UIDs, newest first, in
    batches of `batch_size`, except the first batches of the whole sync,
    which are smaller (RAMP_BATCHES, never larger than `batch_size`).

    Why: the store starts with the first batch, and a fetch process needs
    its whole first batch (the server's FETCH answer, then parsing) before it
    sends anything; with 1000 messages that kept the store idle for about
    0.5 s at the start of every large sync while the fetch processes could
    not yet be ahead of it. Small first batches let the store start at once;
    the larger ones then keep the per-batch costs (a transaction, a progress
    write) low. Any split is correct: batches are stored in order, each in
    its own transaction (folder_messages_fetch)."""
    sizes = iter([min(size, batch_size) for size in RAMP_BATCHES])
    jobs: list[FolderJob] = []
    for work in works:
        if work.path == "skip" or not work.to_fetch:
            continue
        uids, start, batches = work.to_fetch, 0, []
        while start < len(uids):
            size = next(sizes, batch_size)
            batches.append(uids[start : start + size])
            start += size
        jobs.append(FolderJob(name=work.mailbox.imap_name, uidvalidity=work.mailbox.uidvalidity, batches=batches))
    return jobs


@contextmanager
def fetch_child_start(*, ctx: SyncContext, works: list[FolderWork]) -> Iterator[FetchChild | None]:
    """One child process that fetches and parses the new messages of `works`
    in their order (backends.imap.fetch_child), for folder_messages_fetch to
    store; None when there are too few to be worth it or fork is not available
    (each folder is then fetched in this process). Call after step 1 of every
    folder and after the inbox's first page: the jobs are the UIDs still to fetch."""
    jobs = _jobs_plan(works, ctx.batch_size)
    # The adapters of this process's database connection: the fetch
    # processes prepare values exactly as messages_store would here.
    fetch_batch = functools.partial(_batch_fetch, adapters=row_adapters(), memo=PrepareMemo())
    with fetch_child_open(account=ctx.account, caps=ctx.caps, jobs=jobs, fetch_batch=fetch_batch) as child:
        yield child


def _progress_write(ctx: SyncContext) -> None:
    sync_progress_kind_write(account=ctx.account, progress=ctx.progress)


def folder_initial_fetch_pending(mailbox: Mailbox) -> bool:
    """True while the folder's first complete fetch has not finished: its
    counts then come from the server's STATUS (backends.imap.sync), and are
    not recounted from the partly filled cache until the folder is done."""
    return mailbox.synced_uid == 0


def _batch_store(ctx: SyncContext, work: FolderWork, batch: list[int],
                 messages: Sequence[FetchedMessage | PreparedMessage], *, recount: bool) -> int:  # fmt: skip
    """Store one fetched batch in one transaction at one modseq; the Email and
    Thread state change is published after commit (jmapcore.state)."""
    mailbox = work.mailbox
    with state_change_atomic(account=ctx.account, type_names=["Email", "Thread"]) as modseq:
        stored = messages_store(
            account=ctx.account, mailbox=mailbox, messages=messages, modseq=modseq,
            orphans_possible=ctx.orphans_possible,
        )  # fmt: skip
        sync_trace("writer-inserted")
        if recount and mailbox_counts_refresh(mailboxes=[mailbox], modseq=modseq):
            _touch_mailbox_state(ctx, modseq)
    sync_trace("writer-committed")
    problems = [(message.uid, message.parse_problem) for message in messages if message.parse_problem]
    if problems:
        message_parse_problems_record(account=ctx.account, progress=ctx.progress,
                                      mailbox_name=mailbox.imap_name, problems=problems)  # fmt: skip
    ctx.progress["messages"] = ctx.progress.get("messages", 0) + len(batch)
    ctx.progress["folder"] = mailbox.imap_name
    _progress_write(ctx)
    return stored


def folder_first_page_fetch(*, ctx: SyncContext, work: FolderWork, size: int = FIRST_PAGE) -> int:
    """Fetch and commit the newest `size` UIDs of `work` on the sync's own
    connection (no child process to start, no other folder first), so that a
    client's list view of the folder fills within a moment of the account's
    creation; removes them from work.to_fetch, the rest follows in
    folder_messages_fetch. Returns how many messages were stored.

    Resumable like every batch: the folder's synced_uid is not moved, so an
    interrupted sync fetches what is on the server and not cached."""
    page = work.to_fetch[:size]
    if work.path == "skip" or not page:
        return 0
    stored = 0
    with _batches_local(ctx, work, [page]) as stream:
        if stream is None:
            return 0  # UIDVALIDITY changed since step 1: folder_messages_fetch sees it too
        if not ctx.keep_going():
            raise SyncStopped
        for batch, messages in stream:
            stored += _batch_store(ctx, work, batch, messages, recount=False)
    work.to_fetch = work.to_fetch[len(page):]
    return stored


def folder_messages_fetch(*, ctx: SyncContext, work: FolderWork, child: FetchChild | None = None) -> int:
    """Step 2 for one folder; returns how many messages were stored. Records
    the folder's UIDNEXT/HIGHESTMODSEQ only once every new UID is in. The
    messages come from `child` (fetch_child_start) when it fetches this
    folder, else they are fetched here."""
    mailbox, status = work.mailbox, work.status
    if work.path == "skip":
        return 0
    stored = 0
    # During a folder's first fetch its counts are STATUS's (right from the
    # start); a recount of the half-filled cache would show them falling.
    recount_midway = not folder_initial_fetch_pending(mailbox)
    if work.to_fetch:
        batches = _batches_split(work.to_fetch, ctx.batch_size)
        name = mailbox.imap_name
        source = child.folder(name) if child is not None and child.covers(name) else _batches_local(ctx, work, batches)
        with source as stream:
            sync_trace("writer-selected")
            if stream is None:
                return 0
            if not ctx.keep_going():
                raise SyncStopped
            sync_trace("writer-lock-extended")
            for number, (batch, messages) in enumerate(stream, start=1):
                if number > 1 and not ctx.keep_going():
                    raise SyncStopped
                recount = recount_midway and number % COUNTS_EVERY_BATCHES == 0
                sync_trace("writer-got")
                stored += _batch_store(ctx, work, batch, messages, recount=recount)
                sync_trace("writer-stored")
    counts = mailbox_counts_compute(mailboxes=[mailbox])
    if counts:
        with state_change_atomic(account=ctx.account, type_names=["Mailbox"]) as modseq:
            mailbox_counts_save(mailboxes=[mailbox], counts=counts, modseq=modseq)
    mailbox.synced_uid = max([mailbox.synced_uid, status.uidnext - 1, *work.to_fetch[:1]])
    mailbox.uidnext = status.uidnext
    mailbox.highestmodseq = status.highestmodseq
    mailbox.uidvalidity = status.uidvalidity
    mailbox.save(update_fields=["synced_uid", "uidnext", "highestmodseq", "uidvalidity"])
    return stored
