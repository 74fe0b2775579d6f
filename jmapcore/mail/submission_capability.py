"""The urn:ietf:params:jmap:submission (RFC 8621 §1.3.2) and
urn:ietf:params:jmap:vacationresponse (RFC 8621 §1.3.3) capabilities.

Registered only when nobody registered them before: the EmailSubmission
module may own them too, whichever is imported first wins.
"""
from __future__ import annotations

from typing import Any

from accounts.models import Account
from jmapcore.registry import CAPABILITIES, capability

SUBMISSION_CAPABILITY = "urn:ietf:params:jmap:submission"
VACATION_CAPABILITY = "urn:ietf:params:jmap:vacationresponse"
# The longest hold a client may ask for with FUTURERELEASE (RFC 4865): 7 days.
MAX_DELAYED_SEND = 7 * 24 * 3600


def submission_account_value(account: Account) -> dict[str, Any] | None:
    """RFC 8621 §1.3.2: delayed send up to MAX_DELAYED_SEND seconds, through the
    FUTURERELEASE extension (RFC 4865 HOLDFOR/HOLDUNTIL on mailFrom), which
    the proxy implements itself by holding the message (jmapcore.mail.
    submission_send), whatever the SMTP server offers. Offered for IMAP/SMTP
    accounts."""
    if account.kind != Account.Kind.IMAP:
        return None
    return {"maxDelayedSend": MAX_DELAYED_SEND, "submissionExtensions": {"FUTURERELEASE": []}}


def vacation_account_value(account: Account) -> dict[str, Any] | None:
    """RFC 8621 §1.3.3: an empty object. Offered for IMAP/SMTP accounts."""
    if account.kind != Account.Kind.IMAP:
        return None
    return {}


if SUBMISSION_CAPABILITY not in CAPABILITIES:
    capability(SUBMISSION_CAPABILITY, session_value=dict, account_value=submission_account_value)
if VACATION_CAPABILITY not in CAPABILITIES:
    capability(VACATION_CAPABILITY, session_value=dict, account_value=vacation_account_value)
