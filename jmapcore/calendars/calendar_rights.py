"""myRights of a Calendar (draft-ietf-jmap-calendars-33 §4, CalendarRights)
from the CalDAV server's privileges (RFC 3744 §3 and §5.4
current-user-privilege-set; RFC 4791 §6.1.1 CALDAV:read-free-busy).

CalDAV has no JMAP rights of its own, so each right is read from the WebDAV
privilege that governs the same operation on the server:

- mayReadFreeBusy: CALDAV:read-free-busy, which DAV:read contains (RFC 4791
  §6.1.1);
- mayReadItems: DAV:read on the collection;
- mayWriteAll, mayWriteOwn, mayUpdatePrivate, mayRSVP: DAV:write-content,
  DAV:bind and DAV:unbind on the collection. CalDAV does not tell whose event
  an object is, nor keep per-user data apart from the shared object, so each
  of these is exactly "may change the objects of this collection";
- mayShare: false. Radicale and Xandikos offer no WebDAV sharing, so a
  shareWith change has nowhere to go;
- mayDelete: DAV:unbind on the parent (the calendar home), as for address
  books (jmapcore.contacts.address_book_rights, whose aggregate rules are
  reused here: DAV:all and DAV:write, RFC 3744 §3.12 and §3.2).

A read-only proxy account never has a write right.
"""
from __future__ import annotations

from accounts.models import Account
from jmapcore.contacts.address_book_rights import PARENT_UNBIND, privileges_grant
from jmapcore.models.calendars import Calendar

__all__ = ["CALENDAR_RIGHTS", "calendar_may_change_properties", "calendar_rights"]

CALENDAR_RIGHTS = (
    "mayReadFreeBusy", "mayReadItems", "mayWriteAll", "mayWriteOwn", "mayUpdatePrivate", "mayRSVP", "mayShare",
    "mayDelete",
)  # fmt: skip


def _own(calendar: Calendar) -> list[str]:
    return [str(name) for name in (calendar.dav_privileges or []) if not str(name).startswith("parent:")]


def calendar_rights(*, calendar: Calendar, account: Account) -> dict[str, bool]:
    """The CalendarRights of `account`'s user on `calendar` (draft-33 §4)."""
    privileges = [str(name) for name in (calendar.dav_privileges or [])]
    own = _own(calendar)
    writable = not account.is_read_only
    may_read = privileges_grant(own, "read")
    may_write = writable and all(privileges_grant(own, name) for name in ("write-content", "bind", "unbind"))
    if any(name.startswith("parent:") for name in privileges):
        may_delete = PARENT_UNBIND in privileges
    else:
        may_delete = privileges_grant(own, "unbind")
    return {
        "mayReadFreeBusy": may_read or "read-free-busy" in own,
        "mayReadItems": may_read,
        "mayWriteAll": may_write,
        "mayWriteOwn": may_write,
        "mayUpdatePrivate": may_write,
        "mayRSVP": may_write,
        "mayShare": False,
        "mayDelete": writable and may_delete,
    }


def calendar_may_change_properties(*, calendar: Calendar, account: Account) -> bool:
    """Whether a PROPPATCH of the collection's properties (name, description,
    color, order) can be allowed: DAV:write-properties (RFC 3744 §3.3)."""
    return not account.is_read_only and privileges_grant(_own(calendar), "write-properties")
