"""Busy periods of a principal from its events, for Principal/getAvailability
(draft-ietf-jmap-calendars-33 §2.2, "Principal/getAvailability").

The draft makes an event relevant when (besides the calendar-level rules —
subscribed, includeInAvailability, mayReadFreeBusy — which the caller applies
when it picks the events) it overlaps the window, its `freeBusyStatus` is
"busy" (the default, RFC 8984 §4.4.2), its `status` is not "cancelled"
(§4.4.1), and, for a calendar whose includeInAvailability is "attending", the
principal takes part with participationStatus "accepted" or "tentative".
Recurring events are expanded (jscalendar.recurrence) and each occurrence is
judged after its override is applied, since an override can cancel one
occurrence or mark it free.

Each BusyPeriod's busyStatus is "confirmed" when the event is confirmed and
the principal (if a participant) accepted, "tentative" when the event or the
principal's answer is tentative, and "unavailable" otherwise.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from jmapcore.calendars.jscalendar.recurrence import expansion

__all__ = ["BusyPeriod", "busy_periods", "event_patched"]

# Occurrences looked at per event: a getAvailability window is bounded by the capability's maxDateTime
# range, and a rule that would give more is cut (and the cut is reported by the expansion).
OCCURRENCES_PER_EVENT = 10_000


@dataclass(frozen=True)
class BusyPeriod:
    """One busy span: UTC start (inclusive) and end (exclusive), the draft's
    busyStatus, the event it comes from (its occurrence's override applied)
    and that occurrence's recurrence id (None for a non-recurring event)."""

    utc_start: datetime
    utc_end: datetime
    busy_status: str
    event: dict[str, Any]
    recurrence_id: str | None = None


def _unescape(segment: str) -> str:
    return segment.replace("~1", "/").replace("~0", "~")


def event_patched(event: dict[str, Any], patch: dict[str, Any] | None) -> dict[str, Any]:
    """`event` with an override `patch` applied (RFC 8984 §1.4.9 PatchObject: keys
    are JSON pointers relative to the event, null removes). Patches that cannot be
    applied (a path through a missing object) are skipped; the event is copied,
    never changed in place."""
    if not patch:
        return event
    result = copy.deepcopy(event)
    result.pop("recurrenceOverrides", None)
    for pointer, value in patch.items():
        if not isinstance(pointer, str) or not pointer:
            continue
        path = [_unescape(segment) for segment in pointer.lstrip("/").split("/")]
        target: Any = result
        for segment in path[:-1]:
            target = target.get(segment) if isinstance(target, dict) else None
            if target is None:
                break
        if not isinstance(target, dict):
            continue
        if value is None:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = copy.deepcopy(value)
    return result


def _address_key(value: str) -> str:
    text = value.strip().lower()
    return text[len("mailto:"):] if text.startswith("mailto:") else text


def _principal_participant(event: dict[str, Any], addresses: set[str]) -> dict[str, Any] | None:
    """The principal's Participant in `event` (matched by any of its addresses), or None."""
    participants = event.get("participants")
    if not isinstance(participants, dict) or not addresses:
        return None
    for participant in participants.values():
        if not isinstance(participant, dict):
            continue
        found: list[str] = []
        send_to = participant.get("sendTo")
        if isinstance(send_to, dict):
            found.extend(value for value in send_to.values() if isinstance(value, str))
        for key in ("calendarAddress", "email"):
            if isinstance(participant.get(key), str):
                found.append(participant[key])
        if any(_address_key(value) in addresses for value in found):
            return participant
    return None


def _busy_status(event: dict[str, Any], participant: dict[str, Any] | None) -> str:
    status = event.get("status", "confirmed")
    answer = participant.get("participationStatus", "needs-action") if participant is not None else None
    if status == "tentative" or answer == "tentative":
        return "tentative"
    if status == "confirmed" and (participant is None or answer == "accepted"):
        return "confirmed"
    return "unavailable"


def _relevant(event: dict[str, Any], participant: dict[str, Any] | None, *, attending_only: bool) -> bool:
    if event.get("freeBusyStatus", "busy") != "busy":
        return False
    if event.get("status") == "cancelled":
        return False
    if attending_only:
        return participant is not None and participant.get("participationStatus") in ("accepted", "tentative")
    return True


def busy_periods(events: Iterable[dict[str, Any]], *, after: datetime, before: datetime,
                 addresses: Iterable[str] = (), attending_only: bool = False,
                 floating_zone: tzinfo | None = None,
                 zones: dict[int, tzinfo] | None = None,
                 problems: list[str] | None = None) -> list[BusyPeriod]:
    """The busy periods `events` (JSCalendar Events, recurrenceOverrides
    included) give in the UTC window [after, before), ordered by start.

    `addresses`: the principal's calendar addresses (mailto: URIs or plain
    emails) that identify its Participant; `attending_only`: the calendar's
    includeInAvailability is "attending". `floating_zone` places floating and
    all-day events (the principal's time zone); `zones` maps id(event) to a
    tzinfo for events whose timeZone is a custom VTIMEZONE. Expansion problems
    are appended to `problems`.
    """
    wanted = {_address_key(address) for address in addresses if isinstance(address, str)}
    found: list[BusyPeriod] = []
    for event in events:
        if not isinstance(event, dict):
            continue
        result = expansion(event, after=after, before=before, limit=OCCURRENCES_PER_EVENT,
                           zone=(zones or {}).get(id(event)), floating_zone=floating_zone)
        if problems is not None:
            problems.extend(result.problems)
        recurring = bool(event.get("recurrenceRules") or event.get("recurrenceOverrides"))
        for occurrence in result.occurrences:
            instance = event_patched(event, occurrence.override)
            participant = _principal_participant(instance, wanted)
            if not _relevant(instance, participant, attending_only=attending_only):
                continue
            found.append(BusyPeriod(
                utc_start=occurrence.utc_start, utc_end=occurrence.utc_end,
                busy_status=_busy_status(instance, participant), event=instance,
                recurrence_id=occurrence.recurrence_id if recurring else None,
            ))
    found.sort(key=lambda period: (period.utc_start, period.utc_end))
    return found
