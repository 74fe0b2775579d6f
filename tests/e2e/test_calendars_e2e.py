"""Calendars end to end (issue 11 item 5): a third-party JMAP client (jmaplib, from
PyPI, which speaks draft-ietf-jmap-calendars) drives the real proxy process over
HTTP; what it writes is read back from the CalDAV server (the suite's Radicale)
with the `caldav` library, as another CalDAV client would see it, and parsed
with `icalendar`, independent of the proxy's own iCalendar code. The reverse
direction: an event the caldav library writes appears through JMAP.

alice is a Dovecot user with the same login and password on Radicale; her
account is added through the management API (POST /api/accounts) with her
principal as caldavURL. The steps run in order and share what they learn
through the module's `story`; a step whose prerequisite failed is skipped,
naming that step. RFC 5545 (iCalendar), RFC 8984 (JSCalendar) and the JMAP
Calendars draft (-33) sections are cited where a check comes from them.

Radicale does not schedule (RFC 6638): no invitation is sent for attendees,
whatever sendSchedulingMessages says, so none is looked for here.
"""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import icalendar
import pytest
from caldav.collection import Calendar as DavCalendar
from caldav.davclient import DAVClient
from jmap.client import JMAPClient

from tests.e2e.conftest import HTTP_TIMEOUT, E2EPerson, wait_for
from tests.servers.dovecot import DovecotServer
from tests.servers.proxy import ProxyProcess
from tests.servers.radicale import RadicaleServer
from tests.servers.smtp import SmtpServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

BERLIN = "Europe/Berlin"


class Story(dict[str, Any]):
    """What earlier steps found out. `need` skips a step whose input is missing."""

    def need(self, key: str, step: str) -> Any:
        if key not in self:
            pytest.skip(f"needs {key!r} from the earlier step {step}, which did not complete")
        return self[key]


@pytest.fixture(scope="module")
def story() -> Story:
    return Story(marker=secrets.token_hex(4))


@pytest.fixture(scope="module")
def calendars_alice(
    e2e_proxy: ProxyProcess, dovecot: DovecotServer, smtp_server: SmtpServer, radicale: RadicaleServer
) -> E2EPerson:
    """alice: one login and password for Dovecot and Radicale, her account added
    through the management API with her CalDAV principal."""
    login = f"alice-{secrets.token_hex(4)}@example.test"
    password = dovecot.user_add(login)
    dav = radicale.user(login, password)
    accountid = f"alice-{secrets.token_hex(3)}"
    body = {
        "accountid": accountid, "email": login, "name": "Alice", "type": "imap", "username": login,
        "password": password, "imapHost": dovecot.host, "imapPort": dovecot.imap_port, "imapSSL": 0,
        "smtpHost": smtp_server.host, "smtpPort": smtp_server.port, "smtpSSL": 3, "caldavURL": dav.caldav_url,
    }  # fmt: skip
    response = httpx.post(e2e_proxy.mgmt_url + "/api/accounts", json=body, timeout=60)
    assert response.status_code == 201, f"{response.status_code} {response.text}\n{e2e_proxy.log_text()[-3000:]}"
    person = E2EPerson(name="alice", login=login, password=password, accountid=accountid, proxy=e2e_proxy,
                       dovecot=dovecot)  # fmt: skip
    person.dav_calendar_url = dav.caldav_url + "calendar/"  # type: ignore[attr-defined]
    return person


@pytest.fixture(scope="module")
def client(calendars_alice: E2EPerson) -> Iterator[JMAPClient]:
    """jmaplib with its draft capabilities switched on (JMAP Calendars is still a draft)."""
    url = calendars_alice.proxy.jmap_url + "/.well-known/jmap"
    with JMAPClient.connect(url, auth=calendars_alice.auth, timeout=HTTP_TIMEOUT, experimental=True) as jmap_client:
        yield jmap_client


@pytest.fixture(scope="module")
def dav_calendar(calendars_alice: E2EPerson) -> Iterator[Any]:
    """alice's Radicale calendar through the caldav library (another CalDAV client)."""
    url: str = calendars_alice.dav_calendar_url  # type: ignore[attr-defined]
    with DAVClient(url=url, username=calendars_alice.login, password=calendars_alice.password,
                          timeout=int(HTTP_TIMEOUT)) as dav:
        yield DavCalendar(client=dav, url=url)


def dav_object(calendar: Any, uid: str) -> icalendar.Calendar:
    """The calendar object resource with `uid`, as the caldav library reads it (RFC 4791 §7.8)."""
    found = calendar.get_event_by_uid(uid)
    return icalendar.Calendar.from_ical(found.data)


def vevents(obj: icalendar.Calendar) -> tuple[Any, dict[datetime, Any]]:
    """(the master VEVENT, {RECURRENCE-ID: override VEVENT}) of one object (RFC 5545 §3.8.4.4)."""
    master = None
    overrides: dict[datetime, Any] = {}
    for component in obj.walk("VEVENT"):
        if component.get("RECURRENCE-ID") is None:
            master = component
        else:
            overrides[component.decoded("RECURRENCE-ID").replace(tzinfo=None)] = component
    assert master is not None, obj.to_ical()
    return master, overrides


def wire(item: Any) -> dict[str, Any]:
    """A jmaplib object as the JSON the server sent."""
    return dict(item.model_dump(mode="json", by_alias=True, exclude_none=True))


def event_get(client: JMAPClient, ids: list[str], **extra: Any) -> list[dict[str, Any]]:
    with client.batch() as batch:
        got = batch.calendars.calendar_event.get(ids=ids, **extra)
    return [wire(item) for item in got.result.items]


# -- the steps -------------------------------------------------------------------------
def test_calendars_are_listed(client: JMAPClient, calendars_alice: E2EPerson, story: Story) -> None:
    """Calendar/get (draft §4.1): the Radicale calendar, found by discovery and sync."""

    def listed() -> list[Any]:
        with client.batch() as batch:
            got = batch.calendars.calendar.get(ids=None)
        return list(got.result.items)

    calendars = wait_for(listed, poke=calendars_alice.sync, what="the Radicale calendar in Calendar/get")
    named = {calendar.name: calendar for calendar in calendars}
    assert "Calendar" in named, [calendar.name for calendar in calendars]
    story["calendar"] = named["Calendar"].id


def test_weekly_event_in_berlin_with_a_moved_and_a_cancelled_occurrence(
    client: JMAPClient, dav_calendar: Any, story: Story
) -> None:
    """CalendarEvent/set create (draft §5.9) of a weekly series (RFC 8984 §4.3.3) in
    Europe/Berlin, one occurrence moved and one excluded (§4.3.5), with an alert
    (§4.5.2); on the server: RRULE, EXDATE, a RECURRENCE-ID component and a VALARM."""
    calendar = story.need("calendar", "test_calendars_are_listed")
    uid = f"weekly-{story['marker']}@example.test"
    event = {
        "@type": "Event", "uid": uid, "calendarIds": {calendar: True}, "title": "Engine review",
        "start": "2026-12-02T10:00:00", "timeZone": BERLIN, "duration": "PT1H",
        "recurrenceRules": [{"@type": "RecurrenceRule", "frequency": "weekly", "count": 6}],
        "recurrenceOverrides": {
            "2026-12-09T10:00:00": {"start": "2026-12-09T15:30:00"},
            "2026-12-16T10:00:00": {"excluded": True},
        },
        "alerts": {"a1": {"@type": "Alert", "action": "display",
                          "trigger": {"@type": "OffsetTrigger", "offset": "-PT15M", "relativeTo": "start"}}},
    }  # fmt: skip
    with client.batch() as batch:
        made = batch.calendars.calendar_event.set(create={"weekly": event})
    assert not made.result.not_created, made.result.not_created
    story["weekly"], story["weekly_uid"] = made.result.created["weekly"].id, uid

    master, overrides = vevents(dav_object(dav_calendar, uid))
    rule = master["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"] and rule["COUNT"] == [6]
    start = master.decoded("DTSTART")
    assert (start.replace(tzinfo=None), str(start.tzinfo)) == (datetime(2026, 12, 2, 10, 0), BERLIN)
    exdates = [moment.dt for exdate in _as_list(master.get("EXDATE")) for moment in exdate.dts]
    assert [(moment.replace(tzinfo=None), str(moment.tzinfo)) for moment in exdates] == [
        (datetime(2026, 12, 16, 10, 0), BERLIN)
    ]
    [moved] = overrides.values()
    assert list(overrides) == [datetime(2026, 12, 9, 10, 0)]
    assert moved.decoded("DTSTART").replace(tzinfo=None) == datetime(2026, 12, 9, 15, 30)
    [alarm] = [component for component in master.subcomponents if component.name == "VALARM"]
    assert str(alarm["ACTION"]).upper() == "DISPLAY"
    assert alarm.decoded("TRIGGER").total_seconds() == -15 * 60


def test_the_occurrences_through_jmap(client: JMAPClient, story: Story) -> None:
    """CalendarEvent/query with expandRecurrences (draft §5.10): five occurrences in
    December (six less the excluded one), the moved one at 14:30 UTC."""
    weekly = story.need("weekly", "test_weekly_event_in_berlin_with_a_moved_and_a_cancelled_occurrence")
    with client.batch() as batch:
        found = batch.calendars.calendar_event.query(
            filter={"after": "2026-12-01T00:00:00Z", "before": "2027-01-15T00:00:00Z", "uid": story["weekly_uid"]},
            expandRecurrences=True,
        )
    ids = list(found.result.ids)
    assert len(ids) == 5, ids
    occurrences = event_get(client, ids, properties=["recurrenceId", "start", "utcStart", "baseEventId"])
    assert {item["baseEventId"] for item in occurrences} == {weekly}
    starts = {item["recurrenceId"]: item["utcStart"] for item in occurrences}
    assert "2026-12-16T10:00:00" not in starts
    assert starts["2026-12-09T10:00:00"].startswith("2026-12-09T14:30:00")
    assert starts["2026-12-02T10:00:00"].startswith("2026-12-02T09:00:00")
    [story["occurrence_23"]] = [item["id"] for item in occurrences if item["recurrenceId"] == "2026-12-23T10:00:00"]


def test_one_occurrence_is_changed_and_another_cancelled(
    client: JMAPClient, dav_calendar: Any, story: Story
) -> None:
    """A patch of one occurrence by its id becomes its own RECURRENCE-ID component;
    destroying one occurrence adds an EXDATE (draft §5.9, RFC 8984 §4.3.5)."""
    occurrence = story.need("occurrence_23", "test_the_occurrences_through_jmap")
    weekly = story["weekly"]
    with client.batch() as batch:
        changed = batch.calendars.calendar_event.set(update={occurrence: {"title": "Engine review (long)",
                                                                          "duration": "PT2H"}})
    assert not changed.result.not_updated, changed.result.not_updated
    [event] = event_get(client, [weekly])
    assert event["recurrenceOverrides"]["2026-12-23T10:00:00"] == {"title": "Engine review (long)", "duration": "PT2H"}
    occurrence_30 = occurrence.replace("20261223T100000", "20261230T100000")
    with client.batch() as batch:
        cancelled = batch.calendars.calendar_event.set(destroy=[occurrence_30])
    assert not cancelled.result.not_destroyed, cancelled.result.not_destroyed

    master, overrides = vevents(dav_object(dav_calendar, story["weekly_uid"]))
    assert set(overrides) == {datetime(2026, 12, 9, 10, 0), datetime(2026, 12, 23, 10, 0)}
    assert str(overrides[datetime(2026, 12, 23, 10, 0)]["SUMMARY"]) == "Engine review (long)"
    exdates = sorted(moment.dt.replace(tzinfo=None) for exdate in _as_list(master.get("EXDATE"))
                     for moment in exdate.dts)
    assert exdates == [datetime(2026, 12, 16, 10, 0), datetime(2026, 12, 30, 10, 0)]


def test_an_event_written_by_a_caldav_client_appears_with_its_overrides(
    client: JMAPClient, calendars_alice: E2EPerson, dav_calendar: Any, story: Story
) -> None:
    """The reverse direction: a series with a moved and an excluded occurrence saved
    with the caldav library is read by sync and served with recurrenceOverrides."""
    story.need("calendar", "test_calendars_are_listed")
    uid = f"from-dav-{story['marker']}@example.test"
    text = "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//caldav library e2e//EN",
        "BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261101T000000Z", "SUMMARY:Difference engine club",
        "DTSTART;TZID=Europe/Berlin:20261203T180000", "DTEND;TZID=Europe/Berlin:20261203T200000",
        "RRULE:FREQ=WEEKLY;UNTIL=20261231T230000Z", "EXDATE;TZID=Europe/Berlin:20261217T180000",
        "BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Club", "TRIGGER:-PT30M", "END:VALARM",
        "END:VEVENT",
        "BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261101T000000Z", "SUMMARY:Difference engine club (moved)",
        "RECURRENCE-ID;TZID=Europe/Berlin:20261210T180000",
        "DTSTART;TZID=Europe/Berlin:20261211T180000", "DTEND;TZID=Europe/Berlin:20261211T200000",
        "END:VEVENT", "END:VCALENDAR", "",
    ])  # fmt: skip
    dav_calendar.add_event(text)

    def found() -> list[str]:
        with client.batch() as batch:
            query = batch.calendars.calendar_event.query(filter={"uid": uid})
        return list(query.result.ids)

    [event_id] = wait_for(found, poke=calendars_alice.sync, what="the caldav library's event in CalendarEvent/query")
    [event] = event_get(client, [event_id])
    assert event["title"] == "Difference engine club"
    assert event["timeZone"] == BERLIN and event["start"] == "2026-12-03T18:00:00"
    assert event["recurrenceRules"][0]["frequency"] == "weekly"
    overrides = event["recurrenceOverrides"]
    assert overrides["2026-12-17T18:00:00"] == {"excluded": True}
    assert overrides["2026-12-10T18:00:00"]["title"] == "Difference engine club (moved)"
    assert overrides["2026-12-10T18:00:00"]["start"] == "2026-12-11T18:00:00"
    [alert] = event["alerts"].values()
    assert alert["trigger"]["offset"] == "-PT30M"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
