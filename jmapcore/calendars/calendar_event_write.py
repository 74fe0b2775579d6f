"""CalendarEvent writes: the CalDAV server first, then the cache
(draft-ietf-jmap-calendars-33 §5.9, DESIGN.md "Writes: the backend first, nothing lost").

Each service builds the iCalendar object with jscalendar.event_write (a
minimal change of the stored object when there is one: untouched lines and
other components stay byte for byte), sends it with PUT (If-None-Match: * for
a new resource, If-Match for a change, RFC 4791 §5.3.2 / RFC 7232), DELETE or
MOVE, and only when the server has confirmed it rewrites the cache row from
the text actually sent, in one state_change_atomic (one modseq, one
StateChange after commit). Any refusal raises SetErrorException before the
cache is touched.

Refusals: EventInvalid -> invalidProperties naming every property; a 412 (the
object changed on the server since the last sync) -> the calendar is synced
again, so the next /get shows the server's version, and the write fails with
stateMismatch; a CalDAV precondition (RFC 4791 §5.3.2.1) -> the matching
SetError; anything else -> serverFail with the server's reason.

Scheduling (RFC 6638): a server with implicit scheduling sends the iTIP
messages itself when it stores an object with attendees; this proxy sends none
of its own. Radicale and Xandikos do not schedule, so there no invitation is
sent whatever sendSchedulingMessages says (README "Calendars").
"""
from __future__ import annotations

import logging
from typing import Any

from accounts.models import Account
from backends.base import BackendError
from jmapcore.calendars.jscalendar import EventInvalid, event_write
from jmapcore.datatypes.orm import jmap_id_new
from jmapcore.models.calendars import Calendar, CalendarEvent
from jmapcore.protocol.errors import SetError, SetErrorException
from jmapcore.state import state_change_atomic

logger = logging.getLogger(__name__)

TYPE_NAMES = ("CalendarEvent",)
_AGGREGATES = frozenset({"all", "write"})
_JMAP_ONLY = ("id", "calendarIds")


def _dav_errors() -> tuple[type[BackendError], type[BackendError]]:
    """(DavRefused, DavConflict): shared by CardDAV and CalDAV (backends.dav)."""
    from backends.dav.errors import DavConflict, DavRefused

    return DavRefused, DavConflict


def calendar_privilege(*, account: Account, calendar: Calendar, privilege: str) -> bool:
    """Whether the caller holds `privilege` ("bind", "unbind", "write-content") on
    `calendar`, from the current-user-privilege-set sync recorded (RFC 3744 §5.4).
    A read-only account holds none; a calendar without a recorded set is
    treated as writable (the server decides on the PUT)."""
    if account.is_read_only:
        return False
    granted = {str(item).lower() for item in (calendar.dav_privileges or [])}
    if not granted:
        return True
    return privilege in granted or bool(granted & _AGGREGATES)


def _ical_text(event: dict[str, Any], *, previous_text: str | None) -> str:
    try:
        return event_write(event, previous_text=previous_text)
    except EventInvalid as invalid:
        raise SetErrorException(
            SetError("invalidProperties", invalid.description[:1000], properties=sorted(set(invalid.properties)))
        ) from None


def calendar_resync(*, account: Account, calendar: Calendar) -> None:
    """After a 412: read the calendar again so the cache shows what the server
    holds. A failure here only leaves that to the next periodic sync."""
    try:
        from backends.caldav import caldav_calendar_sync

        caldav_calendar_sync(account=account, calendar=calendar)
    except BackendError as sync_error:
        logger.warning("resync of calendar %s after a 412 failed: %s", calendar.jmap_id, sync_error)


def _refusal(error: BackendError, *, account: Account, calendar: Calendar, doing: str) -> SetErrorException:
    """The SetError for a CalDAV refusal (RFC 4791 §5.3.2.1 preconditions, RFC 7232 412)."""
    _, conflict_type = _dav_errors()
    reason = (getattr(error, "reason", "") or str(error))[:500]
    status = getattr(error, "status", None)
    precondition = getattr(error, "precondition", None) or ""
    if isinstance(error, conflict_type):
        calendar_resync(account=account, calendar=calendar)
        return SetErrorException(
            SetError(
                "stateMismatch",
                f"{doing}: the event changed on the CalDAV server meanwhile (412); "
                "it has been read again: fetch it and retry",
            )
        )
    if precondition == "no-uid-conflict":
        return SetErrorException(
            SetError("invalidProperties", f"uid: the CalDAV server holds another event with it ({reason})",
                     properties=["uid"])
        )
    if precondition in ("valid-calendar-data", "valid-calendar-object-resource", "supported-calendar-data",
                        "supported-calendar-component", "calendar-collection-location-ok"):
        return SetErrorException(SetError("invalidProperties", f"the CalDAV server refused the event: {reason}"))
    if precondition in ("min-date-time", "max-date-time", "max-instances", "max-attendees-per-instance"):
        return SetErrorException(SetError("invalidProperties", f"the CalDAV server's limit {precondition}: {reason}"))
    if precondition == "max-resource-size" or status == 413:
        return SetErrorException(SetError("tooLarge", f"the CalDAV server refused the size: {reason}"))
    if status == 507:
        return SetErrorException(SetError("overQuota", f"the CalDAV server is out of space: {reason}"))
    if status in (401, 403):
        return SetErrorException(SetError("forbidden", f"the CalDAV server refused it: {reason}"))
    return SetErrorException(SetError("serverFail", f"the CalDAV server refused {doing}: {reason}"))


def event_row_columns(*, text: str, etag: str, href: str, calendar: Calendar) -> dict[str, Any]:
    """The cache columns for an iCalendar object the server now holds as `text`.

    Read with the sync's own conversion (backends.caldav.sync.event_columns),
    which never raises: once the server has confirmed the write, the cache
    must be able to take it."""
    from backends.caldav.sync import event_columns

    return {"calendar": calendar, **event_columns(text=text, href=href, etag=etag or "")}


def calendar_event_create(*, account: Account, calendar: Calendar, event: dict[str, Any]) -> CalendarEvent:
    """Create `event` (a JSCalendar Event with a uid) in `calendar`: PUT with
    If-None-Match: * (RFC 4791 §5.3.2), then a new cache row. If a sync already
    brought the new resource into the cache meanwhile, that row becomes ours."""
    if not calendar_privilege(account=account, calendar=calendar, privilege="bind"):
        raise SetErrorException(SetError("forbidden", "the calendar does not allow adding events"))
    from backends.caldav import caldav_event_put

    refused_type, conflict_type = _dav_errors()
    text = _ical_text(event, previous_text=None)
    try:
        put = caldav_event_put(account=account, calendar=calendar, ical_text=text)
    except conflict_type:
        calendar_resync(account=account, calendar=calendar)
        raise SetErrorException(
            SetError("invalidProperties", "uid: the calendar on the server already has an event with this uid",
                     properties=["uid"])
        ) from None
    except refused_type as refused:
        raise _refusal(refused, account=account, calendar=calendar, doing="the new event") from None
    columns = event_row_columns(text=text, etag=put.etag, href=put.href, calendar=calendar)
    with state_change_atomic(account=account, type_names=TYPE_NAMES) as modseq:
        row = CalendarEvent.objects.filter(
            account=account, calendar=calendar, dav_href=put.href, destroyed=False
        ).first()
        if row is None:
            row = CalendarEvent(
                account=account, jmap_id=jmap_id_new("e"), created_modseq=modseq, updated_modseq=modseq, **columns
            )
        else:
            for column, value in columns.items():
                setattr(row, column, value)
            row.updated_modseq = modseq
        row.save()
    return row


def _delete_quietly(*, account: Account, href: str, etag: str) -> None:
    """Undo a copy this write made (best effort: the next sync shows what is left)."""
    from backends.caldav import caldav_event_delete

    try:
        caldav_event_delete(account=account, href=href, etag=etag or None)
    except BackendError as error:
        logger.warning("could not remove the new copy of an event after a failed move: %s", error)


def _move_source_delete(*, account: Account, row: CalendarEvent, copy_href: str, copy_etag: str,
                        calendars: tuple[Calendar, Calendar]) -> None:
    """The second half of a move with a change: DELETE the old resource.

    - Deleted, or already gone (404/410): the move is done.
    - Refused for certain (412, 403, …): the new copy is removed again, so the
      event is never in two calendars, and the refusal is raised.
    - No answer (timeout, dropped connection): the DELETE may have happened, so
      removing the new copy could lose the event. Both calendars are read
      again so the cache shows what the server holds, and the error is raised.
    """
    from backends.caldav import caldav_event_delete

    refused_type, conflict_type = _dav_errors()
    try:
        caldav_event_delete(account=account, href=row.dav_href, etag=row.dav_etag or None)
    except refused_type as refused:
        if getattr(refused, "status", 0) in (404, 410) and not isinstance(refused, conflict_type):
            return
        if refused.permanent:
            _delete_quietly(account=account, href=copy_href, etag=copy_etag)
            raise
        for calendar in calendars:
            calendar_resync(account=account, calendar=calendar)
        raise
    except BackendError:
        for calendar in calendars:
            calendar_resync(account=account, calendar=calendar)
        raise


def calendar_event_update(
    *, account: Account, row: CalendarEvent, event: dict[str, Any], calendar: Calendar
) -> CalendarEvent:
    """Make the event `event` in `calendar` (its own calendar, or another one: a move).

    - Content changed, same calendar: PUT with If-Match, a minimal change of the stored object.
    - Same content, other calendar: MOVE (RFC 4918 §9.9) with If-Match.
    - Both: PUT into the new calendar, then DELETE the old resource with
      If-Match (see _move_source_delete for what happens when that fails).
    """
    source: Calendar = row.calendar
    moving = calendar.pk != source.pk
    content_changed = event != row.event
    if content_changed and not moving and not calendar_privilege(
        account=account, calendar=calendar, privilege="write-content"
    ):
        raise SetErrorException(SetError("forbidden", "the calendar does not allow changing events"))
    if moving and not calendar_privilege(account=account, calendar=source, privilege="unbind"):
        raise SetErrorException(SetError("forbidden", "the event's calendar does not allow removing events"))
    if moving and not calendar_privilege(account=account, calendar=calendar, privilege="bind"):
        raise SetErrorException(SetError("forbidden", "the target calendar does not allow adding events"))

    text = row.ical
    if content_changed:
        text = _ical_text(event, previous_text=row.ical or None)
    from backends.caldav import caldav_event_move, caldav_event_put

    refused_type, _ = _dav_errors()
    try:
        if not moving:
            put = caldav_event_put(
                account=account, calendar=calendar, ical_text=text, href=row.dav_href, etag=row.dav_etag or None
            )
        elif not content_changed:
            put = caldav_event_move(account=account, href=row.dav_href, etag=row.dav_etag or None, calendar=calendar)
        else:
            put = caldav_event_put(account=account, calendar=calendar, ical_text=text)
            _move_source_delete(account=account, row=row, copy_href=put.href, copy_etag=put.etag,
                                calendars=(source, calendar))
    except refused_type as refused:
        raise _refusal(refused, account=account, calendar=source, doing="the change") from None
    columns = event_row_columns(text=text, etag=put.etag, href=put.href, calendar=calendar)
    with state_change_atomic(account=account, type_names=TYPE_NAMES) as modseq:
        for column, value in columns.items():
            setattr(row, column, value)
        row.updated_modseq = modseq
        row.save()
    return row


def calendar_event_destroy(*, account: Account, row: CalendarEvent) -> None:
    """DELETE the resource with If-Match (RFC 7232 §3.1), then tombstone the row.
    A resource the server no longer has (404/410) is gone either way."""
    calendar: Calendar = row.calendar
    if not calendar_privilege(account=account, calendar=calendar, privilege="unbind"):
        raise SetErrorException(SetError("forbidden", "the calendar does not allow removing events"))
    from backends.caldav import caldav_event_delete

    refused_type, conflict_type = _dav_errors()
    try:
        caldav_event_delete(account=account, href=row.dav_href, etag=row.dav_etag or None)
    except refused_type as refused:
        if getattr(refused, "status", None) not in (404, 410) or isinstance(refused, conflict_type):
            raise _refusal(refused, account=account, calendar=calendar, doing="the removal") from None
    with state_change_atomic(account=account, type_names=TYPE_NAMES) as modseq:
        row.destroyed = True
        row.updated_modseq = modseq
        row.save(update_fields=["destroyed", "updated_modseq", "updated_at"])
