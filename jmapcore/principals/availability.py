"""urn:ietf:params:jmap:principals:availability and Principal/getAvailability
(draft-ietf-jmap-calendars-33 §1.5.2 and §2.1).

Offered on accounts with JMAP Calendars: the only Principal is the account's
own user, and its busy periods come from its calendars
(jmapcore.calendars.calendar_availability: the cached events, which CalDAV
sync keeps equal to the server, judged per calendar by subscription,
includeInAvailability and mayReadFreeBusy, recurrences expanded; without
showDetails, plus what the server's free-busy-query reports where it offers
one and every calendar counts in full).

Arguments: accountId, id (the Principal), utcStart and utcEnd (UTCDate,
start < end, at most maxAvailabilityDuration apart), showDetails (Boolean,
default false) and eventProperties (String[]|null: the event properties to
return with showDetails; null = all). The answer is {"list": BusyPeriod[]}
ordered by start, each BusyPeriod {utcStart, utcEnd, busyStatus, event}
where event is null unless showDetails. Errors: invalidArguments for bad
arguments, notFound for an id that names no principal of the account,
tooLarge for a window over maxAvailabilityDuration.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from accounts.models import Account
from jmapcore.calendars.calendar_availability import calendar_availability_read, calendar_availability_with_server
from jmapcore.calendars.capability import calendars_account_value
from jmapcore.context import CallContext
from jmapcore.datatypes.values import InvalidValue, utc_date, utc_date_dump
from jmapcore.principals.capability import principal_id_of
from jmapcore.protocol.arguments import read_bool, read_strings
from jmapcore.protocol.errors import MethodError
from jmapcore.registry import CAPABILITIES, capability, method

AVAILABILITY_CAPABILITY = "urn:ietf:params:jmap:principals:availability"
# The longest window one call may ask for (ISO 8601 duration and its length).
MAX_AVAILABILITY_DURATION = "P366D"
MAX_AVAILABILITY_SPAN = timedelta(days=366)
# An event property name is a JSCalendar property name; this bounds the list.
MAX_EVENT_PROPERTIES = 200


def availability_account_value(account: Account) -> dict[str, Any] | None:
    """{"maxAvailabilityDuration": …} for accounts with calendars; None otherwise."""
    if calendars_account_value(account) is None:
        return None
    return {"maxAvailabilityDuration": MAX_AVAILABILITY_DURATION}


if AVAILABILITY_CAPABILITY not in CAPABILITIES:
    capability(AVAILABILITY_CAPABILITY, session_value=dict, account_value=availability_account_value)


def _utc(args: dict[str, Any], name: str) -> Any:
    if name not in args:
        raise MethodError("invalidArguments", f"{name} is required")
    try:
        return utc_date()(args[name])
    except InvalidValue:
        raise MethodError("invalidArguments", f"{name} must be a UTCDate") from None


@method("Principal/getAvailability", capability=AVAILABILITY_CAPABILITY)
def principal_get_availability(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """draft-33 §2.1: the busy periods of the principal `id` (see the module docstring)."""
    account = ctx.account(args.get("accountId"))
    if availability_account_value(account) is None:
        raise MethodError("accountNotSupportedByMethod", "this account has no calendars")
    principal_id = args.get("id")
    if not isinstance(principal_id, str):
        raise MethodError("invalidArguments", "id must be a Principal Id")
    after = _utc(args, "utcStart")
    before = _utc(args, "utcEnd")
    if before <= after:
        raise MethodError("invalidArguments", "utcEnd must be after utcStart")
    show_details = read_bool(args, "showDetails", default=False)
    wanted = read_strings(args, "eventProperties")
    if wanted is not None and len(wanted) > MAX_EVENT_PROPERTIES:
        raise MethodError("invalidArguments", f"eventProperties: at most {MAX_EVENT_PROPERTIES} names")
    if principal_id != principal_id_of(account):
        raise MethodError("notFound", "no such principal in this account")
    if before - after > MAX_AVAILABILITY_SPAN:
        raise MethodError("tooLarge", f"the window is longer than maxAvailabilityDuration {MAX_AVAILABILITY_DURATION}")
    if show_details:
        # A free-busy answer names no events: the cache alone can give them.
        periods = calendar_availability_read(account=account, after=after, before=before)
    else:
        periods = calendar_availability_with_server(account=account, after=after, before=before)
    listed: list[dict[str, Any]] = []
    for period in periods:
        event: dict[str, Any] | None = None
        if show_details and period.event is not None:
            names = set(wanted) | {"id"} if wanted is not None else None
            event = {key: value for key, value in period.event.items() if names is None or key in names}
        listed.append({
            "utcStart": utc_date_dump(period.utc_start),
            "utcEnd": utc_date_dump(period.utc_end),
            "busyStatus": period.busy_status,
            "event": event,
        })  # fmt: skip
    return {"accountId": account.accountid, "list": listed}
