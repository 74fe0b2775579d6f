"""Raw messages and their parts as blobs (RFC 8621 §4.1.4 blobId, RFC 8620 §6).

An email's blobId is its raw message (the cache's Email.blob_id, prefix "M").
A body part's blobId is "P" + the message blob id + "_" + the part id with
dots spelled "-" ("1.2" -> "1-2"), so it can be resolved without any table.
Both are served only when the email belongs to the asking account.
"""
from __future__ import annotations

import io
from collections.abc import Callable

from accounts.models import Account
from backends.base import BackendError
from backends.imap.fetch import email_raw_fetch
from jmapcore.blobs import BlobNotFound, OpenedBlob, register_blob_source
from jmapcore.mime.parse import ParsedMessage, message_parse
from jmapcore.models.mail import Email

MESSAGE_PREFIX = "M"
PART_PREFIX = "P"


def part_blob_id(message_blob_id: str, part_id: str) -> str:
    return f"{PART_PREFIX}{message_blob_id}_{part_id.replace('.', '-')}"


def part_blob_split(blob_id: str) -> tuple[str, str] | None:
    """("M…", "1.2") for a part blob id, None when it is not one."""
    if not blob_id.startswith(PART_PREFIX) or "_" not in blob_id:
        return None
    message_blob, _, part = blob_id[len(PART_PREFIX) :].rpartition("_")
    if not message_blob or not part:
        return None
    return message_blob, part.replace("-", ".")


def email_raw(*, account: Account, email: Email) -> bytes:
    """The raw message of `email` (BackendError when the server cannot give it)."""
    return email_raw_fetch(account=account, email=email)


def email_message(*, account: Account, email: Email) -> tuple[ParsedMessage, Callable[[str], str]]:
    """The parsed message of `email` and the function naming its parts' blob ids."""
    raw = email_raw(account=account, email=email)
    return message_parse(raw), lambda part_id: part_blob_id(email.blob_id, part_id)


def message_bytes(*, account: Account, blob_id: str) -> bytes:
    """A message by blob id: an email's raw message, or an uploaded blob
    (Email/parse, RFC 8621 §4.9). BlobNotFound when neither."""
    if blob_id.startswith(MESSAGE_PREFIX):
        return _raw(account, _email_by_blob(account, blob_id))
    from jmapcore.blobs import blob_open

    opened = blob_open(account=account, blob_id=blob_id)
    with opened.file as handle:
        return handle.read()


def _email_by_blob(account: Account, message_blob_id: str) -> Email:
    email = Email.objects.filter(account=account, blob_id=message_blob_id, destroyed=False).first()
    if email is None:
        raise BlobNotFound(message_blob_id)
    return email


def _raw(account: Account, email: Email) -> bytes:
    try:
        return email_raw_fetch(account=account, email=email)
    except BackendError as error:
        raise BlobNotFound(f"{email.blob_id}: {error}") from None


def message_blob_open(account: Account, blob_id: str) -> OpenedBlob:
    raw = _raw(account, _email_by_blob(account, blob_id))
    return OpenedBlob(file=io.BytesIO(raw), size=len(raw), type="message/rfc822")


def message_blob_exists(account: Account, blob_id: str) -> bool:
    return Email.objects.filter(account=account, blob_id=blob_id, destroyed=False).exists()


def part_blob_open(account: Account, blob_id: str) -> OpenedBlob:
    split = part_blob_split(blob_id)
    if split is None:
        raise BlobNotFound(blob_id)
    message_blob, part_id = split
    message = message_parse(message_bytes(account=account, blob_id=message_blob))
    content = message.part_content(part_id)
    if content is None:
        raise BlobNotFound(blob_id)
    data, media_type = content
    return OpenedBlob(file=io.BytesIO(data), size=len(data), type=media_type)


def part_blob_exists(account: Account, blob_id: str) -> bool:
    split = part_blob_split(blob_id)
    if split is None:
        return False
    if split[0].startswith(MESSAGE_PREFIX):
        return message_blob_exists(account, split[0])
    from jmapcore.blobs import blob_exists

    return blob_exists(account=account, blob_id=split[0])


register_blob_source(MESSAGE_PREFIX, message_blob_open, exists=message_blob_exists)
register_blob_source(PART_PREFIX, part_blob_open, exists=part_blob_exists)
