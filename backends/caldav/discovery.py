"""Finding an account's calendars (RFC 6764, RFC 5397, RFC 4791 §6.2.1, §5.2, RFC 6638 §2).

caldav_locate() starts from the account's caldav_url or, when that is empty,
from https://<imap host>/.well-known/caldav (RFC 6764 §5):

1. PROPFIND Depth 0 for current-user-principal (RFC 5397) and
   calendar-home-set (RFC 4791 §6.2.1), following redirects of the start URL
   on the same host only (the account's credentials never go elsewhere); a
   start URL without a principal is retried at its origin's /.well-known/caldav;
2. the principal's calendar-home-set (and the RFC 6638 schedule-inbox-URL /
   schedule-outbox-URL where offered) when the start URL did not name them;
   a home set on another host is accepted over https only;
3. calendars_list(): PROPFIND Depth 1 on every home set. Each child whose
   resourcetype holds CALDAV:calendar is a calendar with displayname,
   calendar-description, Apple calendar-color and calendar-order,
   calendar-timezone (a VTIMEZONE), supported-calendar-component-set,
   current-user-privilege-set (aggregates expanded, RFC 3744 §3.12), getctag,
   sync-token, and whether sync-collection (RFC 6578) is a supported report.
   Hrefs outside the home set are ignored.

Plain WebDAV through the shared client (backends.dav.client.DavClient),
not the `caldav` library: the library follows redirects and hrefs to any host
with the credentials, has no response-size cap and reports failures as its
own exceptions, while the shared client gives the sync the same bounded,
classified (transient/permanent) failures as CardDAV.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from accounts.models import Account
from backends.caldav.calxml import APPLE, CALDAV, cal_propfind_body
from backends.carddav.discovery import privileges_expand
from backends.dav.client import DavClient
from backends.dav.davxml import CALSERVER, DAV, DavResponse, Multistatus, multistatus_parse, qname
from backends.dav.errors import DavRefused, dav_permanent
from backends.dav.hrefs import (
    href_absolute,
    url_collection,
    url_credentials_allowed,
    url_inside,
    url_name,
    url_normalise,
    url_same_origin,
)

WELL_KNOWN = "/.well-known/caldav"
MAX_REDIRECTS = 3
XML_TYPE = "application/xml; charset=utf-8"

PRINCIPAL_PROPS = [
    (DAV, "current-user-principal"), (CALDAV, "calendar-home-set"), (DAV, "resourcetype"),
    (CALDAV, "schedule-inbox-URL"), (CALDAV, "schedule-outbox-URL"),
]
CALENDAR_PROPS = [
    (DAV, "resourcetype"), (DAV, "displayname"), (CALDAV, "calendar-description"), (APPLE, "calendar-color"),
    (APPLE, "calendar-order"), (CALDAV, "calendar-timezone"), (CALDAV, "supported-calendar-component-set"),
    (DAV, "current-user-privilege-set"), (CALSERVER, "getctag"), (DAV, "sync-token"),
    (DAV, "supported-report-set"),
]


@dataclass
class CalendarInfo:
    """One calendar collection as the server describes it."""

    href: str
    name: str
    description: str = ""
    color: str = ""
    sort_order: int | None = None
    timezone_ical: str = ""
    # supported-calendar-component-set; [] when the server does not say (RFC 4791 §5.2.3: any).
    components: list[str] = field(default_factory=list)
    privileges: list[str] = field(default_factory=list)
    ctag: str = ""
    sync_token: str = ""
    sync_collection: bool = False
    free_busy_query: bool = False


@dataclass
class Location:
    url: str
    principal: str
    homes: list[str]
    inbox: str = ""
    outbox: str = ""


def is_calendar(response: DavResponse) -> bool:
    return qname(CALDAV, "calendar") in response.children(qname(DAV, "resourcetype"))


def _order(text: str) -> int | None:
    try:
        value = int(float(text.strip()))
    except ValueError:
        return None
    return value if 0 <= value < 2**31 else None


def calendar_info(response: DavResponse) -> CalendarInfo:
    privileges = [child.tag.rsplit("}", 1)[-1]
                  for element in response.props.get(qname(DAV, "current-user-privilege-set"), [])
                  for child in element if isinstance(child.tag, str)]
    reports = response.props.get(qname(DAV, "supported-report-set"))
    report_names = {element.tag for element in reports.iter() if isinstance(element.tag, str)} if reports is not None \
        else set()
    components_element = response.props.get(qname(CALDAV, "supported-calendar-component-set"))
    components = [str(child.get("name", "")).upper() for child in components_element
                  if isinstance(child.tag, str) and child.get("name")] if components_element is not None else []
    return CalendarInfo(
        href=url_collection(response.href),
        name=response.text(qname(DAV, "displayname")) or unquote(url_name(response.href)),
        description=response.text(qname(CALDAV, "calendar-description")),
        color=response.text(qname(APPLE, "calendar-color")),
        sort_order=_order(response.text(qname(APPLE, "calendar-order"))),
        timezone_ical=response.text(qname(CALDAV, "calendar-timezone")),
        components=components,
        privileges=privileges_expand(privileges),
        ctag=response.text(qname(CALSERVER, "getctag")),
        sync_token=response.text(qname(DAV, "sync-token")),
        sync_collection=qname(DAV, "sync-collection") in report_names,
        free_busy_query=qname(CALDAV, "free-busy-query") in report_names,
    )


def discovery_start_url(account: Account) -> str:
    """The configured URL, else the well-known URL on the account's host."""
    if account.caldav_url:
        return url_normalise(account.caldav_url)
    host = account.imap_host or account.email.rpartition("@")[2]
    return f"https://{host}{WELL_KNOWN}" if host else ""


def _propfind_following(client: DavClient, url: str) -> tuple[str, Multistatus | None]:
    for _ in range(MAX_REDIRECTS + 1):
        answer = client.request("PROPFIND", url, body=cal_propfind_body(PRINCIPAL_PROPS),
                                headers={"Depth": "0", "Content-Type": XML_TYPE})
        if answer.status in (301, 302, 303, 307, 308) and answer.headers.get("location"):
            target = href_absolute(url, answer.headers["location"])
            if not url_same_origin(target, url):
                raise dav_permanent(f"{urlsplit(url).path}: redirected to another host ({urlsplit(target).netloc}), "
                                    "not followed; set caldavURL")
            url = target
            continue
        if answer.status == 207:
            return url, multistatus_parse(answer.body, base=url, what=f"PROPFIND {urlsplit(url).path}")
        if answer.status in (401, 403) or answer.status >= 500:
            raise answer.refused(f"PROPFIND {urlsplit(url).path}")
        return url, None
    raise dav_permanent(f"{urlsplit(url).path}: too many redirects")


def _self(multistatus: Multistatus, url: str) -> DavResponse | None:
    wanted = url_collection(url)
    for response in multistatus.responses:
        if url_collection(response.href) == wanted and response.found:
            return response
    only = multistatus.responses
    return only[0] if len(only) == 1 and only[0].found else None


def caldav_locate(*, client: DavClient, account: Account) -> Location:
    """Steps 1-2 of the module docstring."""
    start = discovery_start_url(account)
    if not start:
        raise dav_permanent("no CalDAV URL and no host to discover one on")
    url, found = _propfind_following(client, start)
    me = _self(found, url) if found is not None else None
    if (me is None or qname(DAV, "current-user-principal") not in me.props) and not url.endswith(WELL_KNOWN):
        parts = urlsplit(url)
        known, again = _propfind_following(client, f"{parts.scheme}://{parts.netloc}{WELL_KNOWN}")
        candidate = _self(again, known) if again is not None else None
        if candidate is not None and (qname(DAV, "current-user-principal") in candidate.props
                                      or qname(CALDAV, "calendar-home-set") in candidate.props):
            url, me = known, candidate
    if me is None:
        raise dav_permanent(f"no CalDAV service found at {urlsplit(start).netloc}{urlsplit(start).path}")
    if is_calendar(me):
        return Location(url=url, principal=url, homes=[url_collection(url)])
    homes = me.hrefs(qname(CALDAV, "calendar-home-set"), base=url)
    principal = (me.hrefs(qname(DAV, "current-user-principal"), base=url) or [url])[0]
    if not url_credentials_allowed(principal, start=url):
        raise dav_permanent(f"the current-user-principal is on another host without TLS ({urlsplit(principal).netloc})")
    owner: DavResponse | None = me
    if not homes or url_collection(principal) != url_collection(url):
        answer = client.checked("PROPFIND", principal, ok=(207,), body=cal_propfind_body(PRINCIPAL_PROPS),
                                headers={"Depth": "0", "Content-Type": XML_TYPE})
        owner = _self(multistatus_parse(answer.body, base=principal, what="PROPFIND principal"), principal)
        if owner is not None:
            homes = owner.hrefs(qname(CALDAV, "calendar-home-set"), base=principal) or homes
    if not homes:
        raise dav_permanent(f"{urlsplit(principal).path}: the principal names no calendar-home-set")
    for home in homes:
        if not url_credentials_allowed(home, start=url):
            raise dav_permanent(f"the calendar-home-set is on another host without TLS ({urlsplit(home).netloc})")
    inbox = outbox = ""
    if owner is not None:
        inbox = next(iter(owner.hrefs(qname(CALDAV, "schedule-inbox-URL"), base=principal)), "")
        outbox = next(iter(owner.hrefs(qname(CALDAV, "schedule-outbox-URL"), base=principal)), "")
    return Location(url=url, principal=principal, homes=[url_collection(home) for home in homes],
                    inbox=inbox if url_same_origin(inbox, principal) else "",
                    outbox=outbox if url_same_origin(outbox, principal) else "")


def calendars_list(*, client: DavClient, homes: list[str]) -> list[CalendarInfo]:
    """Every calendar in `homes` (step 3), one PROPFIND per home; a 404 home raises DavRefused."""
    calendars: dict[str, CalendarInfo] = {}
    for home in homes:
        answer = client.checked("PROPFIND", home, ok=(207,), body=cal_propfind_body(CALENDAR_PROPS),
                                headers={"Depth": "1", "Content-Type": XML_TYPE})
        listing = multistatus_parse(answer.body, base=home, what=f"PROPFIND {urlsplit(home).path}")
        for response in listing.responses:
            # Only the home and what is inside it: the credentials go wherever an href points.
            if not url_inside(response.href, home):
                continue
            if response.found and is_calendar(response):
                info = calendar_info(response)
                calendars.setdefault(info.href, info)
        if not any(response.found for response in listing.responses):
            raise DavRefused(f"PROPFIND {urlsplit(home).path}: empty answer", status=404)
    return sorted(calendars.values(), key=lambda item: item.href)


def calendar_read(*, client: DavClient, href: str) -> CalendarInfo | None:
    """One calendar's properties (PROPFIND Depth 0); None when it is gone (404/410)."""
    answer = client.request("PROPFIND", href, body=cal_propfind_body(CALENDAR_PROPS),
                            headers={"Depth": "0", "Content-Type": XML_TYPE})
    if answer.status in (404, 410):
        return None
    if answer.status != 207:
        raise answer.refused(f"PROPFIND {urlsplit(href).path}")
    listing = multistatus_parse(answer.body, base=href, what=f"PROPFIND {urlsplit(href).path}")
    for response in listing.responses:
        if url_collection(response.href) == url_collection(href) and response.found and is_calendar(response):
            info = calendar_info(response)
            info.href = url_collection(href)
            return info
    return None
