"""Child process of bench/contacts.py: CardDAV sync figures in a fresh proxy database.

Usage: .venv/bin/python bench/_contacts_sync.py URL LOGIN PASSWORD [--runs 3] [--noop 3]
(JMAP_DATADIR and, for HTTPS, JMAP_TLS_CA_FILE in the environment).

Migrates the database in JMAP_DATADIR (untimed), then per run makes a new
proxy account for the same CardDAV user (so every run is a first sync of the
same address book) and times backends.carddav's carddav_account_sync until it
returns with every card committed. On the last account, --noop syncs that
find nothing new, each with its DAV request count (DAV_REQUEST_OBSERVERS)
and SQL query count. Prints one JSON line; the last account's JMAP login and
password are in it, for the HTTP part of the benchmark.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jmapsite.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("login")
    parser.add_argument("password")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--noop", type=int, default=3)
    opts = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)

    from accounts.models import Account, Pool, SslMode
    from accounts.secrets import seal
    from backends.carddav import carddav_account_sync
    from backends.dav.client import DAV_REQUEST_OBSERVERS
    from jmapcore.models.contacts import AddressBook, ContactCard

    requests = [0]

    def count(method: str, url: str) -> None:
        requests[0] += 1

    DAV_REQUEST_OBSERVERS.append(count)

    jmap_password = "bench-" + secrets.token_hex(8)
    initial: list[float] = []
    initial_requests: list[int] = []
    account: Account | None = None
    for run in range(opts.runs):
        # Made as the management API would, but without queueing a sync at creation:
        # nothing else may touch the account while it is timed.
        pool = Pool.objects.create(login=f"bench{run}-{opts.login}", password_hash=make_password(jmap_password))
        account = Account(
            accountid=f"bench{run}", pool=pool, email=opts.login, name="Bench", username=opts.login,
            kind=Account.Kind.IMAP, imap_host="127.0.0.1", imap_port=1, imap_ssl=SslMode.PLAIN,
            carddav_url=opts.url,
        )  # fmt: skip
        account.password = seal(opts.password)
        account.save()
        requests[0] = 0
        start = time.perf_counter()
        carddav_account_sync(account=account)
        initial.append(time.perf_counter() - start)
        initial_requests.append(requests[0])
    assert account is not None
    cards = ContactCard.objects.filter(account=account, destroyed=False).count()
    books = AddressBook.objects.filter(account=account, destroyed=False).count()
    problems = (account.sync_progress or {}).get("carddav", {}).get("parseProblemCount", 0)

    noops: list[dict[str, float | int]] = []
    for _ in range(opts.noop):
        requests[0] = 0
        with CaptureQueriesContext(connection) as queries:
            begin = time.perf_counter()
            carddav_account_sync(account=account)
            seconds = time.perf_counter() - begin
        noops.append({"seconds": seconds, "requests": requests[0], "queries": len(queries.captured_queries)})
    print(json.dumps({
        "initial": initial, "initial_requests": initial_requests, "cards": cards, "books": books,
        "parse_problems": problems, "noop": noops, "accountid": account.accountid, "login": account.pool.login,
        "password": jmap_password,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
