"""Raw messages on demand (RFC 3501 §6.4.5 BODY.PEEK[]; DESIGN.md "The cache and state").

- `email_raw_fetch` returns the whole RFC 5322 message of an Email, from the
  first of its locations that still answers. Raw messages are immutable, so
  they are kept on disk under $JMAP_DATADIR/messages/<account pk>/<blob id>
  (written atomically; a corrupt or missing file is simply fetched again).
- `email_headers_fetch` returns the header section only (BODY.PEEK[HEADER]);
  it is served from the on-disk raw message when that is there.

Both raise BackendError(permanent=True) when the message is gone from the
server (every location expunged or its folder's UIDVALIDITY changed), and
transient BackendErrors for connection failures. BODY.PEEK never sets \\Seen.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from django.conf import settings
from imapclient import IMAPClient

from accounts.models import Account
from backends.base import BackendError
from backends.imap.connection import KIND
from backends.imap.pool import imap_session
from backends.imap.sync_commands import Capabilities, folder_examine, uid_fetch
from jmapcore.models.mail import Email, MailboxMessage

# Larger messages are not kept on disk (they are rare, and the cache is a convenience).
DISK_CACHE_MAX_OCTETS = 25 * 1024 * 1024
_SAFE_BLOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def message_cache_path(*, account: Account, blob_id: str) -> Path | None:
    """Where the raw message `blob_id` of `account` is kept; None for an unsafe id."""
    if not _SAFE_BLOB_ID.match(blob_id):
        return None
    return Path(settings.DATADIR) / "messages" / str(account.pk) / blob_id


def _cache_read(account: Account, blob_id: str) -> bytes | None:
    path = message_cache_path(account=account, blob_id=blob_id)
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def _cache_write(account: Account, blob_id: str, raw: bytes) -> None:
    path = message_cache_path(account=account, blob_id=blob_id)
    if path is None or len(raw) > DISK_CACHE_MAX_OCTETS:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(handle, "wb") as output:
            output.write(raw)
        os.replace(temporary, path)
    except OSError:
        pass  # a cache that cannot be written only costs a refetch next time


def _section_fetch(*, account: Account, email: Email, section: str) -> bytes:
    locations = list(
        MailboxMessage.objects.filter(email=email, mailbox__destroyed=False)
        .select_related("mailbox")
        .order_by("mailbox__sort_order", "pk")
    )
    if not locations:
        raise BackendError(f"message {email.jmap_id} is no longer on the server", permanent=True, kind=KIND)
    with imap_session(account=account) as client:
        for location in locations:
            raw = _location_fetch(client=client, location=location, section=section)
            if raw is not None:
                return raw
    raise BackendError(f"message {email.jmap_id} is no longer on the server", permanent=True, kind=KIND)


def _location_fetch(*, client: IMAPClient, location: MailboxMessage, section: str) -> bytes | None:
    caps = Capabilities.of(client)
    mailbox = location.mailbox
    try:
        selected = folder_examine(client=client, caps=caps, name=mailbox.imap_name)
    except BackendError:
        return None  # the folder is gone or unreadable: try the next location
    if selected.uidvalidity and mailbox.uidvalidity and selected.uidvalidity != mailbox.uidvalidity:
        return None
    answer = uid_fetch(client=client, uids=str(location.uid), items=[f"BODY.PEEK[{section}]"])
    data = answer.get(location.uid)
    if not data:
        return None
    for key, value in data.items():
        if key.startswith(b"BODY[") and isinstance(value, bytes):
            return value
    return None


def email_raw_fetch(*, account: Account, email: Email) -> bytes:
    """The whole message of `email` (RFC 5322 octets); see the module docstring."""
    cached = _cache_read(account, email.blob_id)
    if cached is not None:
        return cached
    raw = _section_fetch(account=account, email=email, section="")
    _cache_write(account, email.blob_id, raw)
    return raw


def email_headers_fetch(*, account: Account, email: Email) -> bytes:
    """The header section of `email`, up to and including the empty line."""
    cached = _cache_read(account, email.blob_id)
    if cached is not None:
        end = cached.find(b"\r\n\r\n")
        if end >= 0:
            return cached[: end + 4]
        end = cached.find(b"\n\n")
        return cached[: end + 2] if end >= 0 else cached
    return _section_fetch(account=account, email=email, section="HEADER")
