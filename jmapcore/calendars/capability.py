"""The urn:ietf:params:jmap:calendars capability (draft-ietf-jmap-calendars §1.5.1)."""
from __future__ import annotations

from typing import Any

from accounts.models import Account
from jmapcore.registry import CAPABILITIES, capability

CALENDARS_CAPABILITY = "urn:ietf:params:jmap:calendars"
# The longest window CalendarEvent/query expands recurrences over (ISO 8601 duration).
MAX_EXPANDED_QUERY_DURATION = "P400D"
MIN_DATE_TIME = "1900-01-01T00:00:00Z"
MAX_DATE_TIME = "2200-12-31T23:59:59Z"
MAX_PARTICIPANTS_PER_EVENT = 1000


def calendars_caldav_url(account: Account) -> str:
    """The CalDAV URL of `account`: the configured one, else the one discovery found.

    backends.caldav keeps a discovered URL (RFC 6764 /.well-known/caldav on the
    account's server) in ``sync_progress["caldav"]["url"]``; '' when there is none.
    """
    if account.caldav_url:
        return account.caldav_url
    found = (account.sync_progress or {}).get("caldav")
    url = found.get("url") if isinstance(found, dict) else None
    return url if isinstance(url, str) else ""


def calendars_account_value(account: Account) -> dict[str, Any] | None:
    """Offered for IMAP accounts with a CalDAV server; None otherwise.

    A calendar object resource lives in one CalDAV collection, so an event is
    in exactly one calendar (maxCalendarsPerEvent 1).
    """
    if account.kind != Account.Kind.IMAP or not calendars_caldav_url(account):
        return None
    return {
        "maxCalendarsPerEvent": 1,
        "minDateTime": MIN_DATE_TIME,
        "maxDateTime": MAX_DATE_TIME,
        "maxExpandedQueryDuration": MAX_EXPANDED_QUERY_DURATION,
        "maxParticipantsPerEvent": MAX_PARTICIPANTS_PER_EVENT,
        "mayCreateCalendar": not account.is_read_only,
    }


if CALENDARS_CAPABILITY not in CAPABILITIES:
    capability(CALENDARS_CAPABILITY, session_value=dict, account_value=calendars_account_value)
