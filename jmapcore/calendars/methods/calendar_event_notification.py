"""CalendarEventNotification/get, /changes, /set, /query and /queryChanges
(draft-ietf-jmap-calendars-33 §7).

A CalendarEventNotification records a change to an event that this user did
not make through JMAP: CalDAV sync (backends.caldav) creates one, in the same
transaction as the event row, whenever it finds an event created, changed or
removed on the server by someone else (another CalDAV client, or another
user sharing the calendar). They are the server's records, so /set only
destroys ("the user has seen it"); creates and updates are refused with
forbidden (§7.3). /query offers the filters of §7.4.1 (after, before, type,
calendarEventIds) and sorting by created (§7.4.2), in SQL over the cache.

Properties: created (UTCDate), changedBy (Person: name, email, principalId,
calendarAddress), comment, type ("created", "updated", "destroyed"),
calendarEventId, isDraft, event (the event after a create, before an
update or a destroy) and eventPatch (the PatchObject of an update, from
`event` to the new one, else null). Empty stored values are served as null.
"""
from __future__ import annotations

from typing import Any

from django.db.models import Q

from accounts.models import Account
from jmapcore.calendars.capability import CALENDARS_CAPABILITY, calendars_account_value
from jmapcore.context import CallContext
from jmapcore.datatypes.base import DataType, Property
from jmapcore.datatypes.sql import filter_compare, sort_field
from jmapcore.datatypes.standard import (
    register_standard_methods,
    set_arguments_read,
    standard_changes,
    standard_get,
    standard_query,
    standard_query_changes,
    standard_set,
)
from jmapcore.datatypes.values import InvalidValue, utc_date, utc_date_dump
from jmapcore.models.calendars import CalendarEventNotification
from jmapcore.protocol.arguments import is_id
from jmapcore.protocol.errors import MethodError, SetError
from jmapcore.registry import method

NOTIFICATION_TYPES = ("created", "updated", "destroyed")
# A calendarEventIds filter names at most this many events (one request's worth).
MAX_FILTER_IDS = 5000


def _type_filter(value: Any) -> Q:
    if value not in NOTIFICATION_TYPES:
        raise InvalidValue("must be one of " + ", ".join(f'"{item}"' for item in NOTIFICATION_TYPES))
    return Q(change_type=value)


def _event_ids_filter(value: Any) -> Q:
    if not isinstance(value, list) or not all(is_id(item) for item in value):
        raise InvalidValue("must be a list of Ids")
    if len(value) > MAX_FILTER_IDS:
        raise InvalidValue(f"at most {MAX_FILTER_IDS} ids")
    return Q(calendar_event_id__in=value)


def _or_null(value: Any) -> Any:
    return value or None


class CalendarEventNotificationType(DataType):
    name = "CalendarEventNotification"
    capability = CALENDARS_CAPABILITY
    model = CalendarEventNotification
    id_prefix = "n"
    properties = (
        Property("id", server_set=True),
        Property("created", dump=utc_date_dump, server_set=True),
        Property("changedBy", field="changed_by", dump=_or_null, server_set=True),
        Property("comment", dump=_or_null, server_set=True),
        Property("type", field="change_type", server_set=True),
        Property("calendarEventId", field="calendar_event_id", server_set=True),
        Property("isDraft", field="is_draft", server_set=True),
        Property("event", dump=_or_null, server_set=True),
        Property("eventPatch", field="event_patch", dump=_or_null, server_set=True),
    )
    # §7.4.1: after is inclusive, before exclusive (UTCDate against created).
    filters = {
        "after": filter_compare("created", "gte", utc_date()),
        "before": filter_compare("created", "lt", utc_date()),
        "type": _type_filter,
        "calendarEventIds": _event_ids_filter,
    }
    sorts = {"created": sort_field("created")}
    # A notification never changes once made: every filter and sort is on immutable data.
    query_immutable = frozenset({"after", "before", "type", "calendarEventIds", "created"})


NOTIFICATION_TYPE = CalendarEventNotificationType()
register_standard_methods(NOTIFICATION_TYPE, methods=())


def _account(ctx: CallContext, args: dict[str, Any]) -> Account:
    account = ctx.account(args.get("accountId"))
    if calendars_account_value(account) is None:
        raise MethodError("accountNotSupportedByMethod", "this account has no CalDAV server")
    return account


@method("CalendarEventNotification/get", capability=CALENDARS_CAPABILITY)
def notification_get(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """draft-33 §7.1: standard /get."""
    _account(ctx, args)
    return standard_get(NOTIFICATION_TYPE, ctx, args)


@method("CalendarEventNotification/changes", capability=CALENDARS_CAPABILITY)
def notification_changes(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """draft-33 §7.2: standard /changes."""
    _account(ctx, args)
    return standard_changes(NOTIFICATION_TYPE, ctx, args)


@method("CalendarEventNotification/set", capability=CALENDARS_CAPABILITY)
def notification_set(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """draft-33 §7.3: only destroy; each create and update is refused with forbidden."""
    _account(ctx, args)
    create, update, _destroy = set_arguments_read(args)
    response = standard_set(NOTIFICATION_TYPE, ctx, {**args, "create": None, "update": None})
    refused = SetError("forbidden", "notifications are made by the server; they can only be destroyed").to_json()
    response["notCreated"] = {key: refused for key in create} or None
    response["notUpdated"] = {key: refused for key in update} or None
    return response


@method("CalendarEventNotification/query", capability=CALENDARS_CAPABILITY)
def notification_query(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """draft-33 §7.4: standard /query with the §7.4.1 filters and the created sort."""
    _account(ctx, args)
    return standard_query(NOTIFICATION_TYPE, ctx, args)


@method("CalendarEventNotification/queryChanges", capability=CALENDARS_CAPABILITY)
def notification_query_changes(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """draft-33 §7.5: standard /queryChanges."""
    _account(ctx, args)
    return standard_query_changes(NOTIFICATION_TYPE, ctx, args)
