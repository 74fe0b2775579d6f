"""Bringing an account's calendars cache up to date with its CalDAV server
(issue 11 item 1; the same steps as backends.carddav.sync, DESIGN.md "Sync").

caldav_account_sync():

1. The calendars: the home sets found by discovery are kept in
   account.sync_progress["caldav"] ("principal", "homes", "url" when found
   from the host), so a later sync starts with one PROPFIND Depth 1 per home
   set listing every calendar with its sync-token and CTag. A home set that is
   gone (403/404/410) means discovery runs again.
2. A calendar whose sync-token (else CTag) equals the stored one costs nothing
   more: a sync that finds nothing new is one request per home set.
3. A changed calendar: sync-collection (RFC 6578) from the stored token where
   offered (a refused token means a full listing), else PROPFIND Depth 1
   getetag compared with the cached ETags; resources whose ETag equals the
   cached one are not fetched (a write by this proxy is already cached).
4. The cache, each step in state_change_atomic (a push StateChange follows
   the commit): calendars first (new ones get a "k" id; exactly one stays
   default: jmapcore.calendars.calendar_default); then the changed objects,
   fetched with calendar-multiget (RFC 4791 §7.9) MULTIGET_BATCH at a time and
   read by jmapcore.calendars.jscalendar (event_read; a resource whose main
   component is a VTODO or VJOURNAL gets a row with its component and no
   event, so nothing is lost); matched by href, else by UID among the
   resources whose href vanished in this sync (a move by another client keeps
   the id); then removals become tombstones; then the calendar's new token.
   Recurrences are never expanded by the server (Radicale does not): the rows
   hold the whole object and jscalendar.recurrence expands.
5. Notifications: a change this sync finds was not made by this proxy (a JMAP
   write stores the server's new ETag with the row, so the sync sees nothing
   to fetch). Each created, changed or removed VEVENT of a calendar synced
   before gets a CalendarEventNotification ("n" id; created with the event,
   updated with a top-level PatchObject, destroyed with the event as it was)
   in the same transaction as the row (draft-ietf-jmap-calendars-33 §7).
   A calendar's first sync creates none (nothing was seen before it).

Broken iCalendar never stops a sync: the object is cached with what could be
read and listed in sync_progress["caldav"]["parseProblems"] (href, problems;
at most PARSE_PROBLEMS_KEPT) with "parseProblemCount".

caldav_calendar_sync() does steps 2-5 for one calendar (after a 412, or
before counting its events); a calendar that answers 404 becomes a tombstone
with its events.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from accounts.models import Account
from backends.caldav.calxml import CALDAV, cal_sync_collection_body, calendar_multiget_body
from backends.caldav.discovery import CalendarInfo, caldav_locate, calendar_read, calendars_list
from backends.caldav.progress import caldav_progress, caldav_progress_update
from backends.dav.client import DavClient, etag_normalise
from backends.dav.davxml import DAV, qname
from backends.dav.errors import DavRefused, DavTooLarge, dav_permanent, dav_transient
from backends.dav.hrefs import url_collection, url_member, url_path
from jmapcore.datatypes.orm import jmap_id_new
from jmapcore.models.calendars import Calendar, CalendarEvent, CalendarEventNotification
from jmapcore.state import state_change_atomic

log = logging.getLogger("jmap.sync.caldav")

MULTIGET_BATCH = 100
APPLY_BATCH = 500
SYNC_COLLECTION_ROUNDS = 100
PARSE_PROBLEMS_KEPT = 50

CALENDAR_TYPE = "Calendar"
EVENT_TYPE = "CalendarEvent"
NOTIFICATION_TYPE = "CalendarEventNotification"
# JMAP members never stored in CalendarEvent.event (jmapcore.calendars.calendar_event_write).
_JMAP_ONLY = ("id", "calendarIds")


@dataclass
class FetchedObject:
    href: str
    etag: str
    text: str


@dataclass
class CalendarWork:
    row: Calendar
    info: CalendarInfo
    wanted: list[str] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)
    cached: set[str] = field(default_factory=set)
    listed_at: int = 0
    sync_token: str = ""
    ctag: str = ""
    # Whether changes found are news to the user (the calendar was synced before).
    notify: bool = False


# -- converting ----------------------------------------------------------------

def event_columns(*, text: str, href: str, etag: str) -> dict[str, Any]:
    """The cache columns of the calendar object `text` (never raises on bad input)."""
    from jmapcore.calendars.jscalendar import event_read, event_search_fields

    reading = event_read(text)
    event = {key: value for key, value in (reading.event or {}).items() if key not in _JMAP_ONLY}
    problems = list(reading.problems)
    search: dict[str, Any] = {"uid": reading.uid[:1024]}
    if reading.event is not None:
        try:
            search = event_search_fields(event)
        except Exception as exc:  # a sync must never stop on one object
            problems.append(f"the event's dates could not be indexed ({type(exc).__name__})")
            search = {"uid": reading.uid[:1024]}
    search["uid"] = str(search.get("uid") or reading.uid)[:1024]
    return {"event": event, "component": (reading.component or "VEVENT")[:16], "ical": text, "dav_href": href,
            "dav_etag": etag, "parse_problems": problems, **search}


def timezone_iana(vtimezone_text: str) -> str:
    """The IANA id of a calendar-timezone property (RFC 4791 §5.2.2): '' when unknown."""
    if not vtimezone_text.strip():
        return ""
    try:
        from jmapcore.calendars.jscalendar.ical_syntax import ical_parse
        from jmapcore.calendars.jscalendar.timezones import tz_iana_name

        parsed = ical_parse(vtimezone_text)
        root = parsed.root
        if root is None:
            return ""
        zones = [root] if root.name == "VTIMEZONE" else [item for item in root.components if item.name == "VTIMEZONE"]
        tzids = {}
        for zone in zones:
            tzid = zone.first("TZID")
            if tzid is not None and tzid.value:
                tzids[tzid.value] = zone
        for name in tzids:
            found = tz_iana_name(name, vtimezones=tzids)
            if found:
                return found[:255]
    except Exception as exc:  # a bad property never stops a sync
        log.info("calendar-timezone not readable: %s", type(exc).__name__)
    return ""


def _event_patch(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """A top-level PatchObject (RFC 8620 §5.3) turning `before` into `after`."""
    patch: dict[str, Any] = {key: value for key, value in after.items() if before.get(key) != value}
    patch.update({key: None for key in before if key not in after})
    return patch


def _notify(*, account: Account, modseq: int, kind: str, event_id: str, event: dict[str, Any],
            patch: dict[str, Any] | None = None) -> None:
    CalendarEventNotification.objects.create(
        account=account, jmap_id=jmap_id_new("n"), created_modseq=modseq, updated_modseq=modseq,
        created=datetime.now(UTC), change_type=kind,
        # CalDAV does not say who changed an object; the Person is left unnamed.
        changed_by={"name": "", "email": None, "principalId": None, "calendarAddress": None},
        calendar_event_id=event_id, event=event,
        event_patch=patch or {},
    )


# -- the server side -------------------------------------------------------------

def _cached_etags(calendar: Calendar) -> dict[str, str]:
    if calendar.pk is None:
        return {}
    return dict(CalendarEvent.objects.filter(calendar=calendar, destroyed=False).values_list("dav_href", "dav_etag"))


def _sync_collection(client: DavClient, info: CalendarInfo, token: str) -> tuple[dict[str, str], set[str], str, bool]:
    """(href -> etag changed, hrefs removed, new token, full listing?) by RFC 6578."""
    changed: dict[str, str] = {}
    removed: set[str] = set()
    full = not token
    for _ in range(SYNC_COLLECTION_ROUNDS):
        try:
            answer = client.report(info.href, body=cal_sync_collection_body(token=token))
        except DavRefused as refused:
            if token and (refused.precondition == "valid-sync-token" or refused.status in (403, 409)):
                log.info("sync-token of %s refused (%s); full resync", url_path(info.href), refused.status)
                token, full = "", True
                changed.clear()
                removed.clear()
                continue
            raise
        truncated = False
        for response in answer.responses:
            if url_collection(response.href) == info.href:
                truncated = truncated or response.status == 507
                continue
            if not url_member(response.href, info.href):
                continue
            if response.found:
                changed[response.href] = etag_normalise(response.text(qname(DAV, "getetag")))
                removed.discard(response.href)
            else:
                removed.add(response.href)
                changed.pop(response.href, None)
        if not answer.sync_token:
            raise dav_permanent(f"REPORT {url_path(info.href)}: sync-collection answer without a sync-token")
        token = answer.sync_token
        if not truncated:
            return changed, removed, token, full
    raise dav_permanent(f"REPORT {url_path(info.href)}: sync-collection still truncated after "
                        f"{SYNC_COLLECTION_ROUNDS} rounds")


def _etag_listing(client: DavClient, info: CalendarInfo) -> dict[str, str]:
    listing = client.propfind(info.href, depth="1", props=[(DAV, "getetag"), (DAV, "resourcetype")])
    return {response.href: etag_normalise(response.text(qname(DAV, "getetag")))
            for response in listing.responses
            if response.found and url_member(response.href, info.href)
            and qname(DAV, "collection") not in response.children(qname(DAV, "resourcetype"))}


def objects_multiget(client: DavClient, *, calendar_href: str,
                     hrefs: list[str]) -> tuple[list[FetchedObject], set[str]]:
    """The objects at `hrefs` (calendar-multiget) and the hrefs the server no
    longer has. An answer over the client's size cap is asked for in halves; a
    single object over it is left out (logged)."""
    fetched: list[FetchedObject] = []
    missing: set[str] = set()
    pending = [hrefs[start:start + MULTIGET_BATCH] for start in range(0, len(hrefs), MULTIGET_BATCH)]
    while pending:
        batch = pending.pop(0)
        try:
            answer = client.report(calendar_href, body=calendar_multiget_body(paths=[url_path(h) for h in batch]))
        except DavTooLarge:
            if len(batch) == 1:
                log.warning("calendar object %s is larger than %s bytes; not cached", batch[0], client.max_bytes)
                continue
            half = len(batch) // 2
            pending[:0] = [batch[:half], batch[half:]]
            continue
        seen: set[str] = set()
        for response in answer.responses:
            if not url_member(response.href, calendar_href):
                continue
            seen.add(response.href)
            data = response.props.get(qname(CALDAV, "calendar-data"))
            if not response.found or data is None:
                missing.add(response.href)
                continue
            fetched.append(FetchedObject(href=response.href, text="".join(data.itertext()),
                                         etag=etag_normalise(response.text(qname(DAV, "getetag")))))
        missing.update(href for href in batch if href not in seen)
    return fetched, missing


def calendar_work(client: DavClient, *, row: Calendar, info: CalendarInfo,
                  use_sync_collection: bool = True) -> CalendarWork:
    """What changed in one calendar since the last sync (step 3)."""
    listed_at = Account.objects.filter(pk=row.account_id).values_list("modseq", flat=True).first() or 0
    work = CalendarWork(row=row, info=info, ctag=info.ctag, listed_at=listed_at,
                        notify=bool(row.dav_sync_token or row.dav_ctag))
    cached = _cached_etags(row)
    if info.sync_collection and use_sync_collection:
        changed, removed, work.sync_token, full = _sync_collection(client, info, row.dav_sync_token)
        if full:
            removed |= set(cached) - set(changed)
    else:
        changed = _etag_listing(client, info)
        removed = set(cached) - set(changed)
    work.wanted = sorted(href for href, etag in changed.items() if not etag or cached.get(href) != etag)
    work.cached = set(cached)
    work.removed = {href for href in removed if href in cached}
    return work


# -- the cache side ----------------------------------------------------------------

def _calendar_values(info: CalendarInfo, row: Calendar | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": info.name[:255], "description": info.description, "color": info.color[:64],
        "dav_privileges": info.privileges, "dav_components": info.components, "dav_timezone": info.timezone_ical,
    }
    if info.sort_order is not None:
        values["sort_order"] = info.sort_order
    if row is None or row.dav_timezone != info.timezone_ical:
        values["time_zone"] = timezone_iana(info.timezone_ical)
    return values


def calendars_apply(*, account: Account, infos: list[CalendarInfo], rows: dict[str, Calendar],
                    gone: list[Calendar]) -> None:
    """Create new calendars, update changed ones, tombstone gone ones with their events."""
    from jmapcore.calendars.calendar_default import calendar_default_repair

    new = [info for info in infos if info.href not in rows]
    changed = [info for info in infos if info.href in rows and any(
        getattr(rows[info.href], key) != value for key, value in _calendar_values(info, rows[info.href]).items())]
    if not new and not changed and not gone:
        return
    types = [CALENDAR_TYPE] + ([EVENT_TYPE] if gone else [])
    with state_change_atomic(account=account, type_names=types) as modseq:
        for info in new:
            # A calendar this proxy just made (Calendar/set) may already have its row.
            row = Calendar(account=account, jmap_id=jmap_id_new("k"), created_modseq=modseq, updated_modseq=modseq,
                           dav_href=info.href, **_calendar_values(info, None))
            row.save()
            rows[info.href] = row
        for info in changed:
            row = rows[info.href]
            for key, value in _calendar_values(info, row).items():
                setattr(row, key, value)
            row.updated_modseq = modseq
            row.save()
        for row in gone:
            calendar_tombstone(row, modseq)
        calendar_default_repair(account=account, modseq=modseq)


def calendar_tombstone(row: Calendar, modseq: int) -> None:
    CalendarEvent.objects.filter(calendar=row, destroyed=False).update(destroyed=True, updated_modseq=modseq)
    row.destroyed = True
    row.is_default = False
    row.updated_modseq = modseq
    row.save()


def _moved_candidates(account: Account, works: list[CalendarWork]) -> dict[str, CalendarEvent]:
    vanished = [href for work in works for href in work.removed]
    if not vanished:
        return {}
    listed_at = min(work.listed_at for work in works)
    found: dict[str, CalendarEvent] = {}
    for start in range(0, len(vanished), APPLY_BATCH):
        for row in CalendarEvent.objects.filter(account=account, destroyed=False,
                                                dav_href__in=vanished[start:start + APPLY_BATCH],
                                                updated_modseq__lte=listed_at):
            if row.uid:
                found.setdefault(row.uid, row)
    return found


def objects_apply(*, account: Account, work: CalendarWork, fetched: list[FetchedObject],
                  moved: dict[str, CalendarEvent]) -> None:
    """Write fetched objects of one calendar, APPLY_BATCH per transaction; a row
    a JMAP write changed after the listing is left alone."""
    for start in range(0, len(fetched), APPLY_BATCH):
        batch = fetched[start:start + APPLY_BATCH]
        columns = {item.href: event_columns(text=item.text, href=item.href, etag=item.etag) for item in batch}
        with state_change_atomic(account=account, type_names=[EVENT_TYPE, NOTIFICATION_TYPE]) as modseq:
            existing = {row.dav_href: row for row in CalendarEvent.objects.filter(
                calendar=work.row, destroyed=False, dav_href__in=[item.href for item in batch])}
            for item in batch:
                values = columns[item.href]
                row = existing.get(item.href)
                if row is not None and row.updated_modseq > work.listed_at:
                    continue
                if row is None and values["uid"]:
                    row = moved.pop(values["uid"], None)
                before = dict(row.event) if row is not None and row.component == "VEVENT" else None
                is_new = row is None
                if row is None:
                    row = CalendarEvent(account=account, jmap_id=jmap_id_new("e"), created_modseq=modseq)
                row.calendar = work.row
                for key, value in values.items():
                    setattr(row, key, value)
                row.updated_modseq = modseq
                row.save()
                if not work.notify or row.component != "VEVENT":
                    continue
                if is_new or before is None:
                    _notify(account=account, modseq=modseq, kind="created", event_id=row.jmap_id, event=row.event)
                elif before != row.event:
                    # draft-ietf-jmap-calendars-33 §7: an update's notification holds the event before it.
                    _notify(account=account, modseq=modseq, kind="updated", event_id=row.jmap_id, event=before,
                            patch=_event_patch(before, row.event))


def removals_apply(*, account: Account, work: CalendarWork) -> None:
    """Tombstone the removed objects, then store the calendar's new token (last:
    a sync failing half way repeats its work rather than skipping it)."""
    with state_change_atomic(account=account, type_names=[CALENDAR_TYPE, EVENT_TYPE, NOTIFICATION_TYPE]) as modseq:
        if work.removed:
            gone = CalendarEvent.objects.filter(calendar=work.row, destroyed=False, dav_href__in=sorted(work.removed),
                                                updated_modseq__lte=work.listed_at)
            for row in gone:
                if work.notify and row.component == "VEVENT":
                    _notify(account=account, modseq=modseq, kind="destroyed", event_id=row.jmap_id, event=row.event)
                row.destroyed = True
                row.updated_modseq = modseq
                row.save(update_fields=["destroyed", "updated_modseq", "updated_at"])
        # The token is bookkeeping, not a JMAP change: no modseq for it.
        Calendar.objects.filter(pk=work.row.pk).update(dav_sync_token=work.sync_token, dav_ctag=work.ctag)
        work.row.dav_sync_token, work.row.dav_ctag = work.sync_token, work.ctag


def _unchanged(row: Calendar | None, info: CalendarInfo) -> bool:
    if row is None:
        return False
    if info.sync_token:
        return row.dav_sync_token == info.sync_token
    return bool(info.ctag) and row.dav_ctag == info.ctag


def parse_problems_record(*, account: Account) -> None:
    broken = CalendarEvent.objects.filter(account=account, destroyed=False).exclude(parse_problems=[])
    count = broken.count()
    kept = [{"href": href, "problems": problems}
            for href, problems in broken.order_by("-updated_modseq").values_list("dav_href", "parse_problems")
            [:PARSE_PROBLEMS_KEPT]]
    for item in kept:
        log.warning("account %s: calendar object %s served with what could be read: %s", account.accountid,
                    item["href"], "; ".join(str(problem) for problem in item["problems"])[:300])
    caldav_progress_update(account=account, values={"parseProblems": kept, "parseProblemCount": count})


def _calendars_found(client: DavClient, account: Account) -> list[CalendarInfo]:
    progress = caldav_progress(account)
    homes = progress.get("homes")
    if isinstance(homes, list) and homes and progress.get("from") == account.caldav_url:
        try:
            return calendars_list(client=client, homes=[str(home) for home in homes])
        except DavRefused as refused:
            if refused.status not in (403, 404, 410):
                raise
            log.info("account %s: CalDAV home set gone (%s); discovering again", account.accountid, refused.status)
    found = caldav_locate(client=client, account=account)
    values: dict[str, Any] = {"principal": found.principal, "homes": found.homes, "from": account.caldav_url,
                              "inbox": found.inbox, "outbox": found.outbox}
    if not account.caldav_url:
        values["url"] = found.url
    caldav_progress_update(account=account, values=values)
    return calendars_list(client=client, homes=found.homes)


def _lock_keeper(lock: Any) -> Callable[[], object]:
    def keep_going() -> object:
        if lock is not None and not lock.extend():
            raise dav_transient("the account's sync lock was lost to another sync; stopped")
        return True

    return keep_going


def works_apply(*, client: DavClient, account: Account, works: list[CalendarWork],
                keep_going: Callable[[], object]) -> None:
    moved = _moved_candidates(account, works)
    total = sum(len(work.wanted) for work in works)
    done = 0
    if total > MULTIGET_BATCH:
        caldav_progress_update(account=account, values={"state": "running", "events": 0, "total": total})
    for work in works:
        for start in range(0, len(work.wanted), MULTIGET_BATCH):
            fetched, missing = objects_multiget(client, calendar_href=work.info.href,
                                                hrefs=work.wanted[start:start + MULTIGET_BATCH])
            work.removed |= missing & work.cached
            objects_apply(account=account, work=work, fetched=fetched, moved=moved)
            done += len(fetched)
            if total > MULTIGET_BATCH:
                caldav_progress_update(account=account, values={"events": done})
            keep_going()
    for work in works:
        removals_apply(account=account, work=work)
    if total > MULTIGET_BATCH:
        caldav_progress_update(account=account, values={"state": "done", "events": done})


def caldav_account_sync(*, account: Account, lock: Any = None, use_sync_collection: bool = True) -> None:
    """Sync every calendar of `account` (see the module docstring).

    Raises BackendError (DavRefused for refusals) on server failures; what was
    committed stays, and the next run continues from the stored tokens.
    `use_sync_collection=False` forces the CTag/ETag path."""
    keep_going = _lock_keeper(lock)
    with DavClient.for_account(account) as client:
        infos = _calendars_found(client, account)
        rows = {row.dav_href: row for row in Calendar.objects.filter(account=account, destroyed=False)}
        seen = {info.href for info in infos}
        gone = [row for href, row in rows.items() if href not in seen]
        for row in gone:
            rows.pop(row.dav_href)
        pending = [info for info in infos if not _unchanged(rows.get(info.href), info)]
        calendars_apply(account=account, infos=infos, rows=rows, gone=gone)
        works: list[CalendarWork] = []
        for info in pending:
            works.append(calendar_work(client, row=rows[info.href], info=info,
                                       use_sync_collection=use_sync_collection))
            keep_going()
        works_apply(client=client, account=account, works=works, keep_going=keep_going)
    if works or gone:
        parse_problems_record(account=account)


def caldav_calendar_sync(*, account: Account, calendar: Calendar, use_sync_collection: bool = True) -> None:
    """Resync one calendar (see the module docstring)."""
    if calendar.account_id != account.pk:
        raise ValueError("the calendar belongs to another account")
    with DavClient.for_account(account) as client:
        info = calendar_read(client=client, href=calendar.dav_href)
        if info is None:
            with state_change_atomic(account=account, type_names=[CALENDAR_TYPE, EVENT_TYPE]) as modseq:
                calendar_tombstone(calendar, modseq)
                from jmapcore.calendars.calendar_default import calendar_default_repair

                calendar_default_repair(account=account, modseq=modseq)
            return
        info.href = calendar.dav_href
        calendars_apply(account=account, infos=[info], rows={calendar.dav_href: calendar}, gone=[])
        work = calendar_work(client, row=calendar, info=info, use_sync_collection=use_sync_collection)
        works_apply(client=client, account=account, works=[work], keep_going=lambda: True)
    parse_problems_record(account=account)
