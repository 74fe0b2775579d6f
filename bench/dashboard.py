"""Dashboard figures: what the operator's first look costs.

Usage: .venv/bin/python bench/dashboard.py [--accounts 1000 10000] [--runs 7]

In this process, on the embedded defaults (SQLite and the database cache in a
temporary data directory): N accounts spread over the dashboard's states,
then the median of `--runs` timings of
- dashboard_figures_read() (every figure, one service call),
- GET / on the management port as a logged-in operator (the whole page),
and the cost per request of the chart's sampling hook when it has nothing to
do (all but the first request of each minute).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["JMAP_DATADIR"] = tempfile.mkdtemp(prefix="jmap-bench-dashboard-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jmapsite.settings")


def fleet_create(count: int) -> None:
    """`count` accounts: 70% in sync, 10% lagging, 10% initial (with progress), 10% failing."""
    from django.utils import timezone

    from accounts.models import Account, Pool

    now = timezone.now()
    pool = Pool.objects.create(login=f"bench-{count}@example.test")
    rows = []
    for n in range(count):
        kind = n % 10
        fields: dict[str, object] = {"last_sync_at": now - timedelta(seconds=n % 30)}
        if kind == 7:
            fields = {"last_sync_at": now - timedelta(hours=1 + n % 5)}
        elif kind == 8:
            fields = {"last_sync_at": None, "sync_progress": {"state": "running", "mailboxes": 13, "done": 2,
                                                              "messages": n % 500, "total": 500}}  # fmt: skip
        elif kind == 9:
            fields = {"last_sync_error": f"IMAP login rejected for user{n}", "last_sync_error_at": now}
        rows.append(Account(accountid=f"b{count}-{n}", pool=pool, email=f"user{n}@example.test", **fields))
    Account.objects.bulk_create(rows, batch_size=1000)


def median_ms(func: object, runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        func()  # type: ignore[operator]
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from accounts.models import Account, Pool
    from jmapsite.dashboard import dashboard_figures_read
    from jmapsite.dashboard_history import MinuteSampler

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    operator = User.objects.create_superuser("operator", "operator@example.test", "pw")
    client = Client(SERVER_PORT=str(settings.JMAP_MGMT_PORT), REMOTE_ADDR="127.0.0.1", HTTP_HOST="localhost")
    client.force_login(operator)

    print("dashboard figures (embedded: SQLite, database cache), median of", args.runs, "runs")
    for count in args.accounts:
        Account.objects.all().delete()
        Pool.objects.all().delete()
        fleet_create(count)
        figures_ms = median_ms(lambda: dashboard_figures_read(now=timezone.now()), args.runs)

        def page() -> None:
            response = client.get("/", SERVER_PORT=str(settings.JMAP_MGMT_PORT))
            assert response.status_code == 200, response.status_code

        page_ms = median_ms(page, args.runs)
        print(f"  {count:>6} accounts: figures {figures_ms:7.1f} ms   whole page GET / {page_ms:7.1f} ms")

    sampler = MinuteSampler()
    now = time.time()
    sampler.tick(now=now)
    calls = 1_000_000
    started = time.perf_counter()
    for _ in range(calls):
        sampler.tick(now=now)
    per_call_ns = (time.perf_counter() - started) / calls * 1e9
    print(f"  sampling hook, nothing to do (every request but one a minute): {per_call_ns:.0f} ns per request")


if __name__ == "__main__":
    main()
