"""Thread ids for new emails (RFC 8621 §3), decided from the cache alone.

An email joins a thread only through a Message-ID: its own, or one of its
In-Reply-To and References (RFC 5322 §3.6.4). Unrelated emails that merely
share a subject ("Invoice", "Hello") stay apart: the subject never joins
anything here (RFC 8621 §3 makes it at most a second condition).

Keys (jmapcore.models.mail.ThreadRef) are "m:" + a hash of a Message-ID,
registered by an email for its own Message-ID and for every id it refers to,
so a thread is found whichever of parent and reply arrives first (an initial
sync fetches newest first, so replies usually come before what they answer).
Rows of the subject keys of earlier versions ("s:", "r:") are never looked up.

When one email's ids lead to several threads, the threads merge into the
oldest (lowest creation modseq). threadId is immutable (RFC 8621 §3), so the
emails of the other threads move by being destroyed and created again with
new ids in the surviving thread: Email/changes reports the old ids destroyed
and the new ones created, Thread/changes the merged threads destroyed.

Thread ids are never reused: keys that lead to a destroyed thread are ignored.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from accounts.models import Account
from backends.imap import bulk_sql
from jmapcore.datatypes.orm import jmap_id_new
from jmapcore.models.mail import Email, MailboxMessage, Thread, ThreadRef

THREAD_ID_PREFIX = "t"
# backends.imap.message_store.EMAIL_ID_PREFIX (which imports this module).
EMAIL_ID_PREFIX = "e"
# SQLite allows 32766 bound parameters; stay far below.
LOOKUP_CHUNK = 5000


@dataclass
class ThreadInput:
    """What threading needs to know of one new email: its keys (thread_keys
    of its Message-IDs, then In-Reply-To and References) and receivedAt."""

    keys: Sequence[str]
    received_at: dt.datetime


@dataclass
class ThreadPlan:
    """The outcome of threads_assign, applied by threads_apply."""

    thread_ids: list[str]  # one per input, in order
    created: list[str] = field(default_factory=list)
    merged: dict[str, str] = field(default_factory=dict)  # existing destroyed thread -> the one it joins
    joined: set[str] = field(default_factory=set)  # existing threads that gained emails
    refs: dict[str, tuple[str, dt.datetime]] = field(default_factory=dict)  # key -> (thread, seen_at)
    # Filled by threads_apply: Email pk destroyed by a merge -> pk of its new row.
    renewed: dict[int, int] = field(default_factory=dict)


def key_hash(prefix: str, value: str) -> str:
    return prefix + hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def thread_keys(message_ids: Iterable[str] | None, parent_ids: Iterable[str] | None) -> tuple[str, ...]:
    """The ThreadRef keys of an email with these Message-IDs and these parents
    (In-Reply-To, then References). Pure: a fetch process of a large sync
    computes them while it parses (backends.imap.fetch_child)."""
    return tuple(key_hash("m:", value) for ids in (message_ids, parent_ids) if ids for value in ids if value)


class _Threads:
    """Union-find over thread ids with an age order (lower = older)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.age: dict[str, tuple[int, int]] = {}

    def find(self, thread_id: str) -> str:
        root = thread_id
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while self.parent.get(thread_id, thread_id) != root:
            self.parent[thread_id], thread_id = root, self.parent[thread_id]
        return root

    def union(self, ids: Iterable[str]) -> str:
        roots = sorted({self.find(thread_id) for thread_id in ids}, key=lambda tid: self.age[tid])
        keep = roots[0]
        for other in roots[1:]:
            self.parent[other] = keep
        return keep


def threads_assign(*, account: Account, items: list[ThreadInput]) -> ThreadPlan:
    """Choose a thread for every item (see the module docstring); reads only."""
    per_item = [item.keys for item in items]
    wanted: set[str] = {key for keys in per_item for key in keys}
    known: dict[str, tuple[str, dt.datetime]] = {}
    # Plain SQL (backends.imap.bulk_sql): with thousands of keys per batch the
    # ORM's preparation of every IN value costs more than the query.
    read_datetime = bulk_sql.datetime_reader()
    for key, thread_id, seen_at in bulk_sql.rows_where_in(
        ThreadRef, columns=("key", "thread_id", "seen_at"), account_pk=account.pk, column="key",
        values=sorted(wanted), chunk=LOOKUP_CHUNK,
    ):  # fmt: skip
        seen = read_datetime(seen_at)
        if seen is not None:  # a NOT NULL column
            known[key] = (thread_id, seen)
    threads = _Threads()
    existing: set[str] = set()
    for jmap_id, created_modseq, pk in bulk_sql.rows_where_in(
        Thread, columns=("jmap_id", "created_modseq", "id"), account_pk=account.pk, column="jmap_id",
        values=sorted({thread_id for thread_id, _ in known.values()}),
        extra=f"{connection.ops.quote_name('destroyed')} = %s", extra_params=[False], chunk=LOOKUP_CHUNK,
    ):  # fmt: skip
        threads.age[jmap_id] = (created_modseq, pk)
        existing.add(jmap_id)
    known = {key: value for key, value in known.items() if value[0] in existing}

    plan = ThreadPlan(thread_ids=[])
    assigned: list[str] = []
    fresh = 0
    new_ids = iter(bulk_sql.jmap_ids_new(THREAD_ID_PREFIX, len(items)))
    for item, keys in zip(items, per_item, strict=True):
        found = {threads.find(known[key][0]) for key in keys if key in known}
        if not found:
            thread_id = next(new_ids)
            fresh += 1
            threads.age[thread_id] = (1 << 62, fresh)  # younger than every existing thread
            plan.created.append(thread_id)
        else:
            thread_id = threads.union(found)
        for key in keys:
            previous = known.get(key)
            seen_at = item.received_at if previous is None else max(previous[1], item.received_at)
            known[key] = (thread_id, seen_at)
            plan.refs[key] = (thread_id, seen_at)
        assigned.append(thread_id)

    plan.thread_ids = [threads.find(thread_id) for thread_id in assigned]
    # A fresh thread that joined another within this batch is never created
    # (a set: a first sync merges hundreds of them per batch).
    absorbed: set[str] = set()
    for thread_id in list(threads.age):
        root = threads.find(thread_id)
        if root == thread_id:
            continue
        if thread_id in existing:
            plan.merged[thread_id] = root
        else:
            absorbed.add(thread_id)
    if absorbed:
        plan.created = [thread_id for thread_id in plan.created if thread_id not in absorbed]
    plan.joined = {thread_id for thread_id in plan.thread_ids if thread_id in existing}
    plan.joined.update(root for root in plan.merged.values() if root in existing)
    plan.refs = {key: (threads.find(thread_id), seen_at) for key, (thread_id, seen_at) in plan.refs.items()}
    return plan


def _emails_move(*, account: Account, old: str, keep: str, modseq: int) -> dict[int, int]:
    """Move the live emails of thread `old` into `keep`. threadId is immutable
    (RFC 8621 §3): each email is destroyed (a tombstone) and created again with
    a new id in `keep`; its locations follow the new row. The blobId stays: the
    message is the same. Returns {old pk: new pk}."""
    moving = list(Email.objects.filter(account=account, thread_id=old, destroyed=False))
    if not moving:
        return {}
    renewed: dict[int, Email] = {}
    for email in moving:
        old_pk = email.pk
        email.pk = None
        email.jmap_id = jmap_id_new(EMAIL_ID_PREFIX)
        email.thread_id = keep
        email.created_modseq = modseq
        email.updated_modseq = modseq
        renewed[old_pk] = email
    Email.objects.bulk_create(list(renewed.values()), batch_size=LOOKUP_CHUNK)
    new_pks = bulk_sql.pks_by_jmap_id(
        Email, account_pk=account.pk, jmap_ids=[email.jmap_id for email in renewed.values()]
    )
    for old_pk, email in renewed.items():
        MailboxMessage.objects.filter(email_id=old_pk).update(email_id=new_pks[email.jmap_id], thread_id=keep)
    old_pks = sorted(renewed)
    for start in range(0, len(old_pks), LOOKUP_CHUNK):
        Email.objects.filter(pk__in=old_pks[start : start + LOOKUP_CHUNK]).update(
            destroyed=True, updated_modseq=modseq, mailbox_ids={}
        )
    return {old_pk: new_pks[email.jmap_id] for old_pk, email in renewed.items()}


def threads_apply(*, account: Account, plan: ThreadPlan, modseq: int) -> None:
    """Write a ThreadPlan at `modseq` (inside the caller's state_change_atomic):
    new Thread rows, merges (emails move with new ids, losing threads become
    tombstones), joined threads marked updated, and the ThreadRef index.
    Email rows the caller holds may have been re-created: `plan.renewed` maps
    their pks to the new ones."""
    as_datetime = bulk_sql.datetime_adapter()
    if plan.created:
        now = as_datetime(timezone.now())
        bulk_sql.rows_insert(
            Thread,
            ("account_id", "jmap_id", "created_modseq", "updated_modseq", "destroyed", "updated_at"),
            [(account.pk, thread_id, modseq, modseq, False, now) for thread_id in plan.created],
        )
    for old, keep in plan.merged.items():
        plan.renewed.update(_emails_move(account=account, old=old, keep=keep, modseq=modseq))
        MailboxMessage.objects.filter(account=account, thread_id=old).update(thread_id=keep)
        ThreadRef.objects.filter(account=account, thread_id=old).update(thread_id=keep)
        Thread.objects.filter(account=account, jmap_id=old).update(destroyed=True, updated_modseq=modseq)
    if plan.joined:
        Thread.objects.filter(account=account, jmap_id__in=sorted(plan.joined)).update(updated_modseq=modseq)
    if plan.refs:
        bulk_sql.rows_insert(
            ThreadRef,
            ("account_id", "key", "thread_id", "seen_at"),
            # In key order: the rows reach the unique (account, key) index in its own order.
            [
                (account.pk, key, thread_id, as_datetime(seen_at))
                for key, (thread_id, seen_at) in sorted(plan.refs.items())
            ],
            conflict=("account_id", "key"),
            update=("thread_id", "seen_at"),
        )


def threads_prune(*, account: Account, thread_ids: Iterable[str], modseq: int) -> None:
    """After emails were destroyed or moved out of `thread_ids`: a thread left
    without live emails becomes a tombstone, the others are marked updated
    (their emailIds changed)."""
    ids = sorted(set(thread_ids))
    if not ids:
        return
    alive = set(
        Email.objects.filter(account=account, thread_id__in=ids, destroyed=False)
        .values_list("thread_id", flat=True)
        .distinct()
    )
    empty = [thread_id for thread_id in ids if thread_id not in alive]
    if empty:
        Thread.objects.filter(account=account, jmap_id__in=empty, destroyed=False).update(
            destroyed=True, updated_modseq=modseq
        )
    if alive:
        Thread.objects.filter(account=account, jmap_id__in=sorted(alive), destroyed=False).update(
            updated_modseq=modseq
        )
