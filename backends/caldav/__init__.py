"""The CalDAV backend (RFC 4791 over WebDAV, RFC 4918): discovery, sync into the
calendars cache (jmapcore.models.calendars), writes and free/busy (issue 11).

The services are importable from here (`from backends.caldav import
caldav_event_put`); they load on first use, so importing this package does not
import Django models before the app registry is ready.

- discovery.py: RFC 6764 / RFC 5397 / RFC 4791 §6.2.1 / RFC 6638 discovery,
  every calendar's properties
- sync.py: caldav_account_sync, caldav_calendar_sync (sync-collection, else
  CTag/ETag; calendar-multiget; notifications for changes made by others)
- writes.py: caldav_event_put/delete/move, caldav_calendar_create/update/delete
- freebusy.py: caldav_free_busy (RFC 4791 §7.10 where offered, else None)
- calxml.py (CalDAV request bodies), progress.py, part.py (the "caldav" sync part)

Plain WebDAV on the shared DAV client rather than the `caldav` library (which
the tests use as "another CalDAV client"): the shared client (today
backends.dav.client, davxml, hrefs, errors; generic WebDAV) caps answer
sizes, follows no redirect or href to another host with the credentials and
classifies failures as transient or permanent BackendErrors for the sync
machinery; the library does none of that.

Differences between the servers the tests run (Radicale, Xandikos): the same
href forms as for CardDAV (hrefs.href_absolute); calendars sit in the
principal (Radicale) or in a calendars/ home (Xandikos): discovery follows
calendar-home-set; both list free-busy-query in supported-report-set (a
server that does not gets None from caldav_free_busy); neither is asked to expand recurrences (the
proxy never relies on server-side expansion: jscalendar.recurrence expands);
both ignore If-Match on MOVE (writes compares the ETag first).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backends.caldav.freebusy import DavBusyPeriod, caldav_free_busy
    from backends.caldav.sync import caldav_account_sync, caldav_calendar_sync
    from backends.caldav.writes import (
        DavCalendarResult,
        DavPutResult,
        caldav_calendar_create,
        caldav_calendar_delete,
        caldav_calendar_update,
        caldav_event_delete,
        caldav_event_move,
        caldav_event_put,
    )
    from backends.dav.errors import DavConflict, DavRefused

_EXPORTS = {
    "caldav_account_sync": "backends.caldav.sync",
    "caldav_calendar_sync": "backends.caldav.sync",
    "caldav_event_put": "backends.caldav.writes",
    "caldav_event_delete": "backends.caldav.writes",
    "caldav_event_move": "backends.caldav.writes",
    "caldav_calendar_create": "backends.caldav.writes",
    "caldav_calendar_update": "backends.caldav.writes",
    "caldav_calendar_delete": "backends.caldav.writes",
    "DavPutResult": "backends.caldav.writes",
    "DavCalendarResult": "backends.caldav.writes",
    "caldav_free_busy": "backends.caldav.freebusy",
    "DavBusyPeriod": "backends.caldav.freebusy",
    "DavRefused": "backends.dav.errors",
    "DavConflict": "backends.dav.errors",
}

__all__ = [
    "DavBusyPeriod", "DavCalendarResult", "DavConflict", "DavPutResult", "DavRefused", "caldav_account_sync",
    "caldav_calendar_create", "caldav_calendar_delete", "caldav_calendar_sync", "caldav_calendar_update",
    "caldav_event_delete", "caldav_event_move", "caldav_event_put", "caldav_free_busy",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
