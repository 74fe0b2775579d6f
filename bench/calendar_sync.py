"""CalDAV sync figures (issue 11 item 6, the sync part): the initial sync of a
calendar of 5,000 events (or --events N), a tenth recurring, and syncs that
find nothing new, on Radicale.

Usage: .venv/bin/python bench/calendar_sync.py [--events 5000] [--runs 3] [--noop 3]

1. A private Radicale on 127.0.0.1 started as the test suite starts it
   (tests/servers/radicale.py), one user whose calendar "calendar" gets the
   events of bench/calendar_event_query.py (_ical: single events over 2026 in
   Europe/Berlin, 10 % recurring with moved and excluded occurrences), untimed,
   in one PUT of the whole collection (Radicale's import path), then one
   untimed PROPFIND Depth 1 to warm its cache.
2. In a fresh embedded proxy database (SQLite in a temporary JMAP_DATADIR,
   migrated untimed): --runs times a new account for that user (so each run is
   a first sync) timed through backends.caldav's caldav_account_sync until it
   returns with every event committed, with its DAV request count; then --noop
   syncs of the last account that find nothing new, with their DAV request
   and SQL query counts.
Medians are printed with min and max. Everything started here is stopped and
removed on exit.
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

from calendar_event_query import _ical  # noqa: E402

from tests.servers.radicale import radicale_start  # noqa: E402


def _collection(count: int) -> str:
    """One VCALENDAR holding every generated object's components (Radicale splits it by UID)."""
    body: list[str] = []
    for index in range(count):
        lines = _ical(index).split("\r\n")
        body.extend(line for line in lines[3:] if line and line != "END:VCALENDAR")
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//EN", *body, "END:VCALENDAR", ""])


def _show(name: str, values: list[float], detail: str) -> None:
    ms = [value * 1000 for value in values]
    print(f"{name:<44} median {statistics.median(ms):9.1f} ms  (min {min(ms):.1f}, max {max(ms):.1f})  {detail}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--noop", type=int, default=3)
    opts = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-calendar-sync-"))
    (workdir / "radicale").mkdir()
    (workdir / "data").mkdir()
    os.environ["JMAP_DATADIR"] = str(workdir / "data")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jmapsite.settings")
    server = radicale_start(workdir / "radicale")
    try:
        login, password = "bench@example.test", "bench-" + secrets.token_hex(8)
        user = server.user(login, password)
        calendar_url = user.caldav_url + "calendar/"
        started = time.perf_counter()
        with httpx.Client(auth=(login, password), timeout=600) as http:
            answer = http.put(calendar_url, content=_collection(opts.events),
                              headers={"Content-Type": "text/calendar; charset=utf-8"})
            if answer.status_code not in (201, 204):
                raise RuntimeError(f"PUT {calendar_url}: {answer.status_code} {answer.text[:300]}")
            http.request("PROPFIND", calendar_url, headers={"Depth": "1"})
        print(f"Radicale ({server.base_url}): {opts.events} events ({opts.events // 10} recurring) imported in "
              f"{time.perf_counter() - started:.1f} s (untimed)")
        run(user.caldav_url, login, password, opts)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def run(url: str, login: str, password: str, opts: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    from accounts.models import Account, Pool, SslMode
    from accounts.secrets import seal
    from backends.caldav import caldav_account_sync
    from backends.dav.client import DAV_REQUEST_OBSERVERS
    from jmapcore.models.calendars import CalendarEvent

    requests = [0]

    def count(method: str, request_url: str) -> None:
        requests[0] += 1

    DAV_REQUEST_OBSERVERS.append(count)
    initial: list[float] = []
    initial_requests: list[int] = []
    account: Account | None = None
    for number in range(opts.runs):
        pool = Pool.objects.create(login=f"bench{number}-{login}")
        account = Account(accountid=f"bench{number}", pool=pool, email=login, name="Bench", username=login,
                          kind=Account.Kind.IMAP, imap_host="127.0.0.1", imap_port=1, imap_ssl=SslMode.PLAIN,
                          caldav_url=url)
        account.password = seal(password)
        account.save()
        requests[0] = 0
        start = time.perf_counter()
        caldav_account_sync(account=account)
        initial.append(time.perf_counter() - start)
        initial_requests.append(requests[0])
        cached = CalendarEvent.objects.filter(account=account, destroyed=False).count()
        if cached != opts.events:
            raise RuntimeError(f"run {number}: {cached} events cached, {opts.events} expected")
    _show("initial CalDAV sync", initial, f"{opts.events} events, DAV requests {initial_requests}")
    assert account is not None
    noop: list[float] = []
    noop_requests: list[int] = []
    noop_queries: list[int] = []
    for _ in range(opts.noop):
        account.refresh_from_db()
        requests[0] = 0
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            caldav_account_sync(account=account)
            noop.append(time.perf_counter() - start)
        noop_requests.append(requests[0])
        noop_queries.append(len(queries.captured_queries))
    _show("sync that finds nothing new", noop, f"DAV requests {noop_requests}, SQL queries {noop_queries}")


if __name__ == "__main__":
    main()
