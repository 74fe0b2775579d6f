"""Calendar/get, /changes and /set (draft-ietf-jmap-calendars-33 §4.1-§4.3)
over CalDAV calendar collections.

Each Calendar is one CalDAV calendar collection (RFC 4791 §4.2). Writes go to
the CalDAV server first (backends.caldav: MKCALENDAR for a create, RFC 4791
§5.3.1; PROPPATCH of displayname, calendar-description, calendar-timezone and
Apple's calendar-color / calendar-order for a change, RFC 4918 §9.2 and RFC
4791 §5.2; DELETE for a destroy), then the cache, in one state_change_atomic
(DESIGN.md "Writes"). A refusal is the object's SetError and changes
nothing; a 412 resyncs the calendar first.

timeZone is written as calendar-timezone, a VTIMEZONE built from the IANA
database (jmapcore.calendars.calendar_timezone). What CalDAV has no place
for is kept in the proxy's cache only: isSubscribed, isVisible,
includeInAvailability, defaultAlertsWithTime/WithoutTime and isDefault
(jmapcore.calendars.calendar_default). shareWith is null and cannot be set: Radicale and
Xandikos offer no WebDAV sharing, so mayShare is false and a change is refused
with forbidden (§4: only a user with mayShare may change shareWith). myRights
come from the collection's DAV privileges (jmapcore.calendars.calendar_rights).
"""
from __future__ import annotations

from typing import Any

from accounts.models import Account
from backends.base import BackendError
from jmapcore.calendars.calendar_default import calendar_default_ensure, calendar_default_repair, calendar_default_set
from jmapcore.calendars.calendar_destroy import calendar_events_count, calendar_events_remove
from jmapcore.calendars.calendar_errors import caldav_refused
from jmapcore.calendars.calendar_rights import calendar_may_change_properties, calendar_rights
from jmapcore.calendars.calendar_timezone import calendar_timezone_ical
from jmapcore.calendars.calendar_values import (
    alerts_validate,
    color_validate,
    description_validate,
    include_in_availability_validate,
    name_validate,
    share_with_validate,
    time_zone_validate,
)
from jmapcore.calendars.capability import CALENDARS_CAPABILITY, calendars_account_value
from jmapcore.context import CallContext
from jmapcore.datatypes.base import DataType, MethodCall, Property
from jmapcore.datatypes.orm import JmapObject, jmap_id_new
from jmapcore.datatypes.standard import (
    reference_resolve,
    register_standard_methods,
    standard_changes,
    standard_get,
    standard_set,
)
from jmapcore.datatypes.values import boolean, unsigned_int
from jmapcore.models.calendars import Calendar
from jmapcore.protocol.arguments import is_id_or_reference
from jmapcore.protocol.errors import MethodError, SetError, SetErrorException
from jmapcore.registry import method
from jmapcore.state import state_change_atomic, type_state_get

# Properties stored on the CalDAV server (the rest live in the cache only).
SERVER_PROPERTIES = ("name", "description", "color", "sortOrder", "timeZone")
NO_SHARING = "shareWith: this CalDAV server offers no sharing (mayShare is false)"


def _or_null(value: Any) -> Any:
    return value or None


class CalendarType(DataType):
    name = "Calendar"
    capability = CALENDARS_CAPABILITY
    model = Calendar
    id_prefix = "k"
    properties = (
        Property("id", server_set=True),
        Property("name", validate=name_validate, required=True),
        Property("description", validate=description_validate, dump=_or_null, default=None),
        Property("color", validate=color_validate, dump=_or_null, default=None),
        Property("sortOrder", validate=unsigned_int(), field="sort_order", default=0),
        Property("isSubscribed", validate=boolean(), field="is_subscribed", default=True),
        Property("isVisible", validate=boolean(), field="is_visible", default=True),
        Property("isDefault", field="is_default", server_set=True),
        Property(
            "includeInAvailability",
            validate=include_in_availability_validate,
            field="include_in_availability",
            default="all",
        ),
        Property("defaultAlertsWithTime", validate=alerts_validate, field="default_alerts_with_time", default=None),
        Property(
            "defaultAlertsWithoutTime", validate=alerts_validate, field="default_alerts_without_time", default=None
        ),
        Property("timeZone", validate=time_zone_validate, dump=_or_null, field="time_zone", default=None),
        Property("shareWith", validate=share_with_validate, dump=_or_null, field="share_with", default=None),
        Property("myRights", server_set=True),
    )

    # -- reading ---------------------------------------------------------------

    def property_value(self, row: JmapObject, prop: Property) -> Any:
        if prop.name == "myRights":
            assert isinstance(row, Calendar)
            return calendar_rights(calendar=row, account=row.account)
        return super().property_value(row, prop)

    # -- validation ------------------------------------------------------------

    def validate_create(self, call: MethodCall, values: dict[str, Any]) -> None:
        if values.get("shareWith"):
            raise SetErrorException(SetError("forbidden", NO_SHARING))

    def validate_update(self, call: MethodCall, row: JmapObject, changes: dict[str, Any]) -> None:
        assert isinstance(row, Calendar)
        if "shareWith" in changes:
            raise SetErrorException(SetError("forbidden", NO_SHARING))
        on_server = [name for name in SERVER_PROPERTIES if name in changes]
        if on_server and not calendar_may_change_properties(calendar=row, account=call.account):
            raise SetErrorException(
                SetError(
                    "forbidden",
                    "the CalDAV server does not let this user change " + ", ".join(on_server) + " of this calendar",
                )
            )

    def validate_destroy(self, call: MethodCall, row: JmapObject) -> None:
        """draft-33 §4.3: without onDestroyRemoveEvents a calendar holding events
        is refused with calendarHasEvent. The cache may lag behind the server
        (another client just added an event), so the calendar is synced before
        it is counted: a DELETE must never take an event nobody saw."""
        assert isinstance(row, Calendar)
        if not calendar_rights(calendar=row, account=call.account)["mayDelete"]:
            raise SetErrorException(SetError("forbidden", "this calendar cannot be destroyed (mayDelete is false)"))
        if call.args.get("onDestroyRemoveEvents") is True:
            return
        from backends.caldav import caldav_calendar_sync

        caldav_calendar_sync(account=call.account, calendar=row)
        row.refresh_from_db()
        if row.destroyed:
            # The sync found the collection gone. Nothing is sent: were that
            # finding wrong, a DELETE would take events nobody has seen.
            raise SetErrorException(SetError("notFound", "the calendar is gone from the CalDAV server"))
        if calendar_events_count(calendar=row):
            raise SetErrorException(
                SetError(
                    "calendarHasEvent",
                    "the calendar holds events or other calendar objects (see onDestroyRemoveEvents)",
                )
            )

    # -- backend -----------------------------------------------------------------

    def backend_create(self, call: MethodCall, values: dict[str, Any]) -> dict[str, Any]:
        """MKCALENDAR with name, description, color and time zone; sortOrder follows in a
        PROPPATCH (calendar-order is not a MKCALENDAR property everywhere).
        When that PROPPATCH is refused or fails the calendar exists anyway and
        its sortOrder is kept in the cache."""
        from backends.caldav import DavRefused, caldav_calendar_create, caldav_calendar_update

        timezone_ical = calendar_timezone_ical(time_zone=values.get("timeZone") or "")
        try:
            created = caldav_calendar_create(
                account=call.account,
                name=values["name"],
                description=values.get("description") or "",
                color=values.get("color") or "",
                timezone_ical=timezone_ical,
            )
        except DavRefused as refused:
            raise caldav_refused(refused) from None
        fields: dict[str, Any] = {
            "dav_href": created.href,
            "dav_privileges": list(getattr(created, "privileges", []) or []),
            "dav_components": list(getattr(created, "components", ["VEVENT"]) or []),
            "dav_timezone": timezone_ical,
        }
        if values.get("sortOrder"):
            probe = Calendar(account=call.account, dav_href=created.href, name=values["name"])
            try:
                caldav_calendar_update(account=call.account, calendar=probe, sort_order=values["sortOrder"])
            except BackendError:
                # The calendar exists on the server: failing the create now would
                # lose it from the answer. Its sortOrder stays in the cache.
                pass
        return fields

    def backend_update(self, call: MethodCall, row: JmapObject, changes: dict[str, Any]) -> dict[str, Any]:
        """name, description, color, sortOrder and timeZone live on the server;
        the rest only in the cache (CalDAV has no such properties)."""
        assert isinstance(row, Calendar)
        if not any(name in changes for name in SERVER_PROPERTIES):
            return {}
        from backends.caldav import DavConflict, DavRefused, caldav_calendar_sync, caldav_calendar_update

        timezone_ical = calendar_timezone_ical(time_zone=changes["timeZone"]) if "timeZone" in changes else None
        try:
            caldav_calendar_update(
                account=call.account,
                calendar=row,
                name=changes.get("name"),
                description=changes["description"] if "description" in changes else None,
                color=changes["color"] if "color" in changes else None,
                sort_order=changes["sortOrder"] if "sortOrder" in changes else None,
                timezone_ical=timezone_ical,
            )
        except DavConflict:
            caldav_calendar_sync(account=call.account, calendar=row)
            raise SetErrorException(
                SetError("serverFail", "the calendar changed on the CalDAV server meanwhile; synced, try again")
            ) from None
        except DavRefused as refused:
            raise caldav_refused(refused) from None
        # The VTIMEZONE sent is what sync compares the server's with.
        return {} if timezone_ical is None else {"dav_timezone": timezone_ical}

    def backend_destroy(self, call: MethodCall, row: JmapObject) -> None:
        """A 404 means someone else removed it already: the cache follows the
        server, so that is a success."""
        assert isinstance(row, Calendar)
        from backends.caldav import DavConflict, DavRefused, caldav_calendar_delete, caldav_calendar_sync

        try:
            caldav_calendar_delete(account=call.account, calendar=row)
        except DavConflict:
            caldav_calendar_sync(account=call.account, calendar=row)
            raise SetErrorException(
                SetError("serverFail", "the calendar changed on the CalDAV server meanwhile; synced, try again")
            ) from None
        except DavRefused as refused:
            if getattr(refused, "status", 0) != 404:
                raise caldav_refused(refused) from None

    # -- cache -------------------------------------------------------------------

    def object_create(self, call: MethodCall, values: dict[str, Any]) -> JmapObject:
        """As the base, except that a sync running meanwhile may already have
        found the new collection: its row (same href) is adopted rather than a
        second row made, so the calendar has one id."""
        extra = self.backend_create(call, values)
        fields = {**self.fields_from_values(values), **extra}
        with state_change_atomic(account=call.account, type_names=self.type_names_written()) as modseq:
            row = (
                Calendar.objects.select_for_update()
                .filter(account=call.account, destroyed=False, dav_href=extra["dav_href"])
                .first()
            )
            if row is None:
                row = Calendar(account=call.account, jmap_id=jmap_id_new(self.id_prefix), created_modseq=modseq)
            for column, value in fields.items():
                setattr(row, column, value)
            row.updated_modseq = modseq
            row.save()
            self.cache_written(call, row, modseq)
        return row

    def cache_written(self, call: MethodCall, row: JmapObject, modseq: int) -> None:
        """Exactly one live calendar stays the default after any write."""
        assert isinstance(row, Calendar)
        changed = calendar_default_repair(account=call.account, modseq=modseq)
        if row.jmap_id in changed:
            row.is_default = not row.is_default

    def object_destroy(self, call: MethodCall, row: JmapObject) -> None:
        """The collection goes on the server first (its objects with it); then
        its events become tombstones in the same transaction as the calendar's."""
        assert isinstance(row, Calendar)
        self.backend_destroy(call, row)
        has_events = calendar_events_count(calendar=row) > 0
        names = ["Calendar", "CalendarEvent"] if has_events else ["Calendar"]
        with state_change_atomic(account=call.account, type_names=names) as modseq:
            if has_events:
                calendar_events_remove(calendar=row, modseq=modseq)
            row.destroyed = True
            row.is_default = False
            row.updated_modseq = modseq
            row.save(update_fields=["destroyed", "is_default", "updated_modseq", "updated_at"])
            self.cache_written(call, row, modseq)


CALENDAR_TYPE = CalendarType()
# Only the DATATYPES entry: the handlers below check the account and keep the
# default calendar right before the state is read.
register_standard_methods(CALENDAR_TYPE, methods=())


def _prepare(ctx: CallContext, args: dict[str, Any]) -> Account:
    """The account (errors as the engine gives them), which must have a CalDAV
    server; its default calendar is repaired before the state is read."""
    account = ctx.account(args.get("accountId"))
    if calendars_account_value(account) is None:
        raise MethodError("accountNotSupportedByMethod", "this account has no CalDAV server")
    calendar_default_ensure(account=account)
    return account


@method("Calendar/get", capability=CALENDARS_CAPABILITY)
def calendar_get(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """draft-33 §4.1: standard /get; ids may be null."""
    _prepare(ctx, args)
    return standard_get(CALENDAR_TYPE, ctx, args)


@method("Calendar/changes", capability=CALENDARS_CAPABILITY)
def calendar_changes(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """draft-33 §4.2: standard /changes."""
    _prepare(ctx, args)
    return standard_changes(CALENDAR_TYPE, ctx, args)


@method("Calendar/set", capability=CALENDARS_CAPABILITY)
def calendar_set(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """draft-33 §4.3: standard /set plus

    - onDestroyRemoveEvents (Boolean, default false): when false, a calendar
      with events is not destroyed (SetError calendarHasEvent); when true its
      events go with it;
    - onSuccessSetIsDefault (Id|null, "#creationId" allowed): when every
      create, update and destroy succeeded, that calendar becomes the default.
      An id naming no live calendar is ignored. Every calendar whose isDefault
      changed is reported with it in `created` or `updated` (RFC 8620 §5.3).
    """
    account = _prepare(ctx, args)
    remove_events = args.get("onDestroyRemoveEvents", False)
    if not isinstance(remove_events, bool):
        raise MethodError("invalidArguments", "onDestroyRemoveEvents must be a Boolean")
    new_default = args.get("onSuccessSetIsDefault")
    if new_default is not None and not is_id_or_reference(new_default):
        raise MethodError("invalidArguments", "onSuccessSetIsDefault must be an Id or null")
    response = standard_set(CALENDAR_TYPE, ctx, args)
    failed = response["notCreated"] or response["notUpdated"] or response["notDestroyed"]
    if new_default is None or failed:
        return response
    real = reference_resolve(ctx, new_default)
    changed = calendar_default_set(account=account, jmap_id=real) if real else {}
    if not changed:
        return response
    created_by_id = {entry["id"]: entry for entry in (response["created"] or {}).values()}
    updated: dict[str, Any] = dict(response["updated"] or {})
    for jmap_id, flag in changed.items():
        if jmap_id in created_by_id:
            created_by_id[jmap_id]["isDefault"] = flag
        else:
            updated[jmap_id] = {**(updated.get(jmap_id) or {}), "isDefault": flag}
    response["updated"] = updated or None
    response["newState"] = type_state_get(account=account, type_name="Calendar")
    return response
