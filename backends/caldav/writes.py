"""Writes to the CalDAV server (issue 11 item 4; RFC 4791 §5.3, RFC 4918, RFC 7232).

The server first: these services only talk to the server and return what it
confirmed (href, ETag); the JMAP layer (jmapcore.calendars.calendar_event_write,
methods/calendar.py) changes the cache afterwards or reports a SetError and
resyncs.

- caldav_event_put: create (If-None-Match: *, at <calendar>/<uid>.ics when the
  UID is a safe file name, else a random name; RFC 4791 §5.3.2) or replace
  (If-Match with the cached ETag). An answer without an ETag (the server may
  change what it stores, §5.3.4) is followed by a PROPFIND for it.
- caldav_event_delete: DELETE, If-Match when an ETag is given.
- caldav_event_move: MOVE with Overwrite: F and If-Match, after a PROPFIND
  comparing the ETag (Radicale and Xandikos ignore If-Match on MOVE); a server
  that cannot MOVE there gets PUT (If-None-Match) then DELETE (If-Match).
- caldav_calendar_create: MKCALENDAR (RFC 4791 §5.3.1) with displayname,
  calendar-description, Apple calendar-color, calendar-timezone and
  supported-calendar-component-set; privileges read back.
- caldav_calendar_update: PROPPATCH (displayname, calendar-description,
  calendar-color, calendar-order, calendar-timezone); every property has its
  own status in the 207 and any refusal raises (RFC 4918 §9.2.1: all or none).
- caldav_calendar_delete: DELETE of the collection.

Every href is checked to lie in one of the account's calendars (or its home)
before a request goes out: the account's credentials go with it. Refusals
raise DavRefused (412 → DavConflict); DELETE of something gone raises
DavRefused with status 404, which callers may treat as done.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import quote

from accounts.models import Account
from backends.caldav.calxml import cal_proppatch_body, calendar_props_xml, mkcalendar_body
from backends.caldav.discovery import caldav_locate, calendar_read
from backends.caldav.progress import caldav_progress
from backends.dav.client import DavClient, etag_normalise
from backends.dav.davxml import DAV, qname, status_code, xml_parse
from backends.dav.errors import DavRefused, dav_permanent
from backends.dav.hrefs import href_absolute, url_collection, url_inside, url_name, url_parent, url_path
from backends.dav.resources import DavPutResult, dav_created, dav_etag_fetch, dav_move_by_copy, dav_move_conflict
from jmapcore.models.calendars import Calendar

__all__ = [
    "DavCalendarResult", "DavPutResult", "caldav_calendar_create", "caldav_calendar_delete",
    "caldav_calendar_update", "caldav_event_delete", "caldav_event_move", "caldav_event_put",
]

ICAL_TYPE = "text/calendar; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_MOVE_UNSUPPORTED = frozenset({405, 501, 502})


@dataclass
class DavCalendarResult:
    href: str
    privileges: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)


def _ical_uid(text: str) -> str:
    from jmapcore.calendars.jscalendar import event_read

    return event_read(text).uid


def event_href_new(*, calendar: Calendar, uid: str) -> str:
    """<calendar>/<uid>.ics when the UID is a safe file name (what most clients do), else a random name."""
    name = uid.removeprefix("urn:uuid:")
    if not _SAFE_NAME.match(name):
        name = secrets.token_hex(16)
    return url_collection(calendar.dav_href) + quote(name) + ".ics"


def _calendar_check(account: Account, calendar: Calendar) -> None:
    if calendar.account_id != account.pk:
        raise ValueError("the calendar belongs to another account")


def _href_check(account: Account, href: str, *, calendar: Calendar | None = None) -> None:
    parent = url_parent(href)
    if calendar is not None:
        if url_collection(calendar.dav_href) != parent:
            raise ValueError("the object is not in this calendar")
        return
    if not Calendar.objects.filter(account=account, dav_href=parent).exists():
        raise ValueError("the object is not in a calendar of this account")


def caldav_event_put(*, account: Account, calendar: Calendar, ical_text: str, href: str | None = None,
                     etag: str | None = None) -> DavPutResult:
    """Create (href None) or replace the object at `href` (see the module docstring)."""
    _calendar_check(account, calendar)
    creating = href is None
    if href is not None:
        _href_check(account, href, calendar=calendar)
    target = event_href_new(calendar=calendar, uid=_ical_uid(ical_text)) if href is None else href
    headers = {"Content-Type": ICAL_TYPE}
    if creating:
        headers["If-None-Match"] = "*"
    elif etag:
        headers["If-Match"] = etag_normalise(etag)
    with DavClient.for_account(account) as client:
        answer = client.checked("PUT", target, ok=(200, 201, 204), body=ical_text, headers=headers)
        location = answer.headers.get("location")
        final = href_absolute(target, location) if creating and location and answer.status == 201 else target
        final = href_absolute(final, final)
        if url_parent(final) != url_collection(calendar.dav_href):
            final = href_absolute(target, target)
        return DavPutResult(href=final, etag=answer.etag or dav_etag_fetch(client, final))


def caldav_event_delete(*, account: Account, href: str, etag: str | None) -> None:
    """DELETE the object at `href` (If-Match: etag when given)."""
    _href_check(account, href)
    headers = {"If-Match": etag_normalise(etag)} if etag else {}
    with DavClient.for_account(account) as client:
        client.checked("DELETE", href, ok=(200, 204), headers=headers)


def caldav_event_move(*, account: Account, href: str, etag: str | None, calendar: Calendar) -> DavPutResult:
    """Move the object at `href` into `calendar` (see the module docstring)."""
    _calendar_check(account, calendar)
    _href_check(account, href)
    destination = url_collection(calendar.dav_href) + url_name(href)
    headers = {"Destination": destination, "Overwrite": "F"}
    if etag:
        headers["If-Match"] = etag_normalise(etag)
    with DavClient.for_account(account) as client:
        if etag and dav_etag_fetch(client, href) != etag_normalise(etag):
            raise dav_move_conflict(href, why="the object changed on the server")
        answer = client.request("MOVE", href, headers=headers)
        if answer.status in (201, 204):
            return DavPutResult(href=destination, etag=answer.etag or dav_etag_fetch(client, destination))
        if answer.status not in _MOVE_UNSUPPORTED:
            raise answer.refused(f"MOVE {url_path(href)}")
        return dav_move_by_copy(client, href=href, etag=etag, destination=destination, content_type=ICAL_TYPE)


def _home(client: DavClient, account: Account) -> str:
    homes = caldav_progress(account).get("homes")
    if isinstance(homes, list) and homes and caldav_progress(account).get("from") == account.caldav_url:
        return str(homes[0])
    return caldav_locate(client=client, account=account).homes[0]


def _home_check(account: Account, href: str) -> None:
    """`href` must lie in one of the account's calendar homes (known from discovery):
    the account's credentials go with the request."""
    homes = caldav_progress(account).get("homes")
    if isinstance(homes, list) and homes and not any(url_inside(href, str(home)) for home in homes):
        raise ValueError("the calendar is not in a calendar home of this account")


def _propstat_check(body: bytes, what: str) -> None:
    root = xml_parse(body, what=what)
    for status in root.iter(qname(DAV, "status")):
        code = status_code(status.text)
        if code is not None and code >= 400:
            raise DavRefused(f"{what}: a property was refused ({code})", status=code, reason=f"{what}: {code}")


def caldav_calendar_create(*, account: Account, name: str, description: str = "", color: str = "",
                           timezone_ical: str = "", components: tuple[str, ...] = ("VEVENT",)) -> DavCalendarResult:
    """MKCALENDAR in the account's calendar home (RFC 4791 §5.3.1)."""
    with DavClient.for_account(account) as client:
        home = _home(client, account)
        href = url_collection(home) + secrets.token_hex(12) + "/"
        props = calendar_props_xml(name=name, description=description or None, color=color or None,
                                   timezone_ical=timezone_ical or None, components=tuple(components) or None)
        answer = client.request("MKCALENDAR", href, body=mkcalendar_body(props_xml=props),
                                headers={"Content-Type": XML_TYPE})
        if answer.status != 201:
            raise answer.refused(f"MKCALENDAR {url_path(href)}")
        with dav_created(client, href):
            info = calendar_read(client=client, href=href)
            if info is None:
                raise dav_permanent(f"MKCALENDAR {url_path(href)}: the new collection is not a calendar")
            if (description and info.description != description) or (color and not info.color):
                # Some servers ignore a property of MKCALENDAR: set them again.
                _proppatch(client, href, calendar_props_xml(description=description or None, color=color or None))
            return DavCalendarResult(href=href, privileges=info.privileges, components=info.components)


def _proppatch(client: DavClient, href: str, props_xml: str) -> None:
    what = f"PROPPATCH {url_path(href)}"
    answer = client.checked("PROPPATCH", href, ok=(200, 207), headers={"Content-Type": XML_TYPE},
                            body=cal_proppatch_body(set_xml=props_xml))
    if answer.status == 207:
        _propstat_check(answer.body, what)


def caldav_calendar_update(*, account: Account, calendar: Calendar, name: str | None = None,
                           description: str | None = None, color: str | None = None, sort_order: int | None = None,
                           timezone_ical: str | None = None) -> None:
    """PROPPATCH the given properties (None leaves one as it is)."""
    # Also an unsaved Calendar naming a collection just made (Calendar/set's sortOrder
    # after MKCALENDAR): it must be the account's, and inside its calendar home.
    _calendar_check(account, calendar)
    _home_check(account, calendar.dav_href)
    props = calendar_props_xml(name=name, description=description, color=color, sort_order=sort_order,
                               timezone_ical=timezone_ical)
    if not props:
        return
    with DavClient.for_account(account) as client:
        _proppatch(client, calendar.dav_href, props)


def caldav_calendar_delete(*, account: Account, calendar: Calendar) -> None:
    """DELETE the calendar collection with everything in it (RFC 4918 §9.6.1)."""
    _calendar_check(account, calendar)
    with DavClient.for_account(account) as client:
        client.checked("DELETE", calendar.dav_href, ok=(200, 204))
