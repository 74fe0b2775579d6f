"""The calendars cache (JMAP Calendars objects as cached from CalDAV; DESIGN.md "The cache and state").

- `Calendar`: one CalDAV calendar collection. JMAP properties plus what sync
  needs to resume: the collection's href, its sync-token (RFC 6578) or CTag,
  the server's privileges and the components it supports (RFC 4791 §5.2.3).
  isSubscribed, isVisible, sortOrder (when the server has no calendar-order),
  includeInAvailability and the default alerts are kept here: CalDAV has no
  such properties.
- `CalendarEvent`: one calendar object resource (one href) with its master
  component and overrides as a JSCalendar Event (RFC 8984), `event`, with
  `recurrenceOverrides` for its RECURRENCE-ID components. The raw iCalendar
  text and its ETag are kept, so that a write is a minimal change sent with
  If-Match. A resource whose main component is not a VEVENT (a VTODO or
  VJOURNAL in the same collection) is kept with its `component` and never
  served as an event, so nothing of it is lost. `utc_start`/`utc_end` bound
  every occurrence (utc_end NULL: recurs without end) for time-range queries;
  `search_*` are lower-cased texts for the CalendarEvent/query filters.
- `CalendarEventNotification`: a change to an event made by someone else (the
  JMAP Calendars specification's CalendarEventNotification), kept until the
  user destroys it.

The CalDAV server is the truth: rows are rebuilt from it by sync
(backends.caldav), and JMAP writes reach the server before they touch a row.
"""
from __future__ import annotations

from typing import ClassVar

from django.db import models

from jmapcore.datatypes.orm import JmapObject

__all__ = ["Calendar", "CalendarEvent", "CalendarEventNotification"]


class Calendar(JmapObject):
    """A CalDAV calendar as a JMAP Calendar."""

    jmap_type: ClassVar[str] = "Calendar"

    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    color = models.CharField(max_length=64, blank=True, default="", help_text="CSS color; '' = none")
    sort_order = models.PositiveIntegerField(default=0)
    is_default = models.BooleanField(default=False)
    is_subscribed = models.BooleanField(default=True)
    is_visible = models.BooleanField(default=True)
    # "all", "attending" or "none" (JMAP Calendars includeInAvailability).
    include_in_availability = models.CharField(max_length=16, default="all")
    default_alerts_with_time = models.JSONField(null=True, blank=True)
    default_alerts_without_time = models.JSONField(null=True, blank=True)
    time_zone = models.CharField(max_length=255, blank=True, default="", help_text="IANA id; '' = none")
    share_with = models.JSONField(default=dict, blank=True)

    # -- the CalDAV side -------------------------------------------------------
    dav_href = models.TextField(help_text="absolute URL of the collection on the CalDAV server")
    dav_sync_token = models.TextField(blank=True, default="", help_text="RFC 6578 sync-token of the last sync")
    dav_ctag = models.TextField(blank=True, default="", help_text="getctag (or ETag) at the last sync")
    dav_privileges = models.JSONField(default=list, blank=True)
    # supported-calendar-component-set, e.g. ["VEVENT", "VTODO"]; [] = not stated (all).
    dav_components = models.JSONField(default=list, blank=True)
    # The VTIMEZONE text of calendar-timezone, kept to write it back unchanged.
    dav_timezone = models.TextField(blank=True, default="")

    class Meta(JmapObject.Meta):
        indexes = [*JmapObject.Meta.indexes]

    def __str__(self) -> str:
        return self.name or self.dav_href


class CalendarEvent(JmapObject):
    """One calendar object resource on the server as a JSCalendar Event."""

    jmap_type: ClassVar[str] = "CalendarEvent"

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="events")
    uid = models.CharField(max_length=1024, blank=True, default="")
    # "VEVENT", or the main component of a resource that is not served as an event.
    component = models.CharField(max_length=16, default="VEVENT")
    # The JSCalendar Event (RFC 8984) as clients read it, without id/calendarIds.
    event = models.JSONField(default=dict)
    is_recurring = models.BooleanField(default=False)
    utc_start = models.DateTimeField(null=True, blank=True, help_text="start of the first occurrence")
    utc_end = models.DateTimeField(null=True, blank=True, help_text="end of the last occurrence; NULL = no end")
    created = models.DateTimeField(null=True, blank=True)
    updated = models.DateTimeField(null=True, blank=True)

    # -- the CalDAV side -------------------------------------------------------
    dav_href = models.TextField(help_text="absolute URL of the calendar object resource")
    dav_etag = models.TextField(blank=True, default="")
    ical = models.TextField(help_text="the iCalendar text as the server returned it")
    parse_problems = models.JSONField(default=list, blank=True)

    # -- query support: lower-cased, newline-separated values ------------------
    search_text = models.TextField(blank=True, default="")
    search_title = models.TextField(blank=True, default="")
    search_description = models.TextField(blank=True, default="")
    search_location = models.TextField(blank=True, default="")
    search_owner = models.TextField(blank=True, default="")
    search_attendee = models.TextField(blank=True, default="")

    class Meta(JmapObject.Meta):
        indexes = [
            *JmapObject.Meta.indexes,
            models.Index(fields=["account", "uid"], name="calendarevent_account_uid_idx"),
            models.Index(fields=["calendar", "dav_href"], name="calendarevent_cal_href_idx"),
            models.Index(fields=["account", "utc_start"], name="calevent_account_start_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.jmap_id} {self.uid}"


class CalendarEventNotification(JmapObject):
    """A change to an event made by another user or client."""

    jmap_type: ClassVar[str] = "CalendarEventNotification"

    created = models.DateTimeField()
    change_type = models.CharField(max_length=16, help_text="created, updated or destroyed")
    changed_by = models.JSONField(default=dict, blank=True, help_text="the Person who made the change")
    comment = models.TextField(blank=True, default="")
    calendar_event_id = models.CharField(max_length=255)
    is_draft = models.BooleanField(default=False)
    event = models.JSONField(default=dict, blank=True)
    event_patch = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.jmap_id} {self.change_type} {self.calendar_event_id}"
