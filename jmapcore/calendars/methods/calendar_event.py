"""CalendarEvent/get, /changes, /query, /queryChanges, /set, /copy and /parse
(draft-ietf-jmap-calendars-33 §5.8-§5.13).

A CalendarEvent is a JSCalendar Event (RFC 8984) read from one calendar
object resource on the CalDAV server, plus the JMAP properties
(calendar_event_read). /changes and /queryChanges are the standard methods
over the cache; /query runs in SQL, and with expandRecurrences expands each
matching event over the window in Python (jscalendar.recurrence), giving each
occurrence of a recurring event its own id, which /get and /set accept.
/set and /copy go through calendar_event_write, which writes to the CalDAV
server first.

Resources whose main component is not a VEVENT (a VTODO in the same
collection) are cached to keep them, but never served as events.

Every handler first checks that the account offers urn:ietf:params:jmap:calendars
(an IMAP account with a CalDAV server): another account answers
accountNotSupportedByMethod (RFC 8620 §3.6.2).
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.db.models import QuerySet

from accounts.models import Account
from backends.base import BackendError
from jmapcore import blobs
from jmapcore.calendars import calendar_event_write as writes
from jmapcore.calendars.calendar_event_query import (
    CALENDAR_EVENT_FILTERS,
    CALENDAR_EVENT_IMMUTABLE_QUERY,
    CALENDAR_EVENT_SORTS,
    MAX_EXPANDED_RESULTS,
    expansion_window,
)
from jmapcore.calendars.calendar_event_read import (
    JMAP_EVENT_PROPERTIES,
    GetOptions,
    event_json,
    event_properties_read,
    occurrence_find,
    occurrence_id_make,
    occurrence_id_parse,
    time_zone_argument,
)
from jmapcore.calendars.calendar_event_set import (
    EventUpdate,
    event_create_prepare,
    event_update_prepare,
    occurrence_exclusion,
    occurrence_update_prepare,
)
from jmapcore.calendars.capability import CALENDARS_CAPABILITY, calendars_account_value
from jmapcore.calendars.jscalendar import event_parse_blob
from jmapcore.calendars.jscalendar.recurrence import expansion
from jmapcore.context import CallContext
from jmapcore.datatypes.base import DataType, MethodCall, Property
from jmapcore.datatypes.sql import filter_to_q
from jmapcore.datatypes.standard import (
    DATATYPES,
    objects_by_ids,
    reference_resolve,
    set_arguments_read,
    standard_changes,
    standard_query,
    standard_query_changes,
)
from jmapcore.datatypes.values import InvalidValue, utc_date
from jmapcore.limits import COLLATION_ALGORITHMS, LIMITS
from jmapcore.models.calendars import CalendarEvent
from jmapcore.protocol.arguments import (
    read_bool,
    read_id,
    read_ids,
    read_int,
    read_object,
    read_string,
    read_unsigned_int,
)
from jmapcore.protocol.errors import MethodError, SetError, SetErrorException
from jmapcore.protocol.query import (
    Comparator,
    anchor_index,
    filter_parse,
    limit_effective,
    sort_parse,
    window_start,
)
from jmapcore.protocol.state import query_state_encode
from jmapcore.registry import CAPABILITIES, capability, method
from jmapcore.state import type_state_get, type_state_position

logger = logging.getLogger(__name__)

TYPE_NAME = "CalendarEvent"
# draft-ietf-jmap-calendars-33 §1.5.2: CalendarEvent/parse has a capability of its own.
CALENDARS_PARSE_CAPABILITY = "urn:ietf:params:jmap:calendars:parse"
# A blob past this size is not an iCalendar file anyone exchanges (CalendarEvent/parse).
MAX_PARSE_BLOB = 10 * 1024 * 1024


class CalendarEventType(DataType):
    """The standard-method view of CalendarEvent: ids, filters and sorts over the cache."""

    name = TYPE_NAME
    capability = CALENDARS_CAPABILITY
    model = CalendarEvent
    id_prefix = "e"
    properties = (Property("id", server_set=True), Property("calendarIds"))
    filters = CALENDAR_EVENT_FILTERS
    sorts = CALENDAR_EVENT_SORTS
    query_immutable = CALENDAR_EVENT_IMMUTABLE_QUERY
    max_query_limit = 5000

    def queryset(self, account: Account) -> QuerySet[Any]:
        """Live event rows only: a VTODO or VJOURNAL resource is kept, never served."""
        return CalendarEvent.objects.filter(account=account, destroyed=False, component="VEVENT")


CALENDAR_EVENT_TYPE = CalendarEventType()
DATATYPES[TYPE_NAME] = CALENDAR_EVENT_TYPE


def calendars_account(ctx: CallContext, account_id: object, *, write: bool = False) -> Account:
    """The caller's account, which must offer the calendars capability (draft §1.5.1)."""
    account = ctx.account(account_id, write=write)
    if calendars_account_value(account) is None:
        raise MethodError("accountNotSupportedByMethod", "this account has no CalDAV server")
    return account


def _live_events(account: Account) -> QuerySet[CalendarEvent]:
    return CALENDAR_EVENT_TYPE.queryset(account).select_related("calendar")


def _set_error_json(error: Exception) -> dict[str, Any]:
    if isinstance(error, SetErrorException):
        return error.error.to_json()
    if isinstance(error, BackendError):
        return SetError("serverFail", f"CalDAV server: {error}").to_json()
    logger.exception("unexpected error in a CalendarEvent write", exc_info=error)
    return SetError("serverFail", "internal error").to_json()


def _utc_argument(args: dict[str, Any], name: str) -> datetime | None:
    if args.get(name) is None:
        return None
    try:
        return utc_date()(args[name])
    except InvalidValue as error:
        raise MethodError("invalidArguments", f"{name}: {error}") from None


# -- /get (draft §5.8, RFC 8620 §5.1) -------------------------------------------


def _get_options(account: Account, args: dict[str, Any]) -> GetOptions:
    own = {address.casefold() for address in (account.email, account.username) if address and "@" in address}
    return GetOptions(
        properties=event_properties_read(args.get("properties")),
        floating_zone=time_zone_argument(args),
        overrides_before=_utc_argument(args, "recurrenceOverridesBefore"),
        overrides_after=_utc_argument(args, "recurrenceOverridesAfter"),
        reduce_participants=read_bool(args, "reduceParticipants", default=False),
        own_addresses=frozenset(own),
    )


@method("CalendarEvent/get", capability=CALENDARS_CAPABILITY)
def calendar_event_get(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """The cached events; an occurrence id gives that occurrence (with
    baseEventId), as long as the event still has it. Arguments:
    recurrenceOverridesBefore/After, reduceParticipants, timeZone (draft §5.8)."""
    account = calendars_account(ctx, args.get("accountId"))
    ids = read_ids(args, "ids", references=True)
    options = _get_options(account, args)
    state = type_state_get(account=account, type_name=TYPE_NAME)
    if ids is None:
        limit = LIMITS.maxObjectsInGet
        rows = list(_live_events(account).order_by("pk")[: limit + 1])
        if len(rows) > limit:
            raise MethodError("requestTooLarge", f"more than {limit} events; ask for ids")
        return {
            "accountId": account.accountid,
            "state": state,
            "list": [event_json(row, options) for row in rows],
            "notFound": [],
        }

    def fetch(real_ids: list[str]) -> dict[str, dict[str, Any]]:
        wanted: dict[str, tuple[str, str | None]] = {}
        for real in real_ids:
            parsed = occurrence_id_parse(real)
            wanted[real] = parsed if parsed is not None else (real, None)
        rows = {row.jmap_id: row for row in _live_events(account).filter(
            jmap_id__in={base for base, _ in wanted.values()})}
        found: dict[str, dict[str, Any]] = {}
        for real, (base, recurrence_id) in wanted.items():
            row = rows.get(base)
            if row is None:
                continue
            if recurrence_id is None:
                found[real] = event_json(row, options)
                continue
            occurrence = occurrence_find(row.event or {}, recurrence_id, floating_zone=options.floating_zone)
            if occurrence is not None:
                found[real] = event_json(row, options, recurrence_id=recurrence_id, occurrence=occurrence)
        return found

    listed, not_found = objects_by_ids(ctx, ids, fetch=fetch)
    return {"accountId": account.accountid, "state": state, "list": listed, "notFound": not_found}


# -- /changes, /queryChanges (draft §5.9, §5.11) ----------------------------------


@method("CalendarEvent/changes", capability=CALENDARS_CAPABILITY)
def calendar_event_changes(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """The standard /changes, less the resources that are not events (a VTODO in
    the collection): never created for the client, and destroyed for it when a
    resource stopped being an event (RFC 8620 §5.2 lets a client ignore unknown
    destroyed ids)."""
    account = calendars_account(ctx, args.get("accountId"))
    response = standard_changes(CALENDAR_EVENT_TYPE, ctx, args)
    changed = response["created"] + response["updated"]
    if changed:
        hidden = set(
            CalendarEvent.objects.filter(account=account, jmap_id__in=changed)
            .exclude(component="VEVENT")
            .values_list("jmap_id", flat=True)
        )
        if hidden:
            response["created"] = [item for item in response["created"] if item not in hidden]
            response["destroyed"] += [item for item in response["updated"] if item in hidden]
            response["updated"] = [item for item in response["updated"] if item not in hidden]
    return response


@method("CalendarEvent/queryChanges", capability=CALENDARS_CAPABILITY)
def calendar_event_query_changes(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """The standard /queryChanges; an expanded query's occurrences are not
    tracked one by one, so with expandRecurrences the client queries again."""
    calendars_account(ctx, args.get("accountId"))
    if read_bool(args, "expandRecurrences", default=False):
        raise MethodError("cannotCalculateChanges", "an expanded query cannot be updated; run it again")
    time_zone_argument(args)
    return standard_query_changes(CALENDAR_EVENT_TYPE, ctx, args)


# -- /query (draft §5.10) --------------------------------------------------------


@method("CalendarEvent/query", capability=CALENDARS_CAPABILITY)
def calendar_event_query(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Every FilterCondition of draft §5.10.1 and the sorts of §5.10.2, in SQL.
    With expandRecurrences (which needs after and before, no further apart than
    maxExpandedQueryDuration) each occurrence in [after, before) is a result."""
    account = calendars_account(ctx, args.get("accountId"))
    expand = read_bool(args, "expandRecurrences", default=False)
    floating_zone = time_zone_argument(args)
    if not expand:
        response = standard_query(CALENDAR_EVENT_TYPE, ctx, args)
        return response
    return _expanded_query(ctx, account, args, floating_zone=floating_zone)


_ANY_DATE = datetime.max.replace(tzinfo=UTC)


def _expanded_query(ctx: CallContext, account: Account, args: dict[str, Any], *, floating_zone: Any) -> dict[str, Any]:
    parsed = filter_parse(args.get("filter"), condition_properties=CALENDAR_EVENT_FILTERS.keys())
    window = expansion_window(parsed)
    comparators = sort_parse(args.get("sort"), sortable=CALENDAR_EVENT_SORTS.keys(),
                             collations=COLLATION_ALGORITHMS)
    for comparator in comparators:
        if comparator.extra:
            raise MethodError("invalidArguments", "sort: unknown Comparator key " + ", ".join(sorted(comparator.extra)))
    position = read_int(args, "position", default=0)
    anchor = read_id(args, "anchor", references=True)
    anchor_offset = read_int(args, "anchorOffset", default=0)
    requested_limit = read_unsigned_int(args, "limit")
    calculate_total = read_bool(args, "calculateTotal", default=False)
    modseq, _ = type_state_position(account=account, type_name=TYPE_NAME)
    limit, capped = limit_effective(requested_limit, CALENDAR_EVENT_TYPE.max_query_limit)
    call = MethodCall(ctx=ctx, account=account, args=args)
    where = filter_to_q(parsed, lambda name, value: CALENDAR_EVENT_TYPE.filter_condition_q(call, name, value))
    # `where` holds after/before, which test each event's cached span in SQL: only candidates are looked at.
    candidates = _live_events(account).filter(where).order_by("pk")
    results: list[tuple[dict[str, Any], str]] = []
    if floating_zone is UTC:
        # A single event has one occurrence, which sync placed already (utc_start, utc_end; floating
        # times in UTC): the SQL span test was its window test, and its JSON need not be read.
        singles = candidates.filter(is_recurring=False, utc_start__isnull=False)
        for jmap_id, uid, utc_start, created, updated in singles.values_list(
            "jmap_id", "uid", "utc_start", "created", "updated"
        ).iterator(chunk_size=2000):
            results.append(({"start": utc_start, "uid": uid, "recurrenceId": "", "created": created,
                             "updated": updated}, jmap_id))
        candidates = candidates.exclude(pk__in=singles.values("pk"))
    if len(results) > MAX_EXPANDED_RESULTS:
        raise MethodError("requestTooLarge", f"more than {MAX_EXPANDED_RESULTS} occurrences; narrow the window")

    rows = candidates.only("jmap_id", "uid", "event", "utc_start", "created", "updated", "calendar__jmap_id")
    for row in rows.iterator(chunk_size=500):
        event = row.event if isinstance(row.event, dict) else {}
        recurring = bool(event.get("recurrenceRules") or event.get("recurrenceOverrides"))
        remaining = MAX_EXPANDED_RESULTS - len(results)
        found = expansion(event, after=window.after, before=window.before, limit=remaining + 1,
                          floating_zone=floating_zone)
        for item in found.occurrences:
            # (sort keys, id) per occurrence; a single event keeps its own id.
            object_id = occurrence_id_make(row.jmap_id, item.recurrence_id) if recurring else row.jmap_id
            keys = {"start": item.utc_start, "uid": row.uid, "recurrenceId": item.recurrence_id if recurring else "",
                    "created": row.created, "updated": row.updated}
            results.append((keys, object_id))
        if len(results) > MAX_EXPANDED_RESULTS:
            raise MethodError("requestTooLarge", f"more than {MAX_EXPANDED_RESULTS} occurrences; narrow the window")

    results.sort(key=lambda item: item[1])
    results.sort(key=lambda item: item[0]["start"])
    for comparator in reversed(comparators):
        results.sort(key=_sort_key(comparator), reverse=not comparator.is_ascending)
    every = [object_id for _, object_id in results]

    total = len(every)
    index = anchor_index(every, reference_resolve(ctx, anchor) or anchor) if anchor is not None else None
    start = window_start(total=total, position=position, anchor_index=index, anchor_offset=anchor_offset)
    ids = every[start : start + limit]
    response: dict[str, Any] = {
        "accountId": account.accountid,
        "queryState": query_state_encode(modseq),
        "canCalculateChanges": False,
        "position": start,
        "ids": ids,
    }
    if calculate_total:
        response["total"] = total
    if capped and (requested_limit is not None or len(ids) == limit):
        response["limit"] = limit
    return response


def _sort_key(comparator: Comparator) -> Any:
    name = comparator.property

    def key(item: tuple[dict[str, Any], str]) -> Any:
        value = item[0][name]
        if name == "uid":
            return str(value).casefold()
        if value is None:  # dates: missing sorts last ascending (reverse flips it; fine for a tie-breaker)
            return (1, _ANY_DATE)
        return (0, value) if name in ("created", "updated") else value

    return key


# -- /set (draft §5.9, RFC 8620 §5.3) ---------------------------------------------


def _server_changed(sent: dict[str, Any], row: CalendarEvent) -> dict[str, Any]:
    """The top-level properties the server holds differently from what the client
    asked for (read back from the iCalendar actually stored: generated uid,
    participant ids, normalised values), for created/updated (RFC 8620 §5.3)."""
    stored: dict[str, Any] = row.event if isinstance(row.event, dict) else {}
    return {
        name: stored.get(name)
        for name in sorted(set(stored) | set(sent))
        if stored.get(name) != sent.get(name) and name not in JMAP_EVENT_PROPERTIES
    }


def _target(account: Account, real: str | None) -> tuple[CalendarEvent | None, str | None]:
    """The row an id names and, for an occurrence id, the recurrence id."""
    if real is None:
        return None, None
    parsed = occurrence_id_parse(real)
    base, recurrence_id = parsed if parsed is not None else (real, None)
    return _live_events(account).filter(jmap_id=base).first(), recurrence_id


def calendar_event_set_run(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Creates, then updates, then destroys; each event succeeds or fails alone.

    sendSchedulingMessages (draft §5.9) is accepted; scheduling messages are
    sent only by a CalDAV server with implicit scheduling (RFC 6638 §3.2), when
    it stores the object: this proxy sends none itself."""
    account = calendars_account(ctx, args.get("accountId"), write=True)
    if_in_state = read_string(args, "ifInState")
    read_bool(args, "sendSchedulingMessages", default=False)
    create, update, destroy = set_arguments_read(args)
    old_state = type_state_get(account=account, type_name=TYPE_NAME)
    if if_in_state is not None and if_in_state != old_state:
        raise MethodError("stateMismatch")

    created: dict[str, Any] = {}
    not_created: dict[str, Any] = {}
    for creation_id, raw in create.items():
        try:
            prepared = event_create_prepare(ctx, account=account, raw=raw)
            row = writes.calendar_event_create(account=account, calendar=prepared.calendar, event=prepared.event)
        except Exception as error:
            not_created[creation_id] = _set_error_json(error)
            continue
        ctx.created_ids[creation_id] = row.jmap_id
        given = {name: value for name, value in raw.items() if name not in JMAP_EVENT_PROPERTIES}
        created[creation_id] = {"id": row.jmap_id, **_server_changed(given, row)}

    destroy_ids = [(raw_id, reference_resolve(ctx, raw_id)) for raw_id in destroy]
    doomed = {real for _, real in destroy_ids if real is not None}

    updated: dict[str, Any] = {}
    not_updated: dict[str, Any] = {}
    for raw_id, patch in update.items():
        real = reference_resolve(ctx, raw_id)
        key = real or raw_id
        target, recurrence_id = _target(account, real)
        if target is not None and recurrence_id is not None and occurrence_find(
            target.event or {}, recurrence_id, floating_zone=UTC
        ) is None:
            target = None
        # notFound first: an id of another account is unknown here, whatever else the request says.
        if target is None:
            not_updated[key] = SetError("notFound").to_json()
            continue
        if real in doomed:
            not_updated[key] = SetError("willDestroy").to_json()
            continue
        try:
            prepared_update: EventUpdate
            if recurrence_id is None:
                prepared_update = event_update_prepare(ctx, account=account, row=target, patch=patch)
            else:
                prepared_update = occurrence_update_prepare(
                    ctx, account=account, row=target, recurrence_id=recurrence_id, patch=patch
                )
            if prepared_update.changes_anything(target):
                writes.calendar_event_update(
                    account=account, row=target, event=prepared_update.event, calendar=prepared_update.calendar
                )
        except Exception as error:
            not_updated[key] = _set_error_json(error)
            continue
        # An occurrence is a view of its event: what the server kept differently shows in the event.
        updated[key] = (_server_changed(prepared_update.event, target) or None) if recurrence_id is None else None

    destroyed: list[str] = []
    not_destroyed: dict[str, Any] = {}
    for raw_id, real in destroy_ids:
        key = real or raw_id
        victim, recurrence_id = _target(account, real)
        if victim is not None and recurrence_id is not None and occurrence_find(
            victim.event or {}, recurrence_id, floating_zone=UTC
        ) is None:
            victim = None
        if victim is None:
            not_destroyed[key] = SetError("notFound").to_json()
            continue
        try:
            if recurrence_id is None:
                writes.calendar_event_destroy(account=account, row=victim)
            else:
                exclusion = occurrence_exclusion(row=victim, recurrence_id=recurrence_id)
                writes.calendar_event_update(
                    account=account, row=victim, event=exclusion.event, calendar=exclusion.calendar
                )
        except Exception as error:
            not_destroyed[key] = _set_error_json(error)
            continue
        destroyed.append(key)

    return {
        "accountId": account.accountid,
        "oldState": old_state,
        "newState": type_state_get(account=account, type_name=TYPE_NAME),
        "created": created or None,
        "updated": updated or None,
        "destroyed": destroyed or None,
        "notCreated": not_created or None,
        "notUpdated": not_updated or None,
        "notDestroyed": not_destroyed or None,
    }


@method("CalendarEvent/set", capability=CALENDARS_CAPABILITY)
def calendar_event_set(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    return calendar_event_set_run(ctx, args)


# -- /copy (draft §5.12, RFC 8620 §5.4) --------------------------------------------


@method("CalendarEvent/copy", capability=CALENDARS_CAPABILITY)
def calendar_event_copy(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Copy events from another account of the caller's login. Each create
    names the source event's `id` and may override any property (calendarIds
    says where the copy goes). With onSuccessDestroyOriginal the originals are
    destroyed by an implicit CalendarEvent/set on the source account, whose
    response follows this one (RFC 8620 §5.4)."""
    from_account = calendars_account(ctx, args.get("fromAccountId"))
    account = calendars_account(ctx, args.get("accountId"), write=True)
    if from_account.pk == account.pk:
        raise MethodError("invalidArguments", "fromAccountId must differ from accountId")
    if_from = read_string(args, "ifFromInState")
    if_in_state = read_string(args, "ifInState")
    destroy_if_from = read_string(args, "destroyFromIfInState")
    destroy_original = read_bool(args, "onSuccessDestroyOriginal", default=False)
    create = read_object(args, "create") or {}
    if len(create) > LIMITS.maxObjectsInSet:
        raise MethodError("requestTooLarge", f"at most {LIMITS.maxObjectsInSet} events per /copy")
    if if_from is not None and if_from != type_state_get(account=from_account, type_name=TYPE_NAME):
        raise MethodError("stateMismatch", "ifFromInState does not match")
    old_state = type_state_get(account=account, type_name=TYPE_NAME)
    if if_in_state is not None and if_in_state != old_state:
        raise MethodError("stateMismatch", "ifInState does not match")

    created: dict[str, Any] = {}
    not_created: dict[str, Any] = {}
    originals: list[str] = []
    for creation_id, raw in create.items():
        try:
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                raise SetErrorException(SetError("invalidProperties", "id: the event to copy", properties=["id"]))
            source_id = reference_resolve(ctx, raw["id"]) or raw["id"]
            source = _live_events(from_account).filter(jmap_id=source_id).first()
            if source is None:
                raise SetErrorException(SetError("notFound", f"no event {source_id[:64]} in {from_account.accountid}"))
            overrides = {key: value for key, value in raw.items() if key != "id"}
            stored = source.event if isinstance(source.event, dict) else {}
            prepared = event_create_prepare(ctx, account=account, raw={**stored, **overrides})
            row = writes.calendar_event_create(account=account, calendar=prepared.calendar, event=prepared.event)
        except Exception as error:
            not_created[creation_id] = _set_error_json(error)
            continue
        ctx.created_ids[creation_id] = row.jmap_id
        created[creation_id] = {"id": row.jmap_id}
        originals.append(source.jmap_id)

    response = {
        "fromAccountId": from_account.accountid,
        "accountId": account.accountid,
        "oldState": old_state,
        "newState": type_state_get(account=account, type_name=TYPE_NAME),
        "created": created or None,
        "notCreated": not_created or None,
    }
    if destroy_original and originals:
        implicit_args: dict[str, Any] = {"accountId": from_account.accountid, "destroy": originals}
        if destroy_if_from is not None:
            implicit_args["ifInState"] = destroy_if_from
        try:
            implicit = calendar_event_set_run(ctx, implicit_args)
        except MethodError as error:
            ctx.extra_responses.append(("error", error.to_arguments()))
        else:
            ctx.extra_responses.append(("CalendarEvent/set", implicit))
    return response


# -- /parse (draft §5.13) ------------------------------------------------------------


def _parse_account_value(account: Account) -> dict[str, Any] | None:
    return {} if calendars_account_value(account) is not None else None


if CALENDARS_PARSE_CAPABILITY not in CAPABILITIES:
    capability(CALENDARS_PARSE_CAPABILITY, session_value=dict, account_value=_parse_account_value)


@method("CalendarEvent/parse", capability=CALENDARS_PARSE_CAPABILITY)
def calendar_event_parse(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Each blob read as an iCalendar file: every event in it, with its overrides
    (draft §5.13). A blob with no event is notParsable; one the caller cannot
    read is notFound. `properties` limits each event as in /get."""
    account = calendars_account(ctx, args.get("accountId"))
    blob_ids = read_ids(args, "blobIds") or []
    if len(blob_ids) > LIMITS.maxObjectsInGet:
        raise MethodError("requestTooLarge", f"at most {LIMITS.maxObjectsInGet} blobs per CalendarEvent/parse")
    properties = event_properties_read(args.get("properties"))
    parsed: dict[str, Any] = {}
    not_parsable: list[str] = []
    not_found: list[str] = []
    for blob_id in dict.fromkeys(blob_ids):
        try:
            data = blobs.blob_read(account=account, blob_id=blob_id, limit=MAX_PARSE_BLOB).data
        except blobs.BlobTooLarge:
            not_parsable.append(blob_id)
            continue
        except blobs.BlobError:
            not_found.append(blob_id)
            continue
        text = data.decode("utf-8", errors="replace")
        events = event_parse_blob(text)
        if not events:
            not_parsable.append(blob_id)
            continue
        shown = []
        for event in events:
            event = {key: value for key, value in event.items() if key not in ("id", "calendarIds")}
            if properties is not None:
                event = {key: value for key, value in event.items() if key in properties}
            shown.append(event)
        parsed[blob_id] = shown
    return {
        "accountId": account.accountid,
        "parsed": parsed or None,
        "notParsable": not_parsable or None,
        "notFound": not_found or None,
    }
