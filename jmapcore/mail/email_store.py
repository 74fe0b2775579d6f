"""Putting a new message on the server and into the cache: Email/set create,
Email/import and Email/copy (RFC 8621 §4.6-§4.8).

The message is APPENDed to the first mailbox (with its keywords as flags and
receivedAt as INTERNALDATE) and COPYed to any others; APPENDUID/COPYUID
(RFC 4315) name the new UIDs. Only then is the cache written, through the
same store the sync uses (backends.imap.message_store), so a later sync finds
the UIDs already cached and the Email keeps its id.
"""
from __future__ import annotations

import datetime as dt

from django.utils import timezone

from accounts.models import Account
from backends.base import BackendError
from backends.imap import message_writes
from backends.imap.connection import KIND
from backends.imap.message_parse import headers_parse
from backends.imap.message_store import (
    FetchedMessage,
    emails_mailbox_ids_refresh,
    mailbox_counts_refresh,
    messages_store,
)
from jmapcore.mail.email_update import MAIL_TYPES, mailboxes_for_write
from jmapcore.mail.keywords import keyword_to_flag
from jmapcore.mime.parse import message_parse
from jmapcore.models.mail import Email, MailboxMessage
from jmapcore.protocol.errors import SetError, SetErrorException
from jmapcore.state import state_change_atomic

# RFC 8621 §4.6 leaves the size limit to the server; this matches maxSizeUpload.
MAX_MESSAGE_SIZE = 50 * 1024 * 1024


def _header_section(raw: bytes) -> bytes:
    for separator in (b"\r\n\r\n", b"\n\n"):
        index = raw.find(separator)
        if index >= 0:
            return raw[: index + len(separator)]
    return raw


def email_store(
    *,
    account: Account,
    raw: bytes,
    mailbox_ids: dict[str, bool],
    keywords: dict[str, bool],
    received_at: dt.datetime | None,
) -> Email:
    """APPEND `raw` into the mailboxes, then cache it; returns the new Email."""
    if len(raw) > MAX_MESSAGE_SIZE:
        raise SetErrorException(SetError("tooLarge", f"messages are limited to {MAX_MESSAGE_SIZE} octets",
                                         extra={"maxSize": MAX_MESSAGE_SIZE}))
    mailboxes = list(mailboxes_for_write(account=account, mailbox_ids=mailbox_ids).values())
    flags = sorted(keyword_to_flag(keyword) for keyword in keywords)
    # INTERNALDATE has whole seconds; keep the cache equal to the server.
    when = (received_at or timezone.now()).replace(microsecond=0)
    first = mailboxes[0]
    appended = message_writes.message_append(
        account=account, imap_name=first.imap_name, raw=raw, flags=flags, received_at=when
    )
    if appended is None:
        raise BackendError(
            "the server lacks UIDPLUS: the message was stored but appears only after the next sync",
            permanent=True,
            kind=KIND,
        )
    copies: list[tuple[int, int]] = []
    for other in mailboxes[1:]:
        mapping = message_writes.messages_copy(
            account=account, imap_name=first.imap_name, uids=[appended.uid], target=other.imap_name
        )
        if appended.uid in mapping:
            copies.append((other.pk, mapping[appended.uid]))
    parsed = message_parse(raw)
    fetched = FetchedMessage(
        uid=appended.uid,
        flags=flags,
        modseq=0,
        received_at=when,
        size=len(raw),
        headers=headers_parse(_header_section(raw)),
        preview=parsed.preview,
        has_attachment=parsed.has_attachment,
    )
    with state_change_atomic(account=account, type_names=MAIL_TYPES) as modseq:
        messages_store(account=account, mailbox=first, messages=[fetched], modseq=modseq, orphans_possible=False)
        location = MailboxMessage.objects.select_related("email").get(mailbox=first, uid=appended.uid)
        email = location.email
        for mailbox_pk, uid in copies:
            MailboxMessage.objects.get_or_create(
                mailbox_id=mailbox_pk,
                uid=uid,
                defaults={
                    "account": account,
                    "email": email,
                    "flags": flags,
                    "received_at": email.received_at,
                    "thread_id": email.thread_id,
                    "is_unread": location.is_unread,
                },
            )
        emails_mailbox_ids_refresh(account=account, email_pks=[email.pk], modseq=modseq)
        mailbox_counts_refresh(mailboxes=mailboxes, modseq=modseq)
    email.refresh_from_db()
    return email
