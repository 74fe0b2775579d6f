"""What destroying a Calendar does to its events in the cache
(draft-ietf-jmap-calendars-33 §4.3, onDestroyRemoveEvents).

A calendar object resource lives in exactly one collection, so deleting the
collection on the CalDAV server deletes its objects too. Every resource
counts, not only events: a VTODO or VJOURNAL kept in the same collection
(cached with its `component`, never served as an event) would be lost with
it, so it also stops a destroy without onDestroyRemoveEvents. The cache
follows in the same transaction as the calendar's tombstone, so
CalendarEvent/changes reports the events.
"""
from __future__ import annotations

from django.utils import timezone

from jmapcore.models.calendars import Calendar, CalendarEvent

__all__ = ["calendar_events_count", "calendar_events_remove"]


def calendar_events_count(*, calendar: Calendar) -> int:
    """How many live resources (events and other components) the cache holds in `calendar`."""
    return CalendarEvent.objects.filter(calendar=calendar, destroyed=False).count()


def calendar_events_remove(*, calendar: Calendar, modseq: int) -> int:
    """Inside the caller's state_change_atomic (types Calendar and
    CalendarEvent): every live resource of `calendar` becomes a tombstone at
    `modseq`. Returns how many."""
    return CalendarEvent.objects.filter(calendar=calendar, destroyed=False).update(
        destroyed=True, updated_modseq=modseq, updated_at=timezone.now()
    )
