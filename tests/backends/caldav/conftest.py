"""Fixtures of the CalDAV backend tests: every test runs against both real
servers the suite starts (Radicale and Xandikos); requests the proxy sends are
counted through the shared DAV client's observers (dav_requests, from
tests/backends/carddav/conftest.py)."""
from __future__ import annotations

import secrets
import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from accounts.models import Account
from backends.dav.client import DAV_REQUEST_OBSERVERS
from backends.dav.hrefs import url_normalise
from jmapcore.state import on_state_change, state_change_unsubscribe
from tests.backends.carddav.conftest import RequestLog
from tests.backends.carddav.dav_people import DavServer, carddav_account


@pytest.fixture(params=["radicale", "xandikos"])
def dav_server(request: pytest.FixtureRequest) -> DavServer:
    server: DavServer = request.getfixturevalue(request.param)
    return server


def caldav_account(*, server: DavServer, persona: str = "alice", caldav_url: str | None = None) -> Account:
    """The IMAP+CalDAV account of `persona` with a fresh user (calendar "Calendar") on `server`.
    `account.calendar_url` is that calendar's URL as the server names it."""
    account = carddav_account(server=server, persona=persona, carddav_url="")
    user = account.dav_user  # type: ignore[attr-defined]
    account.caldav_url = user.caldav_url if caldav_url is None else caldav_url
    account.save()
    inner = "calendars/calendar/" if server.kind == "xandikos" else "calendar/"
    account.calendar_url = url_normalise(user.caldav_url + inner)  # type: ignore[attr-defined]
    return account


@pytest.fixture
def alice(db: None, dav_server: DavServer) -> Account:
    return caldav_account(server=dav_server, persona="alice")


@pytest.fixture
def dav_requests() -> Iterator[RequestLog]:
    log = RequestLog()
    DAV_REQUEST_OBSERVERS.append(log)
    try:
        yield log
    finally:
        DAV_REQUEST_OBSERVERS.remove(log)


@pytest.fixture
def published() -> Iterator[list[dict[str, str]]]:
    """The StateChanges published (after commit) while the test runs."""
    seen: list[dict[str, str]] = []

    def record(account: Account, changed: dict[str, str]) -> None:
        seen.append(dict(changed))

    on_state_change(record)
    try:
        yield seen
    finally:
        state_change_unsubscribe(record)


def other_client(server: Any, account: Account) -> httpx.Client:
    """A plain httpx client of the account's DAV user: "another CalDAV client"."""
    user = account.dav_user  # type: ignore[attr-defined]
    verify: Any = ssl.create_default_context(cafile=server.ca_file) if server.ca_file else True
    return httpx.Client(auth=(user.login, user.password), timeout=10, verify=verify)


def ical(uid: str, summary: str, *, start: str = "20260105T090000Z", extra: tuple[str, ...] = (),
         component: str = "VEVENT") -> str:
    """A small calendar object as another CalDAV client would PUT it."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//jmap-proxy caldav tests//EN", f"BEGIN:{component}",
             f"UID:{uid}", "DTSTAMP:20260101T000000Z", f"SUMMARY:{summary}"]
    if component == "VEVENT":
        lines += [f"DTSTART:{start}", "DURATION:PT1H"]
    lines += [*extra, f"END:{component}", "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


def put(server: Any, account: Account, name: str, text: str, *, calendar: str | None = None) -> str:
    """PUT `text` as another client; returns the normalised resource URL."""
    url = (calendar or account.calendar_url) + name  # type: ignore[attr-defined]
    with other_client(server, account) as http:
        answer = http.put(url, content=text, headers={"Content-Type": "text/calendar; charset=utf-8"})
    assert answer.status_code in (201, 204), answer.text
    return url_normalise(url)


def delete(server: Any, account: Account, url: str) -> None:
    with other_client(server, account) as http:
        assert http.delete(url).status_code in (200, 204)


def new_uid() -> str:
    return secrets.token_hex(8)
