"""The urn:ietf:params:jmap:contacts capability (RFC 9610 §1.4.1)."""
from __future__ import annotations

from typing import Any

from accounts.models import Account
from jmapcore.registry import CAPABILITIES, capability

CONTACTS_CAPABILITY = "urn:ietf:params:jmap:contacts"


def contacts_carddav_url(account: Account) -> str:
    """The CardDAV URL of `account`: the configured one, else the one discovery found.

    backends.carddav keeps a discovered URL (RFC 6764 /.well-known/carddav on the
    account's server) in ``sync_progress["carddav"]["url"]``; '' when there is none.
    """
    if account.carddav_url:
        return account.carddav_url
    found = (account.sync_progress or {}).get("carddav")
    url = found.get("url") if isinstance(found, dict) else None
    return url if isinstance(url, str) else ""


def contacts_account_value(account: Account) -> dict[str, Any] | None:
    """Offered for IMAP accounts with a CardDAV server; None otherwise.

    A vCard is one resource in one CardDAV collection, so a card is in exactly
    one address book (maxAddressBooksPerCard 1).
    """
    if account.kind != Account.Kind.IMAP or not contacts_carddav_url(account):
        return None
    return {"maxAddressBooksPerCard": 1, "mayCreateAddressBook": not account.is_read_only}


if CONTACTS_CAPABILITY not in CAPABILITIES:
    capability(CONTACTS_CAPABILITY, session_value=dict, account_value=contacts_account_value)
