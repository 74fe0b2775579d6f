"""The mail cache (RFC 8621 objects as cached from IMAP; DESIGN.md "The cache and state").

- `Mailbox`: one IMAP folder. JMAP properties plus what sync needs to resume
  (UIDVALIDITY, HIGHESTMODSEQ, the highest UID fetched). The four counts are
  kept up to date by sync and writes; `props_modseq` is the modseq of the last
  change to anything *but* the counts, so Mailbox/changes can answer
  `updatedProperties` (RFC 8621 §2.2) when only counts moved.
- `Email`: one JMAP Email. Several IMAP messages (copies of one message in
  several folders, matched by OBJECTID EMAILID where the server offers it) can
  be one Email; each copy is a `MailboxMessage`.
- `MailboxMessage`: one (folder, UID) on the server, the location an Email is
  reached through. It repeats the email's receivedAt and thread so that the
  commonest list view (one mailbox, newest first, collapsed threads) is one
  index range scan.
- `Thread`: a row per thread id, for Thread/get and Thread/changes; its emails
  are the live Email rows with that `thread_id`.
- `ThreadRef`: the threading index (backends.imap.threading): one row per key
  (a hashed Message-ID that an email has or refers to in In-Reply-To or
  References) naming the thread it leads to, so that a new message finds its
  thread with one indexed lookup, whichever of parent and reply arrives first.
  Threads are joined by Message-IDs only, never by subject (RFC 8621 §3).

Only list-view metadata is cached; bodies and raw messages are fetched from
IMAP on demand (jmapcore.blobs / backends.imap).
"""
from __future__ import annotations

from typing import ClassVar

from django.db import models

from jmapcore.datatypes.orm import JmapObject

__all__ = ["Email", "Mailbox", "MailboxMessage", "Thread", "ThreadRef"]


class Mailbox(JmapObject):
    """An IMAP folder as a JMAP Mailbox (RFC 8621 §2)."""

    jmap_type: ClassVar[str] = "Mailbox"

    name = models.CharField(max_length=255, help_text="the last hierarchy level, decoded")
    parent_id = models.CharField(max_length=255, blank=True, default="", help_text="jmap id of the parent; '' = top")
    role = models.CharField(max_length=32, blank=True, default="", help_text="RFC 8621 role; '' = none")
    sort_order = models.PositiveIntegerField(default=0)
    is_subscribed = models.BooleanField(default=True)

    # -- the IMAP side -------------------------------------------------------
    imap_name = models.TextField(help_text="full folder name on the server, decoded from modified UTF-7")
    imap_delimiter = models.CharField(max_length=4, blank=True, default="/")
    imap_attributes = models.JSONField(default=list, blank=True, help_text="LIST attributes, e.g. \\Noselect")
    imap_object_id = models.CharField(max_length=255, blank=True, default="", help_text="RFC 8474 MAILBOXID")
    uidvalidity = models.BigIntegerField(default=0)
    uidnext = models.BigIntegerField(default=0)
    highestmodseq = models.BigIntegerField(default=0, help_text="the server's HIGHESTMODSEQ at the last sync")
    synced_uid = models.BigIntegerField(default=0, help_text="every UID up to this one is in the cache")
    is_selectable = models.BooleanField(default=True)

    # -- counts (RFC 8621 §2) and the modseq of the last non-count change -----
    total_emails = models.PositiveIntegerField(default=0)
    unread_emails = models.PositiveIntegerField(default=0)
    total_threads = models.PositiveIntegerField(default=0)
    unread_threads = models.PositiveIntegerField(default=0)
    props_modseq = models.BigIntegerField(default=0)

    class Meta(JmapObject.Meta):
        indexes = [
            *JmapObject.Meta.indexes,
            models.Index(fields=["account", "imap_name"], name="mailbox_account_imap_name_idx"),
        ]

    def __str__(self) -> str:
        return self.imap_name


class Thread(JmapObject):
    """A conversation (RFC 8621 §3). Its emails are Email rows with this thread_id."""

    jmap_type: ClassVar[str] = "Thread"

    def __str__(self) -> str:
        return self.jmap_id


class Email(JmapObject):
    """One email's list-view metadata (RFC 8621 §4.1). Values are stored in their
    JMAP JSON form: addresses as EmailAddress lists (or null), dates as
    datetimes, keywords as {keyword: true}."""

    jmap_type: ClassVar[str] = "Email"

    # Every Email query filters by account: the (account, ...) indexes below
    # serve them, a single-column account index would only cost inserts.
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+", db_index=False)
    thread_id = models.CharField(max_length=255)
    blob_id = models.CharField(max_length=255, help_text="blob id of the raw message")
    imap_object_id = models.CharField(max_length=255, blank=True, default="", help_text="RFC 8474 EMAILID")
    imap_thread_id = models.CharField(max_length=255, blank=True, default="", help_text="RFC 8474 THREADID")
    mailbox_ids = models.JSONField(default=dict, blank=True, help_text="{mailbox jmap id: true}")
    keywords = models.JSONField(default=dict, blank=True, help_text="{keyword: true}, lowercase")

    size = models.BigIntegerField(default=0)
    received_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    # The Date header's own UTC offset in minutes: sentAt keeps it (RFC 8621 §4.1.2.4 Date).
    sent_at_offset = models.SmallIntegerField(null=True, blank=True)
    subject = models.TextField(blank=True, default="")
    # Sorting by subject (RFC 8621 §4.4.2) compares this; threading no longer
    # uses it (the help text is older; changing it would take a migration).
    base_subject = models.TextField(blank=True, default="", help_text="subject without Re:/Fwd:, for threading")
    preview = models.CharField(max_length=256, blank=True, default="")
    has_attachment = models.BooleanField(default=False)

    message_id = models.JSONField(null=True, blank=True)
    message_id_first = models.CharField(max_length=255, blank=True, default="", db_index=True)
    in_reply_to = models.JSONField(null=True, blank=True)
    references = models.JSONField(null=True, blank=True)
    sender = models.JSONField(null=True, blank=True)
    from_addr = models.JSONField(null=True, blank=True, help_text="the From addresses")
    to = models.JSONField(null=True, blank=True)
    cc = models.JSONField(null=True, blank=True)
    bcc = models.JSONField(null=True, blank=True)
    reply_to = models.JSONField(null=True, blank=True)
    # Lower-cased "name <email>" text of from/to/cc/bcc, for the address filters.
    from_text = models.TextField(blank=True, default="")
    to_text = models.TextField(blank=True, default="")
    cc_text = models.TextField(blank=True, default="")
    bcc_text = models.TextField(blank=True, default="")

    class Meta(JmapObject.Meta):
        indexes = [
            *JmapObject.Meta.indexes,
            models.Index(fields=["account", "received_at"], name="email_account_received_idx"),
            models.Index(fields=["account", "imap_object_id"], name="email_account_objectid_idx"),
            # Thread emailIds (jmapcore/mail/methods/thread.py), collapseThreads, thread keyword filters.
            models.Index(fields=["account", "thread_id"], name="email_account_thread_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.jmap_id} {self.subject[:40]}"


class MailboxMessage(models.Model):
    """One message on the server: a UID in a folder, and the Email it shows as."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    # No index of its own: the (mailbox, uid) constraint and (mailbox, ...) indexes lead with it.
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="messages", db_index=False)
    email = models.ForeignKey(Email, on_delete=models.CASCADE, related_name="locations")
    uid = models.BigIntegerField()
    flags = models.JSONField(default=list, blank=True, help_text="IMAP flags as the server reported them")
    server_modseq = models.BigIntegerField(default=0, help_text="the message's MODSEQ (RFC 7162)")
    # Copies of the email's values, for index-only list queries.
    received_at = models.DateTimeField()
    thread_id = models.CharField(max_length=255)
    is_unread = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "uid"], name="mailboxmessage_mailbox_uid_unique"),
        ]
        indexes = [
            models.Index(fields=["mailbox", "received_at"], name="mailboxmessage_received_idx"),
            models.Index(fields=["mailbox", "thread_id"], name="mailboxmessage_thread_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.mailbox_id}:{self.uid}"


class ThreadRef(models.Model):
    """A threading key of an account and the thread it leads to.

    `key` is "m:" + hash of a Message-ID, registered both by the email that has
    it and by every email that refers to it in In-Reply-To/References (see
    backends.imap.threading). Only these keys join threads: emails that merely
    share a subject stay apart. Rows with the "s:"/"r:" subject keys of
    earlier versions may remain in old databases; nothing looks them up.
    `seen_at` is the newest receivedAt of an email that registered the key.
    Rows may point at a destroyed thread; readers ignore those.
    """

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64)
    thread_id = models.CharField(max_length=255)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "key"], name="threadref_account_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key} -> {self.thread_id}"
