"""The urn:ietf:params:jmap:mail capability (RFC 8621 §1.3.1)."""
from __future__ import annotations

from typing import Any

from accounts.models import Account
from jmapcore.registry import CAPABILITIES, capability

MAIL_CAPABILITY = "urn:ietf:params:jmap:mail"
# RFC 8621 §2: a mailbox name is at most this many octets here (IMAP has no
# fixed limit; this keeps a full path within what servers accept).
MAX_MAILBOX_NAME = 255
MAX_ATTACHMENTS_SIZE = 50 * 1024 * 1024
EMAIL_SORT_OPTIONS = [
    "receivedAt",
    "sentAt",
    "size",
    "from",
    "to",
    "subject",
    "hasKeyword",
    "allInThreadHaveKeyword",
    "someInThreadHaveKeyword",
]


def mail_account_value(account: Account) -> dict[str, Any] | None:
    """Offered for IMAP accounts; None for kinds that do not carry mail here."""
    if account.kind != Account.Kind.IMAP:
        return None
    return {
        "maxMailboxesPerEmail": None,
        "maxMailboxDepth": None,
        "maxSizeMailboxName": MAX_MAILBOX_NAME,
        "maxSizeAttachmentsPerEmail": MAX_ATTACHMENTS_SIZE,
        "emailQuerySortOptions": EMAIL_SORT_OPTIONS,
        "mayCreateTopLevelMailbox": not account.is_read_only,
    }


if MAIL_CAPABILITY not in CAPABILITIES:
    capability(MAIL_CAPABILITY, session_value=dict, account_value=mail_account_value)
