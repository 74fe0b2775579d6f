"""The ParticipantIdentities of an account (draft-ietf-jmap-calendars-33 §3):
the calendar addresses by which its user takes part in events.

They are derived, not stored. CalDAV servers without scheduling (Radicale,
Xandikos) state no calendar-user-address-set (RFC 6638 §2.4.1), so the
user's addresses are the account's own: its email (the default identity,
named with the account's name) and the concrete addresses of its mail
Identities (RFC 8621 §6; a "*@domain" identity names no one address and is
left out). Each is a mailto: URI (RFC 6068). Ids are a hash of the address,
so an identity keeps its id for as long as the address exists; the state is
a hash of the whole list, so any change is a new state.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from accounts.models import Account
from jmapcore.models.identity import Identity

__all__ = ["participant_identities_of", "participant_identity_state"]


def _identity_id(address: str) -> str:
    digest = hashlib.sha256(f"participant:{address.casefold()}".encode()).hexdigest()
    return "i" + digest[:20]


def participant_identities_of(account: Account) -> list[dict[str, Any]]:
    """Every ParticipantIdentity of `account`, the default first."""
    found: dict[str, dict[str, Any]] = {}

    def add(address: str, name: str, *, default: bool) -> None:
        key = address.strip().casefold()
        if not key or "@" not in key or key.startswith("*@") or key in found:
            return
        found[key] = {
            "id": _identity_id(key),
            "name": name,
            "calendarAddress": "mailto:" + address.strip(),
            "isDefault": default,
        }

    if account.email:
        add(account.email, account.name or "", default=True)
    rows = Identity.objects.filter(account=account, destroyed=False).order_by("-is_default", "pk")
    for identity in rows.only("email", "name", "is_default"):
        add(identity.email, identity.name or "", default=not found)
    return list(found.values())


def participant_identity_state(account: Account) -> str:
    """The ParticipantIdentity type state: a hash of the identities."""
    canonical = json.dumps(participant_identities_of(account), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
