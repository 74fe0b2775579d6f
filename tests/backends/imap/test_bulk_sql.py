"""The sync's raw bulk writes (backends.imap.bulk_sql) store exactly what the
ORM's bulk_create stored: same columns, defaults, JSON text and datetimes,
compared both as raw column values and read back through the ORM."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from accounts.models import Account, Pool
from backends.imap import message_parse as mp
from backends.imap.message_store import EMAIL_COLUMNS, LOCATION_COLUMNS, FetchedMessage, messages_store
from backends.imap.threading import ThreadPlan, threads_apply
from jmapcore.models.mail import Email, Mailbox, MailboxMessage, Thread, ThreadRef

pytestmark = pytest.mark.django_db

PLUS2 = dt.timezone(dt.timedelta(hours=2))
MINUS0530 = dt.timezone(-dt.timedelta(hours=5, minutes=30))
HEADERS = [
    b"Subject: Re: Plans\r\nFrom: Bob <bob@example.test>\r\nTo: a@example.test, \"Carol, C.\" <c@example.test>\r\n"
    b"Message-ID: <p2@example.test>\r\nIn-Reply-To: <p1@example.test>\r\nReferences: <p1@example.test>\r\n"
    b"Date: Tue, 07 May 2024 10:11:12 +0200\r\n",
    b"Subject: =?utf-8?q?J=C3=B6rg_=E2=98=83?=\r\nFrom: =?utf-8?q?J=C3=B6rg?= <jorg@example.test>\r\n"
    b"Cc: x@example.test\r\nBcc: y@example.test\r\nSender: s@example.test\r\nReply-To: r@example.test\r\n",
    b"",
    b"Subject: \xe9t\xe9 raw 8-bit\r\nFrom: broken <<>>\r\nDate: nonsense\r\n",
]


def _account(name: str) -> Account:
    pool = Pool.objects.create(login=f"{name}@example.test", password_hash="!")
    return Account.objects.create(accountid=name, pool=pool, email=f"{name}@example.test", username=name,
                                  password="x", imap_host="127.0.0.1", imap_port=1)  # fmt: skip


def _mailbox(account: Account) -> Mailbox:
    return Mailbox.objects.create(account=account, jmap_id="m" + account.accountid, created_modseq=1,
                                  updated_modseq=1, name="INBOX", imap_name="INBOX", role="inbox")  # fmt: skip


def _messages() -> list[FetchedMessage]:
    moments = [
        dt.datetime(2024, 5, 7, 10, 11, 12, tzinfo=PLUS2),
        dt.datetime(2023, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC),
        dt.datetime(2020, 2, 29, 23, 59, 59, tzinfo=MINUS0530),
        dt.datetime(2024, 5, 7, 10, 11, 13, tzinfo=PLUS2),
    ]
    flags = [["\\Seen", "$Forwarded"], [], ["\\Flagged", "Custom", "\\Answered"], ["\\Draft"]]
    return [
        FetchedMessage(
            uid=10 + index, flags=flags[index], modseq=100 + index, received_at=moments[index],
            size=1234 * (index + 1), headers=mp.headers_parse(raw), preview=f"preview {index} ünïcode",
            has_attachment=index % 2 == 1, email_id=f"E{index}" if index < 2 else "",
            thread_id=f"T{index}" if index < 2 else "",
        )
        for index, raw in enumerate(HEADERS)
    ]  # fmt: skip


def _orm_email(*, account: Account, mailbox: Mailbox, message: FetchedMessage, jmap_id: str, thread_id: str,
               blob_id: str, modseq: int) -> Email:
    """The Email the sync built for bulk_create before bulk_sql."""
    headers = message.headers
    sent = headers.sent_at
    return Email(
        account=account, jmap_id=jmap_id, created_modseq=modseq, updated_modseq=modseq, thread_id=thread_id,
        blob_id=blob_id, imap_object_id=message.email_id, imap_thread_id=message.thread_id,
        mailbox_ids={mailbox.jmap_id: True}, keywords=mp.flags_keywords(message.flags), size=message.size,
        received_at=message.received_at, sent_at=sent,
        sent_at_offset=None if sent is None else int(sent.utcoffset().total_seconds() // 60),  # type: ignore[union-attr]
        subject=headers.subject, base_subject=headers.base_subject, preview=message.preview,
        has_attachment=message.has_attachment, message_id=headers.message_id,
        message_id_first=(headers.message_id or [""])[0][:255], in_reply_to=headers.in_reply_to,
        references=headers.references, sender=headers.sender, from_addr=headers.from_addr, to=headers.to,
        cc=headers.cc, bcc=headers.bcc, reply_to=headers.reply_to,
        from_text=mp.addresses_text(headers.from_addr), to_text=mp.addresses_text(headers.to),
        cc_text=mp.addresses_text(headers.cc), bcc_text=mp.addresses_text(headers.bcc),
    )  # fmt: skip


def _raw_rows(model: type[Any], columns: tuple[str, ...], where: str, value: int, order: str) -> list[tuple[Any, ...]]:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        names = ", ".join(quote(c) for c in columns)
        sql = f"SELECT {names} FROM {quote(model._meta.db_table)} WHERE {quote(where)} = %s ORDER BY {quote(order)}"  # noqa: S608
        cursor.execute(sql, [value])
        return [tuple(row) for row in cursor.fetchall()]


def test_the_column_lists_cover_every_field() -> None:
    def concrete(model: type[Any]) -> set[str]:
        return {field.column for field in model._meta.concrete_fields if not field.primary_key}

    assert set(EMAIL_COLUMNS) == concrete(Email) and len(EMAIL_COLUMNS) == len(set(EMAIL_COLUMNS))
    assert set(LOCATION_COLUMNS) == concrete(MailboxMessage)


def test_messages_store_writes_what_bulk_create_wrote() -> None:
    new_account, old_account = _account("bulknew"), _account("bulkold")
    new_box, old_box = _mailbox(new_account), _mailbox(old_account)
    messages = _messages()
    assert messages_store(account=new_account, mailbox=new_box, messages=messages, modseq=7,
                          orphans_possible=False) == len(messages)  # fmt: skip

    # The same rows through the ORM, with the ids the raw path chose.
    written = {loc.uid: loc.email for loc in MailboxMessage.objects.filter(mailbox=new_box).select_related("email")}
    emails = [
        _orm_email(account=old_account, mailbox=old_box, message=message, jmap_id=written[message.uid].jmap_id,
                   thread_id=written[message.uid].thread_id, blob_id=written[message.uid].blob_id, modseq=7)
        for message in messages
    ]  # fmt: skip
    old_box.jmap_id = new_box.jmap_id
    for email in emails:
        email.mailbox_ids = {new_box.jmap_id: True}
    Email.objects.bulk_create(emails, batch_size=500)
    MailboxMessage.objects.bulk_create([
        MailboxMessage(account=old_account, mailbox=old_box, email_id=email.pk, uid=message.uid, flags=message.flags,
                       server_modseq=message.modseq, received_at=email.received_at, thread_id=email.thread_id,
                       is_unread=mp.flags_unread(message.flags))
        for message, email in zip(messages, emails, strict=True)
    ])  # fmt: skip

    email_columns = tuple(c for c in EMAIL_COLUMNS if c not in ("account_id", "updated_at"))
    new_rows = _raw_rows(Email, email_columns, "account_id", new_account.pk, "jmap_id")
    old_rows = _raw_rows(Email, email_columns, "account_id", old_account.pk, "jmap_id")
    assert new_rows == old_rows and len(new_rows) == len(messages)
    location_columns = tuple(c for c in LOCATION_COLUMNS if c not in ("account_id", "mailbox_id", "email_id"))
    assert _raw_rows(MailboxMessage, location_columns, "mailbox_id", new_box.pk, "uid") == _raw_rows(
        MailboxMessage, location_columns, "mailbox_id", old_box.pk, "uid"
    )

    def orm_view(account: Account) -> list[dict[str, Any]]:
        values = []
        for email in Email.objects.filter(account=account).order_by("jmap_id"):
            data = model_to_dict(email, exclude=["id", "account"])
            assert email.updated_at.tzinfo is not None
            assert abs(email.updated_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
            data.update(received_at=email.received_at, updated_at=None)
            values.append(data)
        return values

    assert orm_view(new_account) == orm_view(old_account)
    new_email = Email.objects.get(account=new_account, imap_object_id="E1")
    assert new_email.received_at == dt.datetime(2023, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    assert new_email.sent_at is None and new_email.message_id is None and new_email.keywords == {}


def test_threads_apply_writes_what_bulk_create_wrote() -> None:
    new_account, old_account = _account("thrnew"), _account("throld")
    moment = dt.datetime(2024, 5, 7, 10, 11, 12, 5, tzinfo=PLUS2)
    plan = ThreadPlan(thread_ids=["ta", "tb"], created=["ta", "tb"],
                      refs={"m:1": ("ta", moment), "s:2": ("tb", moment + dt.timedelta(days=1))})  # fmt: skip
    threads_apply(account=new_account, plan=plan, modseq=3)
    Thread.objects.bulk_create(
        [Thread(account=old_account, jmap_id=tid, created_modseq=3, updated_modseq=3) for tid in plan.created]
    )

    def refs_orm(account: Account, refs: dict[str, tuple[str, dt.datetime]]) -> None:
        ThreadRef.objects.bulk_create(
            [ThreadRef(account=account, key=key, thread_id=tid, seen_at=seen) for key, (tid, seen) in refs.items()],
            update_conflicts=True, unique_fields=["account", "key"], update_fields=["thread_id", "seen_at"],
        )  # fmt: skip

    refs_orm(old_account, plan.refs)
    # The upsert path: a key seen again moves to another thread and a later time.
    again = ThreadPlan(thread_ids=[], refs={"m:1": ("tb", moment + dt.timedelta(days=2)), "m:3": ("ta", moment)})
    threads_apply(account=new_account, plan=again, modseq=4)
    refs_orm(old_account, again.refs)

    thread_columns = ("jmap_id", "created_modseq", "updated_modseq", "destroyed")
    assert _raw_rows(Thread, thread_columns, "account_id", new_account.pk, "jmap_id") == _raw_rows(
        Thread, thread_columns, "account_id", old_account.pk, "jmap_id"
    )
    ref_columns = ("key", "thread_id", "seen_at")
    new_refs = _raw_rows(ThreadRef, ref_columns, "account_id", new_account.pk, "key")
    assert new_refs == _raw_rows(ThreadRef, ref_columns, "account_id", old_account.pk, "key")
    assert [row[:2] for row in new_refs] == [("m:1", "tb"), ("m:3", "ta"), ("s:2", "tb")]
    assert ThreadRef.objects.get(account=new_account, key="m:1").seen_at == moment + dt.timedelta(days=2)
    for thread in Thread.objects.filter(account=new_account):
        assert thread.updated_at.tzinfo is not None and not thread.destroyed


def test_fresh_ids_are_distinct_random_and_in_index_order() -> None:
    from backends.imap.bulk_sql import jmap_ids_new

    ids = jmap_ids_new("e", 2000)
    assert len(set(ids)) == 2000 and ids == sorted(ids)
    assert all(len(value) == 17 and value.startswith("e") and value[1:].isalnum() and value == value.lower()
               for value in ids)  # fmt: skip
    assert set(ids).isdisjoint(jmap_ids_new("e", 2000)) and jmap_ids_new("e", 0) == []
