"""The IMAP account sync (DESIGN.md "Sync"): `imap_account_sync`.

Registered as the syncer of kind "imap" (accounts.sync) when this module is
imported (backends.apps imports it at startup). One run:

1. CAPABILITY, ENABLE QRESYNC where offered (RFC 7162 §3.2.3);
2. LIST with SPECIAL-USE, subscriptions and — with LIST-STATUS — every
   folder's STATUS in the same command (RFC 5258, RFC 6154, RFC 5819), then
   the Mailbox rows (backends.imap.folders);
3. for every folder whose first fetch is still to come, its counts from
   STATUS (MESSAGES, UNSEEN), committed and published before any message is
   fetched: a client sees the folder list with counts at once;
4. for every folder, flags and expunges (backends.imap.messages step 1);
5. during the inbox's first fetch, its newest FIRST_PAGE messages, in one
   batch on this connection, committed and published before anything else
   (what a client's list view asks for first) — on the account's very first
   sync even before step 1 of the other folders (_first_page_early);
6. for every folder, inbox first, the new messages, newest first, in batches
   (step 2) — when there are many (backends.imap.fetch_child.PROCESS_THRESHOLD),
   fetched and parsed by one child process for all folders while this
   process stores —, extending the sync lock between batches and writing progress to
   Account.sync_progress: {"state": "running"|"done", "mailboxes": n,
   "done": folders finished, "messages": fetched so far, "total": to fetch,
   "folder": the folder of the last batch} (the management API's
   syncProgress, the dashboard);
7. emails left without any location are destroyed (moves by another client
   were matched in step 6 first, so they keep their ids).

The first sync of an account is queued when the account is created
(accounts.sync.account_sync_enqueue_on_commit), not at the next beat tick.

A sync that finds nothing new costs CAPABILITY (cached by IMAPClient), one
LIST-STATUS and nothing else on a QRESYNC/CONDSTORE server.
"""
from __future__ import annotations

import logging
from contextlib import nullcontext
from typing import Any

from imapclient import IMAPClient

from accounts.models import Account
from accounts.sync import AccountSyncLock, sync_progress_kind_write, syncer_register
from backends.imap import fetch_child
from backends.imap.bulk_sql import bulk_load_pragmas
from backends.imap.folders import mailboxes_sync
from backends.imap.jmap_access import jmap_access_note
from backends.imap.message_store import CountValues, mailbox_counts_save, orphans_destroy, orphans_exist
from backends.imap.messages import (
    BATCH_SIZE,
    FIRST_PAGE,
    FolderWork,
    SyncContext,
    fetch_child_start,
    folder_changes_read,
    folder_first_page_fetch,
    folder_initial_fetch_pending,
    folder_messages_fetch,
)
from backends.imap.pool import imap_session
from backends.imap.sync_commands import (
    Capabilities,
    FolderStatus,
    capabilities_enable,
    folder_examine,
    folders_list,
    imap_errors,
)
from backends.imap.sync_trace import sync_trace
from jmapcore.models.mail import Mailbox, MailboxMessage
from jmapcore.state import state_change_atomic

log = logging.getLogger("jmap.sync.imap")


def _progress_save(account: Account, progress: dict[str, Any]) -> None:
    sync_progress_kind_write(account=account, progress=progress)


def imap_account_sync(*, account: Account, lock: AccountSyncLock | None = None, batch_size: int = BATCH_SIZE) -> None:
    """Bring the mail cache of `account` up to date with its IMAP server.

    Raises BackendError on server failures (the cache keeps everything already
    committed; the next run continues from there) and SyncStopped when the
    lock was lost between batches.
    """
    previous = account.sync_progress if isinstance(account.sync_progress, dict) else {}
    interrupted = previous.get("state") == "running"
    sync_trace("sync-start")
    # The worker's heap out of full garbage collections for the sync (the
    # first page and the bulk store must not stand still for one):
    # backends.imap.fetch_child.parent_heap_frozen.
    with fetch_child.parent_heap_frozen(), imap_session(account=account) as client:
        # imaplib formats every protocol line for its debug log whether or not
        # anyone listens; with 100k messages that is seconds of CPU.
        client._imap.debug = 5 if logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG) else 0
        caps = Capabilities.of(client)
        # RFC 9698: a server that also serves this mail by JMAP says where (no command otherwise).
        jmap_access_note(account=account, client=client, caps=caps)
        # ENABLE is only valid in the authenticated state (RFC 5161 §3.1), and
        # STATUS of the selected folder may answer from the stale selected view
        # (RFC 3501 §6.3.10), so nothing stays selected between syncs.
        _unselect(client, caps)
        capabilities_enable(client=client, caps=caps)
        sync_trace("login-done")
        listings = folders_list(client=client, caps=caps)
        sync_trace("list-done")
        folders = mailboxes_sync(account=account, listings=listings)
        statuses = {item.name: item.status for item in listings}
        if "INBOX" not in statuses:
            statuses["INBOX"] = next((item.status for item in listings if item.name.upper() == "INBOX"), None)

        ctx = SyncContext(
            account=account,
            client=client,
            caps=caps,
            keep_going=(lambda: lock.extend()) if lock is not None else (lambda: True),
            batch_size=batch_size,
            orphans_possible=bool(folders.detached_messages) or (interrupted and orphans_exist(account=account)),
        )
        selectable = [box for box in folders.mailboxes if box.is_selectable]
        sync_trace("mailboxes-saved")
        _initial_counts_show(ctx, [box for box in selectable if folder_initial_fetch_pending(box)], statuses)
        sync_trace("counts-shown")
        page_size = min(FIRST_PAGE, batch_size)
        early = _first_page_early(ctx, selectable, statuses, page_size=page_size)
        sync_trace("first-page-done")
        works: list[FolderWork] = []
        for mailbox in selectable:
            if early is not None and mailbox is early.mailbox:
                works.append(early)
                continue
            work = folder_changes_read(ctx=ctx, mailbox=mailbox, status=statuses.get(mailbox.imap_name))
            if work is not None:
                works.append(work)
        remaining = sum(len(work.to_fetch) for work in works)
        sync_trace("step1-done")
        if remaining or interrupted or ctx.progress:
            fetched = ctx.progress.get("messages", 0)
            ctx.progress = ctx.progress | {"state": "running", "mailboxes": len(works), "done": 0,
                                           "messages": fetched, "total": fetched + remaining}  # fmt: skip
            _progress_save(account, ctx.progress)
        # Inbox first, then the other roles: recent, important mail is available soonest.
        works.sort(key=lambda work: (work.mailbox.sort_order, work.mailbox.imap_name))
        inbox = next((work for work in works if work.mailbox.role == "inbox"), None)
        if early is None and inbox is not None and folder_initial_fetch_pending(inbox.mailbox):
            # The newest page of the inbox before the bulk: a client connecting
            # right after the account was created has its list view at once.
            folder_first_page_fetch(ctx=ctx, work=inbox, size=page_size)
        # A large sync (the first) is fetched and parsed by one child process
        # while this one stores (backends.imap.fetch_child), with the
        # database connection set for a bulk load.
        bulk = bulk_load_pragmas() if remaining > fetch_child.PROCESS_THRESHOLD else nullcontext()
        with bulk, fetch_child_start(ctx=ctx, works=works) as child:
            sync_trace("children-started")
            for work in works:
                folder_messages_fetch(ctx=ctx, work=work, child=child)
                sync_trace("folder-stored")
                if ctx.progress:
                    ctx.progress["done"] = ctx.progress.get("done", 0) + 1
        sync_trace("children-reaped")
        if ctx.orphans_possible:
            _orphans_finish(account)
        _unselect(client, caps)
    if ctx.progress or previous.get("state") != "done":
        done: dict[str, object] = {
            "state": "done",
            "mailboxes": len(works),
            "done": len(works),
            "messages": ctx.progress.get("messages", 0),
            "total": ctx.progress.get("total", 0),
        }
        _progress_save(account, done | _parse_problems_kept(ctx.progress, previous))
    sync_trace("sync-done")
    log.info("account %s: imap sync done (%s new)", account.accountid, ctx.progress.get("messages", 0))


def _first_page_early(
    ctx: SyncContext, selectable: list[Mailbox], statuses: dict[str, FolderStatus | None], *, page_size: int
) -> FolderWork | None:
    """On an account's very first sync, step 1 of the inbox and its newest
    page, before step 1 of the other folders; returns the inbox's FolderWork
    (the rest of its UIDs) or None when this does not apply.

    Only then: with nothing cached anywhere, no message can have moved
    between cached folders, so the inbox need not wait for the others' step 1
    (which otherwise comes first, so that a move keeps its email's id)."""
    inbox = next((box for box in selectable if box.role == "inbox"), None)
    if inbox is None or not folder_initial_fetch_pending(inbox):
        return None
    if MailboxMessage.objects.filter(account=ctx.account).exists():
        return None
    work = folder_changes_read(ctx=ctx, mailbox=inbox, status=statuses.get(inbox.imap_name))
    if work is None or not work.to_fetch:
        return work
    # Until every folder's step 1 is done, the total is what the servers' STATUS says.
    estimate = sum((statuses.get(box.imap_name) or FolderStatus()).messages for box in selectable)
    ctx.progress = {"state": "running", "mailboxes": len(selectable), "done": 0, "messages": 0, "total": estimate}
    _progress_save(ctx.account, ctx.progress)
    folder_first_page_fetch(ctx=ctx, work=work, size=page_size)
    return work


def _initial_counts_show(ctx: SyncContext, mailboxes: list[Mailbox], statuses: dict[str, FolderStatus | None]) -> None:
    """Give folders whose first fetch is still to come the counts their server
    reports, before any message is fetched (RFC 3501 §6.3.10: STATUS MESSAGES
    and UNSEEN), and publish the Mailbox state change, so a client sees every
    folder with its counts as soon as the folder list is known.

    totalEmails/unreadEmails are the server's; totalThreads/unreadThreads are
    set to the same numbers (each message its own thread: an upper bound)
    until the folder is fetched. folder_messages_fetch recounts all four from
    the cache once the folder is complete (RFC 8621 §2), so they converge to
    the exact values; messages flagged \\Deleted count on the server until then.
    Costs one STATUS per such folder, and nothing once every folder is synced.
    """
    wanted = [box for box in mailboxes if (statuses.get(box.imap_name) or FolderStatus()).messages]
    counts: dict[int, CountValues] = {}
    for box in wanted:
        with imap_errors(f"STATUS {box.imap_name}"):
            answer = ctx.client.folder_status(box.imap_name, ["MESSAGES", "UNSEEN"])
        total, unseen = int(answer.get(b"MESSAGES", 0)), int(answer.get(b"UNSEEN", 0))
        unseen = min(unseen, total)
        if (total, unseen, total, unseen) != (box.total_emails, box.unread_emails, box.total_threads,
                                              box.unread_threads):  # fmt: skip
            counts[box.pk] = (total, unseen, total, unseen)
    if counts:
        with state_change_atomic(account=ctx.account, type_names=["Mailbox"]) as modseq:
            mailbox_counts_save(mailboxes=wanted, counts=counts, modseq=modseq)


def _parse_problems_kept(progress: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """The parse problems to keep on the account once a sync is done: this
    sync's (backends.imap.parse_problems), else the ones reported before, so
    that an operator still sees them after the sync that found them."""
    source = progress if progress.get("parseProblemCount") else previous
    if not source.get("parseProblemCount"):
        return {}
    return {"parseProblems": source.get("parseProblems") or [], "parseProblemCount": source["parseProblemCount"]}


def _unselect(client: IMAPClient, caps: Capabilities) -> None:
    if client._imap.state != "SELECTED":
        return
    with imap_errors("UNSELECT"):
        if caps.has("UNSELECT"):
            client.unselect_folder()
        else:
            # CLOSE of a read-write folder would expunge; of a read-only one it
            # does not (RFC 3501 §6.4.2), so switch to EXAMINE first.
            folder_examine(client=client, caps=caps, name="INBOX")
            client.close_folder()


def _orphans_finish(account: Account) -> None:
    if not orphans_exist(account=account):
        return
    # Counts do not change: the orphans no longer had a location.
    with state_change_atomic(account=account, type_names=["Email", "Thread"]) as modseq:
        orphans_destroy(account=account, modseq=modseq)


syncer_register(kind="imap", syncer=imap_account_sync)
