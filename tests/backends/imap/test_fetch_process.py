"""A large sync is fetched and parsed by one forked child process for all its
folders (backends.imap.fetch_child, PROCESS_THRESHOLD): it yields exactly
the cache the in-process path yields, stays resumable, surfaces the child's
failures as BackendError and always reaps the child."""
from __future__ import annotations

import datetime as dt
import multiprocessing
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from accounts.models import Account
from backends.base import BackendError
from backends.imap import fetch_child, messages
from backends.imap.messages import SyncStopped
from jmapcore.models.mail import Email, Mailbox, MailboxMessage, Thread, ThreadRef
from tests.backends.imap.conftest import LockLostAfter, Mailstore, message

COUNT = 2400
THRESHOLD = 500
BATCH = 300



def _seed(mail: Mailstore) -> None:
    start = dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with mail.client() as client:
        client.create_folder("Archive")
        for folder, count in (("INBOX", COUNT), ("Archive", THRESHOLD // 2)):
            chunk: list[Any] = []
            for number in range(count):
                root = f"<t{number // 4}.{folder}@example.test>"
                first = number % 4 == 0
                chunk.append(
                    {
                        "msg": message(
                            f"{'' if first else 'Re: '}Topic {number // 4} é",
                            message_id=root if first else f"<m{number}.{folder}@example.test>",
                            in_reply_to=None if first else root,
                            references=None if first else root,
                            date=start + dt.timedelta(minutes=number),
                            to=f"Alice <alice@example.test>, =?utf-8?q?Ren=C3=A9?= <rene{number % 7}@example.test>",
                            body=f"Body of message {number}\r\n",
                        ),
                        "flags": (b"\\Seen",) if number % 3 else (),
                        "date": start + dt.timedelta(minutes=number),
                    }
                )
                if len(chunk) == 200:
                    client.multiappend(folder, chunk)
                    chunk = []
            if chunk:
                client.multiappend(folder, chunk)


def _cache(account: Account) -> dict[str, Any]:
    """The account's cache without its random ids: per (folder, uid) the Email's
    values, threads as groups of (folder, uid), the mailbox counts."""
    names = dict(Mailbox.objects.filter(account=account).values_list("jmap_id", "imap_name"))
    skip = {"id", "jmap_id", "thread_id", "blob_id", "updated_at", "created_modseq", "updated_modseq", "account"}
    fields = [field.attname for field in Email._meta.concrete_fields if field.name not in skip]
    emails: dict[tuple[str, int], Any] = {}
    threads: dict[str, set[tuple[str, int]]] = {}
    for location in MailboxMessage.objects.filter(account=account).select_related("email", "mailbox"):
        key = (location.mailbox.imap_name, location.uid)
        email = location.email
        values = {name: getattr(email, name) for name in fields}
        values["mailbox_ids"] = sorted(names[box] for box in email.mailbox_ids)
        values["location"] = (
            location.flags, location.is_unread, location.received_at, location.thread_id == email.thread_id,
        )
        emails[key] = values
        threads.setdefault(email.thread_id, set()).add(key)
    boxes = {
        box.imap_name: (box.total_emails, box.unread_emails, box.total_threads, box.unread_threads, box.synced_uid)
        for box in Mailbox.objects.filter(account=account, destroyed=False)
    }
    return {
        "emails": emails,
        "threads": sorted(sorted(group) for group in threads.values()),
        "boxes": boxes,
        "thread_rows": Thread.objects.filter(account=account, destroyed=False).count(),
    }


def _cache_drop(mail: Mailstore) -> None:
    account = mail.account
    MailboxMessage.objects.filter(account=account).delete()
    for model in (Email, Thread, ThreadRef, Mailbox):
        model.objects.filter(account=account).delete()
    Account.objects.filter(pk=account.pk).update(sync_progress={})


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The folders a started child fetched, in its order."""
    used: list[str] = []
    original = fetch_child.fetch_child_open

    @contextmanager
    def spy(**kwargs: Any) -> Iterator[Any]:
        with original(**kwargs) as child:
            if child is not None:
                used.extend(job.name for job in kwargs["jobs"] if job.batches)
            yield child

    monkeypatch.setattr(messages, "fetch_child_open", spy)
    return used


def test_the_child_process_path_yields_the_same_cache(alice_mail: Mailstore, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(alice_mail)
    used = _spy(monkeypatch)
    monkeypatch.setattr(fetch_child, "PROCESS_THRESHOLD", 10**9)
    alice_mail.sync(batch_size=BATCH)
    assert used == []
    in_process = _cache(alice_mail.account)
    assert len(in_process["emails"]) == COUNT + THRESHOLD // 2

    _cache_drop(alice_mail)
    monkeypatch.setattr(fetch_child, "PROCESS_THRESHOLD", THRESHOLD)
    alice_mail.sync(batch_size=BATCH)
    # One child for every folder, in the order they are stored: the inbox, then Archive.
    assert used == ["INBOX", "Archive"]
    assert _cache(alice_mail.account) == in_process
    assert multiprocessing.active_children() == []


def test_a_child_sync_that_lost_its_lock_stops_reaps_the_child_and_resumes(
    alice_mail: Mailstore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(alice_mail)
    used = _spy(monkeypatch)
    monkeypatch.setattr(fetch_child, "PROCESS_THRESHOLD", THRESHOLD)
    monkeypatch.setattr(messages, "RAMP_BATCHES", ())  # whole batches: the counts below are in BATCHes
    lock = LockLostAfter(account_id=alice_mail.account.pk, batches=2)
    assert lock.acquire()
    with pytest.raises(SyncStopped):
        alice_mail.sync(lock=lock, batch_size=BATCH)
    lock.release()
    assert multiprocessing.active_children() == []
    assert used == ["INBOX", "Archive"]  # the child was to fetch both
    # The inbox's first page (fetched in this process, issue 9) and one batch
    # of the child, newest first, are in; the folder is not marked as synced.
    assert alice_mail.uids("INBOX") == list(range(COUNT - messages.FIRST_PAGE - BATCH + 1, COUNT + 1))
    assert alice_mail.mailbox("INBOX").synced_uid == 0

    alice_mail.sync(batch_size=BATCH)
    assert alice_mail.uids("INBOX") == list(range(1, COUNT + 1))
    assert alice_mail.mailbox("INBOX").synced_uid == COUNT
    assert Email.objects.filter(account=alice_mail.account, destroyed=False).count() == COUNT + THRESHOLD // 2
    assert multiprocessing.active_children() == []


def test_a_failure_in_the_child_is_a_backend_error(alice_mail: Mailstore, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(alice_mail)
    monkeypatch.setattr(fetch_child, "PROCESS_THRESHOLD", THRESHOLD)
    monkeypatch.setattr(messages, "RAMP_BATCHES", ())  # whole batches: the counts below are in BATCHes
    fetch = messages.uid_fetch
    calls = {"n": 0}

    def failing_fetch(**kwargs: Any) -> Any:  # each child's third fetch fails (its counter is its own)
        if not multiprocessing.current_process().name.startswith("imap-fetch"):
            return fetch(**kwargs)  # the inbox's first page, fetched before the child starts (issue 9)
        calls["n"] += 1
        if calls["n"] == 3:
            raise BackendError("connection lost", permanent=False, kind="imap")
        return fetch(**kwargs)

    monkeypatch.setattr(messages, "uid_fetch", failing_fetch)
    with pytest.raises(BackendError, match="connection lost"):
        alice_mail.sync(batch_size=BATCH)
    assert multiprocessing.active_children() == []
    # What arrived before the failure is kept, and the next sync completes.
    # The batches are dealt to the fetch processes in turn: each fetched two
    # before the first one's third failed.
    stored_before = 2 * BATCH * fetch_child.fetch_process_count()
    assert len(alice_mail.uids("INBOX")) == messages.FIRST_PAGE + stored_before
    monkeypatch.setattr(messages, "uid_fetch", fetch)
    alice_mail.sync(batch_size=BATCH)
    assert alice_mail.uids("INBOX") == list(range(1, COUNT + 1))


def test_a_message_survives_the_pipe_unchanged() -> None:
    """A prepared message crosses the pickle as it was: IMAPClient's FixedOffset
    zones (which do not pickle) became datetime.timezone of the same offset
    when it was prepared, and the Email values are in column form already."""
    from imapclient.fixed_offset import FixedOffset

    from backends.imap import message_parse as mp
    from backends.imap.message_store import EMAIL_MESSAGE_COLUMNS, FetchedMessage, message_prepare, row_adapters

    moment = dt.datetime(2024, 5, 1, 12, 30, tzinfo=FixedOffset(-330))
    address: list[dict[str, str | None]] = [{"name": "Bob", "email": "bob@example.test"}]
    headers = mp.ParsedHeaders(
        subject="Re: Hi", base_subject="Hi", is_reply=True, sent_at=moment, message_id=["a@x"],
        in_reply_to=["b@x"], references=["c@x", "b@x"], sender=address, from_addr=address,
        to=[{"name": None, "email": "to@example.test"}], cc=None, bcc=[], reply_to=address,
    )  # fmt: skip
    original = FetchedMessage(
        uid=7, flags=["\\Seen"], modseq=42, received_at=moment, size=1234, headers=headers, preview="Hello",
        has_attachment=True, email_id="E1", thread_id="T1",
    )  # fmt: skip
    prepared = message_prepare(original, adapters=row_adapters())
    copy = fetch_child.message_unpack(pickle.loads(pickle.dumps(fetch_child.message_pack(prepared))))  # noqa: S301
    assert copy == prepared and type(copy) is type(prepared)
    assert copy.received_at == moment and copy.received_at.utcoffset() == moment.utcoffset()
    assert type(copy.received_at.tzinfo) is dt.timezone
    values = dict(zip(EMAIL_MESSAGE_COLUMNS, copy.values, strict=True))
    assert values["subject"] == "Re: Hi" and values["imap_thread_id"] == "T1" and values["message_id_first"] == "a@x"
    assert values["sent_at_offset"] == -330 and values["cc"] is None
    assert copy.message_id_key == "a@x" and len(copy.thread_keys) == 4


def test_a_folder_recreated_before_the_children_reach_it_is_refetched_by_the_next_sync(
    alice_mail: Mailstore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another client deletes and re-creates Archive (a new UIDVALIDITY, RFC 3501
    §2.3.1.1) after step 1 and before the fetch processes select it: they send
    none of its old UIDs, the inbox is stored as usual, and Archive is left for
    the next sync, which resets it and fetches what is there now."""
    _seed(alice_mail)
    monkeypatch.setattr(fetch_child, "PROCESS_THRESHOLD", THRESHOLD)
    original = fetch_child.fetch_child_open

    @contextmanager
    def recreate_first(**kwargs: Any) -> Iterator[Any]:
        with alice_mail.client() as other:
            other.delete_folder("Archive")
            other.create_folder("Archive")
            other.append("Archive", message("Recreated", message_id="<recreated@example.test>"))
        with original(**kwargs) as child:
            yield child

    monkeypatch.setattr(messages, "fetch_child_open", recreate_first)
    alice_mail.sync(batch_size=BATCH)
    assert multiprocessing.active_children() == []
    assert alice_mail.uids("INBOX") == list(range(1, COUNT + 1))
    assert alice_mail.uids("Archive") == []
    assert alice_mail.mailbox("Archive").synced_uid == 0

    monkeypatch.setattr(messages, "fetch_child_open", original)
    alice_mail.sync(batch_size=BATCH)
    assert alice_mail.uids("Archive") == [1]
    assert alice_mail.email_by_subject("Recreated").mailbox_ids == {alice_mail.mailbox("Archive").jmap_id: True}
