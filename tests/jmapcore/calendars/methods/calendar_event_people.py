"""Personas with a calendars account, for the CalendarEvent method tests.

`CalendarsPerson.of(persona)` gives a persona (tests.personas) a CalDAV URL
with no server behind it; `calendar_row` and `event_row` then make cache rows
the way CalDAV sync makes them (for /get, /changes, /query tests): each event
row is read from real iCalendar text by the real converter
(jscalendar.event_read + event_search_fields), inside state_change_atomic, so
its state, span and search columns are what a sync would store.
`CalendarsPerson.on(server)` is a persona with a real account on a test DAV
server (tests/servers/radicale.py, xandikos.py) and `dav()` an httpx client
logged in there as another CalDAV client would be.
"""
from __future__ import annotations

import base64
import secrets
import ssl
from typing import Any

import httpx
from django.contrib.auth.hashers import make_password
from django.test import Client

from accounts.models import Account
from jmapcore.calendars.capability import CALENDARS_CAPABILITY
from jmapcore.calendars.jscalendar import event_read, event_search_fields
from jmapcore.datatypes.orm import jmap_id_new
from jmapcore.limits import CORE_CAPABILITY
from jmapcore.models.calendars import Calendar, CalendarEvent
from jmapcore.state import state_change_atomic
from tests.backends.carddav.dav_people import DavServer, carddav_account
from tests.jmapcore.apiclient import api_post, jmap_request, method_responses
from tests.personas import Persona
from tests.servers.dav_user import DavUser, dav_collection_make

USING = [CORE_CAPABILITY, CALENDARS_CAPABILITY]


def ical(*lines: str, uid: str | None = None, extra: tuple[str, ...] = ()) -> str:
    """A VCALENDAR with one VEVENT holding `lines` after its UID, then `extra` components' lines."""
    body = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//jmap-proxy tests//EN",
        "BEGIN:VEVENT",
        f"UID:{uid or secrets.token_hex(8) + '@example.test'}",
        "DTSTAMP:20260101T000000Z",
        *lines,
        "END:VEVENT",
        *extra,
        "END:VCALENDAR",
    ]
    return "\r\n".join(body) + "\r\n"


def event_row(account: Account, calendar: Calendar, text: str) -> CalendarEvent:
    """A new cache row for the iCalendar object `text` in `calendar` (as sync writes it)."""
    reading = event_read(text)
    event = reading.event or {}
    with state_change_atomic(account=account, type_names=["CalendarEvent"]) as modseq:
        return CalendarEvent.objects.create(
            account=account,
            jmap_id=jmap_id_new("e"),
            created_modseq=modseq,
            updated_modseq=modseq,
            calendar=calendar,
            component=reading.component or "VEVENT",
            event=event,
            ical=text,
            dav_href=f"{calendar.dav_href}{secrets.token_hex(6)}.ics",
            dav_etag=f'"{secrets.token_hex(4)}"',
            parse_problems=reading.problems,
            **(event_search_fields(event) if reading.event is not None else {"uid": reading.uid}),
        )


def event_row_replace(row: CalendarEvent, text: str) -> CalendarEvent:
    """The object of `row` changed on the server: the row as sync rewrites it."""
    reading = event_read(text)
    event = reading.event or {}
    with state_change_atomic(account=row.account, type_names=["CalendarEvent"]) as modseq:
        row.event = event
        row.ical = text
        for column, value in event_search_fields(event).items():
            setattr(row, column, value)
        row.updated_modseq = modseq
        row.save()
    return row


def event_row_destroy(row: CalendarEvent) -> None:
    """The object of `row` is gone from the server: sync tombstones the row."""
    with state_change_atomic(account=row.account, type_names=["CalendarEvent"]) as modseq:
        row.destroyed = True
        row.updated_modseq = modseq
        row.save(update_fields=["destroyed", "updated_modseq", "updated_at"])


def unfolded_lines(text: str) -> list[str]:
    """The unfolded content lines of an iCalendar object (RFC 5545 §3.1)."""
    unfolded = text.replace("\r\n", "\n").replace("\n ", "").replace("\n\t", "")
    return [line for line in unfolded.split("\n") if line]


class CalendarsPerson:
    """One persona's JMAP view of its calendars account."""

    def __init__(self, *, account: Account, login: str, password: str, server: DavServer | None = None) -> None:
        self.account = account
        self.login = login
        self.password = password
        self.server = server
        self.client = Client()
        self.dav_user: DavUser | None = getattr(account, "dav_user", None)

    @classmethod
    def of(cls, persona: Persona) -> CalendarsPerson:
        """`persona` with a CalDAV URL nobody answers at (cache rows only)."""
        account = persona.account
        account.caldav_url = f"http://127.0.0.1:9/{persona.login}/"
        account.save(update_fields=["caldav_url"])
        return cls(account=account, login=persona.login, password=persona.password)

    @classmethod
    def on(cls, server: DavServer, *, persona: str = "alice") -> CalendarsPerson:
        """A fresh user of `server` and the proxy account of `persona` in front of it (CalDAV only)."""
        account = carddav_account(server=server, persona=persona, accountid=f"{persona}{secrets.token_hex(3)}",
                                  carddav_url="")
        account.caldav_url = account.dav_user.caldav_url  # type: ignore[attr-defined]
        account.save(update_fields=["caldav_url"])
        password = f"{persona}-jmap-{secrets.token_hex(6)}"
        account.pool.password_hash = make_password(password)
        account.pool.save(update_fields=["password_hash"])
        return cls(account=account, login=account.pool.login, password=password, server=server)

    @property
    def auth(self) -> str:
        return "Basic " + base64.b64encode(f"{self.login}:{self.password}".encode()).decode()

    @property
    def account_id(self) -> str:
        return str(self.account.accountid)

    def request(self, *calls: list[Any], using: list[str] | None = None) -> list[list[Any]]:
        body = jmap_request(*calls, using=USING if using is None else using)
        return method_responses(api_post(self.client, self.auth, body))

    def call(self, name: str, *, using: list[str] | None = None, **arguments: Any) -> tuple[str, dict[str, Any]]:
        args = {"accountId": self.account_id, **arguments}
        [(response_name, result, _call_id)] = self.request([name, args, "c0"], using=using)
        return response_name, result

    def ok(self, name: str, *, using: list[str] | None = None, **arguments: Any) -> dict[str, Any]:
        response_name, result = self.call(name, using=using, **arguments)
        assert response_name == name, result
        return result

    def error(self, name: str, *, using: list[str] | None = None, **arguments: Any) -> dict[str, Any]:
        response_name, result = self.call(name, using=using, **arguments)
        assert response_name == "error", result
        return result

    def calendar_row(self, name: str, *, privileges: list[str] | None = None, href: str | None = None) -> Calendar:
        """A cache row for a calendar collection as sync writes it; `href` is the
        collection's URL on the DAV server (default: a made-up one, no server involved)."""
        with state_change_atomic(account=self.account, type_names=["Calendar"]) as modseq:
            return Calendar.objects.create(
                account=self.account,
                jmap_id=jmap_id_new("k"),
                created_modseq=modseq,
                updated_modseq=modseq,
                name=name,
                dav_href=href or f"{self.account.caldav_url}{secrets.token_hex(4)}/",
                dav_privileges=["read", "write"] if privileges is None else privileges,
            )

    def server_calendar(self, slug: str, name: str) -> Calendar:
        """The calendar `slug` under the user's calendar home on the DAV server
        (made with MKCALENDAR, but for the servers' own "calendar"), and its cache row."""
        assert self.dav_user is not None and self.server is not None
        # Radicale keeps calendars right under the principal, Xandikos under "calendars/".
        home = self.dav_user.caldav_url + ("calendars/" if self.server.kind == "xandikos" else "")
        url = f"{home}{slug}/"
        if slug != "calendar":  # the test servers make "calendar" for every user already
            with self.dav() as client:
                dav_collection_make(client, url, kind="calendar", name=name)
        return self.calendar_row(name, href=url)

    def event(self, event_id: str, **arguments: Any) -> dict[str, Any]:
        """The one event `event_id` as /get returns it."""
        result = self.ok("CalendarEvent/get", ids=[event_id], **arguments)
        assert result["notFound"] == [], result
        [event] = result["list"]
        return event

    # -- the CalDAV server, as another client sees it ----------------------------

    def dav(self) -> httpx.Client:
        """An httpx client logged in as this user on the DAV server (use with `with`)."""
        assert self.server is not None and self.dav_user is not None
        user = self.dav_user
        verify = ssl.create_default_context(cafile=self.server.ca_file) if self.server.ca_file else True
        return httpx.Client(auth=(user.login, user.password), verify=verify, timeout=15)

    def dav_text(self, href: str) -> str | None:
        """The object at `href` as another CalDAV client reads it; None when gone."""
        with self.dav() as client:
            answer = client.get(href)
        if answer.status_code == 404:
            return None
        assert answer.status_code == 200, answer.text
        return answer.text
