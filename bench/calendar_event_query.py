"""CalendarEvent/query figures (issue 11 item 6, the query part): a calendar of 5,000 events
(or --events N), a tenth of them recurring, queried over a year with expandRecurrences.

Usage: .venv/bin/python bench/calendar_event_query.py [--events 5000] [--runs 5]

In a fresh embedded proxy database (SQLite in a temporary JMAP_DATADIR,
migrated untimed), one account with one calendar gets --events cache rows
made as CalDAV sync makes them: each from iCalendar text read by the real
converter (jscalendar.event_read + event_search_fields). 90 % are single
events spread over 2026 in Europe/Berlin, 10 % recurring (weekly without
end, daily with COUNT=30, monthly on the last Friday; every third with a
moved and an excluded occurrence). Then, --runs times each, through the
method handlers (no HTTP):
1. CalendarEvent/query, expandRecurrences, 2026-01-01 to 2027-01-01 (calculateTotal);
2. the same without expandRecurrences (SQL only);
3. CalendarEvent/get of the first 500 occurrence ids of (1).
Medians are printed with min and max, and the number of results. Nothing
is started here; the temporary directory is removed on exit.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _ical(index: int) -> str:
    """One generated calendar object (see the module docstring)."""
    first = datetime(2026, 1, 1, 7) + timedelta(days=index % 365, hours=index % 11)
    stamp = first.strftime("%Y%m%dT%H%M%S")
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//EN", "BEGIN:VEVENT",
        f"UID:bench-{index}@example.test", "DTSTAMP:20260101T000000Z", f"SUMMARY:Event {index}",
        f"DESCRIPTION:Generated event number {index}", f"LOCATION:Room {index % 40}",
        f"DTSTART;TZID=Europe/Berlin:{stamp}", "DURATION:PT1H",
    ]  # fmt: skip
    moved: list[str] = []
    if index % 10 == 0:
        kind = (index // 10) % 3
        lines.append(["RRULE:FREQ=WEEKLY", "RRULE:FREQ=DAILY;COUNT=30", "RRULE:FREQ=MONTHLY;BYDAY=-1FR"][kind])
        if kind == 0 and index % 30 == 0:
            week_one = (first + timedelta(days=7)).strftime("%Y%m%dT%H%M%S")
            week_two = first + timedelta(days=14)
            lines.append(f"EXDATE;TZID=Europe/Berlin:{week_one}")
            moved = [
                "BEGIN:VEVENT", f"UID:bench-{index}@example.test", "DTSTAMP:20260101T000000Z",
                f"RECURRENCE-ID;TZID=Europe/Berlin:{week_two.strftime('%Y%m%dT%H%M%S')}",
                f"DTSTART;TZID=Europe/Berlin:{(week_two + timedelta(hours=3)).strftime('%Y%m%dT%H%M%S')}",
                "DURATION:PT1H", f"SUMMARY:Event {index} (moved)", "END:VEVENT",
            ]  # fmt: skip
    lines.append("END:VEVENT")
    return "\r\n".join([*lines, *moved, "END:VCALENDAR", ""])


def _timed(call: Any, runs: int) -> tuple[list[float], Any]:
    times: list[float] = []
    result: Any = None
    for _ in range(runs):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return times, result


def _show(name: str, times: list[float], detail: str) -> None:
    ms = [value * 1000 for value in times]
    print(f"{name:<48} median {statistics.median(ms):8.1f} ms  (min {min(ms):.1f}, max {max(ms):.1f})  {detail}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()
    datadir = tempfile.mkdtemp(prefix="bench-calendar-query-")
    os.environ["JMAP_DATADIR"] = datadir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jmapsite.settings")
    try:
        run(opts.events, opts.runs)
    finally:
        shutil.rmtree(datadir, ignore_errors=True)


def run(count: int, runs: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from accounts.models import Account, Pool
    from jmapcore.calendars.jscalendar import event_read, event_search_fields
    from jmapcore.calendars.methods.calendar_event import calendar_event_get, calendar_event_query
    from jmapcore.context import CallContext
    from jmapcore.datatypes.orm import jmap_id_new
    from jmapcore.limits import CORE_CAPABILITY
    from jmapcore.models.calendars import Calendar, CalendarEvent
    from jmapcore.state import state_change_atomic

    pool = Pool.objects.create(login="bench@example.test")
    account = Account.objects.create(
        accountid="bench", pool=pool, email="bench@example.test", username="bench@example.test",
        imap_host="127.0.0.1", caldav_url="http://127.0.0.1:9/bench/",
    )  # fmt: skip
    seeded = time.perf_counter()
    with state_change_atomic(account=account, type_names=["Calendar", "CalendarEvent"]) as modseq:
        calendar = Calendar.objects.create(account=account, jmap_id=jmap_id_new("k"), created_modseq=modseq,
                                           updated_modseq=modseq, name="Bench", dav_href=account.caldav_url + "c/")
        rows = []
        for index in range(count):
            text = _ical(index)
            reading = event_read(text)
            event = reading.event or {}
            rows.append(CalendarEvent(
                account=account, jmap_id=jmap_id_new("e"), created_modseq=modseq, updated_modseq=modseq,
                calendar=calendar, event=event, ical=text, dav_href=f"{calendar.dav_href}{index}.ics",
                parse_problems=reading.problems, **event_search_fields(event),
            ))  # fmt: skip
        CalendarEvent.objects.bulk_create(rows, batch_size=500)
    print(f"seeded {count} events ({count // 10} recurring) in {time.perf_counter() - seeded:.1f} s (untimed part)")

    ctx = CallContext(pool=pool, accounts={account.accountid: account},
                      using=frozenset({CORE_CAPABILITY, "urn:ietf:params:jmap:calendars"}))
    year = {"after": "2026-01-01T00:00:00Z", "before": "2027-01-01T00:00:00Z"}
    expanded_args = {"accountId": "bench", "filter": year, "expandRecurrences": True, "calculateTotal": True,
                     "limit": 5000}
    times, expanded = _timed(lambda: calendar_event_query(ctx, expanded_args), runs)
    _show("CalendarEvent/query, a year, expandRecurrences", times,
          f"total {expanded['total']} occurrences, {len(expanded['ids'])} ids returned")
    plain_args = {"accountId": "bench", "filter": year, "calculateTotal": True, "limit": 5000}
    times, plain = _timed(lambda: calendar_event_query(ctx, plain_args), runs)
    _show("CalendarEvent/query, a year, not expanded", times, f"total {plain['total']} events")
    some = expanded["ids"][:500]
    times, got = _timed(lambda: calendar_event_get(ctx, {"accountId": "bench", "ids": some}), runs)
    _show("CalendarEvent/get of 500 expanded ids", times, f"{len(got['list'])} found")


if __name__ == "__main__":
    main()
