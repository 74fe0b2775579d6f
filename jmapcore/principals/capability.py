"""The urn:ietf:params:jmap:principals capability (RFC 9670 §1.5.1).

Offered where it fits: on accounts that offer JMAP Contacts or JMAP Calendars,
whose address books and calendars a client may want to relate to their owner
(and, for calendars, ask the owner's availability: the companion capability
urn:ietf:params:jmap:principals:availability, jmapcore.principals.availability).
The CardDAV and CalDAV servers served
here have no sharing, so the only Principal an account holds is its own user
(jmapcore.principals.principal_own); `currentUserPrincipalId` names it.
The companion ``urn:ietf:params:jmap:principals:owner`` (§1.5.2) is not
offered: it may only appear among an account's capabilities, never in the
session-level list, and this server's capability registry has one list for both.
"""
from __future__ import annotations

import hashlib
from typing import Any

from accounts.models import Account
from jmapcore.calendars.capability import calendars_account_value
from jmapcore.contacts.capability import contacts_account_value
from jmapcore.registry import CAPABILITIES, capability

PRINCIPALS_CAPABILITY = "urn:ietf:params:jmap:principals"


def principal_id_of(account: Account) -> str:
    """The Id of `account`'s own Principal: stable (derived from the account id,
    which never changes) and opaque (a hash, so it reveals nothing)."""
    digest = hashlib.sha256(f"principal:{account.accountid}".encode()).hexdigest()
    return "p" + digest[:20]


def principals_account_value(account: Account) -> dict[str, Any] | None:
    """{"currentUserPrincipalId": …} for accounts with contacts or calendars; None otherwise."""
    if contacts_account_value(account) is None and calendars_account_value(account) is None:
        return None
    return {"currentUserPrincipalId": principal_id_of(account)}


if PRINCIPALS_CAPABILITY not in CAPABILITIES:
    capability(PRINCIPALS_CAPABILITY, session_value=dict, account_value=principals_account_value)
