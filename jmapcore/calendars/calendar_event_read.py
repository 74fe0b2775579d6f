"""A cached CalendarEvent as JMAP JSON (draft-ietf-jmap-calendars-33 §5 "Calendar Events").

A CalendarEvent is a JSCalendar Event (RFC 8984 §5.1) read from one calendar
object resource, plus the properties JMAP adds: ``id``, ``calendarIds`` (a
resource lives in exactly one CalDAV collection, so one key), ``isDraft``,
``isOrigin``, ``mayInviteSelf``, ``mayInviteOthers``, ``hideAttendees``,
``useDefaultAlerts``, ``utcStart``/``utcEnd`` (only when asked for by name:
they are computed) and, for one occurrence of a recurring event,
``baseEventId``.

Occurrence ids. The draft lets a server give each occurrence of a recurring
event an id of its own (CalendarEvent/query with expandRecurrences), which
/get and /set must then accept. Here that id is the base event's id, "_" and
the occurrence's recurrence id (its LocalDateTime without "-" and ":"), e.g.
``eabc…_20261209T100000``. Base ids are lowercase base32 (jmap_id_new), so the
"_" is unambiguous and the id stays within RFC 8620 §1.2's characters; it is
stable for as long as the occurrence exists, whatever its overrides say.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jmapcore.calendars.jscalendar.recurrence import Occurrence, expansion
from jmapcore.datatypes.values import utc_date_dump
from jmapcore.models.calendars import CalendarEvent
from jmapcore.protocol.errors import MethodError, SetErrorException
from jmapcore.protocol.patch import pointer_split

# RFC 8984 §5.1 (Event) with §4 (common properties), and the Event-only ones.
JSCALENDAR_EVENT_PROPERTIES = frozenset(
    {
        "@type", "uid", "relatedTo", "prodId", "created", "updated", "sequence", "method", "title",
        "description", "descriptionContentType", "showWithoutTime", "locations", "virtualLocations", "links",
        "locale", "keywords", "categories", "color", "recurrenceId", "recurrenceIdTimeZone", "recurrenceRules",
        "excludedRecurrenceRules", "recurrenceOverrides", "excluded", "priority", "freeBusyStatus", "privacy",
        "replyTo", "sentBy", "participants", "requestStatus", "useDefaultAlerts", "alerts", "localizations",
        "timeZone", "timeZones", "start", "duration", "status", "iCalComponent", "iCalProps",
    }
)
# draft-ietf-jmap-calendars-33 §5: what JMAP adds to a JSCalendar Event.
JMAP_EVENT_PROPERTIES = frozenset(
    {
        "id", "baseEventId", "calendarIds", "isDraft", "isOrigin", "utcStart", "utcEnd", "mayInviteSelf",
        "mayInviteOthers", "hideAttendees", "blobId",
    }
)
# Computed: only returned when named in `properties`.
COMPUTED_PROPERTIES = frozenset({"utcStart", "utcEnd"})
# Properties of the recurring master that an occurrence does not carry (RFC 8984 §4.3).
_MASTER_ONLY = ("recurrenceRules", "excludedRecurrenceRules", "recurrenceOverrides")
_OCCURRENCE_ID = re.compile(r"^(e[a-z2-7]{1,64})_(\d{8}T\d{6})$")
# How far the wall clock of an occurrence can be from UTC, with room for a long event.
_ZONE_SLACK = timedelta(hours=30)
# The recurrence ids occurrence_find looks for: a window of _ZONE_SLACK fits around them.
_MIN_GUESS = datetime.min.replace(tzinfo=UTC) + 2 * _ZONE_SLACK
_MAX_GUESS = datetime.max.replace(tzinfo=UTC) - 2 * _ZONE_SLACK


def event_property_known(name: str) -> bool:
    """A property a CalendarEvent may have: JSCalendar's, JMAP's, or a vendor one ("x:y", RFC 8984 §3.3)."""
    return (
        name in JSCALENDAR_EVENT_PROPERTIES or name in JMAP_EVENT_PROPERTIES or (":" in name and len(name) <= 255)
    )


def event_properties_read(raw: object) -> list[str] | None:
    """The /get `properties` argument: null (every property but the computed
    ones) or known names; anything else is invalidArguments (RFC 8620 §5.1)."""
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        raise MethodError("invalidArguments", "properties must be null or a list of Strings")
    if len(raw) > 256:
        raise MethodError("invalidArguments", "properties: at most 256 names")
    unknown = sorted({name for name in raw if not event_property_known(name)})
    if unknown:
        raise MethodError("invalidArguments", "properties: unknown " + ", ".join(name[:64] for name in unknown[:10]))
    return list(dict.fromkeys(raw))


# -- occurrence ids -------------------------------------------------------------


def occurrence_id_make(base_id: str, recurrence_id: str) -> str:
    """The id of the occurrence `recurrence_id` (a LocalDateTime) of event `base_id`."""
    return f"{base_id}_{recurrence_id.replace('-', '').replace(':', '')}"


def occurrence_id_parse(value: str) -> tuple[str, str] | None:
    """(base id, recurrence id as LocalDateTime) of an occurrence id; None for any other id."""
    match = _OCCURRENCE_ID.match(value)
    if match is None:
        return None
    compact = match.group(2)
    local = f"{compact[0:4]}-{compact[4:6]}-{compact[6:8]}T{compact[9:11]}:{compact[11:13]}:{compact[13:15]}"
    try:
        datetime.fromisoformat(local)
    except ValueError:
        return None
    return match.group(1), local


# -- time zones ---------------------------------------------------------------


def zone_named(name: object) -> tzinfo | None:
    """The IANA zone `name`; None when it is not one (the event's own rules then apply)."""
    if not isinstance(name, str) or not name or len(name) > 255:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def time_zone_argument(args: dict[str, Any]) -> tzinfo:
    """The `timeZone` argument of /get and /query: where floating times are placed
    (draft §5.8/§5.10); UTC when not given. An unknown name is invalidArguments."""
    raw = args.get("timeZone")
    if raw is None:
        return UTC
    zone = zone_named(raw)
    if zone is None:
        raise MethodError("invalidArguments", "timeZone must be an IANA time zone name")
    return zone


# -- occurrences ----------------------------------------------------------------


def _local_guess(recurrence_id: str) -> datetime | None:
    try:
        return datetime.fromisoformat(recurrence_id).replace(tzinfo=UTC)
    except ValueError:
        return None


def occurrence_find(event: dict[str, Any], recurrence_id: str, *, floating_zone: tzinfo) -> Occurrence | None:
    """The occurrence of `event` whose recurrence id is `recurrence_id`, if the
    event has one (generated by its rules or added by an override, not excluded).

    Bounded work whatever the rules: an override is placed on its own (RFC 8984
    §4.3.5: every key of recurrenceOverrides is an occurrence unless excluded,
    wherever its patch moves it); any other recurrence id is looked for among
    the occurrences the rules give within a day and a bit of it."""
    if not event.get("recurrenceRules") and not event.get("recurrenceOverrides"):
        return None
    overrides = event.get("recurrenceOverrides")
    patch = overrides.get(recurrence_id) if isinstance(overrides, dict) else None
    if isinstance(patch, dict) and patch.get("excluded") is True:
        return None
    guess = _local_guess(recurrence_id)
    if guess is None or not _MIN_GUESS <= guess <= _MAX_GUESS:
        # Years 1 and 9999 (a client's id may say anything) have no room for the
        # window below: datetime would overflow. No event has occurrences there.
        return None
    if isinstance(patch, dict):
        alone = {key: value for key, value in event.items() if key not in _MASTER_ONLY}
        alone["recurrenceOverrides"] = {recurrence_id: patch}
        placed = expansion(alone, after=None, before=None, limit=3, floating_zone=floating_zone)
        return next((item for item in placed.occurrences if item.recurrence_id == recurrence_id), None)
    window = expansion(
        event, after=guess - _ZONE_SLACK, before=guess + _ZONE_SLACK, limit=1000, floating_zone=floating_zone
    )
    return next((item for item in window.occurrences if item.recurrence_id == recurrence_id), None)


def patch_object_apply(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A JSCalendar PatchObject (RFC 8984 §1.4.9) applied to a copy of `target`.

    Lenient, as for data read from a server: a path whose parent is missing is
    skipped rather than failing the whole occurrence."""
    result = copy.deepcopy(target)
    for path, value in patch.items():
        if not isinstance(path, str):
            continue
        try:
            tokens = pointer_split(path)
        except SetErrorException:  # a malformed path from the server's data: nothing to apply
            tokens = []
        if not tokens:
            continue
        parent: Any = result
        for token in tokens[:-1]:
            parent = parent.get(token) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        if value is None:
            parent.pop(tokens[-1], None)
        else:
            parent[tokens[-1]] = copy.deepcopy(value)
    return result


def occurrence_event(event: dict[str, Any], recurrence_id: str) -> dict[str, Any]:
    """The JSCalendar object of one occurrence: the master with its override
    applied, `recurrenceId` set and the master-only properties removed (RFC 8984 §4.3)."""
    overrides = event.get("recurrenceOverrides")
    patch = overrides.get(recurrence_id) if isinstance(overrides, dict) else None
    base = {name: value for name, value in event.items() if name not in _MASTER_ONLY}
    base["start"] = recurrence_id
    instance = patch_object_apply(base, patch) if isinstance(patch, dict) else base
    instance["recurrenceId"] = recurrence_id
    if event.get("timeZone"):
        instance["recurrenceIdTimeZone"] = event["timeZone"]
    instance.pop("excluded", None)
    return instance


# -- JSON -----------------------------------------------------------------------


@dataclass
class GetOptions:
    """The CalendarEvent/get arguments that shape each object (draft §5.8)."""

    properties: list[str] | None = None
    floating_zone: tzinfo = UTC
    overrides_before: datetime | None = None
    overrides_after: datetime | None = None
    reduce_participants: bool = False
    own_addresses: frozenset[str] = frozenset()


def _span(event: dict[str, Any], *, floating_zone: tzinfo) -> tuple[datetime | None, datetime | None]:
    """UTC start and end of this one object (the master's own time, not the whole series)."""
    single = {name: value for name, value in event.items() if name not in _MASTER_ONLY}
    found = expansion(single, after=None, before=None, limit=1, floating_zone=floating_zone)
    if not found.occurrences:
        return None, None
    return found.occurrences[0].utc_start, found.occurrences[0].utc_end


def _overrides_windowed(event: dict[str, Any], options: GetOptions) -> None:
    """recurrenceOverridesBefore/After (draft §5.8): keep the overrides whose
    recurrence id, in UTC, is before / on or after the given UTCDate."""
    overrides = event.get("recurrenceOverrides")
    if not isinstance(overrides, dict) or (options.overrides_before is None and options.overrides_after is None):
        return
    zone = zone_named(event.get("timeZone")) or options.floating_zone
    kept: dict[str, Any] = {}
    for key, patch in overrides.items():
        try:
            moment = datetime.fromisoformat(key).replace(tzinfo=zone).astimezone(UTC)
        except (ValueError, OverflowError):
            kept[key] = patch
            continue
        if options.overrides_before is not None and moment >= options.overrides_before:
            continue
        if options.overrides_after is not None and moment < options.overrides_after:
            continue
        kept[key] = patch
    event["recurrenceOverrides"] = kept


def _address(value: object) -> str:
    text = value if isinstance(value, str) else ""
    return (text[7:] if text.lower().startswith("mailto:") else text).casefold()


def _participants_reduced(event: dict[str, Any], own: frozenset[str]) -> None:
    """reduceParticipants (draft §5.8): only owners and the user themself."""
    participants = event.get("participants")
    if not isinstance(participants, dict):
        return
    kept: dict[str, Any] = {}
    for key, participant in participants.items():
        if not isinstance(participant, dict):
            continue
        roles_raw, send_to_raw = participant.get("roles"), participant.get("sendTo")
        roles: dict[str, Any] = roles_raw if isinstance(roles_raw, dict) else {}
        send_to: dict[str, Any] = send_to_raw if isinstance(send_to_raw, dict) else {}
        addresses = {_address(participant.get("email"))} | {_address(value) for value in send_to.values()}
        if roles.get("owner") or (addresses & own):
            kept[key] = participant
    event["participants"] = kept


def _is_origin(event: dict[str, Any], own: frozenset[str]) -> bool:
    """isOrigin (draft §5): this calendar is the event's source, not a copy from an
    invitation: the event is not scheduled (no replyTo, RFC 8984 §4.4.4) or the
    user is its organiser (a replyTo address is one of the user's)."""
    reply_to = event.get("replyTo")
    if not isinstance(reply_to, dict) or not reply_to:
        return True
    return any(_address(value) in own for value in reply_to.values())


def event_json(
    row: CalendarEvent, options: GetOptions, *, recurrence_id: str | None = None,
    occurrence: Occurrence | None = None,
) -> dict[str, Any]:
    """The CalendarEvent as JMAP returns it; with `recurrence_id`, the one
    occurrence (id = occurrence id, baseEventId = the row's id).

    `row.calendar` should be loaded with the row (select_related). A JSCalendar
    property the event does not have is left out, not null (RFC 8984 §1.3: an
    absent property has its default value).
    """
    stored: dict[str, Any] = row.event if isinstance(row.event, dict) else {}
    if recurrence_id is not None:
        source = occurrence_event(stored, recurrence_id)
        object_id = occurrence_id_make(row.jmap_id, recurrence_id)
    else:
        source = copy.deepcopy(stored) if (options.overrides_before or options.overrides_after
                                             or options.reduce_participants) else stored
        object_id = row.jmap_id
    if recurrence_id is None:
        _overrides_windowed(source, options)
    if options.reduce_participants:
        _participants_reduced(source, options.own_addresses)
    jmap_values: dict[str, Any] = {
        "calendarIds": {row.calendar.jmap_id: True},
        "isDraft": False,
        "isOrigin": _is_origin(stored, options.own_addresses),
        "mayInviteSelf": False,
        "mayInviteOthers": False,
        "hideAttendees": False,
    }
    if recurrence_id is not None:
        jmap_values["baseEventId"] = row.jmap_id
    wanted: Collection[str] = options.properties if options.properties is not None else (
        list(source.keys()) + [name for name in jmap_values if name not in source]
    )
    result: dict[str, Any] = {"id": object_id}
    computed: tuple[datetime | None, datetime | None] | None = None
    for name in wanted:
        if name == "id":
            continue
        if name in COMPUTED_PROPERTIES:
            if computed is None:
                if occurrence is not None:
                    computed = (occurrence.utc_start, occurrence.utc_end)
                else:
                    computed = _span(source, floating_zone=options.floating_zone)
            result[name] = utc_date_dump(computed[0] if name == "utcStart" else computed[1])
        elif name in jmap_values:
            result[name] = jmap_values[name]
        elif name in source:
            result[name] = source[name]
    return result
