"""Blob/lookup (RFC 9404 §4.3) for mail: which Emails, Mailboxes and Threads
use a raw-message blob ("M…") or a body-part blob ("P…", resolved to its
message). Uploaded blobs are not tracked once APPENDed: the stored message is
a new blob of its own."""
from __future__ import annotations

from accounts.models import Account
from jmapcore.mail.capability import MAIL_CAPABILITY
from jmapcore.mail.message_source import MESSAGE_PREFIX, part_blob_split
from jmapcore.models.mail import Email
from jmapcore.registry import blob_references


def _message_blob(blob_id: str) -> str | None:
    if blob_id.startswith(MESSAGE_PREFIX):
        return blob_id
    split = part_blob_split(blob_id)
    return split[0] if split is not None and split[0].startswith(MESSAGE_PREFIX) else None


def _emails_by_blob(account: Account, blob_ids: list[str]) -> dict[str, list[Email]]:
    wanted = {blob_id: _message_blob(blob_id) for blob_id in blob_ids}
    messages = {value for value in wanted.values() if value}
    rows: dict[str, list[Email]] = {}
    for email in Email.objects.filter(account=account, destroyed=False, blob_id__in=messages).only(
        "jmap_id", "blob_id", "thread_id", "mailbox_ids"
    ):
        rows.setdefault(email.blob_id, []).append(email)
    return {blob_id: rows.get(message or "", []) for blob_id, message in wanted.items()}


@blob_references("Email", capability=MAIL_CAPABILITY)
def email_blob_references(account: Account, blob_ids: list[str]) -> dict[str, list[str]]:
    found = _emails_by_blob(account, blob_ids)
    return {blob_id: [email.jmap_id for email in emails] for blob_id, emails in found.items()}


@blob_references("Thread", capability=MAIL_CAPABILITY)
def thread_blob_references(account: Account, blob_ids: list[str]) -> dict[str, list[str]]:
    return {
        blob_id: sorted({email.thread_id for email in emails})
        for blob_id, emails in _emails_by_blob(account, blob_ids).items()
    }


@blob_references("Mailbox", capability=MAIL_CAPABILITY)
def mailbox_blob_references(account: Account, blob_ids: list[str]) -> dict[str, list[str]]:
    return {
        blob_id: sorted({mailbox_id for email in emails for mailbox_id in email.mailbox_ids})
        for blob_id, emails in _emails_by_blob(account, blob_ids).items()
    }
