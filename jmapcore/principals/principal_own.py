"""The one Principal of an account: its own user (RFC 9670 §2).

It is derived from the Account row, not stored: name and email are the
account's, and `accounts` holds the account itself as the Session lists it
(RFC 8620 §2). Its state is a hash of that content, so a change of the
account's name or capabilities is a new state and /changes reports the
principal as updated.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from accounts.models import Account
from jmapcore.calendars.calendar_participant_identity import participant_identities_of
from jmapcore.calendars.capability import CALENDARS_CAPABILITY, calendars_account_value
from jmapcore.principals.capability import principal_id_of
from jmapcore.protocol.errors import MethodError
from jmapcore.protocol.query import Filter, FilterCondition
from jmapcore.session_object import account_capabilities

__all__ = [
    "PRINCIPAL_FILTERS",
    "PRINCIPAL_PROPERTIES",
    "principal_capabilities",
    "principal_matches",
    "principal_of",
    "principal_state",
]

PRINCIPAL_PROPERTIES = ("id", "type", "name", "description", "email", "timeZone", "capabilities", "accounts")
# RFC 9670 §2.4.1 FilterCondition properties.
PRINCIPAL_FILTERS = ("accountIds", "email", "name", "text", "type", "timeZone")


def principal_capabilities(account: Account) -> dict[str, Any]:
    """Per-principal data of the capabilities that define some: JMAP Calendars
    (draft-ietf-jmap-calendars-33 §1.5.3): the account holding the user's
    calendars, that its availability may be asked (Principal/getAvailability),
    that nobody can share with it (no DAV sharing) and its calendar address
    (the default ParticipantIdentity's). Contacts defines none (RFC 9610)."""
    if calendars_account_value(account) is None:
        return {}
    identities = participant_identities_of(account)
    return {
        CALENDARS_CAPABILITY: {
            "accountId": account.accountid,
            "mayGetAvailability": True,
            "mayShareWith": False,
            "calendarAddress": identities[0]["calendarAddress"] if identities else None,
        }
    }


def principal_of(account: Account) -> dict[str, Any]:
    """The Principal object of `account`'s user, every property."""
    return {
        "id": principal_id_of(account),
        "type": "individual",
        "name": account.name or account.email or account.accountid,
        "description": None,
        "email": account.email or None,
        "timeZone": None,
        "capabilities": principal_capabilities(account),
        "accounts": {
            account.accountid: {
                "name": account.name or account.email or account.accountid,
                "isPersonal": True,
                "isReadOnly": bool(account.is_read_only),
                "accountCapabilities": account_capabilities(account),
            }
        },
    }


def principal_state(account: Account) -> str:
    """The Principal type state: a hash of the principal's content."""
    canonical = json.dumps(principal_of(account), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _contains(haystack: str | None, needle: Any, name: str) -> bool:
    if not isinstance(needle, str):
        raise MethodError("invalidArguments", f"filter {name}: must be a String")
    return haystack is not None and needle.casefold() in haystack.casefold()


def _condition_matches(principal: dict[str, Any], condition: FilterCondition) -> bool:
    """Every property of the condition must match; each value is checked, even
    after a mismatch, so a bad value is always an error."""
    matched = True
    for name, wanted in condition.values.items():
        if name == "accountIds":
            if not isinstance(wanted, list) or not all(isinstance(item, str) for item in wanted):
                raise MethodError("invalidArguments", "filter accountIds: must be a list of Ids")
            matched &= bool(set(wanted) & set(principal["accounts"] or {}))
        elif name == "text":
            texts = [principal["name"], principal["email"], principal["description"]]
            matched &= any([_contains(text, wanted, name) for text in texts])
        elif name in ("email", "name"):
            matched &= _contains(principal[name], wanted, name)
        else:  # type, timeZone: exact values (§2.4.1)
            if not isinstance(wanted, str):
                raise MethodError("invalidArguments", f"filter {name}: must be a String")
            matched &= principal[name] == wanted
    return matched


def principal_matches(principal: dict[str, Any], parsed: Filter | None) -> bool:
    """Whether `principal` matches the parsed filter (RFC 8620 §5.5: AND, OR, NOT)."""
    if parsed is None:
        return True
    if isinstance(parsed, FilterCondition):
        return _condition_matches(principal, parsed)
    results = [principal_matches(principal, child) for child in parsed.conditions]
    if parsed.operator == "AND":
        return all(results)
    if parsed.operator == "OR":
        return any(results)
    return not any(results)
