"""Writing what the sync learnt about messages into the mail cache.

All functions run inside the caller's `state_change_atomic` and get its
modseq; they use bulk queries only (no per-message SELECT), so a batch of a
thousand new messages costs a dozen queries.

Email identity (DESIGN.md "The cache and state"):

- one IMAP message (folder, UID) is a MailboxMessage; its Email is found by
  EMAILID (RFC 8474 §5.1) where the server offers OBJECTID — then copies in
  several folders are one Email — else every new message is a new Email,
  except that it takes over an *orphan*: a live Email whose every location
  vanished in this sync (moved by another client, UIDVALIDITY reset) and that
  has the same Message-ID, size and INTERNALDATE;
- an orphan not taken over by the end of the sync is destroyed (orphans_destroy);
- blobId of the raw message is "M" + EMAILID when the server gives one, else
  "M" + the random part of the Email id: opaque, stable, never reused.

Keywords of an Email are those of the location written last (copies normally
share their flags).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Account
from backends.imap import bulk_sql
from backends.imap import message_parse as mp
from backends.imap.threading import ThreadInput, thread_keys, threads_apply, threads_assign, threads_prune
from jmapcore.models.mail import Email, Mailbox, MailboxMessage

EMAIL_ID_PREFIX = "e"
BLOB_ID_PREFIX = "M"
CHUNK = 2000


@dataclass
class FetchedMessage:
    """One new message as fetched, ready to store."""

    uid: int
    flags: list[str]
    modseq: int
    received_at: dt.datetime
    size: int
    headers: mp.ParsedHeaders
    preview: str
    has_attachment: bool
    email_id: str = ""  # EMAILID
    thread_id: str = ""  # THREADID
    # Why parsing failed, when the message is cached with fallback values
    # (backends.imap.messages.message_from_fetch); "" when it parsed.
    parse_problem: str = ""


# The Email columns rows are written with (every concrete field but the pk):
# first those the store decides (ids, modseqs, thread, mailbox, keywords),
# then those that follow from the message alone (PreparedMessage.values).
# Tests compare them with the model.
EMAIL_STORE_COLUMNS = (
    "account_id", "jmap_id", "created_modseq", "updated_modseq", "destroyed", "updated_at", "thread_id", "blob_id",
    "mailbox_ids", "keywords",
)  # fmt: skip
EMAIL_MESSAGE_COLUMNS = (
    "imap_object_id", "imap_thread_id", "size", "received_at", "sent_at", "sent_at_offset", "subject",
    "base_subject", "preview", "has_attachment", "message_id", "message_id_first", "in_reply_to", "references",
    "sender", "from_addr", "to", "cc", "bcc", "reply_to", "from_text", "to_text", "cc_text", "bcc_text",
)  # fmt: skip
EMAIL_COLUMNS = EMAIL_STORE_COLUMNS + EMAIL_MESSAGE_COLUMNS
_RECEIVED_AT = EMAIL_MESSAGE_COLUMNS.index("received_at")
LOCATION_COLUMNS = (
    "account_id", "mailbox_id", "email_id", "uid", "flags", "server_modseq", "received_at", "thread_id", "is_unread",
)  # fmt: skip


class RowAdapters(NamedTuple):
    """How values are written to the database's columns (backends.imap.bulk_sql):
    JSON values and aware datetimes. Built by the process that owns the
    database connection (row_adapters) and handed to the fetch processes with
    the fork, so that they prepare values as the store would. `addresses`
    remembers the column values of address lists already seen (see
    _addresses_values)."""

    as_json: Callable[[Any], Any]
    as_datetime: Callable[[dt.datetime | None], Any]
    addresses: dict[tuple[tuple[tuple[str, Any], ...], ...], tuple[Any, str]]


def row_adapters() -> RowAdapters:
    return RowAdapters(as_json=bulk_sql.json_adapter(), as_datetime=bulk_sql.datetime_adapter(), addresses={})


# Distinct address lists remembered per RowAdapters (a sync's senders and
# recipients repeat: the account's own address, colleagues, lists).
ADDRESS_VALUES_MAX = 8192


def _addresses_values(value: list[dict[str, str | None]] | None, adapters: RowAdapters) -> tuple[Any, str]:
    """An address list's JSON column value and its addresses_text, computed
    once per distinct list (keyed by every key and value of its items)."""
    if value is None:
        return adapters.as_json(None), ""
    key = tuple([tuple(item.items()) for item in value])
    found = adapters.addresses.get(key)
    if found is None:
        found = (adapters.as_json(value), mp.addresses_text(value))
        if len(adapters.addresses) < ADDRESS_VALUES_MAX:
            adapters.addresses[key] = found
    return found


class PreparedMessage(NamedTuple):
    """A FetchedMessage reduced to what messages_store needs, its Email values
    already in column form: what a fetch process sends the store (plain
    strings and numbers pickle and unpickle several times faster than the
    parsed headers' lists and dicts, and the store's own work per message
    shrinks to assembling a row)."""

    uid: int
    flags: list[str]
    modseq: int
    received_at: dt.datetime  # aware, with a datetime.timezone (it pickles)
    size: int
    email_id: str  # EMAILID
    message_id_key: str | None  # the first Message-ID cut to 255, for orphans; None without one
    thread_keys: tuple[str, ...]  # backends.imap.threading.thread_keys
    parse_problem: str
    values: tuple[Any, ...]  # EMAIL_MESSAGE_COLUMNS, adapted for the database


def zone_plain(value: dt.datetime | None) -> dt.datetime | None:
    """An aware datetime with a datetime.timezone of the same offset: IMAPClient's
    FixedOffset does not survive pickling."""
    if value is not None and value.tzinfo is not None and type(value.tzinfo) is not dt.timezone:
        offset = value.utcoffset()
        if offset is not None:
            return value.replace(tzinfo=dt.timezone(offset))
    return value


def message_prepare(message: FetchedMessage, *, adapters: RowAdapters) -> PreparedMessage:
    """`message` as messages_store writes it (see PreparedMessage)."""
    as_json, as_datetime, _seen = adapters
    headers = message.headers
    sent_at = headers.sent_at
    received_at = zone_plain(message.received_at)
    assert received_at is not None
    message_ids = headers.message_id
    sender_json, _ = _addresses_values(headers.sender, adapters)
    from_json, from_text = _addresses_values(headers.from_addr, adapters)
    to_json, to_text = _addresses_values(headers.to, adapters)
    cc_json, cc_text = _addresses_values(headers.cc, adapters)
    bcc_json, bcc_text = _addresses_values(headers.bcc, adapters)
    reply_to_json, _ = _addresses_values(headers.reply_to, adapters)
    return PreparedMessage(
        message.uid, message.flags, message.modseq, received_at, message.size, message.email_id,
        message_ids[0][:255] if message_ids else None,
        thread_keys(message_ids, [*(headers.in_reply_to or []), *(headers.references or [])]),
        message.parse_problem,
        (
            message.email_id, message.thread_id, message.size, as_datetime(received_at),
            as_datetime(zone_plain(sent_at)), utc_offset_minutes(sent_at), headers.subject, headers.base_subject,
            message.preview, message.has_attachment, as_json(message_ids), (message_ids or [""])[0][:255],
            as_json(headers.in_reply_to), as_json(headers.references), sender_json, from_json, to_json, cc_json,
            bcc_json, reply_to_json, from_text, to_text, cc_text, bcc_text,
        ),
    )  # fmt: skip


def _chunks(values: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def mailbox_jmap_ids(*, account: Account) -> dict[int, str]:
    return dict(Mailbox.objects.filter(account=account, destroyed=False).values_list("pk", "jmap_id"))


def emails_mailbox_ids_refresh(*, account: Account, email_pks: Iterable[int], modseq: int) -> list[int]:
    """Recompute mailbox_ids of `email_pks` from their locations; returns the
    pks left without any location (orphans, destroyed later unless matched)."""
    pks = sorted(set(email_pks))
    if not pks:
        return []
    names = mailbox_jmap_ids(account=account)
    boxes: dict[int, dict[str, bool]] = {}
    for chunk in _chunks(pks):
        for email_pk, mailbox_pk in MailboxMessage.objects.filter(email_id__in=chunk).values_list(
            "email_id", "mailbox_id"
        ):
            if mailbox_pk in names:
                boxes.setdefault(email_pk, {})[names[mailbox_pk]] = True
    changed: list[Email] = []
    for chunk in _chunks([pk for pk in pks if pk in boxes]):
        for email in Email.objects.filter(pk__in=chunk).only("pk", "mailbox_ids", "updated_modseq"):
            if email.mailbox_ids != boxes[email.pk]:
                email.mailbox_ids = boxes[email.pk]
                email.updated_modseq = modseq
                changed.append(email)
    if changed:
        Email.objects.bulk_update(changed, ["mailbox_ids", "updated_modseq"], batch_size=CHUNK)
    return [pk for pk in pks if pk not in boxes]


def locations_remove(*, account: Account, locations: QuerySet[MailboxMessage], modseq: int) -> int:
    """Delete `locations` (expunged, \\Deleted, folder gone or reset); returns how many."""
    rows = list(locations.values_list("pk", "email_id"))
    if not rows:
        return 0
    for chunk in _chunks([pk for pk, _ in rows]):
        MailboxMessage.objects.filter(pk__in=chunk).delete()
    emails_mailbox_ids_refresh(account=account, email_pks=[email_pk for _, email_pk in rows], modseq=modseq)
    return len(rows)


def flags_apply(
    *, account: Account, mailbox: Mailbox, changes: dict[int, tuple[list[str], int]], modseq: int
) -> int:
    """Store new flags for cached UIDs of `mailbox`: {uid: (flags, modseq)}.
    Emails whose keywords change are marked updated. Returns changed locations."""
    if not changes:
        return 0
    locations: list[MailboxMessage] = []
    for chunk in _chunks(sorted(changes)):
        locations.extend(
            MailboxMessage.objects.filter(mailbox=mailbox, uid__in=chunk).only(
                "pk", "uid", "email_id", "flags", "is_unread", "server_modseq"
            )
        )
    changed_locations: list[MailboxMessage] = []
    keywords: dict[int, dict[str, bool]] = {}
    for location in locations:
        flags, server_modseq = changes[location.uid]
        if sorted(location.flags) == sorted(flags) and location.server_modseq == server_modseq:
            continue
        location.flags = flags
        location.is_unread = mp.flags_unread(flags)
        location.server_modseq = server_modseq
        changed_locations.append(location)
        keywords[location.email_id] = mp.flags_keywords(flags)
    if not changed_locations:
        return 0
    MailboxMessage.objects.bulk_update(changed_locations, ["flags", "is_unread", "server_modseq"], batch_size=CHUNK)
    emails: list[Email] = []
    for chunk in _chunks(sorted(keywords)):
        for email in Email.objects.filter(pk__in=chunk).only("pk", "keywords", "updated_modseq"):
            if email.keywords != keywords[email.pk]:
                email.keywords = keywords[email.pk]
                email.updated_modseq = modseq
                emails.append(email)
    if emails:
        Email.objects.bulk_update(emails, ["keywords", "updated_modseq"], batch_size=CHUNK)
    return len(changed_locations)


CountValues = tuple[int, int, int, int]


def mailbox_counts_compute(*, mailboxes: Iterable[Mailbox]) -> dict[int, CountValues]:
    """The four counts (RFC 8621 §2) of the `mailboxes` whose cached counts are
    stale, with one grouped query: {mailbox pk: (totalEmails, unreadEmails,
    totalThreads, unreadThreads)}. unreadThreads counts threads with an unread
    email in the mailbox."""
    boxes = {box.pk: box for box in mailboxes}
    if not boxes:
        return {}
    counted = {
        row["mailbox_id"]: row
        for row in MailboxMessage.objects.filter(mailbox_id__in=list(boxes))
        .values("mailbox_id")
        .annotate(
            te=Count("email_id", distinct=True),
            ue=Count("email_id", distinct=True, filter=Q(is_unread=True)),
            tt=Count("thread_id", distinct=True),
            ut=Count("thread_id", distinct=True, filter=Q(is_unread=True)),
        )
    }
    stale: dict[int, CountValues] = {}
    for pk, box in boxes.items():
        row = counted.get(pk, {})
        values = (row.get("te", 0), row.get("ue", 0), row.get("tt", 0), row.get("ut", 0))
        if values != (box.total_emails, box.unread_emails, box.total_threads, box.unread_threads):
            stale[pk] = values
    return stale


def mailbox_counts_save(*, mailboxes: Iterable[Mailbox], counts: dict[int, CountValues], modseq: int) -> None:
    """Store counts from mailbox_counts_compute; those mailboxes get
    updated_modseq = `modseq` (not props_modseq: only counts moved)."""
    changed = []
    for box in mailboxes:
        if box.pk in counts:
            box.total_emails, box.unread_emails, box.total_threads, box.unread_threads = counts[box.pk]
            box.updated_modseq = modseq
            changed.append(box)
    if changed:
        Mailbox.objects.bulk_update(
            changed, ["total_emails", "unread_emails", "total_threads", "unread_threads", "updated_modseq"]
        )


def mailbox_counts_refresh(*, mailboxes: Iterable[Mailbox], modseq: int) -> bool:
    """Recompute and store the counts of `mailboxes` at `modseq` (inside the
    caller's transaction); True when any count changed."""
    boxes = list(mailboxes)
    counts = mailbox_counts_compute(mailboxes=boxes)
    mailbox_counts_save(mailboxes=boxes, counts=counts, modseq=modseq)
    return bool(counts)


def _matches_find(
    *, account: Account, messages: list[PreparedMessage], orphans_possible: bool
) -> dict[int, Email]:
    """{uid: existing Email} for new messages that continue a cached Email."""
    found: dict[int, Email] = {}
    email_ids = sorted({message.email_id for message in messages if message.email_id})
    if email_ids:
        by_object: dict[str, Email] = {}
        for chunk in _chunks(email_ids):
            for email in Email.objects.filter(account=account, destroyed=False, imap_object_id__in=chunk):
                by_object[email.imap_object_id] = email
        for message in messages:
            if message.email_id in by_object:
                found[message.uid] = by_object[message.email_id]
    if not orphans_possible:
        return found
    wanted = sorted(
        {
            message.message_id_key
            for message in messages
            if message.uid not in found and message.message_id_key is not None
        }
    )
    candidates: dict[tuple[str, int, dt.datetime], list[Email]] = {}
    for chunk in _chunks(wanted):
        orphans = Email.objects.filter(
            account=account, destroyed=False, message_id_first__in=chunk, locations__isnull=True
        )
        for email in orphans:
            key = (email.message_id_first, email.size, email.received_at.astimezone(dt.UTC))
            candidates.setdefault(key, []).append(email)
    for message in messages:
        if message.uid in found or message.message_id_key is None:
            continue
        key = (message.message_id_key, message.size, message.received_at.astimezone(dt.UTC))
        pool = candidates.get(key)
        if pool:
            found[message.uid] = pool.pop(0)
    return found


def utc_offset_minutes(moment: dt.datetime | None) -> int | None:
    """The UTC offset of an aware datetime in whole minutes (None without a date)."""
    if moment is None or moment.utcoffset() is None:
        return None
    offset = moment.utcoffset()
    assert offset is not None
    return int(offset.total_seconds() // 60)


def messages_store(
    *,
    account: Account,
    mailbox: Mailbox,
    messages: Sequence[FetchedMessage | PreparedMessage],
    modseq: int,
    orphans_possible: bool,
) -> int:
    """Store one batch of new messages of `mailbox`; returns how many locations
    were added. Already cached UIDs and \\Deleted messages are skipped.

    Messages come parsed (FetchedMessage) or already prepared for the store by
    a fetch process (PreparedMessage, message_prepare with this connection's
    row_adapters). New Email and MailboxMessage rows are written as plain
    tuples with one prepared statement each (backends.imap.bulk_sql), not
    through the ORM."""
    adapters = row_adapters()
    as_json, as_datetime, _seen = adapters
    cached = {
        uid
        for (uid,) in bulk_sql.rows_where_in(
            MailboxMessage, columns=("uid",), account_pk=account.pk, column="uid",
            values=sorted(message.uid for message in messages),
            extra=f"{connection.ops.quote_name('mailbox_id')} = %s", extra_params=[mailbox.pk],
        )
    }  # fmt: skip
    prepared = [
        message if isinstance(message, PreparedMessage) else message_prepare(message, adapters=adapters)
        for message in messages
        if message.uid not in cached and not mp.flags_deleted(message.flags)
    ]
    if not prepared:
        return 0
    matches = _matches_find(account=account, messages=prepared, orphans_possible=orphans_possible)
    fresh = [message for message in prepared if message.uid not in matches]
    plan = threads_assign(
        account=account,
        items=[ThreadInput(keys=message.thread_keys, received_at=message.received_at) for message in fresh],
    )
    threads_apply(account=account, plan=plan, modseq=modseq)
    if plan.merged:
        # Emails of other mailboxes changed thread: their thread counts move too.
        others = (
            MailboxMessage.objects.filter(account=account, thread_id__in=sorted(set(plan.merged.values())))
            .exclude(mailbox=mailbox)
            .values_list("mailbox_id", flat=True)
            .distinct()
        )
        mailbox_counts_refresh(mailboxes=Mailbox.objects.filter(pk__in=list(others)), modseq=modseq)
    if plan.renewed and matches:
        # A merge re-created emails this batch continues: continue the new rows.
        stale = {uid: plan.renewed[email.pk] for uid, email in matches.items() if email.pk in plan.renewed}
        current = Email.objects.in_bulk(sorted(set(stale.values())))
        matches.update({uid: current[pk] for uid, pk in stale.items()})

    now = as_datetime(timezone.now())
    account_pk = account.pk
    box_json = as_json({mailbox.jmap_id: True})
    rows: list[tuple[Any, ...]] = []
    # Flags repeat from message to message: their JSON and keywords once per set.
    flag_values: dict[tuple[str, ...], tuple[str, str, bool]] = {}

    def flags_values(flags: list[str]) -> tuple[str, str, bool]:
        key = tuple(flags)
        found = flag_values.get(key)
        if found is None:
            found = flag_values[key] = (as_json(flags), as_json(mp.flags_keywords(flags)), mp.flags_unread(flags))
        return found

    # uid -> (jmap id of a new Email | pk of a continued one, receivedAt as stored, thread id)
    located: dict[int, tuple[str | int, Any, str]] = {}
    new_ids = bulk_sql.jmap_ids_new(EMAIL_ID_PREFIX, len(fresh))
    blob_cut = len(EMAIL_ID_PREFIX)
    for message, thread_id, jmap_id in zip(fresh, plan.thread_ids, new_ids, strict=True):
        values = message.values
        rows.append((
            account_pk, jmap_id, modseq, modseq, False, now, thread_id,
            BLOB_ID_PREFIX + (message.email_id or jmap_id[blob_cut:]), box_json, flags_values(message.flags)[1],
            *values,
        ))  # fmt: skip
        located[message.uid] = (jmap_id, values[_RECEIVED_AT], thread_id)
    if rows:
        bulk_sql.rows_insert(Email, EMAIL_COLUMNS, rows)
        pks = bulk_sql.pks_by_jmap_id(Email, account_pk=account_pk, jmap_ids=[row[1] for row in rows])
        located = {uid: (pks[str(key)], received_at, thread) for uid, (key, received_at, thread) in located.items()}
    continued: dict[int, Email] = {}
    for message in prepared:
        email = matches.get(message.uid)
        if email is None:
            continue
        located[message.uid] = (email.pk, as_datetime(email.received_at), email.thread_id)
        email.keywords = mp.flags_keywords(message.flags)
        email.updated_modseq = modseq
        continued[email.pk] = email
    mailbox_pk = mailbox.pk
    locations = []
    for message in prepared:
        email_pk, received_at, thread_id = located[message.uid]
        flags_json, _keywords, unread = flags_values(message.flags)
        locations.append((account_pk, mailbox_pk, email_pk, message.uid, flags_json, message.modseq, received_at,
                          thread_id, unread))  # fmt: skip
    bulk_sql.rows_insert(MailboxMessage, LOCATION_COLUMNS, locations)
    if continued:
        Email.objects.bulk_update(list(continued.values()), ["keywords", "updated_modseq"])
        emails_mailbox_ids_refresh(account=account, email_pks=list(continued), modseq=modseq)
    return len(prepared)


def orphans_destroy(*, account: Account, modseq: int) -> int:
    """Destroy every live Email with no location left (tombstones, RFC 8620 §5.2);
    their threads are pruned. Returns how many were destroyed."""
    rows = list(
        Email.objects.filter(account=account, destroyed=False, locations__isnull=True).values_list("pk", "thread_id")
    )
    if not rows:
        return 0
    for chunk in _chunks([pk for pk, _ in rows]):
        Email.objects.filter(pk__in=chunk).update(destroyed=True, updated_modseq=modseq, mailbox_ids={})
    threads_prune(account=account, thread_ids=[thread_id for _, thread_id in rows], modseq=modseq)
    return len(rows)


def orphans_exist(*, account: Account) -> bool:
    return Email.objects.filter(account=account, destroyed=False, locations__isnull=True).exists()
